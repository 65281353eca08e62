"""The policy node's logic without ROS: which checkpoint runs, and answering observations.

A checkpoint is a dagger_ros ensemble (policy_model) or a LeRobot pretrained folder
(lerobot_policy: ACT, Diffusion, ... with LeRobot's processors and action queue); which one
is read from the folder itself."""

from __future__ import annotations

import dataclasses

import numpy as np

from dagger_ros.core.config import ConfigError, SchedulingConfig, param
from dagger_ros.core.lerobot_policy import LeRobotLearner, is_lerobot_folder
from dagger_ros.core.policy_model import CheckpointError, EnsemblePolicy, load_checkpoint
from dagger_ros.core.records import PolicyStatus, RoundAnnouncement
from dagger_ros.core.tasks import task_class
from dagger_ros.core.vision_model import is_vision_checkpoint, load_vision_checkpoint


@dataclasses.dataclass
class PolicyConfig(SchedulingConfig):
    """Parameters of the policy node."""

    task: str = param("reach", "Simulated task whose profile applies when no 'profile' is "
                      "given.")
    profile: str = param("", "Robot profile: the observation and action a checkpoint must "
                         "match.")
    checkpoint: str = param("", "Checkpoint folder to start with (empty: none until the "
                            "trainer announces one on /dagger/round).")
    lerobot_samples: int = param(1, "LeRobot policies: actions drawn per observation, in one "
                                 "batch. Above 1, a stochastic policy (Diffusion) executes "
                                 "the first and reports the samples' spread as its "
                                 "uncertainty (for gating 'uncertainty' and 'budget'); a "
                                 "deterministic one (ACT) has none either way.")

    torch_threads: int = param(1, "LeRobot policies: torch's CPU threads for inference. 1 on "
                               "a small machine: torch's threads spin while they wait and, "
                               "beside the rest of the graph on 2 cores, took a Diffusion "
                               "chunk from 45 ms to 200-450 ms here.")

    def validate(self) -> None:
        self.check_priority()
        task_class(self.task)
        if self.torch_threads < 1:
            raise ConfigError(f"'torch_threads' must be >= 1, got {self.torch_threads}")
        if self.lerobot_samples < 1:
            raise ConfigError(f"'lerobot_samples' must be >= 1, got {self.lerobot_samples}")


class PolicyRuntime:
    """Holds the running policy; a bad checkpoint is refused and the last good one kept."""

    def __init__(self, observation_size: int, action_size: int, state_size: int | None = None,
                 lerobot_samples: int = 1, torch_threads: int = 1, images: dict | None = None):
        self.observation_size = observation_size
        #: the profile's cameras, {name: (H, W, 3)}: a vision checkpoint must see the same
        self.images = dict(images or {})
        self.lerobot_samples = lerobot_samples
        self.torch_threads = torch_threads
        self.action_size = action_size
        #: the observation's first elements that are the robot's state (a LeRobot policy
        #: reads them as observation.state, the rest as observation.environment_state)
        self.state_size = observation_size if state_size is None else state_size
        self.policy: EnsemblePolicy | LeRobotLearner | None = None
        self.episode: int | None = None
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
        return loaded, self.status()

    def status(self) -> PolicyStatus:
        lerobot = isinstance(self.policy, LeRobotLearner)
        return PolicyStatus(self.round, self.checkpoint_id, self.checkpoint_path,
                            self.last_error,
                            uncertainty=self.policy.gives_uncertainty if lerobot else True,
                            kind=f"lerobot/{self.policy.kind}" if lerobot else
                            "vision_ensemble" if self.images else "ensemble")

    def load(self, path: str) -> bool:
        """Swap to the checkpoint at ``path``; False (and ``last_error``) if refused."""
        try:
            if is_vision_checkpoint(path):
                import torch

                torch.set_num_threads(self.torch_threads)
                policy, config = load_vision_checkpoint(path, self.observation_size,
                                                        self.action_size, self.images)
                content_id = config["content_id"]
            elif is_lerobot_folder(path):  # it is refused unless it reads the cameras
                policy = LeRobotLearner(path, self.state_size,
                                        self.observation_size - self.state_size,
                                        self.action_size, samples=self.lerobot_samples,
                                        threads=self.torch_threads, images=self.images)
                content_id = policy.content_id
            elif self.images:
                raise CheckpointError(f"checkpoint {path} does not see the profile's cameras "
                                      f"({', '.join(self.images)}); train a vision policy")
            else:
                policy, config = load_checkpoint(path, self.observation_size,
                                                 self.action_size)
                content_id = config["content_id"]
        except CheckpointError as exc:
            self.last_error = str(exc)
            return False
        self.policy, self.checkpoint_id, self.checkpoint_path = policy, content_id, str(path)
        self.last_error = None
        return True

    def act(self, observation: np.ndarray, episode: int | None = None, images: dict | None = None
            ) -> tuple[np.ndarray, np.ndarray, float | None] | None:
        """(mean action, member spread per element, scalar uncertainty or None), or None.
        A new ``episode`` number starts the policy afresh (a LeRobot action queue empties)."""
        if self.policy is None:
            return None
        if episode != self.episode:
            self.episode = episode
            if hasattr(self.policy, "reset"):
                self.policy.reset()
        mean, spread = self.policy.predict(observation, images)
        return mean, spread, self.policy.uncertainty(spread)
