"""The supervisor without ROS: for each observation, whose action reaches the robot.

It pairs the expert's and the policy's proposals for the same observation (by stamp),
asks the gate, makes the chosen command safe (finite, inside the limits) and returns the
command with a decision record for the recorder: whose action ran, why, beta, the
policy's uncertainty, the round and checkpoint.

Watchdogs (times on the monotonic clock, from when a new stamp arrived):
- the policy's proposal overdue by ``policy_timeout``: the expert acts; the policy counts
  as down (not waited for) until it proposes again, so a restarted policy resumes;
- the expert's label overdue by ``expert_timeout``: an explicit hold for that observation
  (the expert counts as down likewise);
- an input later than ``max_input_delay`` (a paused process, a backlog; judged by when its
  publisher sent it, or by the age of its observation's stamp, see ``delay_source``): its
  observation is held and the command is not sent, so delayed
  commands are dropped, never replayed in a burst; a decision older than one already sent
  is dropped too;
- nothing sent for ``hold_after`` (no observations, or nobody answers): :meth:`hold_due`
  asks the node to publish explicit holds until decisions flow again.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from dagger_ros.core.bridge import STEPPING_MODES
from dagger_ros.core.config import ConfigError, SchedulingConfig, param
from dagger_ros.core.gating import EXPERT, POLICY, Decision, GatingConfig, make_gate
from dagger_ros.core.records import (
    DecisionRecord,
    PolicyStatus,
    Reason,
    RoundAnnouncement,
    Source,
    SupervisorStatus,
    frame_episode,
)
from dagger_ros.core.tasks import task_class

HOLD = Source.HOLD  # the source of an explicit hold command (emergency stop, watchdogs)
INPUTS = ("observation", "expert", "policy")
BETWEEN_RULES = ("hold", "operator")


DELAY_SOURCES = ("source_timestamp", "stamp")
#: 'stamp': a stamp further than this from the supervisor's clock is not on it
STAMP_CLOCK_TOLERANCE_S = 60.0


def stamp_age(stamp_ns: int, now_ns: int) -> float | None:
    """Seconds since ``stamp_ns`` by a clock reading ``now_ns``; None if the stamp is not on
    that clock at all (further than STAMP_CLOCK_TOLERANCE_S either way: a simulation's
    clock, or machines whose clocks are not synchronised)."""
    age = (now_ns - stamp_ns) / 1e9
    return max(0.0, age) if abs(age) <= STAMP_CLOCK_TOLERANCE_S else None


@dataclasses.dataclass
class SupervisorConfig(GatingConfig, SchedulingConfig):
    """Parameters of the supervisor node (the gating rule and the robot interface)."""

    task: str = param("reach", "Simulated task whose profile applies when no 'profile' "
                      "is given.")
    profile: str = param("", "Robot profile (a path, or a name in config/profiles/): the "
                         "command interface, its topic, limits, rate limits and hold rule.")
    controller_name: str = param("forward_velocity_controller", "ros2_control controller "
                                 "whose /<name>/commands topic the arm listens to.")
    policy_timeout: float = param(0.5, "Seconds to wait for the policy's proposal for an "
                                  "observation before the expert acts alone (the policy then "
                                  "counts as down until it proposes again).")
    expert_timeout: float = param(0.5, "Seconds to wait for the expert's label for an "
                                  "observation before holding the robot (the expert then "
                                  "counts as down until it answers again).")
    max_input_delay: float = param(0.1, "An input later than this many seconds (see "
                                   "delay_source) is stale: its observation is held and its "
                                   "command never sent. 0: off.")
    delay_source: str = param("source_timestamp", "How lateness is judged: "
                              "'source_timestamp': since its publisher sent it (DDS; needs "
                              "rclpy's Python executor for MessageInfo, about twice the "
                              "supervisor's CPU); 'stamp': the age of the observation it "
                              "belongs to (now minus its header stamp), for stamps on this "
                              "machine's clock (a robot's observer; synchronised clocks "
                              "across machines), with rclpy's EventsExecutor.")
    stepping: str = param("realtime", "'realtime': a robot (or a real-time simulation), whose "
                          "state ages while inputs are late. 'lockstep': a simulation that "
                          "waits for every command, so a late input ages nothing and "
                          "max_input_delay is not applied.")
    hold_after: float = param(0.1, "Seconds without a command sent (no observations, or no "
                              "answers) before explicit hold commands are published.")
    hold_rate_hz: float = param(50.0, "Rate of those hold commands.")
    label_source: str = param("", "Name recorded as the label source (empty: the scripted "
                              "expert's name).")
    command_limits: list[float] = param([], "Symmetric bound per command element, tighter "
                                        "than the task's action limits (empty: those limits).")
    command_min: list[float] = param([], "Lower bound per command element, e.g. joint "
                                     "position limits for a position interface (empty: none "
                                     "beyond command_limits).")
    command_max: list[float] = param([], "Upper bound per command element (empty: none "
                                     "beyond command_limits).")
    max_command_rate: list[float] = param([], "Largest change per second per command "
                                          "element, judged by observation stamps (empty: "
                                          "no rate limit). Each episode starts from rest "
                                          "(position interfaces: the measured position).")
    between_episodes: str = param("hold", "What reaches the robot while no episode runs "
                                  "(observations of episode -1): 'hold' (held), or "
                                  "'operator' (the operator's gamepad moves it freely to "
                                  "reset the scene; never recorded).")

    def validate(self) -> None:
        super().validate()
        self.check_priority()
        task_class(self.task)
        for key in ("policy_timeout", "expert_timeout", "hold_after", "hold_rate_hz"):
            if getattr(self, key) <= 0:
                raise ConfigError(f"'{key}' must be positive, got {getattr(self, key)}")
        if self.max_input_delay < 0:
            raise ConfigError(f"'max_input_delay' must be >= 0, got {self.max_input_delay}")
        if self.delay_source not in DELAY_SOURCES:
            raise ConfigError(f"'delay_source' must be one of {', '.join(DELAY_SOURCES)}, got "
                              f"'{self.delay_source}'")
        if self.between_episodes not in BETWEEN_RULES:
            raise ConfigError(f"'between_episodes' must be one of {', '.join(BETWEEN_RULES)}, "
                              f"got '{self.between_episodes}'")
        if self.stepping not in STEPPING_MODES:
            raise ConfigError(f"unknown 'stepping' '{self.stepping}'; expected one of "
                              f"{', '.join(STEPPING_MODES)}")
        for key in ("command_limits", "max_command_rate"):
            if any(v <= 0 for v in getattr(self, key)):
                raise ConfigError(f"'{key}' must all be positive, got {getattr(self, key)}")


@dataclasses.dataclass
class Pending:
    label: str
    expert: np.ndarray | None = None
    policy: np.ndarray | None = None
    spread: float | None = None
    since: float = 0.0
    expert_seen: bool = False  # the expert answered (its label may be None: no label)
    takeover: bool = False  # the operator holds the take-over button (human_gated)
    stale: str = ""  # the input that arrived too late, if any


class Liveness:
    """Per input: when a new stamp last arrived, and whether it is counted as down."""

    def __init__(self):
        self.last_new: dict[str, float] = {}
        self.newest: dict[str, int] = {}
        self.down: set[str] = set()

    def saw(self, name: str, stamp: int, now: float) -> bool:
        """Note an input for ``stamp``; True if it came back from being down."""
        if stamp > self.newest.get(name, -1):
            self.newest[name], self.last_new[name] = stamp, now
        back = name in self.down
        self.down.discard(name)
        return back


class EmergencyStop:
    """A latch: once engaged, only an explicit release clears it (a repeated engage, or
    the engage topic going quiet, never does)."""

    def __init__(self):
        self.engaged = False
        self.reason = ""

    def engage(self, reason: str) -> bool:
        """Engage; returns True if this changed the state."""
        changed = not self.engaged
        self.engaged, self.reason = True, reason
        return changed

    def release(self) -> bool:
        changed = self.engaged
        self.engaged, self.reason = False, ""
        return changed


class Supervisor:
    """Decides per observation; ``policy_active`` says whether to wait for the policy."""

    def __init__(self, config: SupervisorConfig, low: np.ndarray, high: np.ndarray,
                 label_source: str, hold_indices: list[int] | None = None):
        """``hold_indices``: for a position interface, where each commanded joint's measured
        position sits in the observation (a hold keeps it); None: holds are zero."""
        self.config = config
        self.hold_indices = hold_indices
        self.measured: np.ndarray | None = None  # newest measured positions (position)
        self.held_at: np.ndarray | None = None  # the position a running hold keeps
        self.low, self.high = np.asarray(low, float), np.asarray(high, float)
        size = len(self.low)
        for key in ("command_limits", "command_min", "command_max", "max_command_rate"):
            values = getattr(config, key)
            if values and len(values) != size:
                raise ConfigError(f"'{key}' has {len(values)} values but the task's command "
                                  f"has {size}")
        if config.command_limits:
            bound = np.asarray(config.command_limits, float)
            self.low, self.high = np.maximum(self.low, -bound), np.minimum(self.high, bound)
        if config.command_min:
            self.low = np.maximum(self.low, np.asarray(config.command_min, float))
        if config.command_max:
            self.high = np.minimum(self.high, np.asarray(config.command_max, float))
        if np.any(self.low > self.high):
            raise ConfigError(f"command bounds are empty: lower {self.low.tolist()} above "
                              f"upper {self.high.tolist()} (command_min/command_max/"
                              "command_limits)")
        self.rate = np.asarray(config.max_command_rate, float) if config.max_command_rate \
            else None
        self.last_command = np.zeros(size)
        self.last_stamp: int | None = None
        self.label_source = config.label_source or label_source
        self.gate = make_gate(config, 0, self.low, self.high)
        self.round = 0
        self.checkpoint_id: str | None = None
        self.policy_active = False
        self.announced_round = -1
        self.refused: str | None = None  # why the running policy may not drive, if so
        self.pending: dict[int, Pending] = {}
        self.decided: set[int] = set()
        self.episode: int | None = None
        self.estop = EmergencyStop()
        self.live = Liveness()
        self.events: list[str] = []  # log lines for the node: inputs down and back
        self.last_sent_stamp = -1
        self.unsent = None  # (stamp, frame, hold) of the newest decision held and not sent
        self.last_sent_command: np.ndarray | None = None
        self.stale_until = -1  # stamps up to this are held after a delayed input
        self.last_sent_time: float | None = None  # None: nothing seen yet, no holds
        self.dropped = 0  # proposals for observations already decided or superseded

    def set_round(self, round_index: int, checkpoint_id: str | None) -> None:
        """A new round: its beta applies from the next observation on."""
        self.round = round_index
        self.gate.set_round(round_index)
        self.checkpoint_id = checkpoint_id
        self.policy_active = checkpoint_id is not None

    def on_round(self, announcement: RoundAnnouncement) -> SupervisorStatus | None:
        """The trainer's round. Without a policy there is nothing to wait for, so it applies
        now; with one, it applies once the policy reports running it (``on_policy_status``).
        Returns the status to publish when the round changed."""
        if announcement.checkpoint_id is None:
            return self._apply(announcement.round, None)
        return None

    def on_policy_status(self, status: PolicyStatus) -> SupervisorStatus | None:
        """What the policy actually runs (the last good checkpoint if it refused one). A
        policy without an uncertainty, under a gate that measures one, never drives: the
        round applies without it and ``refused`` says why."""
        self.refused = None
        if status.checkpoint_id is not None and not status.uncertainty \
                and self.gate.needs_uncertainty:
            self.refused = (f"gating '{self.config.gating}' needs the policy's uncertainty, "
                            f"and the running policy ({status.kind}, checkpoint "
                            f"{status.checkpoint_id}) gives none: it does not drive; choose "
                            "another gating (beta, safe, human_gated, noise), an ensemble, or a "
                            "stochastic LeRobot policy (Diffusion) with the policy's "
                            "lerobot_samples > 1")
            return self._apply(status.round, None)
        return self._apply(status.round, status.checkpoint_id)

    def _apply(self, round_index: int, checkpoint_id: str | None) -> SupervisorStatus | None:
        if round_index < self.announced_round:
            return None  # an older round, heard late
        self.set_round(round_index, checkpoint_id)
        self.announced_round = round_index
        return SupervisorStatus(round_index, self.gate.beta, checkpoint_id)

    def resend(self, stamp: int, now: float):
        """The command for ``stamp``'s observation re-sent, or None if it is not one.

        The lockstep bridge re-sends an observation whose command it never got. Either the
        command was published before the bridge's reader matched (it goes out again), or
        the observation was held as stale and nothing was sent: the simulation is waiting,
        so its explicit hold goes out now (never a stall)."""
        if stamp == self.last_sent_stamp and self.last_sent_command is not None:
            return self.last_sent_command
        if self.unsent is not None and stamp == self.unsent[0] and stamp > self.last_sent_stamp:
            self.events.append(f"observation {self.unsent[1]} re-sent after its command was "
                               "dropped: sending its hold (a waiting simulation)")
            self.last_sent_stamp, self.last_sent_time = stamp, now
            self.last_sent_command = self.unsent[2]
            self.unsent = None
            return self.last_sent_command
        return None

    def add_observation(self, stamp: int, label: str, now: float, delay: float = 0.0,
                        values=None):
        """The observation reached the supervisor ``delay`` s after it was published
        (``values``: its vector, which position interfaces hold at)."""
        if self.hold_indices is not None and values is not None:
            self.measured = np.asarray(values, float)[self.hold_indices]
        p = self._pending(stamp, label, now, "observation", delay)
        if self.last_sent_time is None:
            self.last_sent_time = now  # from now on, silence towards the robot is held
        return None if p is None else self._try(stamp, now)

    def add_expert(self, stamp: int, label: str, action, now: float, delay: float = 0.0,
                   takeover: bool = False):
        """The expert's label (None: it answered but has no label for this state);
        ``takeover``: the operator asks for control (human_gated)."""
        p = self._pending(stamp, label, now, "expert", delay)
        if p is None:
            return None
        p.expert_seen, p.takeover = True, takeover
        p.expert = None if action is None else np.asarray(action, float)
        return self._try(stamp, now)

    def add_policy(self, stamp: int, label: str, action, spread, now: float,
                   delay: float = 0.0):
        p = self._pending(stamp, label, now, "policy", delay)
        if p is None:
            return None
        p.policy, p.spread = np.asarray(action, float), spread
        return self._try(stamp, now)

    def _pending(self, stamp: int, label: str, now: float, source: str, delay: float):
        if self.live.saw(source, stamp, now):
            self.events.append(f"{source} is answering again")
        if stamp in self.decided:  # decided already: a late or re-sent input is dropped
            self.dropped += source != "observation"
            return None
        p = self.pending.setdefault(stamp, Pending(label, since=now))
        if (self.config.max_input_delay and self.config.stepping == "realtime"
                and delay > self.config.max_input_delay and not p.stale):
            p.stale = (f"{source} {delay:.3f} s late (max_input_delay "
                       f"{self.config.max_input_delay:g} s, by {self.config.delay_source})")
            # what arrives right behind a backlog is fresh enough by itself, but sending it
            # would still be a burst: hold until the stamps have moved max_input_delay on
            self.stale_until = max(self.stale_until,
                                   stamp + int(self.config.max_input_delay * 1e9))
        return p

    def expire(self, now: float):
        """Decisions the watchdogs force now: overdue policies and experts."""
        out = []
        for stamp, p in sorted(self.pending.items()):
            waited = now - p.since
            if not p.expert_seen and waited > self.config.expert_timeout:
                self._mark_down("expert", self.config.expert_timeout)
                out.append(self._decide(stamp, now))
            elif (p.expert_seen and self.policy_active and p.policy is None
                  and waited > self.config.policy_timeout):
                self._mark_down("policy", self.config.policy_timeout)
                out.append(self._decide(stamp, now))
        return out

    def _mark_down(self, source: str, timeout: float) -> None:
        if source not in self.live.down:
            self.live.down.add(source)
            self.events.append(f"{source} silent for {timeout:g} s: "
                               + ("holding the robot" if source == "expert"
                                  else "the expert acts") + " until it answers again")

    def hold_due(self, now: float) -> str | None:
        """Why the robot must be held now (nothing sent for hold_after), or None."""
        if self.last_sent_time is None or now - self.last_sent_time <= self.config.hold_after:
            return None
        quiet = [n for n in INPUTS if now - self.live.last_new.get(n, -np.inf)
                 > self.config.hold_after and (n != "policy" or self.policy_active)]
        return ("no new " + " or ".join(quiet) if quiet else "no decision") + \
            f" for {now - self.last_sent_time:.2f} s"

    def hold_target(self) -> np.ndarray:
        """What a hold commands: zero (velocity, twist), or for a position interface the
        measured position when the hold began, kept while it lasts (never zero). A
        position arm never measured yet cannot be held: ValueError."""
        if self.hold_indices is None:
            return np.zeros_like(self.low)
        if self.held_at is None:
            if self.measured is None:
                raise ValueError("no measured position yet to hold at")
            self.held_at = np.clip(self.measured, self.low, self.high)
        return self.held_at

    def hold_command(self, now: float) -> np.ndarray | None:
        """The explicit hold the node publishes while hold_due, or None if a position arm
        has not been measured yet (then nothing is commanded at all)."""
        try:
            self.last_command = self.hold_target().copy()
        except ValueError:
            return None
        return self.last_command

    def start_point(self) -> np.ndarray:
        """Where an episode's rate limit starts from: rest (zero), or the measured
        position of a position interface."""
        if self.hold_indices is not None and self.measured is not None:
            return np.clip(self.measured, self.low, self.high)
        return np.zeros_like(self.low)

    def limit(self, command: np.ndarray, stamp: int) -> np.ndarray:
        """Clamp to the limits, then to the rate limit over the time since the previous
        observation (by stamp), so a jump in the policy's output reaches the robot ramped."""
        command = np.clip(command, self.low, self.high)
        if self.rate is not None:
            dt = 0.0 if self.last_stamp is None else max(0.0, (stamp - self.last_stamp) / 1e9)
            step = self.rate * (dt if self.last_stamp is not None else 0.02)
            command = np.clip(command, self.last_command - step, self.last_command + step)
        self.last_command, self.last_stamp = command, stamp
        return command

    def _try(self, stamp: int, now: float):
        p = self.pending[stamp]
        expert_ready = p.expert_seen or "expert" in self.live.down
        policy_ready = (not self.policy_active or p.policy is not None
                        or "policy" in self.live.down or frame_episode(p.label) < 0)
        if p.stale or (expert_ready and policy_ready):
            return self._decide(stamp, now)
        return None

    def _decide(self, stamp: int, now: float):
        p = self.pending.pop(stamp)
        self.decided.add(stamp)
        if len(self.decided) > 10_000:  # stamps only grow; keep the recent ones
            self.decided = {s for s in self.decided if s >= stamp - 10**10}  # 10 s
        if stamp < self.last_sent_stamp and not p.stale:  # a newer command went out already
            p.stale = "superseded by a newer observation's command"
        if stamp <= self.stale_until and not p.stale:
            p.stale = "catching up after delayed inputs"
        episode = frame_episode(p.label)
        if episode != self.episode:
            self.episode = episode
            if episode >= 0:  # between episodes (-1) no gate decides
                self.gate.start_episode(episode)
            self.last_command, self.last_stamp = self.start_point(), None  # from rest
        between = episode < 0  # no episode runs: held, or the operator moves it freely
        policy = p.policy if self.policy_active and not between else None
        size = len(self.low)
        if between:
            decision = None
            if self.config.between_episodes == "operator" and p.expert is not None:
                decision = Decision(EXPERT, Reason.FREE_DRIVE, label=False)
        elif policy is not None and not np.all(np.isfinite(policy)):
            policy = None
            decision = Decision(EXPERT, Reason.INVALID_POLICY_ACTION)
        elif p.expert is None:
            decision = None  # no label to act on: hold (below)
        elif self.policy_active and policy is None:
            decision = self.gate.decide(p.expert, None, None)
            decision.reason = Reason.POLICY_TIMEOUT
        else:
            decision = self.gate.decide(p.expert, policy, p.spread, p.takeover)
        if decision is not None and decision.source == EXPERT and p.expert is None:
            decision = None
        # whether the gate counts the expert's action as this state's label; a hold forced
        # below (e-stop, stale input) keeps that verdict: HG-DAgger labels only the states
        # the person had taken over, held or not
        gate_label = decision is not None and decision.label
        send = True
        try:
            hold = self.hold_target()
        except ValueError:  # a position arm not measured yet: nothing may be commanded
            hold, send = np.zeros(size), False
            p.stale = p.stale or "no measured position to hold at yet"
        if self.estop.engaged:  # an explicit hold, never silence
            decision, chosen = Decision(HOLD, Reason.ESTOP), hold
        elif p.stale:
            decision, chosen, send = Decision(HOLD, Reason.STALE_INPUT), hold, False
        elif decision is None:
            reason = (Reason.BETWEEN_EPISODES if between else
                      Reason.NO_LABEL if p.expert_seen else Reason.EXPERT_TIMEOUT)
            decision, chosen = Decision(HOLD, reason), hold
        elif decision.action is not None:  # e.g. DART: the expert's action with noise
            chosen = decision.action
        else:
            chosen = p.expert if decision.source == EXPERT else policy
        labelled = p.expert is not None and gate_label and not between
        if decision.source == HOLD:  # a stop is immediate: never ramped by the rate limit
            command = np.clip(chosen, self.low, self.high)
            self.last_command, self.last_stamp = command, stamp
        else:
            self.held_at = None  # the hold is over; the next one holds where the arm is then
            command = self.limit(np.asarray(chosen, float), stamp)
        if send:
            self.last_sent_stamp, self.last_sent_time = stamp, now
            self.last_sent_command = command
        else:  # kept, in case a waiting simulation re-sends this observation (resend)
            self.unsent = (stamp, p.label, command)
        record = DecisionRecord(
            stamp_ns=stamp, frame=p.label, source=decision.source, reason=decision.reason,
            value=decision.value, threshold=decision.threshold, beta=self.gate.beta,
            round=self.round, checkpoint_id=self.checkpoint_id, gating=self.config.gating,
            label_source=self.label_source,
            uncertainty=p.spread if policy is not None else None,
            expert_action=p.expert.tolist() if labelled else None,
            intervention=decision.intervention,
            policy_action=policy.tolist() if policy is not None else None,
            executed_action=command.tolist(), clamped=bool(np.any(command != chosen)),
            sent=send, stale=p.stale or None)
        return (command if send else None), record


__all__ = ["Supervisor", "SupervisorConfig", "EmergencyStop", "EXPERT", "POLICY", "HOLD"]
