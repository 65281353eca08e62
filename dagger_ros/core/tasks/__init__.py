"""Simulated tasks, by name."""

from __future__ import annotations

from dagger_ros.core.config import ConfigError
from dagger_ros.core.tasks.base import FAILURE, OUTCOMES, SUCCESS, TIMEOUT, StepResult, Task
from dagger_ros.core.tasks.drive import DriveTask
from dagger_ros.core.tasks.reach import ReachCameraTask, ReachPositionTask, ReachTask

TASKS: dict[str, type[Task]] = {cls.name: cls for cls in (ReachTask, ReachPositionTask,
                                                          ReachCameraTask, DriveTask)}


def task_class(name: str) -> type[Task]:
    """The task class called ``name``; an unknown name raises ConfigError listing the known."""
    try:
        return TASKS[name]
    except KeyError:
        raise ConfigError(f"unknown task '{name}'; known tasks: {', '.join(sorted(TASKS))}") \
            from None


def make_task(name: str, model_file: str = "", control_rate_hz: float = 50.0,
              max_episode_steps: int = 0, observation_noise: list[float] | None = None) -> Task:
    """Build task ``name`` (optionally from another MJCF file, with other sensor noise)."""
    return task_class(name)(model_file or None, control_rate_hz, max_episode_steps,
                            observation_noise)


__all__ = ["TASKS", "Task", "StepResult", "make_task", "task_class",
           "SUCCESS", "FAILURE", "TIMEOUT", "OUTCOMES"]
