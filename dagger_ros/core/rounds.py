"""DAgger rounds without ROS: the trainer's configuration and its retrain/evaluate step.

Two kinds of round: in a simulation the trainer starts each episode (/sim/reset) and
evaluates every checkpoint on held-out seeds; on a robot (``episodes_from: operator``) the
operator starts and ends the episodes, the trainer counts them, retrains in a background
process while the robot keeps collecting with the previous policy, and takes each round's
figures from what the operator marked.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np

from dagger_ros.core.bridge import SensorNoiseConfig
from dagger_ros.core.config import ConfigError, param
from dagger_ros.core.dagger_loop import EVAL_SEED_BASE, evaluate
from dagger_ros.core.policy_model import save_checkpoint
from dagger_ros.core.profile import node_profile
from dagger_ros.core.recording import load_frames
from dagger_ros.core.records import (
    Outcome,
    RoundAnnouncement,
    RoundMetrics,
    SavedEpisode,
    Source,
)
from dagger_ros.core.tasks import make_task, task_class
from dagger_ros.core.training import TrainConfig, train_ensemble

EPISODE_SOURCES = ("simulator", "operator")
LEARNERS = ("ensemble", "lerobot")


@dataclasses.dataclass
class TrainerConfig(TrainConfig, SensorNoiseConfig):
    """Parameters of the trainer node: the rounds it drives and how it trains."""

    task: str = param("reach", "Task (for the closed-loop evaluation).")
    episodes_from: str = param("simulator", "'simulator': the trainer starts each episode "
                               "(/sim/reset) and evaluates each checkpoint on held-out "
                               "seeds; 'operator' (a robot): the operator starts and ends "
                               "them, the trainer counts those ended with an outcome "
                               "(aborted ones are not counted), retrains in a background "
                               "process while the robot goes on collecting with the "
                               "previous policy, hot-swaps the new one between episodes, "
                               "and takes the round's figures from the operator's marks.")
    profile: str = param("", "Robot profile: the observation and action the policy learns "
                         "(empty: the task's).")
    relative_actions: bool = param(True, "Position and trajectory interfaces: learn each "
                                   "command as an offset from the joint's measured position "
                                   "(the policy outputs measured + offset).")
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
    learner: str = param("ensemble", "What is trained each round: 'ensemble' (dagger_ros's "
                         "MLP ensemble), or 'lerobot' (a LeRobot policy of type "
                         "lerobot_policy, trained with lerobot-train on the whole dataset; "
                         "from round 1 on, the previous round's policy is fine-tuned).")
    lerobot_policy: str = param("act", "learner 'lerobot': LeRobot's --policy.type (act, "
                                "diffusion, ...).")
    lerobot_steps: int = param(500, "learner 'lerobot': training steps per round.")
    lerobot_batch_size: int = param(16, "learner 'lerobot': batch size.")
    lerobot_args: list[str] = param([], "learner 'lerobot': more lerobot-train arguments "
                                    "for round 0's new policy, e.g. --policy.dim_model=64.")

    def validate(self) -> None:
        super().validate()
        task_class(self.task)
        if self.episodes_from not in EPISODE_SOURCES:
            raise ConfigError(f"'episodes_from' must be one of {EPISODE_SOURCES}, got "
                              f"'{self.episodes_from}'")
        if self.episodes_from == "operator" and self.label_expert:
            raise ConfigError("'label_expert' relabels with a simulator's scripted expert; "
                              "with 'episodes_from: operator' the operator labels")
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
        if self.learner not in LEARNERS:
            raise ConfigError(f"'learner' must be one of {LEARNERS}, got '{self.learner}'")
        if self.warm_start and not node_profile(self.profile, self.task).images:
            raise ConfigError("'warm_start' is for the vision ensemble (a profile with images); "
                              "the vector ensemble retrains from scratch each round")
        if self.warm_start and self.learner == "lerobot":
            raise ConfigError("'warm_start' is for the vision ensemble (learner: ensemble); a "
                              "LeRobot learner fine-tunes the previous round's policy anyway")
        if self.learner == "lerobot":
            import lerobot.policies  # noqa: F401  (registers every policy config type)
            from lerobot.configs.policies import PreTrainedConfig

            known = PreTrainedConfig.get_known_choices()
            if self.lerobot_policy not in known:
                raise ConfigError(f"'lerobot_policy': '{self.lerobot_policy}' is not a LeRobot "
                                  f"policy type (known: {', '.join(sorted(known))})")
            if self.lerobot_steps < 1 or self.lerobot_batch_size < 1:
                raise ConfigError("'lerobot_steps' and 'lerobot_batch_size' must be >= 1")
            bad = [a for a in self.lerobot_args if not a.startswith("--")]
            if bad:
                raise ConfigError(f"'lerobot_args' must be --key=value arguments, got {bad}")
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


def learner(config: TrainerConfig) -> tuple[list[str], list[str], list[int] | None]:
    """What the policy learns: observation names, action names, and (position interfaces,
    relative_actions) the observation element each command is an offset from."""
    profile = node_profile(config.profile, config.task)
    relative = (profile.hold_indices() if profile.action.holds_position
                and config.relative_actions else None)
    return profile.observation_names, profile.action_names, relative


def retrain(config: TrainerConfig, round_index: int) -> tuple[Path, dict]:
    """Train on everything recorded so far; write the checkpoint atomically."""
    observation_names, action_names, relative = learner(config)
    if config.learner == "lerobot":
        return retrain_lerobot(config, round_index)
    if config.label_expert:
        from dagger_ros.core.experts import make_expert
        from dagger_ros.core.recording.labels import relabel

        expert = make_expert(make_task(config.task))
        relabel(config.dataset_root, config.repo_id, expert.act, expert.name)
    frames = load_frames(config.dataset_root, config.repo_id)
    weights = frame_weights(frames, config)
    keep = (frames["labelled"] == 1) & (weights > 0)  # unlabelled frames teach nothing
    weighted = config.intervention_weight != 1.0 or config.pre_intervention_steps > 0
    cameras = [i.name for i in node_profile(config.profile, config.task).images]
    if cameras:  # the vision ensemble, on the decoded videos
        from dagger_ros.core.recording.reading import load_images
        from dagger_ros.core.vision_model import save_vision_checkpoint, train_vision_ensemble

        # the episodes whose vectors were read (the recorder may have saved more since)
        episodes = int(frames["episode"].max()) + 1 if len(frames["episode"]) else 0
        images = load_images(config.dataset_root, config.repo_id, cameras, episodes)
        policy, report = train_vision_ensemble(
            frames["observation"][keep], {n: v[keep] for n, v in images.items()},
            frames["action"][keep], frames["episode"][keep], observation_names, action_names,
            config, seed=config.seed + round_index, weights=weights[keep] if weighted else None,
            relative_to=relative, init=previous_vision_policy(config, round_index))
        save = save_vision_checkpoint
    else:
        policy, report = train_ensemble(frames["observation"][keep], frames["action"][keep],
                                        frames["episode"][keep], observation_names,
                                        action_names, config, seed=config.seed + round_index,
                                        weights=weights[keep] if weighted else None,
                                        relative_to=relative)
        save = save_checkpoint
    path = save(policy, Path(config.run_dir) / "checkpoints", {
        "name": f"round_{round_index:03d}", "round": round_index,
        "dataset": str(config.dataset_root), "frames": report.frames,
        "episodes": report.episodes, "train": dataclasses.asdict(report)})
    return path, {"policy": policy, "report": dataclasses.asdict(report)}


def previous_checkpoint(config: TrainerConfig, round_index: int) -> Path | None:
    """The checkpoint the previous round wrote (None in round 0): the newest of that
    round's folders, should a reused run_dir hold an older run's too."""
    earlier = list((Path(config.run_dir) / "checkpoints").glob(
        f"round_{round_index - 1:03d}-*")) if round_index > 0 else []
    return max(earlier, key=lambda p: p.stat().st_mtime) if earlier else None


def previous_vision_policy(config: TrainerConfig, round_index: int):
    """What a warm-started vision fit starts from: the previous round's checkpoint (None
    without warm_start, in round 0, or when that round wrote none)."""
    path = previous_checkpoint(config, round_index) if config.warm_start else None
    if path is None:
        return None
    from dagger_ros.core.vision_model import load_vision_checkpoint

    return load_vision_checkpoint(path)[0]


def retrain_lerobot(config: TrainerConfig, round_index: int) -> tuple[Path, dict]:
    """A LeRobot policy trained (round 0) or fine-tuned (later) by lerobot-train."""
    from dagger_ros.core.lerobot_policy import LeRobotLearner
    from dagger_ros.core.lerobot_training import train_round

    earlier = previous_checkpoint(config, round_index)
    path, report = train_round(config, round_index, str(earlier) if earlier else None)
    profile = node_profile(config.profile, config.task)
    policy = LeRobotLearner(path, len(profile.state_names), len(profile.environment_names),
                            profile.action_size,
                            images={i.name: i.shape for i in profile.images})
    return path, {"policy": policy, "report": report}


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


def gate_summary(saved: list[SavedEpisode], round_index: int) -> str:
    """How the round's collection was gated, in the gate's own terms: beta for DAgger's
    mixing (whose beta is the gate's setting), the intervention rate (the expert's share of
    the policy-run time) for the others (their beta is unused)."""
    this_round = [x for x in saved if x.round == round_index]
    if not this_round:
        return "no episodes"
    last = this_round[-1]
    if last.gating == "beta":
        return f"beta {last.beta:.3f}"
    rate = intervention_metrics(this_round)["intervention_rate"]
    if rate is None:
        return f"{last.gating} gate, no policy drove (the expert's episodes)"
    return f"{last.gating} gate, intervention rate {rate:.0%}"


def log_refused_warm_start(ports, round_index: int, report: dict) -> None:
    """Say so when a warm start was asked for and the fit started afresh (see
    vision_model.normalisation_drift)."""
    start = report.get("start", "")
    if start.startswith("fresh: "):
        ports.log(f"round {round_index}: {start[len('fresh: '):]}; trained from scratch")


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

    # -- operator-paced rounds (a robot) -----------------------------------------------
    def wait_episodes(self, round_index: int, count: int, timeout: float) -> None:
        """Return once ``count`` episodes of ``round_index`` that the operator ended with
        an outcome are saved (TimeoutError after timeout)."""

    def wait_between_episodes(self, timeout: float) -> None:
        """Return once no episode runs (TimeoutError after timeout)."""

    def alive(self) -> bool:
        """False once the graph is shutting down."""


def run_rounds(config: TrainerConfig, ports: RoundPorts,
               retrain: Callable = retrain, evaluate: Callable = None,
               clock: Callable[[], float] = time.monotonic) -> list[RoundMetrics]:
    """DAgger's rounds: announce, collect, retrain on everything so far, evaluate, until
    the rounds are done or the evaluation reaches the target (``stop_at_target``). The last
    checkpoint is announced once more (``final``) so it reaches the policy."""
    if config.episodes_from == "operator":
        return run_operator_rounds(config, ports, clock=clock)
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
        log_refused_warm_start(ports, r, trained["report"])
        checkpoint = (path, checkpoint_id(path))
        evaluation = evaluate(config, trained["policy"])
        saved = ports.saved()
        row = round_row(r, saved, path, trained["report"], evaluation)
        append_metrics(config.run_dir, row)
        ports.publish(row)
        rows.append(row)
        ports.log(f"round {r}: {gate_summary(saved, r)}, {row.labels} labels, "
                  f"evaluation success {row.success_rate:.0%}, checkpoint {row.checkpoint_id}")
        if config.stop_at_target and row.success_rate >= config.target_success:
            ports.log(f"target success {config.target_success:.0%} reached")
            break
    if checkpoint is not None:
        ports.announce(RoundAnnouncement(config.rounds, str(checkpoint[0]), checkpoint[1],
                                         final=True))
    return rows


# -- operator-paced rounds ------------------------------------------------------------------
def counted(saved: list[SavedEpisode], round_index: int) -> list[SavedEpisode]:
    """The episodes of a round that count: ended by the operator (or a timeout) with an
    outcome; an aborted one (start pressed again, end without a mark) does not."""
    return [x for x in saved if x.round == round_index and x.outcome != Outcome.ABORTED]


def operator_round_row(round_index: int, saved: list[SavedEpisode], checkpoint: Path,
                       train_report: dict) -> RoundMetrics:
    """A robot round's figures, from the recorder's provenance records and the operator's
    marks: no simulator is asked anything."""
    this_round = counted(saved, round_index)
    own = [x for x in this_round if x.checkpoint_id is not None and x.outcome ==
           Outcome.SUCCESS and x.interventions == 0]
    return RoundMetrics(
        round=round_index, beta=this_round[-1].beta if this_round else 0.0,
        episodes=len(counted_all(saved)),
        labels=sum(x.frames - x.unlabelled_frames for x in saved),
        collected_success=sum(x.outcome == Outcome.SUCCESS for x in this_round)
        / max(1, len(this_round)),
        policy_frames=sum(x.policy_frames for x in this_round),
        **intervention_metrics(this_round),
        checkpoint=str(checkpoint), checkpoint_id=checkpoint_id(checkpoint),
        train=train_report, success_rate=len(own) / max(1, len(this_round)),
        mean_return=None, eval_episodes=len(this_round), evaluated_by="operator")


def counted_all(saved: list[SavedEpisode]) -> list[SavedEpisode]:
    return [x for x in saved if x.outcome != Outcome.ABORTED]


def run_operator_rounds(config: TrainerConfig, ports: RoundPorts, train: Callable = None,
                        clock: Callable[[], float] = time.monotonic) -> list[RoundMetrics]:
    """Rounds on a robot: announce the round (between episodes, so no episode mixes two
    policies), wait for the operator's episodes, retrain in the background (the robot
    keeps collecting with the previous policy meanwhile; those episodes belong to the
    round they ran in), figures from the operator's marks."""
    train = train or train_in_background
    checkpoint: tuple[Path, str] | None = None
    rows: list[RoundMetrics] = []
    for r in range(config.rounds):
        if r:
            ports.wait_between_episodes(config.round_timeout)
        ports.announce(RoundAnnouncement(r, str(checkpoint[0]) if checkpoint else None,
                                         checkpoint[1] if checkpoint else None))
        ports.wait_for_supervisor(r, 60.0)
        need = config.episodes_in(r)
        ports.log(f"round {r}: waiting for the operator's {need} episodes ("
                  + (f"policy {checkpoint[1]} drives; hold the take-over button to correct "
                     "it" if checkpoint else "no policy yet: the operator demonstrates")
                  + ")")
        ports.wait_episodes(r, need, config.round_timeout)
        ports.log(f"round {r}: {need} episodes in; retraining in the background (the "
                  "robot keeps collecting with the "
                  + ("previous policy)" if checkpoint else "operator)"))
        policy_drove = checkpoint is not None  # round 0: the operator demonstrated
        path, report = train(config, r, ports.alive)
        log_refused_warm_start(ports, r, report)
        checkpoint = (path, checkpoint_id(path))
        row = operator_round_row(r, ports.saved(), path, report)
        append_metrics(config.run_dir, row)
        ports.publish(row)
        write_round_report(config.run_dir, ports)
        rows.append(row)
        rate = ("-" if row.intervention_rate is None else f"{row.intervention_rate:.0%}")
        own = (f"policy's own success {row.success_rate:.0%}" if policy_drove else
               "the operator's demonstrations")
        ports.log(f"round {r}: {row.eval_episodes} episodes, {own}, intervention rate "
                  f"{rate}, {row.interventions} "
                  f"take-overs, {row.labels} labels so far; new checkpoint "
                  f"{row.checkpoint_id}")
        if config.stop_at_target and r and row.success_rate >= config.target_success:
            ports.log(f"target success {config.target_success:.0%} reached")
            break
    if checkpoint is not None:
        ports.wait_between_episodes(config.round_timeout)
        ports.announce(RoundAnnouncement(config.rounds, str(checkpoint[0]), checkpoint[1],
                                         final=True))
    return rows


def write_round_report(run_dir: str, ports: RoundPorts) -> None:
    """rounds.md and rounds.png so far (a failure to plot is logged, never fatal: the
    metrics are already written)."""
    from dagger_ros.core.robot_report import write_robot_report

    try:
        write_robot_report(run_dir)
    except Exception as exc:  # noqa: BLE001 - a report is a convenience
        ports.log(f"round report not written: {type(exc).__name__}: {exc}")


def train_in_background(config: TrainerConfig, round_index: int,
                        alive: Callable[[], bool] = lambda: True) -> tuple[Path, dict]:
    """``retrain`` in a child process at lower CPU priority, so the control nodes keep
    their share of the cores; returns (checkpoint path, training report). The child is
    killed if the graph shuts down (InterruptedError) and its failure is raised here."""
    ctx = multiprocessing.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_train_child, args=(config, round_index, send), daemon=True,
                       name=f"dagger_ros-train-round-{round_index}")
    proc.start()
    send.close()
    try:
        while not receive.poll(0.2):
            if not proc.is_alive():
                raise RuntimeError(f"the training process of round {round_index} died "
                                   f"(exit code {proc.exitcode})")
            if not alive():
                raise InterruptedError("shutting down")
        kind, value = receive.recv()
    finally:
        if proc.is_alive():
            proc.terminate()
        proc.join(5)
    if kind == "error":
        raise RuntimeError(f"training round {round_index} failed: {value}")
    return Path(value[0]), value[1]


def _train_child(config: TrainerConfig, round_index: int, send) -> None:
    try:
        os.nice(10)
    except OSError:
        pass
    try:
        path, trained = retrain(config, round_index)
        send.send(("ok", (str(path), trained["report"])))
    except Exception as exc:  # reported by the parent, naming the round
        send.send(("error", f"{type(exc).__name__}: {exc}"))
