"""A gamepad as the expert, without ROS: sensor_msgs/Joy axes and buttons -> an action.

The mapping (which stick drives which action element, which button is the deadman, which
takes over, which start and end an episode or mark it) comes from YAML, on top of a preset
for an Xbox pad, a PlayStation pad or a generic one (index names as the standard ``joy``
node reports them on Linux). Sticks are scaled to the action limits. The same mapping
turns an action back into stick positions, which is how the simulated operator drives
the very code path a person's gamepad does.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from dagger_ros.core.config import ConfigError, param
from dagger_ros.core.records import OperatorEventKind

PRESETS: dict[str, dict[str, list[str]]] = {
    # xpad / xboxdrv on Linux, as the joy node reports them
    "xbox": {"axes": ["LX", "LY", "LT", "RX", "RY", "RT", "DPAD_X", "DPAD_Y"],
             "buttons": ["A", "B", "X", "Y", "LB", "RB", "BACK", "START", "GUIDE", "LS",
                         "RS"]},
    # DualShock 4 / DualSense through hid-sony / hid-playstation
    "playstation": {"axes": ["LX", "LY", "L2", "RX", "RY", "R2", "DPAD_X", "DPAD_Y"],
                    "buttons": ["CROSS", "CIRCLE", "TRIANGLE", "SQUARE", "L1", "R1", "L2",
                                "R2", "SHARE", "OPTIONS", "PS", "L3", "R3"]},
    "generic": {"axes": [f"axis{i}" for i in range(8)],
                "buttons": [f"button{i}" for i in range(12)]},
}
#: per preset: default sticks (in action order) and buttons by role
DEFAULTS = {
    "xbox": {"axes": ["LY", "RX", "LX", "RY"], "deadman": "LB", "takeover": "RB",
             "start": "START", "end": "BACK", "success": "A", "failure": "B"},
    "playstation": {"axes": ["LY", "RX", "LX", "RY"], "deadman": "L1", "takeover": "R1",
                    "start": "OPTIONS", "end": "SHARE", "success": "CROSS",
                    "failure": "CIRCLE"},
    "generic": {"axes": ["axis1", "axis3", "axis0", "axis4"], "deadman": "button4",
                "takeover": "button5", "start": "button7", "end": "button6",
                "success": "button0", "failure": "button1"},
}
ROLES = ("deadman", "takeover", "start", "end", "success", "failure")
EVENT_ROLES = ("start", "end", "success", "failure")


@dataclasses.dataclass
class JoyConfig:
    """The gamepad mapping (shared by the teleop expert and the simulated operator)."""

    joy_preset: str = param("xbox", "Gamepad layout: 'xbox', 'playstation' or 'generic'.")
    joy_axes: list[str] = param([], "Stick axis per action element, by the preset's axis "
                                "names (empty: the preset's default sticks).")
    joy_axis_scale: list[float] = param([], "Per action element: full stick = this x the "
                                        "element's limit; negative inverts (empty: 1.0).")
    deadman_button: str = param("", "Button to hold for the operator's commands to count "
                                "(empty: the preset's).")
    takeover_button: str = param("", "Button held to take control (human_gated).")
    start_button: str = param("", "Button that starts an episode.")
    end_button: str = param("", "Button that ends the episode.")
    success_button: str = param("", "Button that marks the episode a success.")
    failure_button: str = param("", "Button that marks the episode a failure.")
    joy_timeout: float = param(0.5, "Seconds without a new Joy stamp (a silent or a stuck, "
                               "repeating gamepad) before the operator counts as silent.")

    def validate(self) -> None:
        if self.joy_preset not in PRESETS:
            raise ConfigError(f"'joy_preset' must be one of {sorted(PRESETS)}, got "
                              f"'{self.joy_preset}'")
        preset = PRESETS[self.joy_preset]
        for name in self.joy_axes:
            if name not in preset["axes"]:
                raise ConfigError(f"'joy_axes' names axis '{name}', which the "
                                  f"'{self.joy_preset}' pad does not have; its axes: "
                                  f"{', '.join(preset['axes'])}")
        for role in ROLES:
            name = getattr(self, f"{role}_button")
            if name and name not in preset["buttons"]:
                raise ConfigError(f"'{role}_button' names button '{name}', which the "
                                  f"'{self.joy_preset}' pad does not have; its buttons: "
                                  f"{', '.join(preset['buttons'])}")
        if self.joy_timeout <= 0:
            raise ConfigError(f"'joy_timeout' must be positive, got {self.joy_timeout}")


class JoyInputError(ValueError):
    """A Joy message that does not fit the mapping (too few axes or buttons)."""


@dataclasses.dataclass
class JoyReading:
    """What one Joy message means."""

    action: np.ndarray | None  # None: deadman released, nothing the operator commands
    takeover: bool
    events: list[OperatorEventKind]  # rising edges of the episode buttons


class JoyMapping:
    """Joy axes/buttons <-> actions for one task's action limits."""

    def __init__(self, config: JoyConfig, action_names, low, high):
        preset, defaults = PRESETS[config.joy_preset], DEFAULTS[config.joy_preset]
        size = len(action_names)
        axes = config.joy_axes or defaults["axes"][:size]
        if len(axes) != size:
            raise ConfigError(f"'joy_axes' has {len(axes)} names but the action has {size} "
                              f"elements ({', '.join(action_names)})")
        scale = config.joy_axis_scale or [1.0] * size
        if len(scale) != size:
            raise ConfigError(f"'joy_axis_scale' has {len(scale)} values but the action has "
                              f"{size} elements")
        self.axes = [preset["axes"].index(a) for a in axes]
        self.axis_names = list(axes)
        self.gain = np.asarray(scale, float) * np.maximum(np.abs(low), np.abs(high))
        self.low, self.high = np.asarray(low, float), np.asarray(high, float)
        self.buttons = {role: preset["buttons"].index(getattr(config, f"{role}_button")
                                                      or defaults[role]) for role in ROLES}
        self.button_names = {role: getattr(config, f"{role}_button") or defaults[role]
                             for role in ROLES}
        self.preset = config.joy_preset
        self.axes_needed = max(self.axes) + 1
        self.buttons_needed = max(self.buttons.values()) + 1
        self.pressed: dict[str, bool] = {}

    def read(self, axes, buttons, topic: str = "/joy") -> JoyReading:
        """Interpret one Joy message; JoyInputError names what is missing."""
        if len(axes) < self.axes_needed:
            raise JoyInputError(f"Joy message on {topic} has {len(axes)} axes; the "
                                f"'{self.preset}' mapping needs {self.axes_needed} (stick "
                                f"{self.axis_names[int(np.argmax(self.axes))]} is axis "
                                f"{max(self.axes)})")
        if len(buttons) < self.buttons_needed:
            role = max(self.buttons, key=self.buttons.get)
            raise JoyInputError(f"Joy message on {topic} has {len(buttons)} buttons; the "
                                f"'{self.preset}' mapping needs {self.buttons_needed} "
                                f"({role} is button {self.button_names[role]}, index "
                                f"{self.buttons[role]})")
        held = {role: bool(buttons[i]) for role, i in self.buttons.items()}
        events = [OperatorEventKind(r) for r in EVENT_ROLES
                  if held[r] and not self.pressed.get(r, False)]
        self.pressed = held
        sticks = np.clip([float(axes[i]) for i in self.axes], -1.0, 1.0)
        action = np.clip(sticks * self.gain, self.low, self.high)
        if not np.all(np.isfinite(action)):
            raise JoyInputError(f"Joy message on {topic} has a NaN or Inf axis")
        return JoyReading(action if held["deadman"] else None,
                          held["takeover"] and held["deadman"], events)

    def encode(self, action, takeover: bool, deadman: bool = True,
               events: tuple[str, ...] = ()) -> tuple[list[float], list[int]]:
        """Stick positions and buttons that ``read`` turns back into ``action``."""
        axes = [0.0] * len(PRESETS[self.preset]["axes"])
        for i, value in zip(self.axes, np.asarray(action, float) / self.gain, strict=True):
            axes[i] = float(np.clip(value, -1.0, 1.0))
        buttons = [0] * len(PRESETS[self.preset]["buttons"])
        buttons[self.buttons["deadman"]] = int(deadman)
        buttons[self.buttons["takeover"]] = int(takeover)
        for role in events:
            buttons[self.buttons[role]] = 1
        return axes, buttons


class JoyWatchdog:
    """The operator is silent when no Joy with a *new* stamp came for joy_timeout: a
    gamepad that stopped, or one whose driver keeps re-sending the same message."""

    def __init__(self, timeout: float):
        self.timeout = timeout
        self.stamp: int | None = None
        self.since = -np.inf

    def fresh(self, stamp: int, now: float) -> bool:
        """Note a message; True if its stamp is new."""
        if stamp != self.stamp:
            self.stamp, self.since = stamp, now
            return True
        return False

    def silent(self, now: float) -> bool:
        return now - self.since > self.timeout


class JoySync:
    """joy_sync (a lockstep simulation with a simulated operator): an observation is
    answered only once a Joy stamped at or after it has arrived, so every label is the
    operator's reaction to that very state, never to an older one.

    ``observation`` and ``joy`` return the (stamp, frame) pairs that may be answered now,
    oldest first. At most ``limit`` observations wait: with no Joy for that long the
    supervisor has held them already, and memory stays bounded."""

    def __init__(self, limit: int = 1000):
        self.limit = limit
        self.joy_stamp = -1
        self.waiting: dict[int, str] = {}

    def observation(self, stamp: int, frame: str) -> list[tuple[int, str]]:
        if stamp <= self.joy_stamp:
            return [(stamp, frame)]
        self.waiting[stamp] = frame
        for old in sorted(self.waiting)[:-self.limit]:
            del self.waiting[old]
        return []

    def joy(self, stamp: int) -> list[tuple[int, str]]:
        self.joy_stamp = max(self.joy_stamp, stamp)
        ready = sorted(s for s in self.waiting if s <= self.joy_stamp)
        return [(s, self.waiting.pop(s)) for s in ready]


class Jog:
    """A gamepad on a position interface, as teach pendants jog an arm: the sticks set
    joint speeds (full stick = ``rates``), and each command is the measured position moved
    by one control period at that speed, kept inside the position limits. Releasing the
    sticks holds the arm where it is."""

    def __init__(self, profile):
        action = profile.action
        if not action.max_rate:
            raise ConfigError(f"a gamepad jogs the {action.interface} interface at the "
                              f"profile's action.max_rate, which {profile.source} does not "
                              "set")
        self.rates = np.asarray(action.max_rate, float)
        self.dt = 1.0 / profile.control_rate_hz
        self.low, self.high = np.asarray(action.low, float), np.asarray(action.high, float)
        self.indices = profile.hold_indices()

    def target(self, velocity: np.ndarray, observation: np.ndarray) -> np.ndarray:
        measured = np.asarray(observation, float)[self.indices]
        return np.clip(measured + np.asarray(velocity, float) * self.dt, self.low, self.high)
