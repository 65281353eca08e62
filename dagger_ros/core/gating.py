"""Who acts, step by step: the gating rules of the supervisor.

A gate sees the expert's and the policy's proposals for one observation (plus the policy's
uncertainty) and returns a Decision: whose action runs, why, and the value and threshold
behind it. Gates are looked up by name in GATES, so new rules (SafeDAgger, ensemble
uncertainty, human take-over...) slot in beside ``beta`` without touching the supervisor.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from dagger_ros.core.config import ConfigError, param

EXPERT, POLICY = "expert", "policy"
SOURCES = (EXPERT, POLICY)
SCHEDULES = ("constant", "linear", "exponential")
MIXING = ("step", "episode")


@dataclasses.dataclass
class GatingConfig:
    """The supervisor's gating rule."""

    gating: str = param("beta", "Gating rule: 'beta' (DAgger mixing: the expert acts with "
                        "probability beta).")
    beta_schedule: str = param("exponential", "How beta changes per round: 'constant' "
                               "(beta0), 'linear' (beta0 down to 0 at beta_rounds), "
                               "'exponential' (beta0 * beta_decay^round).")
    beta0: float = param(1.0, "Beta in round 0 (1.0: round 0 is pure expert data, i.e. BC).")
    beta_decay: float = param(0.5, "exponential: the factor p in beta0 * p^round.")
    beta_rounds: int = param(5, "linear: the round at which beta reaches 0.")
    mixing: str = param("step", "'step': draw expert-or-policy at every step; 'episode': "
                        "once per episode.")
    seed: int = param(0, "Seed of the gating draws (with the episode seed, so runs repeat).")

    def validate(self) -> None:
        if self.gating not in GATES:
            raise ConfigError(f"'gating' must be one of {sorted(GATES)}, got '{self.gating}'")
        if self.beta_schedule not in SCHEDULES:
            raise ConfigError(f"'beta_schedule' must be one of {SCHEDULES}, got "
                              f"'{self.beta_schedule}'")
        if self.mixing not in MIXING:
            raise ConfigError(f"'mixing' must be one of {MIXING}, got '{self.mixing}'")
        if not 0.0 <= self.beta0 <= 1.0:
            raise ConfigError(f"'beta0' must be in [0, 1], got {self.beta0}")
        if not 0.0 <= self.beta_decay <= 1.0:
            raise ConfigError(f"'beta_decay' must be in [0, 1], got {self.beta_decay}")
        if self.beta_rounds < 1:
            raise ConfigError(f"'beta_rounds' must be >= 1, got {self.beta_rounds}")


def beta_for_round(config: GatingConfig, round_index: int) -> float:
    """DAgger's beta_i (Ross et al. 2011): the probability that the expert acts in round i."""
    if config.beta_schedule == "constant":
        return config.beta0
    if config.beta_schedule == "linear":
        return max(0.0, config.beta0 * (1.0 - round_index / config.beta_rounds))
    return config.beta0 * config.beta_decay ** round_index


@dataclasses.dataclass
class Decision:
    """Whose action runs for one observation, and why."""

    source: str  # EXPERT or POLICY
    reason: str  # e.g. beta_draw, no_policy
    value: float | None = None  # the quantity the rule looked at (the draw, a distance...)
    threshold: float | None = None  # what it was compared with (beta, a tolerance...)


class Gate:
    """Base of gating rules. ``start_episode`` is called at each episode's first step."""

    def __init__(self, config: GatingConfig, round_index: int = 0):
        self.config = config
        self.set_round(round_index)
        self.rng = np.random.default_rng(config.seed)

    def set_round(self, round_index: int) -> None:
        self.round = round_index
        self.beta = beta_for_round(self.config, round_index)

    def start_episode(self, episode_seed: int) -> None:
        self.rng = np.random.default_rng([self.config.seed, self.round, episode_seed])

    def decide(self, expert_action: np.ndarray, policy_action: np.ndarray | None,
               uncertainty: float | None) -> Decision:
        raise NotImplementedError


class BetaGate(Gate):
    """DAgger mixing: the expert acts with probability beta (per step or per episode)."""

    def start_episode(self, episode_seed: int) -> None:
        super().start_episode(episode_seed)
        self.episode_draw = float(self.rng.random())

    def decide(self, expert_action, policy_action, uncertainty):
        if policy_action is None:
            return Decision(EXPERT, "no_policy")
        draw = self.episode_draw if self.config.mixing == "episode" else float(self.rng.random())
        source = EXPERT if draw < self.beta else POLICY
        return Decision(source, "beta_draw", draw, self.beta)


GATES: dict[str, type[Gate]] = {"beta": BetaGate}


def make_gate(config: GatingConfig, round_index: int = 0) -> Gate:
    return GATES[config.gating](config, round_index)
