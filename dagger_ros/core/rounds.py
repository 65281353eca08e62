"""DAgger rounds without ROS: the trainer's configuration and its retrain/evaluate step."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from dagger_ros.core.bridge import SensorNoiseConfig
from dagger_ros.core.config import ConfigError, param
from dagger_ros.core.dagger_loop import EVAL_SEED_BASE, evaluate
from dagger_ros.core.policy_model import save_checkpoint
from dagger_ros.core.recording import SOURCE_CODES, load_frames
from dagger_ros.core.tasks import make_task, task_class
from dagger_ros.core.training import TrainConfig, train_ensemble


@dataclasses.dataclass
class TrainerConfig(TrainConfig, SensorNoiseConfig):
    """Parameters of the trainer node: the rounds it drives and how it trains."""

    task: str = param("reach", "Task (for the closed-loop evaluation).")
    dataset_root: str = param("runs/default/dataset", "The recorder's LeRobot dataset.")
    repo_id: str = param("local/dagger_ros", "LeRobot repo_id of that dataset.")
    run_dir: str = param("runs/default", "Where checkpoints/ and metrics.jsonl are written.")
    rounds: int = param(10, "Rounds to run at most.")
    episodes_per_round: int = param(2, "Episodes collected per round before retraining.")
    first_round_episodes: int = param(0, "Episodes of round 0, where no policy exists yet "
                                      "and the expert demonstrates (0: episodes_per_round).")
    stop_at_target: bool = param(True, "Stop early once the evaluation reaches "
                                 "target_success (false: run every round).")
    target_success: float = param(1.0, "Stop early once the evaluation reaches this success "
                                  "rate (1.0: only at 100%).")
    eval_episodes: int = param(20, "Held-out seeded episodes of the closed-loop evaluation "
                               "(policy alone, beta = 0) after each round.")
    seed: int = param(0, "Seed of training.")
    intervention_weight: float = param(1.0, "Loss weight of frames where the expert or "
                                       "operator had taken control from a running policy "
                                       "(IWR: > 1 up-weights them).")
    pre_intervention_steps: int = param(0, "Frames up to this many steps before a take-over "
                                        "get pre_intervention_weight (Sirius).")
    pre_intervention_weight: float = param(1.0, "Loss weight of those frames (< 1 "
                                           "down-weights them, 0 drops them).")
    label_expert: str = param("", "Label the queued (unlabelled) states with this scripted "
                              "expert before each retraining, e.g. scripted/drive_stanley "
                              "(async gating); empty: leave them to `dagger-ros label`.")
    round_timeout: float = param(600.0, "Seconds a round's collection may take before the "
                                 "trainer gives up with an error.")

    def validate(self) -> None:
        super().validate()
        task_class(self.task)
        for key in ("rounds", "episodes_per_round", "eval_episodes"):
            if getattr(self, key) < 1:
                raise ConfigError(f"'{key}' must be >= 1, got {getattr(self, key)}")
        if self.first_round_episodes < 0:
            raise ConfigError("'first_round_episodes' must be >= 0 (0: episodes_per_round), "
                              f"got {self.first_round_episodes}")
        if not 0.0 < self.target_success <= 1.0:
            raise ConfigError(f"'target_success' must be in (0, 1], got {self.target_success}")
        if self.label_expert:
            from dagger_ros.core.experts import EXPERTS

            known = EXPERTS[self.task].name if self.task in EXPERTS else None
            if self.label_expert != known:
                raise ConfigError(f"'label_expert': '{self.label_expert}' is not a scripted "
                                  f"expert of task '{self.task}' (it has: {known})")
        for key in ("intervention_weight", "pre_intervention_weight",
                    "pre_intervention_steps"):
            if getattr(self, key) < 0:
                raise ConfigError(f"'{key}' must be >= 0, got {getattr(self, key)}")

    def episodes_in(self, round_index: int) -> int:
        """Episodes collected in round ``round_index``."""
        if round_index == 0 and self.first_round_episodes:
            return self.first_round_episodes
        return self.episodes_per_round

    def total_episodes(self) -> int:
        return sum(self.episodes_in(r) for r in range(self.rounds))


def frame_weights(frames: dict, config: TrainerConfig) -> np.ndarray:
    """Per-frame loss weights from what the gates produced (IWR, Sirius): frames where the
    expert had control while a policy ran are up-weighted, the frames just before each
    take-over down-weighted; everything else weighs 1."""
    weights = np.ones(len(frames["episode"]))
    took = (frames["source"] == SOURCE_CODES["expert"]) & (frames["policy_available"] == 1)
    weights[took] = config.intervention_weight
    k = config.pre_intervention_steps
    if k:
        for start in np.flatnonzero(frames["intervention"] == 1):
            episode = frames["episode"][start]
            lo = start
            while lo > start - k and lo > 0 and frames["episode"][lo - 1] == episode:
                lo -= 1
            weights[lo:start] = config.pre_intervention_weight
    return weights


def eval_task(config: TrainerConfig):
    """The task as the bridge runs it (same sensor noise), for the evaluation."""
    return make_task(config.task, observation_noise=config.noise())


def retrain(config: TrainerConfig, round_index: int) -> tuple[Path, dict]:
    """Train on everything recorded so far; write the checkpoint atomically."""
    task = eval_task(config)
    if config.label_expert:
        from dagger_ros.core.experts import make_expert
        from dagger_ros.core.relabel import relabel

        expert = make_expert(make_task(config.task))
        relabel(config.dataset_root, config.repo_id, expert.act, expert.name)
    frames = load_frames(config.dataset_root, config.repo_id)
    weights = frame_weights(frames, config)
    keep = (frames["labelled"] == 1) & (weights > 0)  # unlabelled frames teach nothing
    weighted = config.intervention_weight != 1.0 or config.pre_intervention_steps > 0
    policy, report = train_ensemble(frames["observation"][keep], frames["action"][keep],
                                    frames["episode"][keep], task.observation_names,
                                    task.action_names, config, seed=config.seed + round_index,
                                    weights=weights[keep] if weighted else None)
    path = save_checkpoint(policy, Path(config.run_dir) / "checkpoints", {
        "name": f"round_{round_index:03d}", "round": round_index,
        "dataset": str(config.dataset_root), "frames": report.frames,
        "episodes": report.episodes, "train": dataclasses.asdict(report)})
    return path, {"policy": policy, "report": dataclasses.asdict(report)}


def evaluate_policy(config: TrainerConfig, policy) -> dict:
    return evaluate(eval_task(config), policy, config.eval_episodes, EVAL_SEED_BASE)


def append_metrics(run_dir: str | Path, row: dict) -> None:
    path = Path(run_dir) / "metrics.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fh.write(json.dumps(row) + "\n")


def checkpoint_id(path: Path) -> str:
    """The content id a checkpoint folder is named with (``<name>-<id>``)."""
    return Path(path).name.rsplit("-", 1)[1]


def round_row(round_index: int, saved: list[dict], checkpoint: Path, train_report: dict,
              evaluation: dict) -> dict:
    """The metrics of one round, from the recorder's provenance records so far."""
    this_round = [x for x in saved if x["round"] == round_index]
    return {"round": round_index, "beta": saved[-1]["beta"], "episodes": len(saved),
            "labels": sum(x["frames"] - x.get("unlabelled_frames", 0) for x in saved),
            "collected_success": sum(x["outcome"] == "success" for x in this_round)
            / max(1, len(this_round)),
            "policy_frames": sum(x["policy_frames"] for x in this_round),
            **intervention_metrics(this_round),
            "checkpoint": str(checkpoint), "checkpoint_id": checkpoint_id(checkpoint),
            "train": train_report, **evaluation}


def intervention_metrics(episodes: list[dict]) -> dict:
    """What a robot's supervisor cares about, over some episodes' provenance records:
    the share of policy-run time the expert or operator had control (intervention rate),
    take-overs, hand-offs between expert and policy (context switches), operator time,
    and the autonomous share of all frames."""
    frames = sum(x["frames"] for x in episodes)
    policy = sum(x["policy_frames"] for x in episodes)
    took = sum(x.get("intervention_frames", 0) for x in episodes)
    period = [(x["last_stamp_ns"] - x["first_stamp_ns"]) / 1e9 / (x["frames"] - 1)
              for x in episodes if x["frames"] > 1]
    dt = sum(period) / len(period) if period else 0.0
    return {"intervention_rate": took / (took + policy) if took + policy else None,
            "interventions": sum(x.get("interventions", 0) for x in episodes),
            "handoffs": sum(x.get("handoffs", 0) for x in episodes),
            "operator_time_s": round(took * dt, 3),
            "autonomous_share": policy / frames if frames else None}
