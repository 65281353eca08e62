"""A simulated operator who behaves like a person at a gamepad, without ROS.

Two of them: ``SimulatedOperator`` watches a DAgger simulation's privileged observation
(``watches: simulator``); ``ReachPerson`` watches a robot only as a person beside it would
(``watches: robot``: the arm's joint states and the target), paces the episodes with the
gamepad's buttons and resets the scene between them.

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
WATCHES = ("simulator", "robot")
#: tasks a person watching the robot can supervise (an arm reaching a target)
PERSON_TASKS = ("reach", "reach_position")


@dataclasses.dataclass
class SimOperatorConfig(JoyConfig):
    """Parameters of the sim_operator node."""

    task: str = param("drive", "Task the operator supervises: watches simulator, one with "
                      f"a deviation measure ({', '.join(DEVIATION)}); watches robot, the arm "
                      f"({', '.join(PERSON_TASKS)}) whose kinematics the person knows.")
    watches: str = param("simulator", "'simulator': the simulation's privileged observation "
                         "(a DAgger simulation, which runs the episodes); 'robot': only the "
                         "robot's /joint_states and /target, as a person beside it: it "
                         "starts, marks and ends the episodes with the gamepad's buttons and "
                         "re-places the target between them (/hardware_sim/reset_scene).")
    profile: str = param("", "watches robot: the robot profile (the gamepad jogs its "
                         "action at max_rate, as the expert node reads it).")
    model_file: str = param("", "watches robot: MJCF of the arm for the person's kinematics "
                            "(empty: the task's shipped model).")
    success_distance: float = param(0.03, "watches robot: the tool this close to the target "
                                    "(m) is a success.")
    handback_distance: float = param(0.06, "watches robot: having taken over, the person "
                                     "hands back once the tool is this close (m).")
    stall_window: float = param(0.5, "watches robot: seconds over which the person judges "
                                "the policy's progress.")
    stall_fraction: float = param(0.25, "watches robot: the person takes over when the "
                                  "policy closed less than this fraction of the distance "
                                  "over stall_window (or moved away)...")
    stall_distance: float = param(0.03, "watches robot: ...and less than this many metres "
                                  "(an arm still speeding up towards a far target is not "
                                  "stalling).")
    max_takeovers: int = param(2, "watches robot: after this many take-overs in an episode "
                               "the person keeps control to its end.")
    episode_time_limit: float = param(6.0, "watches robot: seconds after which the person "
                                      "marks the episode a failure and ends it.")
    settle_time: float = param(0.3, "watches robot: seconds between the scene reset and "
                               "pressing start.")
    home: list[float] = param([], "watches robot: joint positions (rad) the person jogs the "
                              "arm back to between episodes, before re-placing the target "
                              "(needs the supervisor's between_episodes: operator); empty: "
                              "each episode starts where the last one ended.")
    home_tolerance: float = param(0.05, "watches robot: rad; the arm is home once every "
                                  "joint is this close.")
    home_time_limit: float = param(8.0, "watches robot: seconds of jogging home after which "
                                   "the person gives up (the arm is held, say) and starts "
                                   "from where it is.")
    wait_for_nodes: list[str] = param([], "watches robot: press start only once these nodes "
                                      "(by name) subscribe /dagger/observation, e.g. "
                                      "[recorder]: a person waits until the system is up.")
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
        if self.watches not in WATCHES:
            raise ConfigError(f"'watches' must be one of {WATCHES}, got '{self.watches}'")
        if self.watches == "robot":
            if self.task not in PERSON_TASKS:
                raise ConfigError(f"'task': a person watching the robot supervises "
                                  f"{', '.join(PERSON_TASKS)}, not '{self.task}'")
            for key in ("success_distance", "handback_distance", "stall_window",
                        "episode_time_limit"):
                if getattr(self, key) <= 0:
                    raise ConfigError(f"'{key}' must be positive, got {getattr(self, key)}")
            if self.home_tolerance <= 0 or self.home_time_limit <= 0:
                raise ConfigError("'home_tolerance' and 'home_time_limit' must be positive")
            if (self.max_takeovers < 0 or self.settle_time < 0 or self.stall_fraction < 0
                    or self.stall_distance < 0):
                raise ConfigError("'max_takeovers', 'settle_time', 'stall_fraction' and "
                                  "'stall_distance' must be >= 0")
            return
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


class ReachPerson:
    """A person at a gamepad beside an arm, seeing only what one would: where the arm is
    (its joint states, through the arm's known kinematics) and where the target is.

    Per tick (each /joint_states) it says what it does with the gamepad (``Gesture``):
    between episodes it jogs the arm back to ``home`` (if set), has the scene reset (the
    target re-placed by hand), waits ``settle_time`` and presses start until the episode
    begins; while one runs it watches the tool's distance to the target as it saw it
    ``reaction_delay`` ago, takes over when the policy stalls or moves away, jogs the
    joints towards the pose that puts the tool on the target (sticks = joint speeds, the
    way a gamepad jogs an arm joint by joint), hands back once close, and presses success
    (then end) when the tool reaches the target, or failure (then end) when the arm hits
    the floor or time runs out. With no policy it drives every episode (demonstrations).

    How it jogs is a function of what it sees and nothing else (no hidden mode): the
    labels it gives are consistent, which is what a policy can learn from.
    """

    FLOOR = 0.02  # m: the tool lower than this has hit the floor
    HOME_GAIN = 3.0  # 1/s: jogging home, joint-space P law (saturated at max_rate)

    def __init__(self, config: SimOperatorConfig, max_rate):
        from dagger_ros.core.experts import ReachIKExpert
        from dagger_ros.core.tasks import make_task

        self.config = config
        arm = make_task(config.task, config.model_file)
        self.kinematics = arm
        self.max_rate = np.asarray(max_rate, float)
        self.home = np.asarray(config.home, float) if config.home else None
        if self.home is not None and self.home.shape != self.max_rate.shape:
            raise ConfigError(f"sim_operator 'home' has {len(self.home)} positions, the arm "
                              f"has {len(self.max_rate)} joints")
        # the pose that puts the tool on the target, and the way there, at the jog's speeds
        self.ik = ReachIKExpert(arm)
        self.ik._low, self.ik._high = -self.max_rate, self.max_rate
        self.rng = np.random.default_rng(config.seed)
        # reset -> homing -> resetting -> settling -> starting -> running -> ending -> reset
        self.state = "reset"
        self.since = None  # when the state began (s)
        self.history: collections.deque = collections.deque()  # (t, distance)
        self.intervening = False
        self.takeovers = 0
        self.pending: list[str] = []  # buttons to press, one per tick
        self.episode_running = False
        self.last_press = -np.inf
        self.marks: list[str] = []  # what it marked, per episode (for tests and logs)
        self.homing_given_up = 0  # times the arm did not come home (the node warns)

    # -- what the person sees -----------------------------------------------------------
    def tool(self, q) -> np.ndarray:
        arm = self.kinematics
        arm.data.qpos[arm.qpos_adr] = q
        arm._mj.mj_kinematics(arm.model, arm.data)
        return arm.data.site_xpos[arm.site_id].copy()

    def perceived(self, t: float, ago: float) -> float | None:
        """The distance as seen ``ago`` s before ``t`` (None: not watched that long)."""
        when = t - ago
        past = [d for (s, d) in self.history if s <= when]
        return past[-1] if past else None

    # -- the episode as the observer reports it ------------------------------------------
    def episode_started(self) -> None:
        self.episode_running = True

    def episode_ended(self) -> None:
        self.episode_running = False

    def scene_reset_done(self, t: float) -> None:
        if self.state == "resetting":
            self.state, self.since = "settling", t

    # -- one tick ---------------------------------------------------------------------
    def tick(self, t: float, q, target, policy_running: bool) -> Gesture:
        c = self.config
        q, target = np.asarray(q, float), np.asarray(target, float)
        if self.since is None:
            self.since = t
        gesture = Gesture(np.zeros(len(self.max_rate)), False)
        if self.pending:
            gesture.events = (self.pending.pop(0),)
        if self.state == "reset":
            self.state, self.since = "homing", t
        if self.state == "homing":
            if self.home is None or np.max(np.abs(q - self.home)) < c.home_tolerance:
                gesture.reset_scene, self.state = True, "resetting"
            elif t - self.since > c.home_time_limit:  # held, say: start from where it is
                self.homing_given_up += 1
                gesture.reset_scene, self.state = True, "resetting"
            else:  # jog home (between episodes: moves the arm only where the supervisor
                speed = self.HOME_GAIN * (self.home - q)  # lets the operator drive freely)
                over = np.max(np.abs(speed) / self.max_rate)
                gesture.sticks = speed / max(over, 1.0) / self.max_rate
        elif self.state == "settling" and t - self.since >= c.settle_time:
            self.state, self.since = "starting", t
        elif self.state == "starting":
            if self.episode_running:
                self.state, self.since = "running", t
                self.history.clear()
                self.intervening, self.takeovers = False, 0
            elif t - self.last_press > 1.0 and not gesture.events:
                gesture.events, self.last_press = ("start",), t  # pressed until it starts
        elif self.state == "ending":
            if not self.episode_running:
                self.state, self.since = "reset", t
            elif t - self.last_press > 1.0 and not gesture.events and not self.pending:
                gesture.events, self.last_press = ("end",), t  # pressed until it ends
        if self.state != "running":
            return gesture
        if not self.episode_running:  # ended by someone else (a timeout): start again
            self.state, self.since = "reset", t
            return gesture
        tool = self.tool(q)
        distance = float(np.linalg.norm(target - tool))
        self.history.append((t, distance))
        while self.history and self.history[0][0] < t - c.stall_window - c.reaction_delay - 1:
            self.history.popleft()
        verdict = None
        if distance < c.success_distance:
            verdict = "success"
        elif tool[2] < self.FLOOR or t - self.since > c.episode_time_limit:
            verdict = "failure"
        if verdict is not None:
            self.marks.append(verdict)
            self.pending = [verdict, "end"]
            self.state, self.last_press = "ending", t
            self.intervening = False
            return gesture
        self.judge(t, policy_running)
        if self.intervening or not policy_running:
            speed = self.jog(q, tool, target)
            noise = self.rng.normal(size=len(speed)) * c.operator_noise * self.max_rate
            gesture.sticks = np.clip((speed + noise) / self.max_rate, -1.0, 1.0)
        gesture.takeover = self.intervening
        return gesture

    def jog(self, q, tool, target) -> np.ndarray:
        """Joint speeds towards the reaching pose nearest to the arm's (inside the joint
        limits), all joints along one straight line in joint space, within max_rate."""
        return self.ik.act(np.concatenate([q, np.zeros(3), target, target - tool]))

    def judge(self, t: float, policy_running: bool) -> None:
        """Take over or hand back, on what it saw reaction_delay ago."""
        c = self.config
        if not (c.intervene and policy_running):
            self.intervening = False
            return
        seen = self.perceived(t, c.reaction_delay)
        if self.intervening:
            if (seen is not None and seen < c.handback_distance
                    and self.takeovers < c.max_takeovers):
                self.intervening = False
                self.history.clear()  # the policy's progress is judged afresh
            return
        before = self.perceived(t, c.reaction_delay + c.stall_window)
        if seen is None or before is None:
            return  # not watched long enough to judge
        if before - seen < max(0.003, min(c.stall_fraction * before, c.stall_distance)):
            self.intervening = True
            self.takeovers += 1


@dataclasses.dataclass
class Gesture:
    """What the person does with the gamepad this tick: stick positions (-1..1, one per
    commanded joint), the take-over button, buttons pressed now, and whether they reset
    the scene by hand."""

    sticks: np.ndarray
    takeover: bool
    events: tuple[str, ...] = ()
    reset_scene: bool = False
