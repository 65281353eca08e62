"""Scripted experts: given an observation vector, the action a competent controller takes.

Experts read only the observation (what a learner sees), so the same expert labels states
that come from a real robot's topics, a replay or the simulator alike.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from dagger_ros.core.config import ConfigError, SchedulingConfig, param
from dagger_ros.core.tasks import Task, task_class
from dagger_ros.core.tasks.drive import wrap_angle
from dagger_ros.core.teleop import JoyConfig


class Expert:
    """Maps an observation to an action. ``name`` is recorded as the label source."""

    name = ""

    def __init__(self, task: Task):
        self.task = task

    def act(self, observation: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class ReachIKExpert(Expert):
    """Joint-space servo towards an analytic inverse-kinematics solution of the target.

    The arm has four solutions for a reachable point (facing the target or reaching back
    over the top, elbow bent either way); the expert takes the one inside the joint limits
    nearest to the current configuration, so it never drives a joint into its stop, and
    moves all joints along a straight line in joint space with a saturated P law.
    It reads the joint positions and the target from the observation, and the link lengths
    and joint limits from the model.
    """

    name = "scripted/reach_ik"
    gain = 5.0  # 1/s, joint-space P gain
    margin = 0.05  # rad kept from a joint limit

    def __init__(self, task: Task):
        super().__init__(task)
        m = task.model
        self.shoulder_height = float(m.body("base").pos[2] + m.body("upper_arm").pos[2])
        self.upper_length = float(m.body("forearm").pos[2])
        self.forearm_length = float(m.site("end_effector").pos[2])
        self.limits = task.ranges.copy()  # rows: joint, [low, high]; (0, 0) = unlimited
        self._low, self._high = task.action_limits()

    def solutions(self, target: np.ndarray, yaw_now: float) -> list[np.ndarray]:
        """All joint configurations that put the end effector on ``target``."""
        l1, l2 = self.upper_length, self.forearm_length
        radial = float(np.hypot(target[0], target[1]))
        z = target[2] - self.shoulder_height
        azimuth = np.arctan2(target[1], target[0])
        out = []
        for yaw, r in ((azimuth, radial), (azimuth + np.pi, -radial)):
            yaw = yaw_now + wrap_angle(yaw - yaw_now)  # the base turns the short way
            c = (r * r + z * z - l1 * l1 - l2 * l2) / (2 * l1 * l2)
            elbow0 = float(np.arccos(np.clip(c, -1.0, 1.0)))
            for elbow in (elbow0, -elbow0):
                shoulder = np.arctan2(r, z) - np.arctan2(l2 * np.sin(elbow),
                                                        l1 + l2 * np.cos(elbow))
                # ...or the long way, for a base whose limits bar the short one
                for turn in (yaw, yaw - np.sign(yaw - yaw_now) * 2 * np.pi):
                    out.append(np.array([turn, wrap_angle(shoulder), elbow]))
        return out

    def _inside_limits(self, q: np.ndarray) -> bool:
        for value, (low, high) in zip(q, self.limits, strict=True):
            if low < high and not (low + self.margin <= value <= high - self.margin):
                return False
        return True

    def act(self, observation: np.ndarray) -> np.ndarray:
        q = observation[0:3]
        candidates = [s for s in self.solutions(observation[6:9], q[0]) if self._inside_limits(s)]
        if not candidates:  # unreachable target: head for the nearest solution anyway
            candidates = self.solutions(observation[6:9], q[0])
        goal = min(candidates, key=lambda s: float(np.sum((s - q) ** 2)))
        qd = self.gain * (goal - q)
        # scale the whole vector down (not per joint) so the joint-space line is kept
        over = np.max(np.abs(qd) / self._high)
        return qd / over if over > 1.0 else qd


class ReachIKPositionExpert(ReachIKExpert):
    """ReachIKExpert on a position interface: each command is the measured position moved
    one control period along the same joint-space velocity (as a gamepad jogs it)."""

    name = "scripted/reach_ik_position"
    max_rate = 2.0  # rad/s: the joint speed the velocity arm's actuators allow

    def __init__(self, task: Task):
        super().__init__(task)
        self.dt = task.control_dt
        self._position_low, self._position_high = task.action_limits()
        self._low, self._high = np.full(3, -self.max_rate), np.full(3, self.max_rate)

    def act(self, observation: np.ndarray) -> np.ndarray:
        q = np.asarray(observation[0:3], float)
        return np.clip(q + super().act(observation) * self.dt, self._position_low,
                       self._position_high)


class DriveStanleyExpert(Expert):
    """Curvature feedforward plus feedback on the lateral and heading errors (in the
    spirit of the Stanley controller), slower where the road bends hard."""

    name = "scripted/drive_stanley"
    cruise_speed = 1.2  # m/s
    min_speed = 0.6  # m/s
    heading_gain = 3.0  # 1/s per rad
    lateral_gain = 4.0  # 1/s per m (times speed: rad/s)

    def __init__(self, task: Task):
        super().__init__(task)
        self._low, self._high = task.action_limits()

    def act(self, observation: np.ndarray) -> np.ndarray:
        lateral, heading = observation[0], observation[1]
        curvature = observation[4:]
        bend = float(np.max(np.abs(curvature)))
        speed = float(np.clip(self.cruise_speed * (1.0 - 0.4 * bend), self.min_speed,
                              self.cruise_speed))
        # feedforward: the road's curvature just ahead; feedback: steer the errors to zero
        yaw_rate = (speed * curvature[1] - self.heading_gain * heading
                    - self.lateral_gain * speed * lateral)
        return np.clip(np.array([speed, yaw_rate]), self._low, self._high)


EXPERTS: dict[str, type[Expert]] = {"reach": ReachIKExpert, "reach_camera": ReachIKExpert,
                                     "reach_position": ReachIKPositionExpert,
                                     "drive": DriveStanleyExpert}


def make_expert(task: Task) -> Expert:
    """The scripted expert of ``task``."""
    try:
        return EXPERTS[task.name](task)
    except KeyError:
        raise ConfigError(f"no scripted expert for task '{task.name}'") from None


EXPERT_SOURCES = ("scripted", "joy")


@dataclasses.dataclass
class ExpertConfig(JoyConfig, SchedulingConfig):
    """Parameters of the expert node."""

    task: str = param("reach", "Task whose scripted expert labels the observations.")
    profile: str = param("", "joy: the robot profile whose action the gamepad commands "
                         "(empty: the task's); a position interface is jogged from the "
                         "measured position at the profile's max_rate.")
    source: str = param("scripted", "'scripted': the task's scripted expert (privileged: it "
                        "reads /dagger/expert_observation); 'joy': a person (or the "
                        "simulated operator) on a gamepad, through sensor_msgs/Joy on /joy.")
    joy_sync: bool = param(False, "joy: answer an observation only once a Joy stamped with "
                           "it (or later) arrived; for the simulated operator in lockstep.")
    model_file: str = param("", "MJCF scene the expert reads its kinematics from "
                            "(empty: the task's shipped scene).")
    drive_robot: bool = param(False, "Also send the expert's action to the robot's command "
                              "topic (an expert-only graph, without a supervisor).")
    controller_name: str = param("forward_velocity_controller", "With drive_robot, the "
                                 "ros2_control controller whose /<name>/commands it sends to.")

    def validate(self) -> None:
        self.check_priority()
        task_class(self.task)
        if self.source not in EXPERT_SOURCES:
            raise ConfigError(f"'source' must be one of {EXPERT_SOURCES}, got '{self.source}'")
        super().validate()


class StampedAnswerer:
    """Answers each observation, keyed by its stamp; a re-sent observation (same stamp) gets
    the same answer again, computed once. Re-sending matters: the bridge re-sends an
    observation when no command came, e.g. because the first answer went out before its
    reader had matched, and a silent expert would then stall a lockstep graph."""

    def __init__(self, expert: Expert):
        self.expert = expert
        self.last_stamp: int | None = None
        self.last_action: np.ndarray | None = None

    def answer(self, stamp_ns: int, observation: np.ndarray) -> np.ndarray:
        if stamp_ns != self.last_stamp:
            self.last_action = self.expert.act(observation)
            self.last_stamp = stamp_ns
        return self.last_action
