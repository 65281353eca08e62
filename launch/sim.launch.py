"""Simulated graph: the MuJoCo bridge and the expert, parameters from one YAML.

  ros2 launch dagger_ros sim.launch.py                       # reach task
  ros2 launch dagger_ros sim.launch.py config:=/path/sim_drive.yaml
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from launch import LaunchDescription


def generate_launch_description():
    default_config = os.path.join(get_package_share_directory("dagger_ros"), "config",
                                  "sim_reach.yaml")
    config = LaunchConfiguration("config")
    return LaunchDescription([
        DeclareLaunchArgument("config", default_value=default_config,
                              description="graph YAML (ros__parameters per node)"),
        Node(package="dagger_ros", executable="mujoco_bridge", name="mujoco_bridge",
             parameters=[config], output="screen"),
        Node(package="dagger_ros", executable="expert", name="expert",
             parameters=[config], output="screen"),
    ])
