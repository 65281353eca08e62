"""The observer's logic without ROS: the learner's observation built from a robot's own
topics, and episodes paced by the operator.

:class:`ObservationBuilder` keeps the newest message of each input and, at every control
tick, builds the observation vector from them, judged by their header stamps: an input
that is missing, older than its ``max_age`` or carries a NaN/Inf means no observation that
tick, with the reason naming the topic (the supervisor's watchdogs hold the robot
meanwhile). A field the message does not carry (a joint not in /joint_states, a path the
message type lacks) is an :class:`ProfileMismatch` at the first message, naming it and
listing what is there. Messages are read by attribute (any rclpy message, or a test's
stand-in), so nothing here imports a message package.

:class:`OperatorEpisodes` turns the operator's episode buttons (or the episode services)
into the EpisodeStart / EpisodeEnd records the recorder and the trainer already use;
between episodes the observations carry episode -1 (``BETWEEN``) and are never recorded.
"""

from __future__ import annotations

import dataclasses
import math
import uuid

import numpy as np

from dagger_ros.core.config import ConfigError, SchedulingConfig, param
from dagger_ros.core.images import ImageError, decode
from dagger_ros.core.profile import ObservationField, RobotProfile
from dagger_ros.core.records import (
    EpisodeEnd,
    EpisodeStart,
    OperatorEventKind,
    Outcome,
    frame_label,
)

BETWEEN = -1  # the episode number of observations taken between episodes


class ProfileMismatch(ConfigError):
    """A profile naming a joint or field the topic's messages do not carry."""


@dataclasses.dataclass
class ObserverConfig(SchedulingConfig):
    """Parameters of the observer node."""

    profile: str = param("", "Robot profile (a path, or a name in config/profiles/): the "
                         "observation fields, their topics and max ages, the control rate.")
    startup_grace: float = param(3.0, "Seconds after start before an input that never "
                                 "arrived is named as missing.")
    episode_timeout: float = param(0.0, "Seconds after which a running episode ends by "
                                   "itself as 'timeout' (0: only the operator ends it).")
    task_name: str = param("", "Task name recorded with each episode start (empty: the "
                           "profile's robot name).")

    def validate(self) -> None:
        self.check_priority()
        if not self.profile:
            raise ConfigError("'profile' must name a robot profile")
        if self.startup_grace < 0 or self.episode_timeout < 0:
            raise ConfigError("'startup_grace' and 'episode_timeout' must be >= 0, got "
                              f"{self.startup_grace} and {self.episode_timeout}")


def stamp_ns(msg) -> int:
    stamp = msg.header.stamp
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def _yaw(q) -> float:
    return math.atan2(2.0 * (q.w * q.z + q.x * q.y), 1.0 - 2.0 * (q.y * q.y + q.z * q.z))


def _resolve(msg, path: str):
    """The value at ``path`` (``a.b[2].c``, or ``yaw(a.b)``) of ``msg``; AttributeError or
    IndexError naming the first part that is not there."""
    if path.startswith("yaw(") and path.endswith(")"):
        return _yaw(_resolve(msg, path[4:-1]))
    value = msg
    for part in path.replace("[", ".[").split("."):
        if part.startswith("["):
            value = value[int(part[1:-1])]
        else:
            if not hasattr(value, part):
                raise AttributeError(part)
            value = getattr(value, part)
    return value


def _fields_of(msg) -> list[str]:
    fields = getattr(msg, "get_fields_and_field_types", None)
    return sorted(fields()) if fields else sorted(k for k in vars(msg) if not k.startswith("_"))


class FieldReader:
    """Reads one profile field's values from a message of its topic."""

    def __init__(self, spec: ObservationField):
        self.spec = spec
        self.names_seen: tuple | None = None
        self.index: list[int] = []

    def check(self, msg) -> None:
        """At the first message: every joint or path is there, or ProfileMismatch."""
        spec = self.spec
        if spec.is_joint_state:
            missing = [j for j in spec.joints if j not in list(msg.name)]
            if missing:
                raise ProfileMismatch(
                    f"{spec.topic} has no joint '{missing[0]}' (the profile's "
                    f"{spec.field} field); its joints: {', '.join(msg.name) or 'none'}")
            return
        for path in spec.paths:
            try:
                value = _resolve(msg, path)
            except (AttributeError, IndexError, TypeError) as exc:
                raise ProfileMismatch(
                    f"{spec.type} on {spec.topic} has no '{path}' ('{exc}' is not there); "
                    f"its fields: {', '.join(_fields_of(msg))}") from None
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ProfileMismatch(f"'{path}' of {spec.type} on {spec.topic} is not a "
                                      f"number (it is {type(value).__name__})")

    def read(self, msg) -> np.ndarray:
        spec = self.spec
        if spec.is_joint_state:
            names = tuple(msg.name)
            if names != self.names_seen:  # drivers may reorder; resolve once per order
                if any(j not in names for j in spec.joints):
                    raise ValueError(f"{spec.topic} stopped carrying joint(s) "
                                     f"{[j for j in spec.joints if j not in names]}")
                self.index = [names.index(j) for j in spec.joints]
                self.names_seen = names
            source = getattr(msg, spec.field)
            if len(source) < len(names):
                raise ValueError(f"{spec.topic} has {len(source)} {spec.field} values for "
                                 f"{len(names)} joints")
            return np.array([source[i] for i in self.index], dtype=float)
        return np.array([float(_resolve(msg, p)) for p in spec.paths], dtype=float)


class ObservationBuilder:
    """The newest message per topic, and the observation they give at a tick."""

    def __init__(self, profile: RobotProfile):
        if profile.from_simulator:
            raise ConfigError(f"profile {profile.source} describes a simulator's own "
                              "observation (source: simulator); the observer needs topics")
        self.profile = profile
        self.fields = profile.ordered_fields()
        self.readers = [FieldReader(f) for f in self.fields]
        self.topics = {f.topic: f.type for f in self.fields}
        self.newest: dict[str, tuple[int, object]] = {}
        self.checked: set[str] = set()
        # cameras: decoded when they arrive (the tick only picks the newest)
        self.images = {i.topic: i for i in profile.images}
        self.topics.update({i.topic: i.type for i in profile.images})
        self.newest_image: dict[str, tuple[int, np.ndarray]] = {}
        self.image_errors: dict[str, str] = {}

    def image(self, topic: str, msg) -> str | None:
        """A camera's message arrived: decoded and kept as the newest, or the reason it
        cannot be used (wrong size or encoding, corrupt), which then stands for the camera
        until a good image comes (no observation meanwhile)."""
        try:
            pixels = decode(msg, self.images[topic], topic)
        except ImageError as exc:
            self.image_errors[topic] = str(exc)
            return str(exc)
        self.image_errors.pop(topic, None)
        self.newest_image[topic] = (stamp_ns(msg), pixels)
        return None

    def build_images(self, now_ns: int) -> tuple[dict | None, str | None]:
        """({name: pixels}, None) for the tick at ``now_ns``, or (None, why not) naming the
        topic: a camera never heard, stopped (older than its max_age) or sending images that
        cannot be used."""
        out = {}
        for topic, spec in self.images.items():
            if topic in self.image_errors:
                return None, self.image_errors[topic]
            got = self.newest_image.get(topic)
            if got is None:
                return None, f"no image on {topic} yet"
            age = (now_ns - got[0]) / 1e9
            if age > spec.max_age:
                return None, f"{topic} is {age:.3f} s old (max_age {spec.max_age:g} s)"
            out[spec.name] = got[1]
        return out, None

    def message(self, topic: str, msg) -> None:
        """A message arrived; the first one of each topic is checked against the profile."""
        if topic not in self.checked:
            for reader in self.readers:
                if reader.spec.topic == topic:
                    reader.check(msg)
            self.checked.add(topic)
        self.newest[topic] = (stamp_ns(msg), msg)

    def build(self, now_ns: int) -> tuple[np.ndarray | None, str | None]:
        """(observation, None), or (None, why not) naming the topic."""
        parts = []
        for reader in self.readers:
            spec = reader.spec
            got = self.newest.get(spec.topic)
            if got is None:
                return None, f"no message on {spec.topic} yet"
            age = (now_ns - got[0]) / 1e9
            if age > spec.max_age:
                return None, (f"{spec.topic} is {age:.3f} s old (max_age {spec.max_age:g} s)")
            try:
                values = reader.read(got[1])
            except ValueError as exc:
                return None, str(exc)
            if not np.all(np.isfinite(values)):
                bad = [n for n, v in zip(spec.names, values, strict=True) if not math.isfinite(v)]
                return None, f"{spec.topic} carries NaN/Inf in {', '.join(bad)}"
            parts.append(values)
        return np.concatenate(parts), None

    def never_heard(self) -> list[str]:
        return [t for t in self.topics if t not in self.newest and t not in self.newest_image
                and t not in self.image_errors]


class OperatorEpisodes:
    """Episodes paced by the operator: ``start`` begins one (ending a running one as
    aborted), ``success`` / ``failure`` mark it and ``end`` ends it with the mark (or
    aborted); ``episode_timeout`` ends one as timeout. ``label`` names each observation."""

    def __init__(self, task: str, episode_timeout_s: float = 0.0, session: str = ""):
        self.task = task
        self.timeout_ns = int(episode_timeout_s * 1e9)
        self.session = session or uuid.uuid4().hex[:12]
        self.episode = BETWEEN
        self.next_episode = 0
        self.steps = 0
        self.started_ns = 0
        self.marked: Outcome | None = None
        self.between = 0  # observations taken between episodes

    @property
    def running(self) -> bool:
        return self.episode != BETWEEN

    def press(self, event: OperatorEventKind, now_ns: int) -> list:
        """The episode records a button press causes."""
        event = OperatorEventKind(event)
        if event in (OperatorEventKind.SUCCESS, OperatorEventKind.FAILURE):
            if self.running:
                self.marked = Outcome(event.value)
            return []
        out = []
        if self.running:
            out.append(self._end(self.marked or Outcome.ABORTED, now_ns))
        if event is OperatorEventKind.START:
            self.episode, self.next_episode = self.next_episode, self.next_episode + 1
            self.steps, self.started_ns, self.marked = 0, now_ns, None
            out.append(EpisodeStart(self.episode, -1, self.task, now_ns, self.session))
        return out

    def _end(self, outcome: Outcome, now_ns: int) -> EpisodeEnd:
        end = EpisodeEnd(self.episode, -1, outcome, self.steps, 0.0, self.session,
                         round((now_ns - self.started_ns) / 1e9, 3))
        self.episode = BETWEEN
        return end

    def observation_label(self, now_ns: int) -> tuple[str, list]:
        """The frame label of the observation taken now, and any record it causes (an
        episode that timed out ends before it)."""
        events = []
        if self.running and self.timeout_ns and now_ns - self.started_ns >= self.timeout_ns:
            events.append(self._end(Outcome.TIMEOUT, now_ns))
        if self.running:
            label = frame_label(self.episode, self.steps)
            self.steps += 1
        else:
            label = frame_label(BETWEEN, self.between)
            self.between += 1
        return label, events
