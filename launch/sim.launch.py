"""Simulated DAgger: the MuJoCo bridge, expert, policy, supervisor, recorder and trainer,
parameters from one YAML (default: config/sim_dagger_drive.yaml).

  ros2 launch dagger_ros sim.launch.py
  ros2 launch dagger_ros sim.launch.py config:=/path/to/my_dagger.yaml

Set dataset_root and run_dir in that YAML (relative paths resolve against the working
directory). `dagger-ros sim` runs the same graph and adds the BC baseline and the report.

Faults, as `dagger-ros run` handles them: the bridge and the supervisor are critical (their
exit shuts the launch down); the expert, the policy and the recorder are respawned (the
supervisor holds or lets the expert act meanwhile; a respawned recorder recovers the
dataset and appends); without the trainer the rest goes on.
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument, Shutdown
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from launch import LaunchDescription


def generate_launch_description():
    default_config = os.path.join(get_package_share_directory("dagger_ros"), "config",
                                  "sim_dagger_drive.yaml")
    config = LaunchConfiguration("config")
    return LaunchDescription([
        DeclareLaunchArgument("config", default_value=default_config,
                              description="graph YAML (ros__parameters per node)"),
        Node(package="dagger_ros", executable="mujoco_bridge", name="mujoco_bridge",
             parameters=[config], output="screen",
             on_exit=Shutdown(reason="mujoco_bridge exited")),
        Node(package="dagger_ros", executable="expert", name="expert",
             parameters=[config], output="screen", respawn=True, respawn_delay=1.0),
        Node(package="dagger_ros", executable="policy", name="policy",
             parameters=[config], output="screen", respawn=True, respawn_delay=1.0),
        Node(package="dagger_ros", executable="supervisor", name="supervisor",
             parameters=[config], output="screen",
             on_exit=Shutdown(reason="supervisor exited: nothing commands the robot")),
        Node(package="dagger_ros", executable="recorder", name="recorder",
             parameters=[config], output="screen", respawn=True, respawn_delay=1.0),
        # the trainer ends the run when its rounds are done
        Node(package="dagger_ros", executable="trainer", name="trainer",
             parameters=[config], output="screen"),
    ])
