"""DAgger and behaviour cloning in one process, without ROS, on the graph's own code.

The ROS graph runs the pieces distributed (bridge, expert, policy, supervisor, recorder,
trainer); this module runs the same pieces in a loop: the bridge's core (SimBridge: seeds,
the sim clock, stamps), the scripted expert, the ensemble, and the supervisor's core
(Supervisor: the gate, the limits, the decision record). So the in-process loop takes the
very decisions the graph takes, and its episodes are frames the recorder's writer stores
as they are. Used for the behaviour-cloning baseline of the main job, for the tests on a
reduced budget, and for evaluation.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from dagger_ros.core.bridge import BridgeConfig, SimBridge
from dagger_ros.core.config import from_mapping
from dagger_ros.core.experts import Expert, make_expert
from dagger_ros.core.policy_model import EnsemblePolicy
from dagger_ros.core.recording.join import Frame
from dagger_ros.core.records import EpisodeEnd, Source
from dagger_ros.core.supervisor import Supervisor, SupervisorConfig
from dagger_ros.core.tasks import SUCCESS, Task
from dagger_ros.core.training import TrainConfig, train_ensemble

EVAL_SEED_BASE = 1_000_000  # held-out evaluation seeds, never used to collect data
BC_SEED_BASE = 2_000_000  # expert-only rollouts of the behaviour-cloning baseline


@dataclasses.dataclass
class Episode:
    """One collected episode: its frames (observation + decision record) and its end."""

    frames: list[Frame]
    end: EpisodeEnd

    @property
    def seed(self) -> int:
        return self.end.seed

    @property
    def outcome(self) -> str:
        return self.end.outcome.value

    @property
    def observations(self) -> np.ndarray:
        return np.array([f.observation for f in self.frames])

    def _labelled_frames(self) -> list[Frame]:
        return [f for f in self.frames if f.decision.expert_action is not None]

    def labelled(self) -> tuple[np.ndarray, np.ndarray]:
        """Observations and expert labels of the frames that have a label (shaped (0, n)
        when none has: a gate that never asked the expert in this episode)."""
        keep = self._labelled_frames()
        if keep:
            return (np.array([f.observation for f in keep]),
                    np.array([f.decision.expert_action for f in keep]))
        width = next((len(f.decision.executed_action) for f in self.frames
                      if f.decision.executed_action), 0)
        return np.zeros((0, len(self.frames[0].observation))), np.zeros((0, width))

    def labelled_images(self) -> dict[str, np.ndarray]:
        """The cameras' images of the labelled frames, {name: (N, H, W, 3)}."""
        keep = self._labelled_frames()
        return {n: np.stack([f.images[n] for f in keep]) if keep
                else np.zeros((0, *image.shape), image.dtype)
                for n, image in self.frames[0].images.items()}

    @property
    def sources(self) -> list[Source]:
        return [f.decision.source for f in self.frames]


class InProcessGraph:
    """The graph's pieces in one process: a bridge core, the scripted expert, a supervisor
    core. ``policy`` (an EnsemblePolicy or None) answers like the policy node."""

    def __init__(self, bridge: BridgeConfig, supervisor: SupervisorConfig,
                 label_source: str = ""):
        self.sim = SimBridge(bridge)
        self.expert = make_expert(self.sim.task)
        low, high = self.sim.task.action_limits()
        self.supervisor = Supervisor(supervisor, low, high, label_source or self.expert.name)
        self.policy: EnsemblePolicy | None = None

    @classmethod
    def for_task(cls, task: str, noise: list[float] | None = None, **gating) -> InProcessGraph:
        """A lockstep graph on ``task`` with the given sensor noise (None: the task's model,
        [] none) and gating keys (SupervisorConfig fields)."""
        bridge = {"task": task, "stepping": "lockstep"}
        if noise is not None:
            bridge.update(sensor_noise=bool(noise), observation_noise=list(noise))
        return cls(from_mapping(BridgeConfig, bridge),
                   from_mapping(SupervisorConfig, {"task": task, "stepping": "lockstep",
                                                   **gating}))

    def set_policy(self, policy: EnsemblePolicy | None, round_index: int,
                   checkpoint_id: str | None) -> None:
        """What the trainer's round announcement does: the policy to run, the round."""
        self.policy = policy
        self.supervisor.set_round(round_index, checkpoint_id if policy is not None else None)

    def collect_episode(self, seed: int) -> Episode:
        """One episode from ``seed``: every observation answered by the expert (and the
        policy), decided by the supervisor, stepped with the command it chose."""
        sim, sup = self.sim, self.supervisor
        obs = sim.start_episode(seed)
        frames = []
        while True:
            stamp, label = sim.clock_ns, sim.label
            now = stamp / 1e9  # the sim clock as the supervisor's clock: nothing is late
            sup.add_observation(stamp, label, now)
            result = sup.add_expert(stamp, label, self.expert.act(sim.task.true_observation()),
                                    now)
            images = sim.task.render()  # {} without cameras
            if self.policy is not None:
                mean, spread = self.policy.predict(obs, images)
                result = sup.add_policy(stamp, label, mean, self.policy.uncertainty(spread),
                                        now)
            command, record = result
            frames.append(Frame(stamp, sim.episode, sim.task.step_count, obs, record, images))
            end = sim.step(command)
            obs = sim.last_observation
            if end is not None:
                return Episode(frames, end)


def evaluate(task: Task, policy: EnsemblePolicy, episodes: int,
             seed_base: int = EVAL_SEED_BASE) -> dict:
    """Closed-loop evaluation of the policy alone (beta = 0) on held-out seeds."""
    successes, returns = 0, []
    for i in range(episodes):
        obs = task.reset(seed_base + i)
        if hasattr(policy, "reset"):  # a LeRobot policy: a new episode empties its queue
            policy.reset()
        while True:
            action, _ = policy.predict(obs, task.render())
            result = task.step(action)
            obs = result.observation
            if result.outcome is not None:
                break
        successes += result.outcome == SUCCESS
        returns.append(task.episode_return)
    return {"success_rate": successes / max(episodes, 1),
            "mean_return": float(np.mean(returns)) if returns else 0.0,
            "eval_episodes": episodes}


def expert_success(task: Task, expert: Expert, episodes: int,
                   seed_base: int = EVAL_SEED_BASE) -> float:
    """The expert's own success rate on the evaluation seeds (the bar DAgger aims at)."""
    wins = 0
    for i in range(episodes):
        task.reset(seed_base + i)
        while True:
            result = task.step(expert.act(task.true_observation()))
            if result.outcome is not None:
                break
        wins += result.outcome == SUCCESS
    return wins / max(episodes, 1)


def stack(episodes: list[Episode]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Observations, expert labels and episode ids of the labelled frames of episodes."""
    parts = [e.labelled() for e in episodes]
    obs = np.concatenate([o for o, _ in parts])
    act = np.concatenate([a for _, a in parts])
    ids = np.concatenate([np.full(len(o), i) for i, (o, _) in enumerate(parts)])
    return obs, act, ids


def train_on(episodes: list[Episode], task: Task, config: TrainConfig, seed: int,
             label_budget: int | None = None, previous=None):
    """Train on the episodes' expert labels (only the first ``label_budget`` of them); a
    task with cameras trains the vision ensemble on the images too (starting from
    ``previous`` when ``config.warm_start``). Returns (policy, TrainReport)."""
    obs, act, ids = stack(episodes)
    if label_budget is not None:
        obs, act, ids = obs[:label_budget], act[:label_budget], ids[:label_budget]
    if task.cameras:
        from dagger_ros.core.vision_model import train_vision_ensemble

        parts = [e.labelled_images() for e in episodes]
        images = {n: np.concatenate([p[n] for p in parts])[:len(obs)] for n in task.cameras}
        return train_vision_ensemble(obs, images, act, ids, task.observation_names,
                                     task.action_names, config, seed=seed,
                                     init=previous if config.warm_start else None)
    return train_ensemble(obs, act, ids, task.observation_names, task.action_names, config,
                          seed=seed)


def fit_start(config: TrainConfig, report) -> dict:
    """A row's note of how a warm-started fit began ("warm", or why it began fresh)."""
    return {"train_start": report.start} if config.warm_start else {}


def run_dagger(graph: InProcessGraph, train: TrainConfig, rounds: int,
               episodes_per_round: int, eval_episodes: int, seed: int = 0) -> list[dict]:
    """DAgger in-process; per round: collect (the supervisor deciding with the round's
    gate), aggregate, retrain, evaluate."""
    task = graph.sim.task
    data: list[Episode] = []
    history = []
    for r in range(rounds):
        for i in range(episodes_per_round):
            data.append(graph.collect_episode(seed + r * episodes_per_round + i))
        policy, report = train_on(data, task, train, seed=seed + r, previous=graph.policy)
        labels = sum(len(e.labelled()[0]) for e in data)
        history.append({"round": r, "beta": graph.supervisor.gate.beta, "episodes": len(data),
                        "labels": labels, **evaluate(task, policy, eval_episodes),
                        **fit_start(train, report)})
        graph.set_policy(policy, r + 1, f"inprocess-{r}")
    return history


def expert_rollouts(task: str, labels: int, noise: list[float] | None = None,
                    seed_base: int = BC_SEED_BASE) -> list[Episode]:
    """Expert-only episodes until at least ``labels`` frames are gathered (BC's data): the
    graph with no policy, so the expert drives every step (reason ``no_policy``)."""
    graph = InProcessGraph.for_task(task, noise)
    episodes, total, i = [], 0, 0
    while total < labels:
        episodes.append(graph.collect_episode(seed_base + i))
        total += len(episodes[-1].frames)
        i += 1
    return episodes


def run_bc(task: Task, train: TrainConfig, label_counts: list[int], eval_episodes: int,
           seed: int = 0) -> list[dict]:
    """Behaviour cloning given the same label counts, from expert-only rollouts."""
    episodes = expert_rollouts(task.name, max(label_counts),
                               noise=task.observation_noise.tolist())
    out, policy = [], None
    for i, labels in enumerate(label_counts):
        policy, report = train_on(episodes, task, train, seed=seed + i, label_budget=labels,
                                  previous=policy)
        out.append({"labels": labels, **evaluate(task, policy, eval_episodes),
                    **fit_start(train, report)})
    return out


__all__ = ["Episode", "InProcessGraph", "evaluate", "expert_success", "run_dagger", "run_bc",
           "expert_rollouts"]
