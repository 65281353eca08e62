"""DAgger rounds without ROS: the trainer's configuration and its retrain/evaluate step."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np

from dagger_ros.core.bridge import SensorNoiseConfig
from dagger_ros.core.config import ConfigError, param
from dagger_ros.core.dagger_loop import EVAL_SEED_BASE, evaluate
from dagger_ros.core.policy_model import save_checkpoint
from dagger_ros.core.recording import load_frames
from dagger_ros.core.records import RoundAnnouncement, RoundMetrics, SavedEpisode, Source
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
    took = (frames["source"] == Source.EXPERT.code) & (frames["policy_available"] == 1)
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
        from dagger_ros.core.recording.labels import relabel

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


def append_metrics(run_dir: str | Path, row: RoundMetrics) -> None:
    path = Path(run_dir) / "metrics.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fh.write(row.encode() + "\n")


def read_metrics(path: str | Path) -> list[RoundMetrics]:
    """The rows of a metrics.jsonl file."""
    path = Path(path)
    return [RoundMetrics.decode(line, str(path))
            for line in path.read_text().splitlines() if line.strip()]


def checkpoint_id(path: Path) -> str:
    """The content id a checkpoint folder is named with (``<name>-<id>``)."""
    return Path(path).name.rsplit("-", 1)[1]


def round_row(round_index: int, saved: list[SavedEpisode], checkpoint: Path,
              train_report: dict, evaluation: dict) -> RoundMetrics:
    """The metrics of one round, from the recorder's provenance records so far."""
    this_round = [x for x in saved if x.round == round_index]
    return RoundMetrics(
        round=round_index, beta=saved[-1].beta, episodes=len(saved),
        labels=sum(x.frames - x.unlabelled_frames for x in saved),
        collected_success=sum(x.outcome == "success" for x in this_round)
        / max(1, len(this_round)),
        policy_frames=sum(x.policy_frames for x in this_round),
        **intervention_metrics(this_round),
        checkpoint=str(checkpoint), checkpoint_id=checkpoint_id(checkpoint),
        train=train_report, **evaluation)


def intervention_metrics(episodes: list[SavedEpisode]) -> dict:
    """What a robot's supervisor cares about, over some episodes' provenance records:
    the share of policy-run time the expert or operator had control (intervention rate),
    take-overs, hand-offs between expert and policy (context switches), operator time,
    and the autonomous share of all frames."""
    frames = sum(x.frames for x in episodes)
    policy = sum(x.policy_frames for x in episodes)
    took = sum(x.intervention_frames for x in episodes)
    period = [(x.last_stamp_ns - x.first_stamp_ns) / 1e9 / (x.frames - 1)
              for x in episodes if x.frames > 1]
    dt = sum(period) / len(period) if period else 0.0
    return {"intervention_rate": took / (took + policy) if took + policy else None,
            "interventions": sum(x.interventions for x in episodes),
            "handoffs": sum(x.handoffs for x in episodes),
            "operator_time_s": round(took * dt, 3),
            "autonomous_share": policy / frames if frames else None}


class RoundPorts(Protocol):
    """What the round loop needs from the graph (the trainer node gives it over ROS)."""

    def announce(self, announcement: RoundAnnouncement) -> None:
        """Publish the round (latched) for the policy and the supervisor."""

    def wait_for_supervisor(self, round_index: int, timeout: float) -> None:
        """Return once the supervisor runs ``round_index`` (TimeoutError after timeout)."""

    def start_episode(self, deadline: float) -> int:
        """Have the next episode start; returns its episode number."""

    def wait_saved(self, episode: int, timeout: float) -> None:
        """Return once the recorder saved ``episode`` (TimeoutError after timeout)."""

    def saved(self) -> list[SavedEpisode]:
        """Every episode the recorder saved so far."""

    def publish(self, row: RoundMetrics) -> None:
        """Publish one round's figures."""

    def log(self, line: str) -> None: ...


def run_rounds(config: TrainerConfig, ports: RoundPorts,
               retrain: Callable = retrain, evaluate: Callable = None,
               clock: Callable[[], float] = time.monotonic) -> list[RoundMetrics]:
    """DAgger's rounds: announce, collect, retrain on everything so far, evaluate, until
    the rounds are done or the evaluation reaches the target (``stop_at_target``). The last
    checkpoint is announced once more (``final``) so it reaches the policy."""
    evaluate = evaluate or evaluate_policy
    checkpoint: tuple[Path, str] | None = None
    rows: list[RoundMetrics] = []
    for r in range(config.rounds):
        ports.announce(RoundAnnouncement(r, str(checkpoint[0]) if checkpoint else None,
                                         checkpoint[1] if checkpoint else None))
        ports.wait_for_supervisor(r, 60.0)
        deadline = clock() + config.round_timeout
        for _ in range(config.episodes_in(r)):
            episode = ports.start_episode(deadline)
            ports.wait_saved(episode, max(1.0, deadline - clock()))
        path, trained = retrain(config, r)
        checkpoint = (path, checkpoint_id(path))
        evaluation = evaluate(config, trained["policy"])
        row = round_row(r, ports.saved(), path, trained["report"], evaluation)
        append_metrics(config.run_dir, row)
        ports.publish(row)
        rows.append(row)
        ports.log(f"round {r}: beta {row.beta:.3f}, {row.labels} labels, evaluation "
                  f"success {row.success_rate:.0%}, checkpoint {row.checkpoint_id}")
        if config.stop_at_target and row.success_rate >= config.target_success:
            ports.log(f"target success {config.target_success:.0%} reached")
            break
    if checkpoint is not None:
        ports.announce(RoundAnnouncement(config.rounds, str(checkpoint[0]), checkpoint[1],
                                         final=True))
    return rows
