"""Real-robot graph: the learning side beside a robot driven by ros2_control.

The robot's own bringup provides /joint_states and the forward controller; this starts the
expert with config/robot.yaml (an observation builder from /joint_states, needed before the
policy, supervisor and recorder can run on hardware, is not built yet).

  ros2 launch dagger_ros robot.launch.py config:=/path/my_robot.yaml
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from launch import LaunchDescription


def generate_launch_description():
    default_config = os.path.join(get_package_share_directory("dagger_ros"), "config",
                                  "robot.yaml")
    config = LaunchConfiguration("config")
    return LaunchDescription([
        DeclareLaunchArgument("config", default_value=default_config,
                              description="graph YAML (ros__parameters per node)"),
        Node(package="dagger_ros", executable="expert", name="expert",
             parameters=[config], output="screen", respawn=True, respawn_delay=1.0),
    ])
