"""DAgger and behaviour cloning in one process, without ROS.

The ROS graph runs the same pieces distributed (bridge, expert, policy, supervisor,
recorder, trainer); this module runs them in a loop for the behaviour-cloning baseline of
the main job, for the tests on a reduced budget, and for evaluation. Episodes are
collected on the same MuJoCo tasks with the same experts, gates and trainer.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from dagger_ros.core.experts import Expert
from dagger_ros.core.gating import EXPERT, POLICY, Gate
from dagger_ros.core.policy_model import EnsemblePolicy
from dagger_ros.core.tasks import SUCCESS, Task
from dagger_ros.core.training import TrainConfig, train_ensemble

EVAL_SEED_BASE = 1_000_000  # held-out evaluation seeds, never used to collect data
BC_SEED_BASE = 2_000_000  # expert-only rollouts of the behaviour-cloning baseline


@dataclasses.dataclass
class Episode:
    """One collected episode: per-frame arrays and its outcome."""

    seed: int
    observations: np.ndarray
    expert_actions: np.ndarray
    executed_actions: np.ndarray
    sources: list[str]
    outcome: str

    @property
    def frames(self) -> int:
        return len(self.observations)


def collect_episode(task: Task, expert: Expert, policy: EnsemblePolicy | None, gate: Gate,
                    seed: int) -> Episode:
    """Run one episode: every state labelled by the expert, the gate choosing who acts."""
    obs = task.reset(seed)
    gate.start_episode(seed)
    rows_obs, rows_exp, rows_exe, sources = [], [], [], []
    while True:
        label = expert.act(task.true_observation())  # the privileged teacher
        proposal, uncertainty = None, None
        if policy is not None:
            proposal, spread = policy.predict(obs)
            uncertainty = policy.uncertainty(spread)
        decision = gate.decide(label, proposal, uncertainty)
        action = label if decision.source == EXPERT else proposal
        rows_obs.append(obs)
        rows_exp.append(label)
        rows_exe.append(action)
        sources.append(decision.source)
        result = task.step(action)
        obs = result.observation
        if result.outcome is not None:
            return Episode(seed, np.array(rows_obs), np.array(rows_exp), np.array(rows_exe),
                           sources, result.outcome)


def evaluate(task: Task, policy: EnsemblePolicy, episodes: int,
             seed_base: int = EVAL_SEED_BASE) -> dict:
    """Closed-loop evaluation of the policy alone (beta = 0) on held-out seeds."""
    successes, returns = 0, []
    for i in range(episodes):
        obs = task.reset(seed_base + i)
        while True:
            action, _ = policy.predict(obs)
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
    """Observations, expert labels and episode ids of a list of episodes."""
    obs = np.concatenate([e.observations for e in episodes])
    act = np.concatenate([e.expert_actions for e in episodes])
    ids = np.concatenate([np.full(e.frames, i) for i, e in enumerate(episodes)])
    return obs, act, ids


def train_on(episodes: list[Episode], task: Task, config: TrainConfig, seed: int,
             label_budget: int | None = None) -> EnsemblePolicy:
    """Train on the episodes' expert labels (only the first ``label_budget`` frames)."""
    obs, act, ids = stack(episodes)
    if label_budget is not None:
        obs, act, ids = obs[:label_budget], act[:label_budget], ids[:label_budget]
    policy, _ = train_ensemble(obs, act, ids, task.observation_names, task.action_names,
                               config, seed=seed)
    return policy


def run_dagger(task: Task, expert: Expert, gate: Gate, train: TrainConfig, rounds: int,
               episodes_per_round: int, eval_episodes: int, seed: int = 0) -> list[dict]:
    """DAgger in-process; per round: collect, aggregate, retrain, evaluate."""
    data: list[Episode] = []
    policy = None
    history = []
    for r in range(rounds):
        gate.set_round(r)
        for i in range(episodes_per_round):
            data.append(collect_episode(task, expert, policy, gate,
                                        seed + r * episodes_per_round + i))
        policy = train_on(data, task, train, seed=seed + r)
        labels = sum(e.frames for e in data)
        history.append({"round": r, "beta": gate.beta, "episodes": len(data), "labels": labels,
                        **evaluate(task, policy, eval_episodes)})
    return history


def expert_rollouts(task: Task, expert: Expert, labels: int,
                    seed_base: int = BC_SEED_BASE) -> list[Episode]:
    """Expert-only episodes until at least ``labels`` frames are gathered (BC's data)."""
    from dagger_ros.core.gating import GatingConfig, make_gate

    gate = make_gate(GatingConfig(beta_schedule="constant", beta0=1.0))
    episodes, total, i = [], 0, 0
    while total < labels:
        episodes.append(collect_episode(task, expert, None, gate, seed_base + i))
        total += episodes[-1].frames
        i += 1
    return episodes


def run_bc(task: Task, expert: Expert, train: TrainConfig, label_counts: list[int],
           eval_episodes: int, seed: int = 0) -> list[dict]:
    """Behaviour cloning given the same label counts, from expert-only rollouts."""
    episodes = expert_rollouts(task, expert, max(label_counts))
    out = []
    for i, labels in enumerate(label_counts):
        policy = train_on(episodes, task, train, seed=seed + i, label_budget=labels)
        out.append({"labels": labels, **evaluate(task, policy, eval_episodes)})
    return out


__all__ = ["Episode", "collect_episode", "evaluate", "expert_success", "run_dagger", "run_bc",
           "expert_rollouts", "POLICY", "EXPERT"]
