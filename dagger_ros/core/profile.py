"""A robot profile: the one description of a robot that every node reads.

One YAML file (not a ROS parameter file) says:

- ``robot``: its name (the dataset's robot_type) and ``control_rate_hz``;
- ``observation``: a list of fields, each from a standard topic with a header stamp and a
  ``max_age``: a sensor_msgs/JointState field (``field: position|velocity|effort`` of named
  ``joints``), or any message's numeric fields by ``paths`` (``pose.pose.position.x``;
  ``yaw(pose.pose.orientation)`` turns a quaternion into a yaw), each in the ``state``
  group (the robot itself: LeRobot's observation.state) or ``environment`` (the task:
  observation.environment_state). A simulator that publishes the learner's observation
  itself (the lockstep bridge) names its fields with ``source: simulator``;
- ``images``: cameras, each ``name`` (observation.images.<name>), ``width`` and
  ``height`` (pixels), from a sensor_msgs/Image or CompressedImage ``topic`` with a
  ``max_age`` (or ``source: simulator``);
- ``action``: the command interface (``velocity`` or ``position``: a ros2_control forward
  controller's std_msgs/Float64MultiArray; ``trajectory``: a single-point
  trajectory_msgs/JointTrajectory; ``twist`` / ``twist_stamped``: geometry_msgs on
  /cmd_vel), its ``topic``, ``joints`` (or twist ``names``), per-element ``min``/``max``
  and optional ``max_rate`` (per second).

What a hold is follows from the interface and is never a choice: zero for velocity and
twist interfaces; for position and trajectory interfaces the last measured position of
each commanded joint (so the observation must carry ``<joint>.position`` for each).

Everything is validated once, at load: an unknown key, a missing one, a wrong type, a
vector of the wrong length or a hold that cannot be built raises ConfigError naming the
key and the file. Whether a message type exists and carries the named joints or fields
is checked by the observer against the real messages.
"""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path
from typing import Any

from dagger_ros.core.config import ConfigError, load_yaml
from dagger_ros.core.images import IMAGE_TYPES, ImageField

GROUPS = ("state", "environment")
JOINT_FIELDS = ("position", "velocity", "effort")
INTERFACES = ("velocity", "position", "trajectory", "twist", "twist_stamped")
POSITION_INTERFACES = ("position", "trajectory")
TWIST_NAMES = ("linear.x", "linear.y", "linear.z", "angular.x", "angular.y", "angular.z")
SIMULATOR = "simulator"
_PATH = re.compile(r"^(yaw\()?[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])*\)?$")


@dataclasses.dataclass(frozen=True)
class ObservationField:
    """One entry of the observation: a few named values from one topic."""

    names: tuple[str, ...]  # the element names, in the observation vector's order
    group: str  # "state" or "environment"
    topic: str = ""  # "" for source: simulator
    type: str = ""  # e.g. "sensor_msgs/msg/JointState"
    field: str = ""  # JointState: position | velocity | effort
    joints: tuple[str, ...] = ()  # JointState: which joints, by name
    paths: tuple[str, ...] = ()  # other messages: attribute paths, or yaw(<quaternion>)
    max_age: float = 0.0  # seconds; an older newest message means no observation

    @property
    def is_joint_state(self) -> bool:
        return self.type == "sensor_msgs/msg/JointState"

    @property
    def from_simulator(self) -> bool:
        return not self.topic


@dataclasses.dataclass(frozen=True)
class ActionSpec:
    """The command interface: what each element means and how it reaches the robot."""

    interface: str
    topic: str
    names: tuple[str, ...]
    joints: tuple[str, ...]  # joint interfaces; () for twist
    low: tuple[float, ...]
    high: tuple[float, ...]
    max_rate: tuple[float, ...]  # () = no rate limit
    frame_id: str = ""  # twist_stamped: header.frame_id
    trajectory_time: float = 0.0  # trajectory: time_from_start of the single point (s)

    @property
    def holds_position(self) -> bool:
        """A hold keeps the last measured position (else: zero)."""
        return self.interface in POSITION_INTERFACES

    @property
    def size(self) -> int:
        return len(self.names)


@dataclasses.dataclass(frozen=True)
class RobotProfile:
    robot: str
    control_rate_hz: float
    observation: tuple[ObservationField, ...]
    action: ActionSpec
    source: str = ""  # the file it was read from
    #: cameras: observation.images.<name>, each joined to its tick by stamp like a field
    images: tuple[ImageField, ...] = ()

    @property
    def observation_names(self) -> list[str]:
        """The observation vector: the state fields first, then the environment's."""
        return [n for g in GROUPS for f in self.observation if f.group == g for n in f.names]

    @property
    def state_names(self) -> list[str]:
        return [n for f in self.observation if f.group == "state" for n in f.names]

    @property
    def environment_names(self) -> list[str]:
        return [n for f in self.observation if f.group == "environment" for n in f.names]

    @property
    def observation_size(self) -> int:
        return len(self.observation_names)

    @property
    def action_names(self) -> list[str]:
        return list(self.action.names)

    @property
    def action_size(self) -> int:
        return self.action.size

    def ordered_fields(self) -> list[ObservationField]:
        """The fields in the observation vector's order."""
        return [f for g in GROUPS for f in self.observation if f.group == g]

    def hold_indices(self) -> list[int] | None:
        """For position interfaces: where each commanded joint's measured position sits in
        the observation vector; None for interfaces that hold at zero."""
        if not self.action.holds_position:
            return None
        names = self.observation_names
        return [names.index(f"{j}.position") for j in self.action.joints]

    @property
    def from_simulator(self) -> bool:
        """The learner's observation comes from a simulator (no observer can build it)."""
        return any(f.from_simulator for f in self.observation)


# -- loading ----------------------------------------------------------------------------
def _type_name(value: str, where: str) -> str:
    """``pkg/Msg`` or ``pkg/msg/Msg`` -> ``pkg/msg/Msg``."""
    parts = value.split("/")
    if len(parts) == 2:
        parts = [parts[0], "msg", parts[1]]
    if len(parts) != 3 or parts[1] != "msg" or not all(p.isidentifier() for p in parts):
        raise ConfigError(f"'type' = {value!r} is not a message type such as "
                          f"sensor_msgs/JointState{where}")
    return "/".join(parts)


class _Reader:
    """Typed access to one mapping of the profile, naming the key and the file."""

    def __init__(self, data: Any, where: str, known: tuple[str, ...]):
        if not isinstance(data, dict):
            raise ConfigError(f"{where.strip(' ()')}: expected a mapping, got {data!r}")
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ConfigError(f"unknown key '{unknown[0]}'{where}; known keys: "
                              f"{', '.join(known)}")
        self.data, self.where = data, where

    def get(self, key: str, kind: type, default: Any = dataclasses.MISSING) -> Any:
        if key not in self.data:
            if default is dataclasses.MISSING:
                raise ConfigError(f"missing key '{key}'{self.where}")
            return default
        value = self.data[key]
        if kind is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value):
                raise ConfigError(f"'{key}' must be a finite number, got {value!r}{self.where}")
            return float(value)
        if kind is list:
            if not isinstance(value, list):
                raise ConfigError(f"'{key}' must be a list, got {value!r}{self.where}")
            return value
        if not isinstance(value, kind) or isinstance(value, bool) != (kind is bool):
            raise ConfigError(f"'{key}' must be a {kind.__name__}, got {value!r}{self.where}")
        return value

    def names(self, key: str, default: Any = dataclasses.MISSING) -> tuple[str, ...]:
        values = self.get(key, list, default)
        if any(not isinstance(v, str) or not v for v in values):
            raise ConfigError(f"'{key}' must list names, got {values!r}{self.where}")
        if len(set(values)) != len(values):
            raise ConfigError(f"'{key}' names an element twice: {values!r}{self.where}")
        return tuple(values)

    def numbers(self, key: str, size: int, what: str, default: Any = dataclasses.MISSING
                ) -> tuple[float, ...]:
        values = self.get(key, list, default)
        if len(values) not in ((0, size) if default is not dataclasses.MISSING else (size,)):
            raise ConfigError(f"'{key}' has {len(values)} values but {what} has {size}"
                              f"{self.where}")
        for v in values:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ConfigError(f"'{key}' must list finite numbers, got {values!r}"
                                  f"{self.where}")
        return tuple(float(v) for v in values)


def _field(data: Any, index: int, source: str) -> ObservationField:
    where = f" (in observation[{index}], file {source})"
    r = _Reader(data, where, ("topic", "type", "field", "joints", "paths", "names",
                              "group", "max_age", "source"))
    group = r.get("group", str, "state")
    if group not in GROUPS:
        raise ConfigError(f"'group' must be one of {', '.join(GROUPS)}, got {group!r}{where}")
    if r.get("source", str, "topic") == SIMULATOR:
        return ObservationField(names=r.names("names"), group=group)
    topic = r.get("topic", str)
    if not topic.startswith("/"):
        raise ConfigError(f"'topic' must be an absolute name such as /joint_states, got "
                          f"{topic!r}{where}")
    kind = _type_name(r.get("type", str), where)
    max_age = r.get("max_age", float)
    if max_age <= 0:
        raise ConfigError(f"'max_age' must be positive, got {max_age}{where}")
    if kind == "sensor_msgs/msg/JointState":
        field = r.get("field", str)
        if field not in JOINT_FIELDS:
            raise ConfigError(f"'field' must be one of {', '.join(JOINT_FIELDS)}, got "
                              f"{field!r}{where}")
        joints = r.names("joints")
        names = r.names("names", [f"{j}.{field}" for j in joints])
        if "paths" in data:
            raise ConfigError(f"'paths' is for other messages; a JointState field names "
                              f"'joints'{where}")
        paths: tuple[str, ...] = ()
    else:
        if "joints" in data or "field" in data:
            raise ConfigError(f"'joints' and 'field' are for sensor_msgs/JointState; a "
                              f"{kind} field names 'paths'{where}")
        joints, field = (), ""
        paths = r.names("paths")
        for path in paths:
            if not _PATH.match(path):
                raise ConfigError(f"'paths' entry {path!r} is not an attribute path such as "
                                  f"pose.position.x or yaw(pose.orientation){where}")
        names = r.names("names", list(paths))
    if len(names) != len(joints or paths):
        raise ConfigError(f"'names' has {len(names)} entries for {len(joints or paths)} "
                          f"values{where}")
    return ObservationField(names=names, group=group, topic=topic, type=kind, field=field,
                            joints=joints, paths=paths, max_age=max_age)


def _action(data: Any, source: str) -> ActionSpec:
    where = f" (in action, file {source})"
    r = _Reader(data, where, ("interface", "topic", "joints", "names", "min", "max",
                              "max_rate", "frame_id", "trajectory_time"))
    interface = r.get("interface", str)
    if interface not in INTERFACES:
        raise ConfigError(f"'interface' must be one of {', '.join(INTERFACES)}, got "
                          f"{interface!r}{where}")
    topic = r.get("topic", str)
    if not topic.startswith("/"):
        raise ConfigError(f"'topic' must be an absolute name, got {topic!r}{where}")
    if interface.startswith("twist"):
        if "joints" in data:
            raise ConfigError(f"'joints' is for joint interfaces; a twist names its "
                              f"elements in 'names' ({', '.join(TWIST_NAMES)}){where}")
        joints = ()
        names = r.names("names", ["linear.x", "angular.z"])
        bad = [n for n in names if n not in TWIST_NAMES]
        if bad:
            raise ConfigError(f"'names' entry {bad[0]!r} is not a Twist element (one of "
                              f"{', '.join(TWIST_NAMES)}){where}")
    else:
        joints = r.names("joints")
        suffix = "velocity" if interface == "velocity" else "position"
        names = tuple(f"{j}.{suffix}" for j in joints)
        if "names" in data:
            raise ConfigError(f"'names' is for twist interfaces; a joint interface's "
                              f"elements are <joint>.{suffix}{where}")
    size = len(names)
    low = r.numbers("min", size, "the action")
    high = r.numbers("max", size, "the action")
    for i, (lo, hi) in enumerate(zip(low, high, strict=True)):
        if lo > hi:
            raise ConfigError(f"'min' is above 'max' for {names[i]} ({lo} > {hi}){where}")
    max_rate = r.numbers("max_rate", size, "the action", default=[])
    if any(v <= 0 for v in max_rate):
        raise ConfigError(f"'max_rate' must all be positive, got {list(max_rate)}{where}")
    frame_id = r.get("frame_id", str, "")
    if interface == "twist_stamped" and not frame_id:
        raise ConfigError(f"'frame_id' is needed for twist_stamped (e.g. base_link){where}")
    trajectory_time = r.get("trajectory_time", float, 0.0)
    if interface == "trajectory" and trajectory_time <= 0:
        raise ConfigError(f"'trajectory_time' (s, the single point's time_from_start) must "
                          f"be positive for a trajectory interface{where}")
    return ActionSpec(interface, topic, names, joints, low, high, max_rate, frame_id,
                      trajectory_time)


def _image(data: Any, index: int, source: str) -> ImageField:
    where = f" (in images[{index}], file {source})"
    r = _Reader(data, where, ("name", "topic", "type", "width", "height", "max_age",
                              "source"))
    name = r.get("name", str)
    if not name.isidentifier():
        raise ConfigError(f"'name' must be a plain name such as wrist or front (it becomes "
                          f"observation.images.<name>), got {name!r}{where}")
    size = {}
    for key in ("width", "height"):
        size[key] = r.get(key, int)
        if not 8 <= size[key] <= 4096:
            raise ConfigError(f"'{key}' must be 8-4096 pixels, got {size[key]}{where}")
    if r.get("source", str, "topic") == SIMULATOR:
        return ImageField(name, size["width"], size["height"])
    topic = r.get("topic", str)
    if not topic.startswith("/"):
        raise ConfigError(f"'topic' must be an absolute name such as "
                          f"/camera/color/image_raw, got {topic!r}{where}")
    kind = _type_name(r.get("type", str), where)
    if kind not in IMAGE_TYPES:
        raise ConfigError(f"'type' of an image must be sensor_msgs/Image or "
                          f"sensor_msgs/CompressedImage, got {kind!r}{where}")
    max_age = r.get("max_age", float)
    if max_age <= 0:
        raise ConfigError(f"'max_age' must be positive, got {max_age}{where}")
    return ImageField(name, size["width"], size["height"], topic, kind, max_age)


def profile_from_mapping(data: Any, source: str) -> RobotProfile:
    """Validate a profile mapping (``source`` names the file in every error)."""
    where = f" (file {source})"
    r = _Reader(data, where, ("robot", "control_rate_hz", "observation", "action",
                              "images"))
    robot = r.get("robot", str)
    rate = r.get("control_rate_hz", float)
    if rate <= 0:
        raise ConfigError(f"'control_rate_hz' must be positive, got {rate}{where}")
    entries = r.get("observation", list)
    if not entries:
        raise ConfigError(f"'observation' lists no field{where}")
    fields = tuple(_field(e, i, source) for i, e in enumerate(entries))
    if len({f.from_simulator for f in fields}) > 1:
        raise ConfigError(f"'observation' mixes simulator fields with topic fields{where}")
    images = tuple(_image(e, i, source) for i, e in enumerate(r.get("images", list, [])))
    image_names = [i.name for i in images]
    if len(set(image_names)) != len(image_names):
        raise ConfigError(f"'images' names a camera twice: {image_names}{where}")
    if any(bool(i.topic) == fields[0].from_simulator for i in images):
        raise ConfigError(f"'images' must come from topics when the observation does, and "
                          f"from the simulator when it does{where}")
    profile = RobotProfile(robot, rate, fields, _action(r.get("action", dict), source), source,
                           images)
    names = profile.observation_names
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"observation element '{twice[0]}' appears twice{where}")
    if profile.action.holds_position:
        missing = [j for j in profile.action.joints if f"{j}.position" not in names]
        if missing:
            raise ConfigError(
                f"a {profile.action.interface} interface holds the last measured position, "
                f"but the observation has no '{missing[0]}.position' (add a JointState "
                f"position field for joint '{missing[0]}'){where}")
    return profile


def task_profile(task: str, controller_name: str = "forward_velocity_controller"
                 ) -> RobotProfile:
    """The profile a simulated task produces: its observation (from the simulator), its
    command interface and the model's limits."""
    from dagger_ros.core.tasks import make_task

    sim = make_task(task)
    env = set(sim.environment_names)
    fields = tuple(ObservationField(names=tuple(n for n in sim.observation_names
                                                if (n in env) == (g == "environment")),
                                    group=g) for g in GROUPS)
    low, high = sim.action_limits()
    if sim.command_kind == "twist":
        action = ActionSpec("twist", "/cmd_vel", tuple(sim.action_names), (),
                            tuple(low), tuple(high), ())
    else:
        joints = tuple(n.rsplit(".", 1)[0] for n in sim.action_names)
        interface = "position" if sim.command_kind == "joint_position" else "velocity"
        action = ActionSpec(interface, f"/{controller_name}/commands", tuple(sim.action_names),
                            joints, tuple(low), tuple(high), ())
    images = tuple(ImageField(name, sim.camera_size[0], sim.camera_size[1])
                   for name in sim.cameras)
    return RobotProfile(sim.name, 50.0, tuple(f for f in fields if f.names), action,
                        f"task '{task}'", images)


def node_profile(profile: str, task: str, controller_name: str = "forward_velocity_controller"
                 ) -> RobotProfile:
    """What a node runs with: the named profile, else the one its sim task produces."""
    return load_profile(profile) if profile else task_profile(task, controller_name)


def load_profile(path: str | Path) -> RobotProfile:
    """A profile by path, or by name from the package's config/profiles/ folder."""
    path = resolve_profile(path)
    return profile_from_mapping(load_yaml(path), str(path))


def resolve_profile(name: str | Path) -> Path:
    path = Path(name)
    if path.suffix or path.exists():
        return path
    from dagger_ros.paths import PACKAGE_ROOT, share_dir

    for base in (PACKAGE_ROOT / "config" / "profiles", share_dir() / "config" / "profiles"):
        candidate = base / f"{name}.yaml"
        if candidate.exists():
            return candidate
    raise ConfigError(f"robot profile not found: {name} (a path, or the name of a file in "
                      "config/profiles/)")
