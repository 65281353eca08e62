"""Real-robot graph: the learning side beside a robot driven by ros2_control, the nodes
config:=<graph YAML> configures (default: config/robot.yaml).

  ros2 launch dagger_ros robot.launch.py config:=/path/my_robot.yaml \
      [profile:=/path/my_arm.yaml] [joy:=true]

profile:= sets every node's robot profile over the config's `/**` one.

joy:=true also starts the gamepad driver (the ``joy`` package's joy_node, at 50 Hz), for
distros that ship it; leave it out when the robot's bringup already runs one.

`dagger-ros run --config <yaml>` starts exactly the same nodes with the same fault rules
(dagger_ros/ros/launch_support.py).
"""

from dagger_ros.ros.launch_support import launch_description


def generate_launch_description():
    return launch_description("robot", "graph YAML (ros__parameters per node)", with_joy=True)
