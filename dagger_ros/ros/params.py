"""Node parameters from a config dataclass: validated from the YAML first, then declared.

rclpy silently ignores parameter-file keys a node never declares, and raises a bare
traceback on a type mismatch. So the node first validates its own section of the
``--params-file`` with the core dataclass (unknown key / wrong type -> ConfigError naming
key, node and file), then declares every field with its help text as the descriptor, and
finally reads the values back (so ``-p name:=value`` overrides still apply).
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

from rcl_interfaces.msg import ParameterDescriptor

from dagger_ros.core.config import from_mapping, node_params

ROS_OWN = ("use_sim_time",)  # declared by rclpy itself


def params_files(argv: list[str]) -> list[str]:
    """Every ``--params-file PATH`` among the ROS arguments, in order."""
    return [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--params-file"]


def load_config(node, cls: type, argv: list[str] | None = None) -> Any:
    """The node's config dataclass, validated, with every field declared as a parameter."""
    argv = sys.argv if argv is None else argv
    name = node.get_name()
    files = params_files(argv)
    values: dict[str, Any] = {}
    for path in files:
        values.update(node_params(path, name, {f.name for f in dataclasses.fields(cls)}))
    source = ", ".join(files) if files else None
    config = from_mapping(cls, values, source=source, section=name, ignore=ROS_OWN)
    for f in dataclasses.fields(cls):
        node.declare_parameter(f.name, getattr(config, f.name), ParameterDescriptor(
            description=f.metadata.get("help", ""), dynamic_typing=True, read_only=True))
    final = {}
    for f in dataclasses.fields(cls):
        value = _plain(node.get_parameter(f.name).value)
        if value is None and getattr(config, f.name) == []:
            value = []  # rclpy cannot type an empty YAML list ([]); the YAML said []
        final[f.name] = value
    return from_mapping(cls, final, source=source or "command line", section=name)


def _plain(value: Any) -> Any:
    # array parameters come back as array.array / numpy; the validator wants lists
    if value is not None and not isinstance(value, (str, bytes, bool, int, float)):
        return list(value)
    return value
