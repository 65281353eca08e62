"""The hardware-shaped simulator, without ROS: a simulated arm that behaves like a
ros2_control robot and nothing more.

It has no episodes, no resets the graph can call, no privileged observation: physics runs
at the control rate whatever the graph does; the command is whatever the controller last
received (a forward command controller keeps its last command until a new one comes: that
is what the real one does, so the graph's own holds are what keep the robot safe); the
sensors are the joint states, the tool pose and the target. The one extra is the scene
reset a simulated person uses to stand in for a person re-placing the target by hand: it
moves the target and nothing else.
"""

from __future__ import annotations

import numpy as np

from dagger_ros.core.config import ConfigError
from dagger_ros.core.tasks import make_task

#: tasks the hardware-shaped simulator runs (an arm with a target)
HARDWARE_TASKS = ("reach", "reach_position")


class HardwareSim:
    def __init__(self, task: str, model_file: str, control_rate_hz: float, seed: int,
                 command_limits: list[float] | None = None):
        if task not in HARDWARE_TASKS:
            raise ConfigError(f"'task': the hardware-shaped simulator runs "
                              f"{', '.join(HARDWARE_TASKS)}, not '{task}'")
        self.task = make_task(task, model_file, control_rate_hz, observation_noise=[])
        self.seed = seed
        self.scenes = 0  # scene resets so far: scene i uses seed + i
        self.task.reset(seed)
        low, high = self.task.action_limits()
        if command_limits:
            bound = np.asarray(command_limits, float)
            low, high = np.maximum(low, -bound), np.minimum(high, bound)
        self.low, self.high = low, high
        self.position = self.task.command_kind == "joint_position"
        #: what the controller applies until a command comes: the start pose (position:
        #: the servo holds where the arm is) or rest (velocity)
        self.command = self.joint_state()[0].copy() if self.position else np.zeros(len(low))
        self.commands = 0

    def put(self, command) -> None:
        """A command as the controller takes it; ValueError names what is wrong with it."""
        command = np.asarray(command, dtype=float).reshape(-1)
        if command.shape[0] != len(self.low):
            raise ValueError(f"command has {command.shape[0]} values, the controller takes "
                             f"{len(self.low)} ({', '.join(self.task.joint_names())})")
        if not np.all(np.isfinite(command)):
            raise ValueError(f"command {command.tolist()} has a NaN or Inf")
        self.command = np.clip(command, self.low, self.high)
        self.commands += 1

    def tick(self) -> None:
        """One control period of physics under the controller's last command."""
        self.task.run(self.command)

    def reset_scene(self) -> int:
        """The person re-places the target (the arm stays); returns the scene's seed."""
        self.scenes += 1
        seed = self.seed + self.scenes
        self.task.place_target(seed)
        return seed

    def joint_state(self):
        return self.task.joint_state()

    def joint_names(self) -> list[str]:
        return self.task.joint_names()

    def target(self) -> np.ndarray:
        return self.task.target()

    def tool_position(self) -> np.ndarray:
        return self.task.end_effector()
