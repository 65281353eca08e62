"""`launch` is not installable here, so the launch files run against stand-ins for
`launch` and `launch_ros` that record what they are asked to start. For every shipped
config, the launch file starts exactly the nodes `dagger-ros run` starts, with the same
fault rules, and every node it starts names a real entry point."""

import ast
import importlib.util
import re
import sys
import types
from pathlib import Path

import pytest

from dagger_ros import cli
from dagger_ros.core.graph import CRITICAL, MAX_RESTARTS, NODE_CONFIGS, RESPAWN, load_graph

ROOT = Path(__file__).resolve().parents[1]
LAUNCH_FILES = {p.name: p for p in sorted((ROOT / "launch").glob("*.launch.py"))}
SIM_CONFIGS = sorted(p for p in (ROOT / "config").glob("sim_*.yaml"))
ROBOT_CONFIGS = sorted(p for p in (ROOT / "config").glob("robot*.yaml"))


def entry_points() -> set[str]:
    text = (ROOT / "setup.py").read_text()
    nodes = ast.literal_eval(re.search(r"NODES = (\[.*?\])", text, re.S).group(1))
    return set(nodes)


class Recorded:
    """A launch action stand-in: keeps its arguments."""

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs


class FakeEvent:
    def __init__(self, returncode):
        self.returncode = returncode


@pytest.fixture
def fake_launch(monkeypatch):
    """Stand-ins for the parts of launch / launch_ros the launch files use."""
    classes = {}

    def module(name, **attrs):
        mod = types.ModuleType(name)
        for key, value in attrs.items():
            setattr(mod, key, value)
        monkeypatch.setitem(sys.modules, name, mod)
        return mod

    for name in ("LaunchDescription", "DeclareLaunchArgument", "OpaqueFunction", "Shutdown",
                 "LogInfo", "Node"):
        classes[name] = type(name, (Recorded,), {})

    class LaunchConfiguration:
        def __init__(self, name):
            self.name = name

        def perform(self, context):
            return context[self.name]

    module("launch", LaunchDescription=classes["LaunchDescription"])
    module("launch.actions", DeclareLaunchArgument=classes["DeclareLaunchArgument"],
           OpaqueFunction=classes["OpaqueFunction"], Shutdown=classes["Shutdown"],
           LogInfo=classes["LogInfo"])
    module("launch.substitutions", LaunchConfiguration=LaunchConfiguration)
    module("launch_ros")
    module("launch_ros.actions", Node=classes["Node"])
    return classes


def launched_nodes(launch_file: Path, config: Path, classes, joy: str | None = None,
                   profile: str = "") -> list:
    """Run ``launch_file`` with ``config:=config`` (and ``joy:=joy``); returns the Node
    stand-ins it starts."""
    spec = importlib.util.spec_from_file_location(launch_file.stem.replace(".", "_"),
                                                  launch_file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    description = module.generate_launch_description()
    assert isinstance(description, classes["LaunchDescription"])
    entities = description.args[0]
    arguments = {e.args[0]: e for e in entities
                 if isinstance(e, classes["DeclareLaunchArgument"])}
    assert Path(arguments["config"].kwargs["default_value"]).is_file()
    context = {"config": str(config)}
    if "joy" in arguments:
        assert arguments["joy"].kwargs["default_value"] == "false"
        assert arguments["profile"].kwargs["default_value"] == ""
        context["joy"] = joy or "false"
        context["profile"] = profile
    else:
        assert joy is None and not profile, f"{launch_file.name} has no joy or profile"
    [opaque] = [e for e in entities if isinstance(e, classes["OpaqueFunction"])]
    return opaque.kwargs["function"](context)


def rules_of(node, classes) -> dict:
    """What a launched node does when it exits, as `dagger-ros run` would describe it."""
    on_exit = node.kwargs["on_exit"]

    def shuts_down(code):
        actions = on_exit(FakeEvent(code), None) or []
        return any(isinstance(a, classes["Shutdown"]) for a in actions)

    prefix = node.kwargs.get("prefix", "")
    return {"name": node.kwargs["name"], "critical": shuts_down(1) and shuts_down(-9),
            "respawn": bool(node.kwargs.get("respawn")), "finishes_run": shuts_down(0),
            "realtime_priority": int(prefix.split()[-1]) if prefix.startswith("chrt -f ")
            else 0}


def launcher_rules(config: Path, monkeypatch) -> list[dict]:
    """What `dagger-ros run --config config` starts, captured where it hands the plan on."""
    captured = {}

    def run_graph(path, plan, timeout=0.0, extra_args=None):
        captured["plan"] = plan
        return 0

    monkeypatch.setattr("dagger_ros.launcher.run_graph", run_graph)
    args = cli.build_parser().parse_args(["run", "--config", str(config)])
    assert args.func(args) == 0
    return [{"name": p.name, "critical": p.critical, "respawn": p.respawn,
             "finishes_run": p.finishes_run, "realtime_priority": p.realtime_priority}
            for p in captured["plan"]]


def test_both_launch_files_exist():
    assert set(LAUNCH_FILES) == {"sim.launch.py", "robot.launch.py"}


@pytest.mark.parametrize("config", SIM_CONFIGS + ROBOT_CONFIGS, ids=lambda p: p.name)
def test_launch_file_starts_what_the_launcher_starts(config, fake_launch, monkeypatch):
    launch_file = LAUNCH_FILES["robot.launch.py" if config.name.startswith("robot")
                               else "sim.launch.py"]
    nodes = launched_nodes(launch_file, config, fake_launch)
    graph = load_graph(config)
    launched_names = {n.kwargs["name"] for n in nodes}
    hosted = set(graph["mujoco_bridge"].in_process) if "mujoco_bridge" in graph else set()
    # every configured node, no other: in a process of its own, or in the bridge's (which
    # builds them from the same YAML)
    assert launched_names | hosted == set(graph) and not launched_names & hosted
    for node in nodes:
        name = node.kwargs["name"]
        assert node.kwargs["package"] == "dagger_ros"
        assert node.kwargs["executable"] == name  # node name = YAML key = executable
        assert name in entry_points() and name in NODE_CONFIGS
        assert node.kwargs["parameters"] == [str(config)]
        if name in RESPAWN:
            assert node.kwargs["respawn_max_retries"] == MAX_RESTARTS
    launched = [rules_of(n, fake_launch) for n in nodes]
    assert launched == launcher_rules(config, monkeypatch)
    for rules in launched:  # the rules themselves, as the README states them
        assert rules["critical"] == (rules["name"] in CRITICAL)
        assert rules["respawn"] == (rules["name"] in RESPAWN)
        assert rules["finishes_run"]


def test_robot_launch_starts_the_gamepad_driver_only_when_asked(fake_launch):
    config = ROOT / "config" / "robot.yaml"
    launch = LAUNCH_FILES["robot.launch.py"]
    plain = launched_nodes(launch, config, fake_launch)
    assert "joy" not in [n.kwargs["name"] for n in plain]
    with_joy = launched_nodes(launch, config, fake_launch, joy="true")
    [joy] = [n for n in with_joy if n.kwargs["name"] == "joy"]
    assert (joy.kwargs["package"], joy.kwargs["executable"]) == ("joy", "joy_node")
    assert joy.kwargs["parameters"][0]["autorepeat_rate"] >= 50.0  # at the control rate
    assert {n.kwargs["name"] for n in with_joy} - {"joy"} == {n.kwargs["name"] for n in plain}


def test_robot_launch_profile_argument_overrides_every_nodes_profile(fake_launch):
    from dagger_ros.core.config import ConfigError

    config = ROOT / "config" / "robot.yaml"
    launch = LAUNCH_FILES["robot.launch.py"]
    example = str(ROOT / "config" / "profiles" / "example_6dof_arm.yaml")
    for node in launched_nodes(launch, config, fake_launch, profile=example):
        assert node.kwargs["parameters"] == [str(config), {"profile": example}]
    with pytest.raises(ConfigError, match="nope"):
        launched_nodes(launch, config, fake_launch, profile="nope")


def test_dagger_ros_run_profile_overrides_every_nodes_profile(monkeypatch, capsys):
    captured = {}

    def run_graph(path, plan, timeout=0.0, extra_args=None):
        captured["extra"] = extra_args
        return 0

    monkeypatch.setattr("dagger_ros.launcher.run_graph", run_graph)
    parser = cli.build_parser()
    args = parser.parse_args(["run", "--config", "robot", "--profile", "example_6dof_arm"])
    assert args.func(args) == 0
    assert captured["extra"] == ["-p", "profile:=example_6dof_arm"]
    args = parser.parse_args(["run", "--config", "robot", "--profile", "nope.yaml"])
    assert args.func(args) == 2 and "nope.yaml" in capsys.readouterr().err


def test_the_hg_dagger_launch_starts_its_simulated_operator(fake_launch):
    config = ROOT / "config" / "sim_hg_dagger_drive.yaml"
    nodes = launched_nodes(LAUNCH_FILES["sim.launch.py"], config, fake_launch)
    assert "sim_operator" in [n.kwargs["name"] for n in nodes] + \
        load_graph(config)["mujoco_bridge"].in_process


def test_a_bad_config_stops_the_launch_naming_the_key(tmp_path, fake_launch):
    from dagger_ros.core.config import ConfigError

    bad = tmp_path / "bad.yaml"
    bad.write_text("expert:\n  ros__parameters:\n    gain: 3\n")
    with pytest.raises(ConfigError, match=f"unknown key 'gain' .*file {bad}"):
        launched_nodes(LAUNCH_FILES["sim.launch.py"], bad, fake_launch)


def test_every_shipped_config_validates():
    for config in sorted((ROOT / "config").glob("*.yaml")):
        load_graph(config)
