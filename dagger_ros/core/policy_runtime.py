"""The policy node's logic without ROS: which checkpoint runs, and answering observations."""

from __future__ import annotations

import dataclasses

import numpy as np

from dagger_ros.core.config import param
from dagger_ros.core.policy_model import CheckpointError, EnsemblePolicy, load_checkpoint
from dagger_ros.core.records import PolicyStatus, RoundAnnouncement
from dagger_ros.core.tasks import task_class


@dataclasses.dataclass
class PolicyConfig:
    """Parameters of the policy node."""

    task: str = param("reach", "Simulated task whose profile applies when no 'profile' is "
                      "given.")
    profile: str = param("", "Robot profile: the observation and action a checkpoint must "
                         "match.")
    checkpoint: str = param("", "Checkpoint folder to start with (empty: none until the "
                            "trainer announces one on /dagger/round).")

    def validate(self) -> None:
        task_class(self.task)


class PolicyRuntime:
    """Holds the running policy; a bad checkpoint is refused and the last good one kept."""

    def __init__(self, observation_size: int, action_size: int):
        self.observation_size = observation_size
        self.action_size = action_size
        self.policy: EnsemblePolicy | None = None
        self.checkpoint_id: str | None = None
        self.checkpoint_path: str | None = None
        self.last_error: str | None = None
        self.round = -1

    def on_round(self, announcement: RoundAnnouncement) -> tuple[bool | None, PolicyStatus]:
        """Load the announced checkpoint if it is a new one; returns (whether it loaded, or
        None if there was nothing new to load; the status to publish)."""
        self.round = announcement.round
        loaded = None
        path = announcement.checkpoint_path
        if path and path != self.checkpoint_path:
            loaded = self.load(path)
        return loaded, PolicyStatus(self.round, self.checkpoint_id, self.checkpoint_path,
                                    self.last_error)

    def load(self, path: str) -> bool:
        """Swap to the checkpoint at ``path``; False (and ``last_error``) if refused."""
        try:
            policy, config = load_checkpoint(path, self.observation_size, self.action_size)
        except CheckpointError as exc:
            self.last_error = str(exc)
            return False
        self.policy, self.checkpoint_id, self.checkpoint_path = (policy, config["content_id"],
                                                                 str(path))
        self.last_error = None
        return True

    def act(self, observation: np.ndarray) -> tuple[np.ndarray, np.ndarray, float] | None:
        """(mean action, member spread per element, scalar uncertainty), or None."""
        if self.policy is None:
            return None
        mean, spread = self.policy.predict(observation)
        return mean, spread, self.policy.uncertainty(spread)
