"""The launch files' one helper: a graph YAML -> launch_ros Node actions, from the same
plan (core/graph.py ``launch_plan``) that ``dagger-ros run`` starts, with its fault rules:

- a critical node's exit, with any code, shuts the launch down;
- any node's clean exit (code 0: it finished its job) shuts the launch down;
- the policy, the expert, the recorder and the simulated operator are respawned after
  ``RESTART_DELAY_S`` (at most ``MAX_RESTARTS`` times: launch counts retries in all, where
  ``dagger-ros run`` counts them per minute);
- any other node that dies is logged and the rest goes on.

``launch`` and ``launch_ros`` are imported only here, inside the functions, so the package
imports without them (they come with a ROS 2 distro).
"""

from __future__ import annotations

from pathlib import Path

from dagger_ros.core.graph import MAX_RESTARTS, RESTART_DELAY_S, NodePlan, launch_plan, load_graph
from dagger_ros.paths import shipped_config


def default_config(name: str) -> str:
    """A shipped config's path (in the install's share folder, or the source tree)."""
    return str(shipped_config(name))


def _on_exit(plan: NodePlan):
    from launch.actions import LogInfo, Shutdown

    def on_exit(event, _context):
        code = event.returncode
        if plan.critical:
            return [Shutdown(reason=f"{plan.name} exited with code {code}: nothing commands "
                                    "the robot safely without it")]
        if code == 0 and plan.finishes_run:
            return [Shutdown(reason=f"{plan.name} finished")]
        if not plan.respawn:
            return [LogInfo(msg=f"[dagger_ros] {plan.name} died with exit code {code}; the "
                                "graph goes on without it")]
        return None

    return on_exit


def node_actions(config: str | Path, profile: str = "") -> list:
    """The Node actions for every node ``config`` configures (validated first: a bad key
    stops the launch with a message naming it and the file); ``profile`` (a path or a
    shipped name, validated too) overrides the YAML's for every node."""
    from launch_ros.actions import Node

    config = str(config)
    parameters: list = [config]
    if profile:
        from dagger_ros.core.profile import load_profile

        load_profile(profile)
        parameters.append({"profile": profile})
    actions = []
    for plan in launch_plan(load_graph(config)):
        extra = {"respawn": True, "respawn_delay": RESTART_DELAY_S,
                 "respawn_max_retries": MAX_RESTARTS} if plan.respawn else {}
        if plan.realtime_priority:  # SCHED_FIFO from the start: its threads inherit it
            extra["prefix"] = f"chrt -f {plan.realtime_priority}"
        actions.append(Node(package="dagger_ros", executable=plan.executable, name=plan.name,
                            parameters=parameters, output="screen", on_exit=_on_exit(plan),
                            **extra))
    return actions


def joy_node():
    """The ``joy`` package's joy_node (the gamepad driver), publishing /joy at 50 Hz even
    while nothing changes, so a held stick or button never reads as a silent gamepad."""
    from launch_ros.actions import Node

    return Node(package="joy", executable="joy_node", name="joy", output="screen",
                parameters=[{"autorepeat_rate": JOY_RATE_HZ}], respawn=True,
                respawn_delay=RESTART_DELAY_S)


JOY_RATE_HZ = 50.0
TRUE = ("true", "1", "yes")


def launch_description(default: str, description: str, with_joy: bool = False):
    """A LaunchDescription with a ``config`` argument (default: shipped config ``default``)
    whose nodes are those the YAML configures; ``with_joy`` (the robot launch) adds a
    ``profile`` argument (over the YAML's) and a ``joy`` argument (default false) that
    also starts the gamepad driver, for distros that ship it."""
    from launch.actions import DeclareLaunchArgument, OpaqueFunction
    from launch.substitutions import LaunchConfiguration

    from launch import LaunchDescription

    config = LaunchConfiguration("config")
    joy = LaunchConfiguration("joy")

    profile = LaunchConfiguration("profile")

    def nodes(context):
        actions = node_actions(config.perform(context),
                               profile.perform(context).strip() if with_joy else "")
        if with_joy and joy.perform(context).strip().lower() in TRUE:
            actions.append(joy_node())
        return actions

    arguments = [DeclareLaunchArgument("config", default_value=default_config(default),
                                       description=description)]
    if with_joy:  # the robot launch
        arguments.append(DeclareLaunchArgument(
            "profile", default_value="",
            description="robot profile (a path, or a name in config/profiles/) for every "
                        "node, over the config's"))
        arguments.append(DeclareLaunchArgument(
            "joy", default_value="false",
            description="true: also start the joy package's joy_node (the gamepad on /joy)"))
    return LaunchDescription([*arguments, OpaqueFunction(function=nodes)])
