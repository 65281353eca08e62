"""The supervisor without ROS: for each observation, whose action reaches the robot.

It pairs the expert's and the policy's proposals for the same observation (by stamp),
asks the gate, makes the chosen command safe (finite, inside the limits) and returns the
command with a decision record for the recorder: whose action ran, why, beta, the
policy's uncertainty, the round and checkpoint.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from dagger_ros.core.config import ConfigError, param
from dagger_ros.core.gating import EXPERT, POLICY, Decision, GatingConfig, make_gate
from dagger_ros.core.tasks import task_class

HOLD = "hold"  # the source of an explicit hold command (emergency stop)


@dataclasses.dataclass
class SupervisorConfig(GatingConfig):
    """Parameters of the supervisor node (the gating rule and the robot interface)."""

    task: str = param("reach", "Task (its action size and limits).")
    controller_name: str = param("forward_velocity_controller", "ros2_control controller "
                                 "whose /<name>/commands topic the arm listens to.")
    policy_timeout: float = param(0.5, "Seconds to wait for the policy's proposal after the "
                                  "expert's before the expert acts alone.")
    label_source: str = param("", "Name recorded as the label source (empty: the scripted "
                              "expert's name).")
    command_limits: list[float] = param([], "Symmetric bound per command element, tighter "
                                        "than the task's action limits (empty: those limits).")
    max_command_rate: list[float] = param([], "Largest change per second per command "
                                          "element, judged by observation stamps (empty: "
                                          "no rate limit). Each episode starts from rest.")

    def validate(self) -> None:
        super().validate()
        task_class(self.task)
        if self.policy_timeout <= 0:
            raise ConfigError(f"'policy_timeout' must be positive, got {self.policy_timeout}")
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
                 label_source: str):
        self.config = config
        self.low, self.high = np.asarray(low, float), np.asarray(high, float)
        size = len(self.low)
        for key in ("command_limits", "max_command_rate"):
            values = getattr(config, key)
            if values and len(values) != size:
                raise ConfigError(f"'{key}' has {len(values)} values but the task's command "
                                  f"has {size}")
        if config.command_limits:
            bound = np.asarray(config.command_limits, float)
            self.low, self.high = np.maximum(self.low, -bound), np.minimum(self.high, bound)
        self.rate = np.asarray(config.max_command_rate, float) if config.max_command_rate \
            else None
        self.last_command = np.zeros(size)
        self.last_stamp: int | None = None
        self.label_source = config.label_source or label_source
        self.gate = make_gate(config, 0)
        self.round = 0
        self.checkpoint_id: str | None = None
        self.policy_active = False
        self.pending: dict[int, Pending] = {}
        self.decided: set[int] = set()
        self.episode: int | None = None
        self.estop = EmergencyStop()

    def set_round(self, round_index: int, checkpoint_id: str | None) -> None:
        """A new round: its beta applies from the next observation on."""
        self.round = round_index
        self.gate.set_round(round_index)
        self.checkpoint_id = checkpoint_id
        self.policy_active = checkpoint_id is not None

    def add_expert(self, stamp: int, label: str, action: np.ndarray, now: float):
        if stamp in self.decided:
            return None
        p = self.pending.setdefault(stamp, Pending(label, since=now))
        p.expert = np.asarray(action, float)
        return self._try(stamp)

    def add_policy(self, stamp: int, label: str, action: np.ndarray, spread: float, now: float):
        if stamp in self.decided:
            return None
        p = self.pending.setdefault(stamp, Pending(label, since=now))
        p.policy, p.spread = np.asarray(action, float), spread
        return self._try(stamp)

    def expire(self, now: float):
        """Observations whose policy proposal is overdue: the expert acts alone."""
        out = []
        for stamp, p in list(self.pending.items()):
            if p.expert is not None and now - p.since > self.config.policy_timeout:
                out.append(self._decide(stamp, timed_out=True))
        return out

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

    def _try(self, stamp: int):
        p = self.pending[stamp]
        if p.expert is None or (self.policy_active and p.policy is None):
            return None
        return self._decide(stamp)

    def _decide(self, stamp: int, timed_out: bool = False):
        p = self.pending.pop(stamp)
        self.decided.add(stamp)
        if len(self.decided) > 10_000:  # stamps only grow; keep the recent ones
            self.decided = {s for s in self.decided if s >= stamp - 10**12}
        episode = int(p.label.split(":")[0]) if ":" in p.label else -1
        if episode != self.episode:
            self.episode = episode
            self.gate.start_episode(episode)
            self.last_command, self.last_stamp = np.zeros_like(self.low), None  # from rest
        policy = p.policy if self.policy_active else None
        if policy is not None and not np.all(np.isfinite(policy)):
            decision = self.gate.decide(p.expert, None, None)
            decision.reason = "invalid_policy_action"
            policy = None
        elif timed_out and policy is None and self.policy_active:
            decision = self.gate.decide(p.expert, None, None)
            decision.reason = "policy_timeout"
        else:
            decision = self.gate.decide(p.expert, policy, p.spread)
        chosen = p.expert if decision.source == EXPERT else policy
        if self.estop.engaged:  # an explicit hold (zero velocity), never silence
            decision = Decision(HOLD, "estop")
            chosen = np.zeros_like(p.expert)
        if decision.source == HOLD:  # a stop is immediate: never ramped by the rate limit
            command = np.clip(chosen, self.low, self.high)
            self.last_command, self.last_stamp = command, stamp
        else:
            command = self.limit(np.asarray(chosen, float), stamp)
        record = {
            "stamp_ns": stamp, "frame": p.label, "source": decision.source,
            "reason": decision.reason, "value": decision.value,
            "threshold": decision.threshold, "beta": self.gate.beta, "round": self.round,
            "checkpoint_id": self.checkpoint_id, "gating": self.config.gating,
            "label_source": self.label_source,
            "uncertainty": p.spread if policy is not None else None,
            "expert_action": p.expert.tolist(),
            "policy_action": policy.tolist() if policy is not None else None,
            "executed_action": command.tolist(),
            "clamped": bool(np.any(command != chosen)),
        }
        return command, record


__all__ = ["Supervisor", "SupervisorConfig", "EmergencyStop", "EXPERT", "POLICY", "HOLD"]
