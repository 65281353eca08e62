"""What crosses a topic, as typed records: one class per record, with encode and decode.

JSON records (decisions, episode events, rounds, saved episodes, statuses, operator
events, round metrics) travel as std_msgs/String; answers and observations travel as
sensor_msgs/JointState used as a stamped named vector (:class:`StampedVector` here, turned
into the message by ``dagger_ros.ros``). Decoding is strict: a missing key, an unknown key,
a wrong type or an unknown enum value raises :class:`RecordError` naming the topic, the key
and the value. Nobody parses a record by hand.

The integer codes of :class:`Source` and :class:`Reason` are what the dataset stores per
frame; they are append-only (a code never changes meaning).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import types
import typing
from typing import Any, ClassVar

import numpy as np


class RecordError(ValueError):
    """A message that does not decode; the message names the topic, the key and the value."""


class CodedEnum(enum.StrEnum):
    """A string enum whose members also have a stable integer code (declaration order)."""

    @property
    def code(self) -> int:
        return type(self)._codes()[self]

    @classmethod
    def _codes(cls) -> dict:
        codes = cls.__dict__.get("_code_table")
        if codes is None:
            codes = {m: i for i, m in enumerate(cls)}
            type.__setattr__(cls, "_code_table", codes)
        return codes

    @classmethod
    def from_code(cls, code: int):
        for member, value in cls._codes().items():
            if value == code:
                return member
        raise RecordError(f"unknown {cls.__name__} code {code}")

    @classmethod
    def code_table(cls) -> dict[str, int]:
        """{value: code}, as written to the dataset's meta/dagger_ros.json."""
        return {m.value: c for m, c in cls._codes().items()}

    def __str__(self) -> str:
        return self.value


class Source(CodedEnum):
    """Whose command reached the robot for one observation."""

    EXPERT = "expert"
    POLICY = "policy"
    HOLD = "hold"  # an explicit hold (emergency stop, watchdogs, no label)


class Reason(CodedEnum):
    """Why the supervisor chose the source (append new reasons at the end)."""

    NO_POLICY = "no_policy"
    BETA_DRAW = "beta_draw"
    POLICY_TIMEOUT = "policy_timeout"
    INVALID_POLICY_ACTION = "invalid_policy_action"
    ESTOP = "estop"
    EXPERT_TIMEOUT = "expert_timeout"
    STALE_INPUT = "stale_input"
    NO_LABEL = "no_label"
    DISCREPANCY = "discrepancy"
    HANDBACK = "handback"
    UNCERTAINTY = "uncertainty"
    WARMING_UP = "warming_up"
    OPERATOR_TAKEOVER = "operator_takeover"
    AUTONOMOUS = "autonomous"
    DART_NOISE = "dart_noise"
    BUDGET_QUERY = "budget_query"
    BUDGET_EXHAUSTED = "budget_exhausted"
    ASYNC_QUEUED = "async_queued"
    BETWEEN_EPISODES = "between_episodes"  # no episode runs: the robot is held
    FREE_DRIVE = "free_drive"  # no episode runs: the operator moves the robot, unrecorded


class Outcome(CodedEnum):
    """How an episode ended."""

    SUCCESS = "success"
    FAILURE = "failure"
    TIMEOUT = "timeout"
    ABORTED = "aborted"  # cut short: a reset, or the operator's end without a mark
    INTERRUPTED = "interrupted"  # the recorder stopped while it ran (saved as far as it got)


class Gating(CodedEnum):
    """The gating rules (``gating`` key), as coded in the dataset's ``gating`` column."""

    BETA = "beta"
    SAFE = "safe"
    UNCERTAINTY = "uncertainty"
    HUMAN_GATED = "human_gated"
    NOISE = "noise"
    BUDGET = "budget"
    ASYNC = "async"


class LabelKind(CodedEnum):
    """Who gave a frame its label, as coded in the dataset's ``label_source`` column (the
    full name, e.g. ``scripted/drive_stanley``, is in the frame's task string)."""

    NONE = "none"  # no label
    SCRIPTED = "scripted"  # a scripted expert, online (label sources named scripted/...)
    OPERATOR = "operator"  # a person (label sources named operator...), online
    OTHER = "other"  # any other label source name, online
    LATER = "later"  # labelled after collection (`dagger-ros label`, the trainer)

    @classmethod
    def of(cls, label_source: str) -> LabelKind:
        """The kind of an online label source, from its name."""
        if label_source.startswith("scripted"):
            return cls.SCRIPTED
        if label_source.startswith("operator"):
            return cls.OPERATOR
        return cls.OTHER


class OperatorEventKind(CodedEnum):
    """The gamepad's episode buttons."""

    START = "start"
    END = "end"
    SUCCESS = "success"
    FAILURE = "failure"


# -- the decoder ------------------------------------------------------------------------
def _fail(topic: str, key: str, value: Any, want: str) -> RecordError:
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return RecordError(f"message on {topic}: '{key}' = {shown} is not {want}")


def _check(value: Any, hint: Any, key: str, topic: str) -> Any:
    """``value`` as type ``hint`` (int, float, str, bool, enums, lists, dicts, optionals)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _check(value, inner, key, topic)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(topic, key, value, "an integer")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _fail(topic, key, value, "a number")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise _fail(topic, key, value, "a string")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise _fail(topic, key, value, "true or false")
        return value
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            return hint(value)
        except ValueError:
            known = ", ".join(m.value for m in hint)
            raise _fail(topic, key, value, f"a known {hint.__name__} ({known})") from None
    if origin is list:
        (item,) = typing.get_args(hint)
        if not isinstance(value, list):
            raise _fail(topic, key, value, "a list")
        return [_check(v, item, f"{key}[{i}]", topic) for i, v in enumerate(value)]
    if origin is dict or hint is dict:
        if not isinstance(value, dict):
            raise _fail(topic, key, value, "a mapping")
        return value
    raise TypeError(f"unsupported record field type {hint!r} for '{key}'")


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return value


class JsonRecord:
    """Base of the JSON records: ``encode()`` -> text, ``decode(text, topic)`` -> record."""

    #: the value of the "event" key for event records (None: no such key)
    EVENT: ClassVar[str | None] = None

    def as_dict(self) -> dict[str, Any]:
        out = {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}
        if self.EVENT is not None:
            out = {"event": self.EVENT, **out}
        return out

    def encode(self) -> str:
        return json.dumps(self.as_dict())

    @classmethod
    def _hints(cls) -> dict[str, Any]:
        hints = cls.__dict__.get("_hint_cache")
        if hints is None:
            hints = typing.get_type_hints(cls)
            hints = {f.name: hints[f.name] for f in dataclasses.fields(cls)}
            type.__setattr__(cls, "_hint_cache", hints)
        return hints

    @classmethod
    def from_dict(cls, data: Any, topic: str):
        if not isinstance(data, dict):
            raise RecordError(f"message on {topic} is not a JSON object: {str(data)[:80]!r}")
        data = dict(data)
        if cls.EVENT is not None:
            event = data.pop("event", None)
            if event != cls.EVENT:
                raise RecordError(f"message on {topic}: 'event' = {event!r}, expected "
                                  f"{cls.EVENT!r}")
        hints = cls._hints()
        unknown = sorted(set(data) - set(hints))
        if unknown:
            raise RecordError(f"message on {topic} has unknown key(s) {unknown} for a "
                              f"{cls.__name__}; known: {', '.join(hints)}")
        values = {}
        for f in dataclasses.fields(cls):
            if f.name in data:
                values[f.name] = _check(data[f.name], hints[f.name], f.name, topic)
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise RecordError(f"message on {topic} lacks '{f.name}' for a {cls.__name__}")
        return cls(**values)

    @classmethod
    def decode(cls, text: str, topic: str):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise RecordError(f"message on {topic} is not JSON ({exc}): {text[:80]!r}") \
                from None
        return cls.from_dict(data, topic)


# -- the JSON records -------------------------------------------------------------------
@dataclasses.dataclass
class DecisionRecord(JsonRecord):
    """/dagger/decision: what the supervisor did for one observation, and why."""

    stamp_ns: int  # the observation's stamp (its identity)
    frame: str  # "<episode>:<step>"
    source: Source
    reason: Reason
    value: float | None  # what the gate measured (the draw, a discrepancy, a spread...)
    threshold: float | None  # what it compared it with
    beta: float
    round: int
    checkpoint_id: str | None
    gating: str
    label_source: str
    uncertainty: float | None  # the ensemble's spread (None: no policy proposal)
    expert_action: list[float] | None  # the label (None: none for this state)
    intervention: bool  # the expert took control away from a running policy here
    policy_action: list[float] | None  # the policy's proposal (None: none)
    executed_action: list[float]  # what was commanded, after clamping
    clamped: bool
    sent: bool  # false: held as stale, the command never went out
    stale: str | None  # why it was stale


@dataclasses.dataclass
class EpisodeStart(JsonRecord):
    """/episode/event: an episode began."""

    EVENT: ClassVar[str] = "start"
    episode: int
    seed: int
    task: str
    stamp_ns: int  # the stamp of its first observation
    session: str = ""  # who numbers the episodes (a bridge or an episode manager run)


@dataclasses.dataclass
class EpisodeEnd(JsonRecord):
    """/episode/event: an episode ended after ``steps`` observations."""

    EVENT: ClassVar[str] = "end"
    episode: int
    seed: int
    outcome: Outcome
    steps: int
    episode_return: float = 0.0
    session: str = ""
    wall_s: float = 0.0  # how long it took, wall clock (a simulator's speed)


@dataclasses.dataclass
class EpisodesFinished(JsonRecord):
    """/episode/event: the source of episodes ran all it was configured for."""

    EVENT: ClassVar[str] = "finished"
    episodes: int
    session: str = ""


EPISODE_EVENTS = {cls.EVENT: cls for cls in (EpisodeStart, EpisodeEnd, EpisodesFinished)}


def decode_episode_event(text: str, topic: str):
    """An /episode/event message: EpisodeStart, EpisodeEnd or EpisodesFinished."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise RecordError(f"message on {topic} is not JSON ({exc}): {text[:80]!r}") from None
    kind = data.get("event") if isinstance(data, dict) else None
    if kind not in EPISODE_EVENTS:
        raise RecordError(f"message on {topic}: 'event' = {kind!r} is not one of "
                          f"{', '.join(EPISODE_EVENTS)}")
    return EPISODE_EVENTS[kind].from_dict(data, topic)


@dataclasses.dataclass
class OperatorEvent(JsonRecord):
    """/dagger/operator/event: a gamepad episode button was pressed."""

    event: OperatorEventKind
    stamp_ns: int  # the Joy message's stamp


@dataclasses.dataclass
class RoundAnnouncement(JsonRecord):
    """/dagger/round: the trainer's round and the checkpoint the policy is to run."""

    round: int
    checkpoint_path: str | None
    checkpoint_id: str | None
    final: bool = False  # after the last round: nothing more will be collected


@dataclasses.dataclass
class PolicyStatus(JsonRecord):
    """/dagger/policy/status: what the policy runs now (the last good checkpoint if it
    refused the announced one, with ``error``)."""

    round: int
    checkpoint_id: str | None
    checkpoint_path: str | None
    error: str | None
    #: whether the running policy gives an uncertainty (an ensemble does; a LeRobot policy,
    #: or none running, does not)
    uncertainty: bool = True
    kind: str = "ensemble"  # "ensemble", "vision_ensemble" or "lerobot/<type>" (lerobot/act)


@dataclasses.dataclass
class SupervisorStatus(JsonRecord):
    """/dagger/supervisor/status: the round the supervisor applies, its beta, the policy."""

    round: int
    beta: float
    checkpoint_id: str | None


@dataclasses.dataclass
class SavedEpisode(JsonRecord):
    """/dagger/recorder/saved (and meta/dagger_episodes.jsonl): one saved episode's
    provenance."""

    episode_index: int  # in the dataset
    sim_episode: int  # the episode number its source gave it
    seed: int
    outcome: Outcome
    frames: int
    round: int
    checkpoint_id: str | None
    label_source: str
    gating: str
    beta: float
    expert_frames: int
    policy_frames: int
    hold_frames: int
    unlabelled_frames: int
    interventions: int
    intervention_frames: int
    handoffs: int
    first_stamp_ns: int
    last_stamp_ns: int
    session: str = ""


@dataclasses.dataclass
class RoundMetrics(JsonRecord):
    """/dagger/metrics (and metrics.jsonl): one round's figures."""

    round: int
    beta: float
    episodes: int
    labels: int
    collected_success: float
    policy_frames: int
    intervention_rate: float | None
    interventions: int
    handoffs: int
    operator_time_s: float
    autonomous_share: float | None
    checkpoint: str
    checkpoint_id: str
    train: dict
    success_rate: float  # simulator: the held-out evaluation; operator: see evaluated_by
    mean_return: float | None  # None where episodes have no return (operator-paced)
    eval_episodes: int
    #: 'simulator': success_rate is the new checkpoint's on held-out seeds; 'operator':
    #: the share of this round's episodes the running policy completed itself (no
    #: take-over, marked success by the operator)
    evaluated_by: str = "simulator"


@dataclasses.dataclass
class MetricsFinished(JsonRecord):
    """/dagger/metrics: the trainer's rounds are over."""

    finished: bool = True


def decode_metrics(text: str, topic: str):
    """A /dagger/metrics message: RoundMetrics or MetricsFinished."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise RecordError(f"message on {topic} is not JSON ({exc}): {text[:80]!r}") from None
    if isinstance(data, dict) and "finished" in data:
        return MetricsFinished.from_dict(data, topic)
    return RoundMetrics.from_dict(data, topic)


# -- the reset service's reply ------------------------------------------------------------
@dataclasses.dataclass
class ResetReply:
    """/sim/reset's std_srvs/Trigger message on success: the episode it started."""

    episode: int
    seed: int

    def encode(self) -> str:
        return f"episode {self.episode} seed {self.seed}"

    @classmethod
    def decode(cls, text: str, where: str) -> ResetReply:
        parts = text.split()
        if len(parts) != 4 or parts[0] != "episode" or parts[2] != "seed":
            raise RecordError(f"reply of {where} is not 'episode N seed S': {text!r}")
        try:
            return cls(int(parts[1]), int(parts[3]))
        except ValueError:
            raise RecordError(f"reply of {where} is not 'episode N seed S': {text!r}") \
                from None


# -- stamped vectors ----------------------------------------------------------------------
def frame_label(episode: int, step: int) -> str:
    """The human-readable name of an observation: ``"<episode>:<step>"``."""
    return f"{episode}:{step}"


def parse_frame(label: str, topic: str) -> tuple[int, int]:
    """``"<episode>:<step>"`` -> (episode, step); anything else raises RecordError."""
    episode, sep, step = label.partition(":")
    try:
        if not sep:
            raise ValueError
        return int(episode), int(step)
    except ValueError:
        raise RecordError(f"message on {topic}: frame {label!r} is not "
                          "'<episode>:<step>'") from None


def frame_episode(label: str) -> int:
    """The episode of a frame label."""
    return parse_frame(label, "frame label")[0]


@dataclasses.dataclass
class StampedVector:
    """A sensor_msgs/JointState used as a stamped named vector (see ros/convert.py)."""

    stamp_ns: int
    frame: str
    names: list[str]
    position: Any  # sequence of floats
    velocity: Any = ()
    effort: Any = ()


def _values(vector: StampedVector, size: int, topic: str, what: str = "values") -> np.ndarray:
    parse_frame(vector.frame, topic)  # every vector names the observation it belongs to
    values = np.asarray(vector.position, dtype=float)
    if values.shape[0] != size:
        raise RecordError(f"message on {topic} has {values.shape[0]} {what}, expected {size} "
                          f"(frame {vector.frame or '?'})")
    return values


@dataclasses.dataclass
class StampedValues:
    """A vector of values belonging to one observation (its stamp and frame)."""

    stamp_ns: int
    frame: str
    values: np.ndarray

    def encode(self, names) -> StampedVector:
        return StampedVector(self.stamp_ns, self.frame, list(names), self.values)

    @classmethod
    def decode(cls, vector: StampedVector, size: int, topic: str):
        return cls(vector.stamp_ns, vector.frame, _values(vector, size, topic))


class Observation(StampedValues):
    """/dagger/observation (and the privileged /dagger/expert_observation)."""


@dataclasses.dataclass
class ExpertAnswer:
    """/dagger/expert/action: the expert's action for one observation.

    On the wire: an empty ``position`` means no label (the operator's deadman released, the
    gamepad silent); ``effort[0]`` = 1 while the operator holds the take-over button."""

    stamp_ns: int
    frame: str
    action: np.ndarray | None
    takeover: bool = False

    def encode(self, names) -> StampedVector:
        return StampedVector(self.stamp_ns, self.frame, list(names),
                             [] if self.action is None else self.action,
                             effort=[1.0 if self.takeover else 0.0])

    @classmethod
    def decode(cls, vector: StampedVector, size: int, topic: str) -> ExpertAnswer:
        parse_frame(vector.frame, topic)
        action = None if len(vector.position) == 0 else _values(vector, size, topic)
        takeover = bool(len(vector.effort) and vector.effort[0] > 0.5)
        return cls(vector.stamp_ns, vector.frame, action, takeover)


@dataclasses.dataclass
class PolicyAnswer:
    """/dagger/policy/action: ``position`` = the members' mean action, ``velocity`` = their
    standard deviation per element, ``effort[0]`` = the scalar uncertainty."""

    stamp_ns: int
    frame: str
    action: np.ndarray
    spread: np.ndarray
    uncertainty: float | None

    def encode(self, names) -> StampedVector:
        return StampedVector(self.stamp_ns, self.frame, list(names), self.action,
                             velocity=self.spread,
                             effort=[] if self.uncertainty is None else [self.uncertainty])

    @classmethod
    def decode(cls, vector: StampedVector, size: int, topic: str) -> PolicyAnswer:
        action = _values(vector, size, topic)
        spread = np.asarray(vector.velocity, dtype=float)
        if spread.shape[0] not in (0, size):
            raise RecordError(f"message on {topic} has {spread.shape[0]} spread values "
                              f"(velocity), expected {size} (frame {vector.frame or '?'})")
        uncertainty = float(vector.effort[0]) if len(vector.effort) else None
        if uncertainty is not None and not math.isfinite(uncertainty):
            uncertainty = None  # a non-finite spread says nothing; gates treat None as unknown
        return cls(vector.stamp_ns, vector.frame, action, spread, uncertainty)


class Command(StampedValues):
    """/dagger/command: the command for one observation, stamped with that observation."""
