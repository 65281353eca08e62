"""Configuration errors name the key, the node section and the file."""

import textwrap
from pathlib import Path

import pytest

from dagger_ros.core.bridge import BridgeConfig, SimBridge
from dagger_ros.core.config import ConfigError, from_mapping, load_yaml
from dagger_ros.core.graph import load_graph
from dagger_ros.core.supervisor import SupervisorConfig


def write(tmp_path, text, name="graph.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_valid_graph_file_builds_typed_configs(tmp_path):
    path = write(tmp_path, """
        mujoco_bridge:
          ros__parameters: {task: drive, control_rate_hz: 100, episodes: 2}
        expert:
          ros__parameters: {task: drive}
    """)
    graph = load_graph(path)
    assert graph["mujoco_bridge"].task == "drive"
    assert graph["mujoco_bridge"].control_rate_hz == 100.0  # int accepted for a float
    assert isinstance(graph["mujoco_bridge"].control_rate_hz, float)


@pytest.mark.parametrize("body, culprit", [
    ("mujoco_bridge:\n  ros__parameters: {taks: reach}", "unknown key 'taks'"),
    ("mujoco_bridge:\n  ros__parameters: {seed: 'one'}", "'seed' must be an integer"),
    ("mujoco_bridge:\n  ros__parameters: {auto_reset: 1}", "'auto_reset' must be true or false"),
    ("mujoco_bridge:\n  ros__parameters: {task: fly}", "unknown task 'fly'"),
    ("mujoco_bridge:\n  ros__parameters: {stepping: fast}", "'stepping' must be one of"),
    ("mujoco_bridge:\n  ros__parameters: {control_rate_hz: 0}", "'control_rate_hz' must be"),
    ("mujoco_bridge:\n  ros__parameters: {command_limits: 2.0}", "'command_limits' must be a list"),
    ("navigator:\n  ros__parameters: {task: reach}", "unknown node 'navigator'"),
    ("mujoco_bridge:\n  task: reach", "has no 'ros__parameters'"),
    ("/**:\n  ros__parameters: {colour: red}\nexpert:\n  ros__parameters: {}",
     "unknown key 'colour'"),
    ("mujoco_bridge:\n  ros__parameters: {stepping: realtime}\n"
     "supervisor:\n  ros__parameters: {stepping: lockstep}",
     "'supervisor.stepping' is lockstep but 'mujoco_bridge.stepping' is realtime"),
])
def test_bad_graph_file_names_key_and_file(tmp_path, body, culprit):
    path = write(tmp_path, body + "\n")
    with pytest.raises(ConfigError) as err:
        load_graph(path)
    assert culprit in str(err.value)
    assert str(path) in str(err.value)


def test_section_named_in_error(tmp_path):
    path = write(tmp_path, "expert:\n  ros__parameters: {drive_robot: 'yes'}\n")
    with pytest.raises(ConfigError, match=r"section 'expert'"):
        load_graph(path)


def test_malformed_yaml_names_file_and_line(tmp_path):
    path = write(tmp_path, "mujoco_bridge:\n  ros__parameters: {task: [reach\n")
    with pytest.raises(ConfigError) as err:
        load_yaml(path)
    assert str(path) in str(err.value) and "line" in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_yaml(tmp_path / "nope.yaml")


def test_yaml_is_read_safely(tmp_path):
    path = write(tmp_path, "x: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(ConfigError, match="malformed YAML"):
        load_yaml(path)


def test_wildcard_section_is_shared(tmp_path):
    path = write(tmp_path, """
        /**:
          ros__parameters: {task: drive}
        mujoco_bridge:
          ros__parameters: {episodes: 1}
        expert:
          ros__parameters: {}
    """)
    graph = load_graph(path)
    assert graph["mujoco_bridge"].task == graph["expert"].task == "drive"


def test_shipped_sim_graphs_tell_the_supervisor_they_run_lockstep():
    for name in ("sim_dagger_drive", "sim_hg_dagger_drive"):
        graph = load_graph(Path(__file__).parents[2] / "config" / f"{name}.yaml")
        assert graph["mujoco_bridge"].stepping == graph["supervisor"].stepping == "lockstep"


def test_vector_of_wrong_length_is_named():
    config = from_mapping(BridgeConfig, {"task": "reach", "command_limits": [1.0, 1.0]})
    with pytest.raises(ConfigError, match=r"'command_limits' has 2 values .* needs 3"):
        SimBridge(config)


def test_every_field_has_help():
    import dataclasses

    from dagger_ros.core.graph import NODE_CONFIGS

    for cls in NODE_CONFIGS.values():
        for f in dataclasses.fields(cls):
            assert f.metadata.get("help"), f"{cls.__name__}.{f.name} has no help text"


@pytest.mark.parametrize("settings, culprit", [
    ({"stepping": "realtime", "in_process": ["policy"]}, "for lockstep simulation only"),
    ({"in_process": ["recorder"]}, "distinct names among"),
    ({"in_process": ["policy", "policy"]}, "distinct names among"),
])
def test_bridge_hosts_only_simulation_nodes_in_lockstep(settings, culprit):
    with pytest.raises(ConfigError, match=culprit):
        from_mapping(BridgeConfig, {"task": "drive", **settings})


def test_hosted_nodes_run_in_the_bridge_process_and_need_their_section(tmp_path):
    from dagger_ros.core.graph import launch_plan

    path = tmp_path / "g.yaml"
    path.write_text(textwrap.dedent("""
        /**:
          ros__parameters: {task: drive, stepping: lockstep}
        mujoco_bridge:
          ros__parameters: {in_process: [expert, policy]}
        expert:
          ros__parameters: {}
        recorder:
          ros__parameters: {}
    """))
    with pytest.raises(ConfigError, match=r"names policy, which .* does not configure"):
        load_graph(path)
    path.write_text(path.read_text() + "policy:\n  ros__parameters: {}\n")
    plan = launch_plan(load_graph(path))
    assert [(p.name, p.hosts, p.critical) for p in plan] == [
        ("mujoco_bridge", ("expert", "policy"), True), ("recorder", (), False)]


def test_realtime_priority_is_refused_by_name_without_permission(monkeypatch):
    import resource

    from dagger_ros import launcher

    assert launcher.realtime_refusal(0) is None
    monkeypatch.setattr(launcher.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(resource, "getrlimit", lambda what: (0, 0))
    why = launcher.realtime_refusal(50)
    assert "real-time priority limit of this user is 0" in why and "limits.conf" in why
    monkeypatch.setattr(resource, "getrlimit", lambda what: (95, 95))
    assert launcher.realtime_refusal(50) is None
    with pytest.raises(ConfigError, match="'realtime_priority' must be in 0-99"):
        from_mapping(SupervisorConfig, {"task": "drive", "realtime_priority": 120})
