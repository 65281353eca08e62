"""The simulator side of the graph, without ROS: episodes, seeds, the sim clock, stepping.

Two stepping modes:
- ``lockstep``: physics advances only when the command answering the current observation
  arrives. Deterministic (the same seed gives the same episode step for step) and as fast
  as the graph answers.
- ``realtime``: physics advances at a fixed control rate whatever the graph does; when no
  fresh command arrived within ``command_timeout`` the ``stale_command`` rule applies.
"""

from __future__ import annotations

import dataclasses
import uuid

import numpy as np

from dagger_ros.core.config import ConfigError, SchedulingConfig, check_length, param
from dagger_ros.core.records import (
    EpisodeEnd,
    EpisodesFinished,
    EpisodeStart,
    OperatorEventKind,
    Outcome,
)
from dagger_ros.core.tasks import Task, make_task, task_class

STEPPING_MODES = ("lockstep", "realtime")
EXPOSES = ("dagger", "hardware")
#: the nodes a lockstep bridge may host in its own process (``in_process``)
HOSTABLE = ("expert", "policy", "supervisor", "sim_operator")
STALE_RULES = ("hold", "zero")


@dataclasses.dataclass
class SensorNoiseConfig:
    """The learner's sensor noise, shared by the bridge and the trainer's evaluation."""

    sensor_noise: bool = param(True, "Add sensor noise to what the learner sees (the "
                               "task's noise model, or observation_noise); the expert's "
                               "privileged topic stays noise-free.")
    observation_noise: list[float] = param([], "Noise std per observation element, "
                                           "replacing the task's model (empty: the task's).")

    def noise(self) -> list[float] | None:
        """For make_task: None = the task's model, [] = none, else the given values."""
        return (self.observation_noise or None) if self.sensor_noise else []


@dataclasses.dataclass
class BridgeConfig(SensorNoiseConfig, SchedulingConfig):
    """Parameters of the mujoco_bridge node. Its ``realtime_priority`` is for real-time
    stepping, where the simulator stands in for a robot's driver (ros2_control runs its
    loop at real-time priority)."""

    task: str = param("reach", "Simulated task: 'reach' (3-joint arm, velocity "
                      "controlled), 'reach_position' (the same arm under a position "
                      "controller) or 'drive' (wheeled vehicle on a track).")
    exposes: str = param("dagger", "'dagger': the simulator runs the episodes and publishes "
                         "the learner's observation itself; 'hardware': it exposes only "
                         "what a ros2_control robot and its sensors do (/joint_states, the "
                         "controller's command topic, the tool pose, the target), in real "
                         "time, with no episodes (the operator paces them), for the robot "
                         "graph (robot.launch.py) unchanged.")
    model_file: str = param("", "MJCF scene to load instead of the task's shipped one "
                            "(must contain the joints, actuators and sites the task names).")
    seed: int = param(0, "Seed of the first episode; episode i uses seed + i.")
    episodes: int = param(0, "Episodes to run before the bridge exits (0: run until stopped).")
    control_rate_hz: float = param(50.0, "Control rate: one observation and one command per "
                                   "period of simulated time.")
    max_episode_steps: int = param(0, "Control steps before an episode times out "
                                   "(0: the task's own limit).")
    stepping: str = param("lockstep", "'lockstep': physics waits for the command answering "
                          "each observation (deterministic); 'realtime': a fixed wall-clock "
                          "rate.")
    command_timeout: float = param(0.1, "realtime: a command older than this (s) is stale.")
    stale_command: str = param("zero", "realtime: with no fresh command, 'zero' commands "
                               "zero velocity (the robot stops), 'hold' repeats the last "
                               "command.")
    command_limits: list[float] = param([], "Symmetric bound per command element (e.g. "
                                        "joint velocity in rad/s; for drive [linear m/s, "
                                        "angular rad/s]); empty: the model's actuator limits.")
    controller_name: str = param("forward_velocity_controller", "ros2_control controller "
                                 "whose /<name>/commands topic the arm listens to.")
    auto_reset: bool = param(True, "Start episodes by themselves: the first once "
                             "wait_for_subscribers/wait_for_nodes listen, each next as one "
                             "ends. false: every episode waits for /sim/reset (the trainer "
                             "drives rounds so).")
    wait_for_subscribers: int = param(0, "Start the first episode only once "
                                      "/dagger/observation has this many matched subscribers "
                                      "(so no node of the graph misses the first frame).")
    wait_for_nodes: list[str] = param([], "Start the first episode only once these nodes "
                                      "(by name) subscribe /dagger/observation, e.g. "
                                      "[policy, recorder].")
    wait_for_expert: bool = param(True, "Also wait until something (the expert) listens to "
                                  "/dagger/expert_observation before an episode starts.")
    republish_period: float = param(0.5, "lockstep: re-send the waiting observation after "
                                    "this long (s) without an answer, for late joiners.")
    cameras: list[str] = param([], "exposes: hardware: MJCF cameras published as a camera "
                               "driver does, on /camera/<name>/image_raw (sensor_msgs/Image, "
                               "rgb8, camera_width x camera_height, at camera_rate_hz). With "
                               "exposes: dagger the task's own cameras are published with "
                               "each observation instead.")
    camera_width: int = param(96, "Width (pixels) of the images of 'cameras'.")
    camera_height: int = param(96, "Height (pixels) of the images of 'cameras'.")
    camera_rate_hz: float = param(30.0, "Rate of the images of 'cameras' (real time).")
    in_process: list[str] = param([], "Lockstep simulation only: nodes run inside the "
                                  "bridge's process, on one executor (rclpy's EventsExecutor "
                                  "unless DAGGER_ROS_EXECUTOR says otherwise), among expert, "
                                  "policy, supervisor, sim_operator. A step then crosses no "
                                  "process boundary but to the recorder's. A robot keeps one "
                                  "process per node: a process is what fails and restarts, "
                                  "and here a hosted node's crash ends the bridge's process.")

    def validate(self) -> None:
        self.check_priority()
        if self.realtime_priority and self.stepping == "lockstep":
            raise ConfigError("'realtime_priority' is for real-time stepping (the simulator as "
                              "a robot's driver); a lockstep bridge waits for the graph, and "
                              "the nodes it hosts would run at SCHED_FIFO")
        task_class(self.task)  # unknown task -> ConfigError listing the known ones
        if self.exposes not in EXPOSES:
            raise ConfigError(f"'exposes' must be one of {EXPOSES}, got '{self.exposes}'")
        if self.exposes == "hardware":
            from dagger_ros.core.hardware_sim import HARDWARE_TASKS

            if self.task not in HARDWARE_TASKS:
                raise ConfigError(f"'task': the hardware-shaped simulator (exposes: hardware) "
                                  f"runs {', '.join(HARDWARE_TASKS)}, not '{self.task}'")
            if self.stepping != "realtime":
                raise ConfigError("'stepping' must be realtime with 'exposes: hardware': "
                                  "hardware does not wait for the graph")
        if self.stepping not in STEPPING_MODES:
            raise ConfigError(f"'stepping' must be one of {STEPPING_MODES}, got "
                              f"'{self.stepping}'")
        if self.stale_command not in STALE_RULES:
            raise ConfigError(f"'stale_command' must be one of {STALE_RULES}, got "
                              f"'{self.stale_command}'")
        if self.cameras and self.exposes != "hardware":
            raise ConfigError("'cameras' is for exposes: hardware; with exposes: dagger the "
                              f"task's own cameras are published (task '{self.task}' has "
                              f"{list(task_class(self.task).cameras) or 'none'})")
        for key in ("camera_width", "camera_height"):
            if not 8 <= getattr(self, key) <= 4096:
                raise ConfigError(f"'{key}' must be 8-4096 pixels, got {getattr(self, key)}")
        for key in ("control_rate_hz", "command_timeout", "republish_period",
                    "camera_rate_hz"):
            if getattr(self, key) <= 0:
                raise ConfigError(f"'{key}' must be positive, got {getattr(self, key)}")
        for key in ("episodes", "max_episode_steps", "wait_for_subscribers"):
            if getattr(self, key) < 0:
                raise ConfigError(f"'{key}' must be >= 0, got {getattr(self, key)}")
        if any(v <= 0 for v in self.command_limits):
            raise ConfigError(f"'command_limits' must all be positive, got {self.command_limits}")
        if self.in_process:
            if self.stepping != "lockstep" or self.exposes != "dagger":
                raise ConfigError("'in_process' is for lockstep simulation only (a robot runs "
                                  "one process per node); set stepping: lockstep or remove it")
            unknown = [n for n in self.in_process if n not in HOSTABLE]
            if unknown or len(set(self.in_process)) != len(self.in_process):
                raise ConfigError(f"'in_process' takes distinct names among {HOSTABLE}, got "
                                  f"{self.in_process}")


class SimBridge:
    """Owns the task, the episode sequence and the simulated clock.

    The clock counts control periods over the whole run (it never goes back at a reset),
    so an observation's stamp identifies it uniquely within a run.
    """

    def __init__(self, config: BridgeConfig):
        self.config = config
        self.task: Task = make_task(config.task, config.model_file, config.control_rate_hz,
                                    config.max_episode_steps, config.noise())
        low, high = self.task.action_limits()
        if config.command_limits:
            check_length("command_limits", config.command_limits, self.task.action_size,
                         f"task '{config.task}' ({', '.join(self.task.action_names)})")
            bound = np.asarray(config.command_limits)
            low, high = np.maximum(low, -bound), np.minimum(high, bound)
        self.low, self.high = low, high
        self.period_ns = int(round(1e9 / config.control_rate_hz))
        self.ticks = 0  # control periods since start: the sim clock
        self.episode = -1
        self.running = False
        self.finished = False  # all configured episodes done
        self.last_command = np.zeros(self.task.action_size)
        #: names this run's episode numbering (a restarted recorder tells episodes apart)
        self.session = uuid.uuid4().hex[:12]
        self.buttons = EpisodeButtons()

    @property
    def clock_ns(self) -> int:
        return self.ticks * self.period_ns

    @property
    def label(self) -> str:
        return f"{self.episode}:{self.task.step_count}"

    def next_seed(self) -> int:
        return self.config.seed + self.episode + 1

    def start_episode(self, seed: int | None = None) -> np.ndarray:
        """Reset to the next seeded episode (or ``seed``); returns the first observation."""
        if self.config.episodes and self.episode + 1 >= self.config.episodes:
            self.finished = True
            self.running = False
            raise StopIteration("all configured episodes are done")
        seed = self.next_seed() if seed is None else seed
        if self.episode >= 0:  # the reset takes one period: no two observations share a
            self.ticks += 1    # stamp, even when an episode is cut short mid-step
        self.episode += 1
        self.running = True
        self.last_command = np.zeros(self.task.action_size)
        self.buttons.new_episode()
        return self.task.reset(seed)

    def start_event(self) -> EpisodeStart:
        """The announcement of the episode just started."""
        return EpisodeStart(self.episode, self.task.seed, self.task.name, self.clock_ns,
                            self.session)

    def finished_event(self) -> EpisodesFinished:
        return EpisodesFinished(self.episode + 1, self.session)

    def end_running(self, outcome: Outcome) -> EpisodeEnd | None:
        """End the episode in progress now (a reset, the operator's end button); None if
        none runs."""
        if not self.running:
            return None
        self.running = False
        return EpisodeEnd(self.episode, self.task.seed, outcome, self.task.step_count,
                          round(self.task.episode_return, 6), self.session)

    def operator_event(self, event: OperatorEventKind) -> tuple[EpisodeEnd | None, bool]:
        """The operator's episode buttons (see EpisodeButtons): the end of the running
        episode it caused (or None), and whether the next episode begins now."""
        outcome, begin = self.buttons.press(event, self.running)
        end = self.end_running(outcome) if outcome is not None else None
        if (event is OperatorEventKind.END and end is not None and self.config.auto_reset):
            begin = True
        return end, begin

    def clamp(self, command: np.ndarray) -> np.ndarray:
        """A command made safe to apply: right length, finite, inside the limits."""
        command = np.asarray(command, dtype=float).reshape(-1)
        if command.shape[0] != self.task.action_size:
            raise ValueError(f"command has {command.shape[0]} values, task "
                             f"'{self.task.name}' takes {self.task.action_size}")
        if not np.all(np.isfinite(command)):
            raise ValueError(f"command {command.tolist()} has a NaN or Inf")
        return np.clip(command, self.low, self.high)

    def step(self, command: np.ndarray) -> EpisodeEnd | None:
        """Advance one control period with ``command``; returns the end, if it ended."""
        command = self.clamp(command)
        self.last_command = command
        result = self.task.step(command)
        self.last_observation = result.observation
        self.ticks += 1
        if result.outcome is None:
            return None
        self.running = False
        return EpisodeEnd(self.episode, self.task.seed, Outcome(result.outcome),
                          self.task.step_count, round(self.task.episode_return, 6),
                          self.session)

    def stale_fallback(self) -> np.ndarray:
        """realtime: the command applied when no fresh one arrived."""
        if self.config.stale_command == "hold":
            return self.last_command
        return np.zeros(self.task.action_size)


class EpisodeButtons:
    """The operator's episode buttons (/dagger/operator/event), as an episode source acts
    on them: ``start`` begins the next episode (ending a running one as aborted),
    ``success`` and ``failure`` mark the running episode, ``end`` ends it with the mark
    (else aborted)."""

    def __init__(self):
        self.marked: Outcome | None = None

    def press(self, event: OperatorEventKind, running: bool) -> tuple[Outcome | None, bool]:
        """(outcome to end the running episode with, or None; whether to begin the next)."""
        event = OperatorEventKind(event)
        if event in (OperatorEventKind.SUCCESS, OperatorEventKind.FAILURE):
            self.marked = Outcome(event.value)
            return None, False
        if event is OperatorEventKind.END:
            return (self.marked or Outcome.ABORTED) if running else None, False
        return (Outcome.ABORTED if running else None), True

    def new_episode(self) -> None:
        self.marked = None


class CommandSlot:
    """realtime: the newest command and when it arrived (monotonic seconds)."""

    def __init__(self, timeout: float):
        self.timeout = timeout
        self.value: np.ndarray | None = None
        self.received = -np.inf
        self.stale_ticks = 0

    def put(self, value: np.ndarray, now: float) -> None:
        self.value, self.received = value, now

    def take(self, now: float) -> np.ndarray | None:
        """The newest command if fresh, else None (and the stale tick is counted)."""
        if self.value is not None and now - self.received <= self.timeout:
            return self.value
        self.stale_ticks += 1
        return None
