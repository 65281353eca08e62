"""The layout of a dagger_ros dataset: LeRobot features, one row per frame, and the
provenance record of each episode."""

from __future__ import annotations

import dataclasses
import hashlib
import math

import numpy as np

from dagger_ros.core.recording.join import Frame
from dagger_ros.core.records import (
    DecisionRecord,
    EpisodeEnd,
    Gating,
    LabelKind,
    Outcome,
    Reason,
    SavedEpisode,
    Source,
)

PROVENANCE_FILE = "meta/dagger_episodes.jsonl"
CODES_FILE = "meta/dagger_ros.json"

#: the coded integer columns and their tables (also written into each feature's "names"
#: in meta/info.json, which LeRobot's tools keep, and listed in the README)
CODED_COLUMNS = {"source": Source, "reason": Reason, "gating": Gating,
                 "label_source": LabelKind, "outcome": Outcome}


#: what :func:`provenance_from_columns` reads
PROVENANCE_COLUMNS = ("source", "labelled", "policy_available", "label_source",
                      "source_episode", "seed", "outcome", "round", "checkpoint", "gating",
                      "beta", "intervention", "stamp_ns", "session")


def code_names(table) -> str:
    """A code table as one string: "expert=0, policy=1, hold=2"."""
    return ", ".join(f"{value}={code}" for value, code in table.code_table().items())


def codes_document() -> dict:
    """What meta/dagger_ros.json holds: the meaning of the integer columns."""
    return {**{f"{column}_codes": table.code_table()
               for column, table in CODED_COLUMNS.items()},
            "provenance_file": PROVENANCE_FILE}


def id_code(hex_id: str | None) -> int:
    """A hexadecimal id (a checkpoint's 16-digit content id, a 12-digit session) as one
    int64 column value: its bits as a signed 64-bit integer; 0 means none."""
    if not hex_id:
        return 0
    try:
        value = int(hex_id, 16) if len(hex_id) <= 16 else None
    except ValueError:
        value = None
    if value is None:  # not a hex id (a name someone chose): its 64-bit hash stands for it
        value = int.from_bytes(hashlib.blake2b(hex_id.encode(), digest_size=8).digest(),
                               "big") or 1
    return value - (1 << 64) if value >= 1 << 63 else value


def code_id(code: int, digits: int = 16) -> str | None:
    """The inverse of :func:`id_code`: the id's hexadecimal digits (None for 0)."""
    code = int(code)
    if code == 0:
        return None
    return f"{code % (1 << 64):0{digits}x}"


class Layout:
    """How a learner's observation vector becomes LeRobot features: its first
    ``len(state_names)`` elements (the robot itself) are ``observation.state``, the rest
    (the task: targets, the road ahead) ``observation.environment_state``, the split
    LeRobot's ACT, Diffusion and TD-MPC read. A part with no element is not written."""

    def __init__(self, observation_names, action_names, environment_names=(), images=()):
        obs, env = list(observation_names), list(environment_names)
        #: cameras (core.images.ImageField): observation.images.<name>, stored as video
        self.images = list(images)
        if env and obs[len(obs) - len(env):] != env:
            raise ValueError(f"the environment elements {env} must be the last elements of "
                             f"the observation {obs}")
        self.state_names = obs[:len(obs) - len(env)]
        self.environment_names = env
        self.action_names = list(action_names)

    @property
    def observation_size(self) -> int:
        return len(self.state_names) + len(self.environment_names)

    def observation_features(self) -> dict:
        out = {}
        if self.state_names:
            out["observation.state"] = _vector(self.state_names)
        if self.environment_names:
            out["observation.environment_state"] = _vector(self.environment_names)
        for image in self.images:
            out[image.key] = {"dtype": "video", "shape": image.shape,
                              "names": ["height", "width", "channels"]}
        return out

    def features(self) -> dict:
        """LeRobot features of a dagger_ros dataset."""
        act = self.action_names
        return {
            **self.observation_features(),   # what the learner saw
            "action": _vector(act),          # the expert's label: what a policy learns
            "policy_action": _vector(act),   # the policy's proposal (zeros if none)
            "executed_action": _vector(act),  # what was sent to the robot, after clamping
            # LeRobot's reward-and-termination convention, from the episode's outcome
            "next.reward": _scalar("float32"),  # 1 on the last frame of a success, else 0
            "next.done": _scalar("bool"),       # the episode ends after this frame
            "next.success": _scalar("bool"),    # ... and it ends in success
            "source": _coded("source"),          # who executed
            "reason": _coded("reason"),          # why
            "policy_available": _scalar("int64"),  # 1: the policy proposed an action
            "policy_action_valid": _scalar("int64"),  # 1: ... and it was finite
            "labelled": _scalar("int64"),        # 1: 'action' holds the expert's label
            "intervention": _scalar("int64"),    # 1: the expert took control away here
            "gate_value": _scalar("float32"),    # what the gate measured (0 if nothing)
            "gate_threshold": _scalar("float32"),  # what it compared it with (0 if nothing)
            "gate_valid": _scalar("int64"),      # 1: the two above hold a measurement
            "uncertainty": _scalar("float32"),   # the policy's spread (0 if none)
            "uncertainty_valid": _scalar("int64"),  # 1: uncertainty holds a measurement
            # provenance: where the frame came from, one column each, so it survives
            # LeRobot's delete, split, merge and feature edits
            "round": _scalar("int64"),           # DAgger round that collected the frame
            "checkpoint": _scalar("int64", "content id as signed int64, 0: none"),
            "label_source": _coded("label_source"),
            "gating": _coded("gating"),
            "beta": _scalar("float32"),
            "seed": _scalar("int64"),            # the episode's seed (scene)
            "outcome": _coded("outcome"),        # how the episode ended
            "source_episode": _scalar("int64"),  # the episode number its source gave it
            "session": _scalar("int64", "session id as int64, 0: none"),
            "stamp_ns": _scalar("int64"),        # the observation's stamp (ROS time)
        }

    def split(self, observation) -> dict:
        obs = np.asarray(observation, np.float32)
        n = len(self.state_names)
        out = {}
        if self.state_names:
            out["observation.state"] = obs[:n]
        if self.environment_names:
            out["observation.environment_state"] = obs[n:]
        return out

    def episode_rows(self, frames: list[Frame], end: EpisodeEnd, task_text: str):
        """The LeRobot frames of one episode, its end known."""
        success = end.outcome is Outcome.SUCCESS
        for i, frame in enumerate(frames):
            last = i == len(frames) - 1
            missing = [i.name for i in self.images if i.name not in frame.images]
            if missing:
                raise ValueError(f"frame {frame.episode}:{frame.step} has no image of "
                                 f"camera(s) {', '.join(missing)}")
            yield {**self.split(frame.observation),
                   **{i.key: frame.images[i.name] for i in self.images},
                   **self.decision_columns(frame.decision),
                   "next.reward": np.array([float(last and success)], np.float32),
                   "next.done": np.array([last]), "next.success": np.array([last and success]),
                   "seed": _int(end.seed), "outcome": _int(end.outcome.code),
                   "source_episode": _int(end.episode), "session": _int(id_code(end.session)),
                   "stamp_ns": _int(frame.stamp_ns), "task": task_text}

    def decision_columns(self, d) -> dict:
        size = len(self.action_names)
        policy = None if d.policy_action is None else np.asarray(d.policy_action, np.float32)
        policy_valid = policy is not None and bool(np.all(np.isfinite(policy)))
        gate_valid = _finite(d.value) and _finite(d.threshold)
        uncertainty_valid = _finite(d.uncertainty)
        labelled = d.expert_action is not None
        return {
            "action": _vec(d.expert_action, size),
            "policy_action": policy if policy_valid else np.zeros(size, np.float32),
            "executed_action": _vec(d.executed_action, size),
            "source": _int(d.source.code), "reason": _int(d.reason.code),
            "policy_available": _int(policy is not None),
            "policy_action_valid": _int(policy_valid),
            "labelled": _int(labelled), "intervention": _int(d.intervention),
            "gate_value": _float(d.value if gate_valid else 0.0),
            "gate_threshold": _float(d.threshold if gate_valid else 0.0),
            "gate_valid": _int(gate_valid),
            "uncertainty": _float(d.uncertainty if uncertainty_valid else 0.0),
            "uncertainty_valid": _int(uncertainty_valid),
            "round": _int(d.round), "checkpoint": _int(id_code(d.checkpoint_id)),
            "label_source": _int((LabelKind.of(d.label_source) if labelled
                                  else LabelKind.NONE).code),
            "gating": _int(Gating(d.gating).code), "beta": _float(d.beta),
        }


def _vector(names, dtype="float32") -> dict:
    return {"dtype": dtype, "shape": (len(names),), "names": list(names)}


def _scalar(dtype, meaning: str | None = None) -> dict:
    return {"dtype": dtype, "shape": (1,), "names": None if meaning is None else [meaning]}


def _coded(column: str) -> dict:
    return _scalar("int64", code_names(CODED_COLUMNS[column]))


def _finite(value) -> bool:
    return value is not None and math.isfinite(float(value))


def _vec(values, size: int) -> np.ndarray:
    """A finite float32 vector (zeros for none; a non-finite element never reaches disk)."""
    if values is None:
        return np.zeros(size, np.float32)
    out = np.asarray(values, np.float32)
    return np.where(np.isfinite(out), out, 0.0).astype(np.float32)


def _int(value) -> np.ndarray:
    return np.array([int(value)], np.int64)


def _float(value) -> np.ndarray:
    return np.array([float(value)], np.float32)


def task_text_for(robot: str, gating: str, label_source: str) -> str:
    """The task string of a DAgger collection (distinct per method and label source)."""
    return f"{robot}: DAgger collection ({gating} gating, labels by {label_source})"


def bc_task_text(robot: str, expert: str) -> str:
    """The task string of the behaviour-cloning baseline's expert-only rollouts."""
    return f"{robot}: BC baseline (expert-only rollouts by {expert})"


def control_switches(sources) -> int:
    """Hand-offs between expert and policy within an episode (context switches), from its
    frames' Source codes in order."""
    sources = [int(s) for s in sources if int(s) != Source.HOLD.code]
    return sum(a != b for a, b in zip(sources, sources[1:], strict=False))


def label_source_name(task_text: str) -> str | None:
    """The label source named in a task string of :func:`task_text_for` (None if not)."""
    head, sep, tail = task_text.rpartition("labels by ")
    return tail[:-1] if sep and tail.endswith(")") else None


def provenance_from_columns(cols: dict, episode_index: int, task_text: str) -> SavedEpisode:
    """An episode's provenance record from its frames' columns (in frame order): what a
    reader rebuilds from the dataset alone, whatever LeRobot tool edited it since."""
    def col(name):
        return np.asarray(cols[name]).reshape(len(cols[name]), -1)[:, 0]

    source, labelled = col("source").astype(int), col("labelled").astype(int)
    policy_available = col("policy_available").astype(int)
    kinds = [LabelKind.from_code(int(k)) for k in col("label_source")]
    online = [k for k in kinds if k not in (LabelKind.NONE, LabelKind.LATER)]
    label_source = label_source_name(task_text) or (online[0].value if online
                                                     else LabelKind.NONE.value)
    return SavedEpisode(
        episode_index=int(episode_index), sim_episode=int(col("source_episode")[0]),
        seed=int(col("seed")[0]), outcome=Outcome.from_code(int(col("outcome")[0])),
        frames=len(source), round=int(col("round")[0]),
        checkpoint_id=code_id(col("checkpoint")[0]), label_source=label_source,
        gating=Gating.from_code(int(col("gating")[0])).value,
        beta=round(float(col("beta")[0]), 6),
        expert_frames=int(np.sum(source == Source.EXPERT.code)),
        policy_frames=int(np.sum(source == Source.POLICY.code)),
        hold_frames=int(np.sum(source == Source.HOLD.code)),
        unlabelled_frames=int(np.sum(labelled == 0)),
        interventions=int(np.sum(col("intervention"))),
        intervention_frames=int(np.sum((source == Source.EXPERT.code)
                                       & (policy_available == 1))),
        handoffs=control_switches(source),
        first_stamp_ns=int(col("stamp_ns")[0]), last_stamp_ns=int(col("stamp_ns")[-1]),
        session=code_id(col("session")[0], 12) or "")


def episode_provenance(rows: list[dict], end: EpisodeEnd, dataset_episode: int,
                       first: DecisionRecord) -> SavedEpisode:
    """The provenance record of an episode just written (``rows``: its LeRobot frames), as
    :func:`provenance_from_columns` reads it back, with the names the codes stand for."""
    cols = {key: [r[key] for r in rows] for key in rows[0] if key != "task"}
    record = provenance_from_columns(cols, dataset_episode, rows[0]["task"])
    return dataclasses.replace(record, label_source=first.label_source, session=end.session,
                               beta=first.beta)
