"""Simulated DAgger: the nodes config:=<graph YAML> configures (default:
config/sim_dagger_drive.yaml: MuJoCo bridge, expert, policy, supervisor, recorder,
trainer; config/sim_hg_dagger_drive.yaml adds the simulated operator).

  ros2 launch dagger_ros sim.launch.py
  ros2 launch dagger_ros sim.launch.py config:=/path/to/my_dagger.yaml

Set dataset_root and run_dir in that YAML (relative paths resolve against the working
directory). `dagger-ros run --config <yaml>` starts exactly the same nodes with the same
fault rules (dagger_ros/ros/launch_support.py): the bridge and the supervisor are
critical; the expert, the policy, the recorder and the simulated operator are respawned; a
node that finishes its job (the trainer after its rounds) ends the launch.
"""

from dagger_ros.ros.launch_support import launch_description


def generate_launch_description():
    return launch_description("sim_dagger_drive", "graph YAML (ros__parameters per node)")
