"""`launch` is not installable here, so the launch files are checked statically: each
parses, names only real entry points, points at parameter files that exist, and every
parameter in those files is one the node declares."""

import ast
import re
from pathlib import Path

import pytest

from dagger_ros.core.graph import NODE_CONFIGS, load_graph
from dagger_ros.launcher import CRITICAL, RESPAWN

ROOT = Path(__file__).resolve().parents[1]
LAUNCH_FILES = sorted((ROOT / "launch").glob("*.launch.py"))


def entry_points() -> set[str]:
    text = (ROOT / "setup.py").read_text()
    nodes = ast.literal_eval(re.search(r"NODES = (\[.*?\])", text, re.S).group(1))
    return set(nodes)


def node_calls(tree):
    for call in ast.walk(tree):
        if isinstance(call, ast.Call) and getattr(call.func, "id", None) == "Node":
            yield {k.arg: k.value for k in call.keywords}


def test_both_launch_files_exist():
    assert {p.name for p in LAUNCH_FILES} == {"sim.launch.py", "robot.launch.py"}


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: p.name)
def test_launch_file_is_consistent(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    names = {f.name for f in tree.body if isinstance(f, ast.FunctionDef)}
    assert "generate_launch_description" in names
    nodes = list(node_calls(tree))
    assert nodes, f"{path.name} starts no Node"
    yaml_names = [c.value for c in ast.walk(tree) if isinstance(c, ast.Constant)
                  and isinstance(c.value, str) and c.value.endswith(".yaml")]
    assert len(yaml_names) == 1, yaml_names
    config = ROOT / "config" / yaml_names[0]
    assert config.is_file()
    graph = load_graph(config)  # every key of every section is a declared parameter
    started = set()
    for node in nodes:
        assert node["package"].value == "dagger_ros"
        executable, name = node["executable"].value, node["name"].value
        assert executable in entry_points(), f"{path.name}: no entry point '{executable}'"
        assert name == executable  # node name = YAML key = executable
        assert executable in NODE_CONFIGS, f"{path.name} starts unbuilt node '{executable}'"
        # faults are handled as `dagger-ros run` handles them
        respawn = node.get("respawn")
        assert (name in RESPAWN) == bool(respawn is not None and respawn.value is True), name
        assert (name in CRITICAL) == ("on_exit" in node), name
        started.add(name)
    assert set(graph) <= started, f"{config.name} configures nodes {path.name} never starts"


def test_every_shipped_config_validates():
    for config in sorted((ROOT / "config").glob("*.yaml")):
        load_graph(config)
