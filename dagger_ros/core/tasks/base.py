"""What every simulated task shares: loading its MJCF, stepping at the control rate,
episode bookkeeping (seed, step, outcome) and the interface the bridge and the experts use.
"""

from __future__ import annotations

import dataclasses
from importlib import resources
from pathlib import Path

import numpy as np

from dagger_ros.core.config import ConfigError

SUCCESS, FAILURE, TIMEOUT = "success", "failure", "timeout"
OUTCOMES = (SUCCESS, FAILURE, TIMEOUT)


def shipped_model(file_name: str) -> Path:
    """Path of an MJCF scene shipped inside the package (dagger_ros/models)."""
    return Path(str(resources.files("dagger_ros") / "models" / file_name))


def load_model(path: str | Path):
    """Load an MJCF file; a missing or broken file raises ConfigError naming it."""
    import mujoco  # heavy import kept out of module import time

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"MJCF model file not found: {path}")
    try:
        return mujoco.MjModel.from_xml_path(str(path))
    except ValueError as exc:  # mujoco reports parse and compile errors as ValueError
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unknown error"
        raise ConfigError(f"broken MJCF model {path}: {first}") from None


@dataclasses.dataclass
class StepResult:
    """What one control step produced."""

    observation: np.ndarray
    reward: float
    outcome: str | None  # None while the episode runs, else one of OUTCOMES


class Task:
    """A simulated task: an MJCF scene, a seeded reset, an observation and an outcome.

    Subclasses set the class attributes and implement ``_reset_state``, ``observation``,
    ``_apply`` (action -> actuator controls), ``_judge`` and ``task_state``.
    """

    name: str = ""
    model_file: str = ""
    default_max_steps: int = 200
    action_names: tuple[str, ...] = ()
    observation_names: tuple[str, ...] = ()
    #: the observation elements that describe the task rather than the robot (LeRobot's
    #: observation.environment_state); the rest are the robot's state
    environment_names: tuple[str, ...] = ()
    #: ros2_control-shaped command: one value per commanded joint, or a Twist
    command_kind: str = "joint_velocity"
    #: default sensor noise (standard deviation per observation element) the learner sees
    default_observation_noise: tuple[float, ...] = ()
    #: the MJCF cameras the learner sees (observation.images.<name>), and their size
    #: (width, height) in pixels
    cameras: tuple[str, ...] = ()
    camera_size: tuple[int, int] = (96, 96)

    @property
    def privileged_names(self) -> tuple[str, ...]:
        """What a privileged teacher sees (the simulator's expert topic): the learner's
        observation, unless the task hides part of it from the learner (a camera task
        shows the target only in the image)."""
        return self.observation_names

    def __init__(self, model_path: str | Path | None = None, control_rate_hz: float = 50.0,
                 max_episode_steps: int = 0, observation_noise: list[float] | None = None):
        import mujoco

        self._mj = mujoco
        self.model_path = Path(model_path) if model_path else shipped_model(self.model_file)
        self.model = load_model(self.model_path)
        self.data = mujoco.MjData(self.model)
        if control_rate_hz <= 0:
            raise ConfigError(f"'control_rate_hz' must be positive, got {control_rate_hz}")
        self.control_dt = 1.0 / control_rate_hz
        self.substeps = max(1, int(round(self.control_dt / self.model.opt.timestep)))
        self.max_episode_steps = max_episode_steps or self.default_max_steps
        self._check_model()
        noise = self.default_observation_noise if observation_noise is None else observation_noise
        if len(noise) not in (0, len(self.observation_names)):
            raise ConfigError(f"'observation_noise' has {len(noise)} values but task "
                              f"'{self.name}' observes {len(self.observation_names)} "
                              f"({', '.join(self.observation_names)})")
        self.observation_noise = np.asarray(noise if len(noise) else
                                            np.zeros(len(self.observation_names)), dtype=float)
        self.noise_rng = np.random.default_rng(0)
        self.seed: int | None = None
        self.step_count = 0
        self.episode_return = 0.0
        self.outcome: str | None = None
        self.rng = np.random.default_rng(0)

    # -- model checks ---------------------------------------------------------------
    def _require(self, kind: str, names: tuple[str, ...]) -> list[int]:
        """Ids of named MJCF elements; a missing one is a ConfigError naming the file."""
        obj = {"joint": self._mj.mjtObj.mjOBJ_JOINT, "actuator": self._mj.mjtObj.mjOBJ_ACTUATOR,
               "site": self._mj.mjtObj.mjOBJ_SITE, "body": self._mj.mjtObj.mjOBJ_BODY}[kind]
        ids = []
        for n in names:
            i = self._mj.mj_name2id(self.model, obj, n)
            if i < 0:
                raise ConfigError(f"MJCF model {self.model_path} has no {kind} '{n}', "
                                  f"which task '{self.name}' needs")
            ids.append(i)
        return ids

    def _check_model(self) -> None:
        """Subclasses look up the elements they need (raising ConfigError if absent)."""

    # -- episode --------------------------------------------------------------------
    @property
    def action_size(self) -> int:
        return len(self.action_names)

    @property
    def observation_size(self) -> int:
        return len(self.observation_names)

    def action_limits(self) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds of the action vector."""
        raise NotImplementedError

    def reset(self, seed: int) -> np.ndarray:
        """Start a new episode from the state drawn with ``seed``; returns the observation."""
        self.seed = int(seed)
        self.rng = np.random.default_rng(self.seed)
        self.noise_rng = np.random.default_rng([self.seed, 1])
        self._mj.mj_resetData(self.model, self.data)
        self._reset_state()
        self._mj.mj_forward(self.model, self.data)
        self.step_count = 0
        self.episode_return = 0.0
        self.outcome = None
        return self.observe()

    def step(self, action: np.ndarray) -> StepResult:
        """Apply ``action`` (clipped to the action limits) for one control period."""
        if self.outcome is not None:
            raise RuntimeError("step() after the episode ended; call reset() first")
        action = np.asarray(action, dtype=float).reshape(-1)
        if action.shape[0] != self.action_size:
            raise ValueError(f"action has {action.shape[0]} values; task '{self.name}' "
                             f"takes {self.action_size} ({', '.join(self.action_names)})")
        if not np.all(np.isfinite(action)):
            raise ValueError(f"action {action} has a NaN or Inf")
        self.run(action)
        self.step_count += 1
        reward, outcome = self._judge()
        if outcome is None and self.step_count >= self.max_episode_steps:
            outcome = TIMEOUT
        self.episode_return += reward
        self.outcome = outcome
        return StepResult(self.observe(), reward, outcome)

    def run(self, action: np.ndarray) -> None:
        """Physics only: apply ``action`` (clipped) for one control period, with no episode
        bookkeeping (a hardware-shaped simulator runs so, with no episodes)."""
        low, high = self.action_limits()
        self._apply(np.clip(action, low, high))
        for _ in range(self.substeps):
            self._mj.mj_step(self.model, self.data)

    def observe(self) -> np.ndarray:
        """What the learner sees: the true observation plus sensor noise (drawn once per
        step; ``true_observation`` gives the same step's noise-free vector)."""
        self._true = self.observation()
        learner = self.learner_view(self._true)
        if not self.observation_noise.any():
            return learner.copy()
        return learner + self.noise_rng.normal(0.0, 1.0, learner.shape) \
            * self.observation_noise

    def learner_view(self, privileged: np.ndarray) -> np.ndarray:
        """The learner's noise-free observation, out of the privileged one."""
        return privileged

    def true_observation(self) -> np.ndarray:
        """The noise-free privileged observation of the current step (``privileged_names``):
        what a privileged expert sees."""
        return self._true.copy()

    def render(self) -> dict[str, np.ndarray]:
        """The cameras' images of the current state, {name: (H, W, 3) uint8} (empty for a
        task without cameras); the renderer is made at the first call."""
        if not self.cameras:
            return {}
        if getattr(self, "_cameras", None) is None:
            from dagger_ros.core.images import ImageField, SimCameras

            self._cameras = SimCameras(self.model, [ImageField(n, *self.camera_size)
                                                    for n in self.cameras], {})
        return self._cameras.render(self.data)

    # -- for the bridge's topics ----------------------------------------------------
    def joint_names(self) -> list[str]:
        raise NotImplementedError

    def joint_state(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Positions, velocities and efforts of ``joint_names()``, for /joint_states."""
        raise NotImplementedError

    # -- subclass hooks -------------------------------------------------------------
    def _reset_state(self) -> None:
        raise NotImplementedError

    def observation(self) -> np.ndarray:
        """The noise-free privileged observation vector of the current state."""
        raise NotImplementedError

    def _apply(self, action: np.ndarray) -> None:
        raise NotImplementedError

    def _judge(self) -> tuple[float, str | None]:
        raise NotImplementedError

    def task_state(self) -> dict[str, float]:
        """Named task quantities (target, track error, progress...) for /task/state."""
        raise NotImplementedError
