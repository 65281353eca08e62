"""Typed configuration: YAML -> dataclass, validated once, errors that name the culprit.

Every node's parameters are a dataclass whose fields carry a help text
(``param(default, "help")``). The same dataclass is filled from the YAML by nodes
(before declaring ROS parameters), by the CLI and by tests, so a typo or a wrong type is
reported the same way everywhere: with the key, the node section and the file.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """A configuration problem; the message names the key and the file."""


def param(default: Any, help: str, **kwargs: Any) -> Any:  # noqa: A002 - 'help' reads best here
    """A dataclass field with a help text (used as the ROS parameter descriptor)."""
    if isinstance(default, (list, dict)):
        value = default
        return dataclasses.field(default_factory=lambda: list(value) if isinstance(value, list)
                                 else dict(value), metadata={"help": help, **kwargs})
    return dataclasses.field(default=default, metadata={"help": help, **kwargs})


def _where(source: str | None, section: str | None) -> str:
    parts = []
    if section:
        parts.append(f"section '{section}'")
    if source:
        parts.append(f"file {source}")
    return f" (in {', '.join(parts)})" if parts else ""


def _coerce(name: str, value: Any, annotation: Any, where: str) -> Any:
    """Check ``value`` against a simple annotation; ints are accepted where floats are."""
    origin = typing.get_origin(annotation)
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"'{name}' must be a number, got {value!r}{where}")
        value = float(value)
        if not math.isfinite(value):
            raise ConfigError(f"'{name}' must be finite, got {value!r}{where}")
        return value
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"'{name}' must be an integer, got {value!r}{where}")
        return value
    if annotation is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"'{name}' must be true or false, got {value!r}{where}")
        return value
    if annotation is str:
        if not isinstance(value, str):
            raise ConfigError(f"'{name}' must be a string, got {value!r}{where}")
        return value
    if origin is list:
        (item_type,) = typing.get_args(annotation)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"'{name}' must be a list, got {value!r}{where}")
        return [_coerce(f"{name}[{i}]", v, item_type, where) for i, v in enumerate(value)]
    raise TypeError(f"unsupported config annotation {annotation!r} for '{name}'")


def from_mapping(cls: type, values: Mapping[str, Any] | None, *, source: str | None = None,
                 section: str | None = None, ignore: tuple[str, ...] = ()) -> Any:
    """Build and validate config dataclass ``cls`` from a mapping.

    Unknown keys and wrong types raise ConfigError naming the key, section and file.
    Keys in ``ignore`` (e.g. ``use_sim_time``, which rclpy declares itself) are skipped.
    The dataclass's own ``validate()`` (if any) runs last, for cross-field rules.
    """
    where = _where(source, section)
    values = dict(values or {})
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in values.items():
        if key in ignore:
            continue
        if key not in known:
            close = [k for k in known if k.replace("_", "") == str(key).replace("_", "")
                     or k.startswith(str(key)[:4])]
            hint = f"; did you mean {sorted(close)[0]!r}?" if close else ""
            raise ConfigError(f"unknown key '{key}'{where}; known keys: "
                              f"{', '.join(sorted(known))}{hint}")
        kwargs[key] = _coerce(key, value, hints[key], where)
    try:
        obj = cls(**kwargs)
    except TypeError as exc:  # a required field left out
        raise ConfigError(f"{exc}{where}") from None
    validate = getattr(obj, "validate", None)
    if validate is not None:
        try:
            validate()
        except ConfigError as exc:
            raise ConfigError(f"{exc}{where}") from None
    return obj


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML file with safe_load; a missing or malformed file raises ConfigError."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"malformed YAML in {path}{at}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of node names")
    return data


WILDCARD = "/**"


def node_sections(data: Mapping[str, Any], source: str) -> dict[str, dict[str, Any]]:
    """The ``ros__parameters`` of each node section of a ROS 2 parameter file.

    Parameters under the ``/**`` wildcard section are merged under every node's own; the
    wildcard itself stays available under the key ``"/**"``.
    """
    sections: dict[str, dict[str, Any]] = {}
    for name, body in data.items():
        if not isinstance(body, dict) or "ros__parameters" not in body:
            raise ConfigError(f"section '{name}' in {source} has no 'ros__parameters' mapping")
        extra = set(body) - {"ros__parameters"}
        if extra:
            raise ConfigError(f"section '{name}' in {source} has unexpected keys "
                              f"{sorted(extra)} beside 'ros__parameters'")
        params = body["ros__parameters"] or {}
        if not isinstance(params, dict):
            raise ConfigError(f"'{name}.ros__parameters' in {source} must be a mapping")
        key = WILDCARD if name == WILDCARD else str(name).lstrip("/")
        sections[key] = dict(params)
    shared = sections.get(WILDCARD, {})
    return {name: own if name == WILDCARD else {**shared, **own}
            for name, own in sections.items()}


def node_params(path: str | Path, node: str, fields=None) -> dict[str, Any]:
    """One node's parameters from a ROS 2 parameter file (wildcard merged in).

    With ``fields`` (the node's parameter names), wildcard keys the node does not have are
    left out: a ``/**`` key is shared by the nodes that declare it (as ROS 2 itself applies
    it); one that no node declares is caught by ``graph.load_graph``."""
    data = load_yaml(path)
    sections = node_sections(data, str(path))
    merged = dict(sections.get(node, sections.get(WILDCARD, {})))
    if fields is None:
        return merged
    own = node_sections({k: v for k, v in data.items() if k != WILDCARD}, str(path))
    own = own.get(node, own.get("/" + node, {}))
    return {k: v for k, v in merged.items() if k in own or k in fields}


def check_length(name: str, values: list, expected: int, what: str) -> None:
    """Raise ConfigError when a vector parameter has the wrong number of entries."""
    if len(values) != expected:
        raise ConfigError(f"'{name}' has {len(values)} values but {what} needs {expected}")


@dataclasses.dataclass
class SchedulingConfig:
    """Mixed into the configs of the nodes on a robot's control path (observer, expert,
    policy, supervisor)."""

    realtime_priority: int = param(0, "Linux SCHED_FIFO priority (1-99) the node's process "
                                   "runs at, as a robot's control loop does (0: the normal "
                                   "scheduler). Needs root or an rtprio limit (limits.conf); "
                                   "without it the launcher says so and runs the node at "
                                   "normal priority.")

    def check_priority(self) -> None:
        if not 0 <= self.realtime_priority <= 99:
            raise ConfigError(f"'realtime_priority' must be in 0-99 (0: off), got "
                              f"{self.realtime_priority}")
