"""A simulated operator who behaves like a person at a gamepad, without ROS.

It watches the robot (the simulator's noise-free state) and reacts with a delay: it takes
over when the robot strayed beyond a tolerance ``reaction_delay`` ago, and hands back once
it had recovered (hysteresis). While in control it steers like the scripted expert on what
it sees now, with some noise (a practised driver compensates their own lag while steering;
what a delay costs is the late take-over). Its output is what a gamepad gives
(stick positions and buttons, see core/teleop.py), so HG-DAgger runs through the same
code path as with a person.
"""

from __future__ import annotations

import collections
import dataclasses

import numpy as np

from dagger_ros.core.config import ConfigError, param
from dagger_ros.core.teleop import JoyConfig

#: per task: the observation element whose magnitude says how far the robot strayed
DEVIATION = {"drive": "lateral_error"}


@dataclasses.dataclass
class SimOperatorConfig(JoyConfig):
    """Parameters of the sim_operator node."""

    task: str = param("drive", "Task the operator supervises (one with a deviation "
                      f"measure: {', '.join(DEVIATION)}).")
    reaction_delay: float = param(0.1, "Seconds (of robot time) between the robot straying "
                                  "(or recovering) and the operator taking over (or handing "
                                  "back).")
    operator_noise: float = param(0.03, "Std of the operator's stick noise, as a fraction "
                                  "of each element's half-range.")
    takeover_deviation: float = param(0.2, "The operator takes over when the deviation "
                                      "(drive: |lateral error|, m) exceeds this.")
    handback_deviation: float = param(0.05, "...and hands back once it is below this.")
    intervene: bool = param(True, "Take over when the robot strays (false: only drive "
                            "when no policy runs).")
    seed: int = param(0, "Seed of the operator's noise.")

    def validate(self) -> None:
        super().validate()
        if self.task not in DEVIATION:
            raise ConfigError(f"'task': the simulated operator has no deviation measure for "
                              f"'{self.task}'; tasks: {', '.join(DEVIATION)}")
        if self.reaction_delay < 0 or self.operator_noise < 0:
            raise ConfigError("'reaction_delay' and 'operator_noise' must be >= 0, got "
                              f"{self.reaction_delay} and {self.operator_noise}")
        if not 0 < self.handback_deviation <= self.takeover_deviation:
            raise ConfigError(f"'handback_deviation' ({self.handback_deviation}) must be "
                              f"positive and at most 'takeover_deviation' "
                              f"({self.takeover_deviation})")


class SimulatedOperator:
    """Per observation (by stamp): the operator's action and whether they take over."""

    def __init__(self, config: SimOperatorConfig, expert, observation_names, half_range):
        self.config = config
        self.expert = expert
        self.deviation_index = list(observation_names).index(DEVIATION[config.task])
        self.half_range = np.asarray(half_range, float)
        self.seen: collections.deque = collections.deque()
        self.intervening = False
        self.rng = np.random.default_rng(config.seed)

    def perceived(self, stamp: int):
        """The newest observation at least reaction_delay old (the oldest kept, early on)."""
        cutoff = stamp - int(self.config.reaction_delay * 1e9)
        while len(self.seen) > 1 and self.seen[1][0] <= cutoff:
            self.seen.popleft()
        return self.seen[0][1]

    def step(self, stamp: int, true_observation, policy_running: bool):
        """(action, takeover) for the observation at ``stamp``."""
        now = np.asarray(true_observation, float)
        self.seen.append((stamp, now))
        deviation = abs(float(self.perceived(stamp)[self.deviation_index]))
        if not (self.config.intervene and policy_running):
            self.intervening = False
        elif self.intervening and deviation < self.config.handback_deviation:
            self.intervening = False
        elif not self.intervening and deviation > self.config.takeover_deviation:
            self.intervening = True
        noise = self.rng.normal(size=len(self.half_range)) * self.config.operator_noise
        action = self.expert.act(now) + noise * self.half_range
        return action, self.intervening

    def new_episode(self) -> None:
        self.seen.clear()
        self.intervening = False
