"""The layout of a dagger_ros dataset: LeRobot features, one row per frame, and the
provenance record of each episode."""

from __future__ import annotations

import numpy as np

from dagger_ros.core.recording.join import Frame
from dagger_ros.core.records import EpisodeEnd, Reason, SavedEpisode, Source

PROVENANCE_FILE = "meta/dagger_episodes.jsonl"
CODES_FILE = "meta/dagger_ros.json"


def codes_document() -> dict:
    """What meta/dagger_ros.json holds: the meaning of the integer columns."""
    return {"source_codes": Source.code_table(), "reason_codes": Reason.code_table(),
            "provenance_file": PROVENANCE_FILE}


def features_for(observation_names, action_names) -> dict:
    """LeRobot features of a dagger_ros dataset."""
    obs, act = list(observation_names), list(action_names)

    def vec(names, dtype="float32"):
        return {"dtype": dtype, "shape": (len(names),), "names": names}

    def scalar(dtype):
        return {"dtype": dtype, "shape": (1,), "names": None}

    return {
        "observation.state": vec(obs),       # what the learner saw
        "action": vec(act),                  # the expert's label: what a policy learns
        "policy_action": vec(act),           # the policy's proposal (zeros if none)
        "executed_action": vec(act),         # what was sent to the robot, after clamping
        "source": scalar("int64"),           # who executed: Source codes
        "reason": scalar("int64"),           # why: Reason codes
        "policy_available": scalar("int64"),  # 1 if the policy proposed an action
        "labelled": scalar("int64"),         # 1 if 'action' holds the expert's label
        "gate_value": scalar("float32"),     # what the gate measured (NaN: nothing)
        "gate_threshold": scalar("float32"),  # what it compared it with (NaN: nothing)
        "intervention": scalar("int64"),     # 1 where the expert took control away
        "uncertainty": scalar("float32"),    # ensemble spread (0 if no policy)
        "round": scalar("int64"),            # DAgger round that collected the frame
    }


def _number(value) -> float:
    return float("nan") if value is None else float(value)


def frame_row(frame: Frame, action_size: int, task_text: str) -> dict:
    """One LeRobot frame from a joined observation and decision."""
    d = frame.decision
    zeros = np.zeros(action_size, np.float32)
    policy, label = d.policy_action, d.expert_action
    return {
        "observation.state": np.asarray(frame.observation, np.float32),
        "action": zeros if label is None else np.asarray(label, np.float32),
        "policy_action": zeros if policy is None else np.asarray(policy, np.float32),
        "executed_action": np.asarray(d.executed_action, np.float32),
        "source": np.array([d.source.code], np.int64),
        "reason": np.array([d.reason.code], np.int64),
        "policy_available": np.array([int(policy is not None)], np.int64),
        "labelled": np.array([int(label is not None)], np.int64),
        "gate_value": np.array([_number(d.value)], np.float32),
        "gate_threshold": np.array([_number(d.threshold)], np.float32),
        "intervention": np.array([int(d.intervention)], np.int64),
        "uncertainty": np.array([d.uncertainty or 0.0], np.float32),
        "round": np.array([d.round], np.int64),
        "task": task_text,
    }


def control_switches(frames: list[Frame]) -> int:
    """Hand-offs between expert and policy within an episode (context switches)."""
    sources = [f.decision.source for f in frames if f.decision.source is not Source.HOLD]
    return sum(a != b for a, b in zip(sources, sources[1:], strict=False))


def episode_provenance(frames: list[Frame], end: EpisodeEnd,
                       dataset_episode: int) -> SavedEpisode:
    """What made an episode: round, checkpoint, label source, gating, beta, seed, outcome."""
    first = frames[0].decision
    sources = [f.decision.source for f in frames]
    return SavedEpisode(
        episode_index=dataset_episode, sim_episode=end.episode, seed=end.seed,
        outcome=end.outcome, frames=len(frames), round=first.round,
        checkpoint_id=first.checkpoint_id, label_source=first.label_source,
        gating=first.gating, beta=first.beta,
        expert_frames=sources.count(Source.EXPERT),
        policy_frames=sources.count(Source.POLICY), hold_frames=sources.count(Source.HOLD),
        unlabelled_frames=sum(f.decision.expert_action is None for f in frames),
        interventions=sum(f.decision.intervention for f in frames),
        intervention_frames=sum(f.decision.source is Source.EXPERT
                                and f.decision.policy_action is not None for f in frames),
        handoffs=control_switches(frames),
        first_stamp_ns=frames[0].stamp_ns, last_stamp_ns=frames[-1].stamp_ns,
        session=end.session)
