"""Run episodes in-process (no ROS): for evaluation, tests and benchmarks."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable

import numpy as np

from dagger_ros.core.tasks import SUCCESS, Task


@dataclasses.dataclass
class EpisodeResult:
    seed: int
    outcome: str
    steps: int
    episode_return: float


def run_episode(task: Task, act: Callable[[np.ndarray], np.ndarray], seed: int,
                privileged: bool = True) -> EpisodeResult:
    """One episode of ``task`` from ``seed`` with ``act`` choosing every action.

    ``privileged``: ``act`` sees the noise-free observation (a scripted expert); otherwise
    the noisy one a learner sees.
    """
    obs = task.reset(seed)
    while True:
        result = task.step(act(task.true_observation() if privileged else obs))
        obs = result.observation
        if result.outcome is not None:
            return EpisodeResult(seed, result.outcome, task.step_count, task.episode_return)


def success_rate(task: Task, act: Callable[[np.ndarray], np.ndarray],
                 seeds: Iterable[int]) -> tuple[float, list[EpisodeResult]]:
    """Fraction of successful episodes over ``seeds`` and the per-episode results."""
    results = [run_episode(task, act, s) for s in seeds]
    return sum(r.outcome == SUCCESS for r in results) / max(len(results), 1), results
