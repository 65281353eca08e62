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
from dagger_ros.core.records import Reason, Source

EXPERT, POLICY = Source.EXPERT, Source.POLICY
SCHEDULES = ("constant", "linear", "exponential")
MIXING = ("step", "episode")


@dataclasses.dataclass
class GatingConfig:
    """The supervisor's gating rule."""

    gating: str = param("beta", "Gating rule: 'beta' (DAgger mixing: the expert acts with "
                        "probability beta), 'safe' (SafeDAgger: the expert acts when the "
                        "policy strays from it by more than safe_threshold), 'uncertainty' "
                        "(the expert acts and labels when the ensemble's spread is above a "
                        "threshold), 'human_gated' (HG-DAgger: the operator takes over by "
                        "holding a button), 'noise' (DART: the expert drives with noise "
                        "scaled to the policy's error), 'budget' (labels only for the most "
                        "uncertain states, within label_budget), 'async' (the policy drives; its "
                        "states are labelled later by `dagger-ros label`).")
    beta_schedule: str = param("exponential", "How beta changes per round: 'constant' "
                               "(beta0), 'linear' (beta0 down to 0 at beta_rounds), "
                               "'exponential' (beta0 * beta_decay^round).")
    beta0: float = param(1.0, "Beta in round 0 (1.0: round 0 is pure expert data, i.e. BC).")
    beta_decay: float = param(0.5, "exponential: the factor p in beta0 * p^round.")
    beta_rounds: int = param(5, "linear: the round at which beta reaches 0.")
    mixing: str = param("step", "'step': draw expert-or-policy at every step; 'episode': "
                        "once per episode.")
    seed: int = param(0, "Seed of the gating draws (with the episode seed, so runs repeat).")
    safe_threshold: float = param(0.3, "safe: the discrepancy max_i |policy_i - expert_i| / "
                                  "half-range_i above which the expert takes over, in (0, 2].")
    handback_ratio: float = param(0.5, "safe, uncertainty: after a take-over, control goes "
                                  "back to the policy only once the value is below "
                                  "handback_ratio x threshold (hysteresis), in (0, 1].")
    uncertainty_threshold: float = param(0.0, "uncertainty, budget: the ensemble spread above "
                                         "which the expert is asked; 0: derived from "
                                         "target_intervention_rate.")
    target_intervention_rate: float = param(0.2, "uncertainty, budget: with no fixed "
                                            "threshold, the share of decisions the expert "
                                            "makes while a policy runs (the threshold, the "
                                            "(1 - rate) quantile of the round's spreads, is "
                                            "corrected until it is), in (0, 1).")
    noise_scale: float = param(1.0, "noise (DART): noise std per element = noise_scale x the "
                               "policy's RMS error to the expert on recent steps.")
    noise_initial: float = param(0.1, "noise (DART): noise std, as a fraction of each "
                                 "element's half-range, until a policy has been measured.")
    label_budget: int = param(0, "budget: the total number of expert labels (> 0).")

    def describe_gating(self) -> str:
        """The rule in a few words, for the log."""
        c = self
        return {"beta": f"{c.beta_schedule} beta, beta0={c.beta0:g}",
                "safe": f"threshold {c.safe_threshold:g}, hand-back x{c.handback_ratio:g}",
                "uncertainty": (f"threshold {c.uncertainty_threshold:g}"
                                if c.uncertainty_threshold else
                                f"target rate {c.target_intervention_rate:g}"),
                "human_gated": "the operator's take-over button",
                "noise": f"DART, scale {c.noise_scale:g}",
                "budget": f"{c.label_budget} labels",
                "async": "the policy drives; states queued for labelling"}[c.gating]

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
        if not 0.0 < self.safe_threshold <= 2.0:
            raise ConfigError(f"'safe_threshold' must be in (0, 2], got {self.safe_threshold}")
        if not 0.0 < self.handback_ratio <= 1.0:
            raise ConfigError(f"'handback_ratio' must be in (0, 1], got {self.handback_ratio}")
        if self.uncertainty_threshold < 0:
            raise ConfigError("'uncertainty_threshold' must be >= 0 (0: from "
                              f"target_intervention_rate), got {self.uncertainty_threshold}")
        if not 0.0 < self.target_intervention_rate < 1.0:
            raise ConfigError("'target_intervention_rate' must be in (0, 1), got "
                              f"{self.target_intervention_rate}")
        if self.noise_scale < 0 or not 0.0 <= self.noise_initial <= 1.0:
            raise ConfigError(f"'noise_scale' must be >= 0 and 'noise_initial' in [0, 1], got "
                              f"{self.noise_scale} and {self.noise_initial}")
        if self.gating == "budget" and self.label_budget <= 0:
            raise ConfigError(f"'label_budget' must be > 0 with gating 'budget', got "
                              f"{self.label_budget}")


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

    source: Source  # EXPERT or POLICY
    reason: Reason
    value: float | None = None  # the quantity the rule looked at (the draw, a distance...)
    threshold: float | None = None  # what it was compared with (beta, a tolerance...)
    label: bool = True  # whether the expert's action for this state counts as a label
    action: np.ndarray | None = None  # what to execute instead of the chosen action (DART)
    intervention: bool = False  # the expert took control away from a running policy


class Gate:
    """Base of gating rules. ``start_episode`` is called at each episode's first step;
    ``configure`` gives the action's limits (for rules that measure distances)."""

    #: the rule measures the policy's uncertainty, so a policy without one cannot run
    needs_uncertainty = False

    def __init__(self, config: GatingConfig, round_index: int = 0):
        self.config = config
        self.set_round(round_index)
        self.rng = np.random.default_rng(config.seed)
        self.half_range: np.ndarray | None = None

    def configure(self, low: np.ndarray, high: np.ndarray) -> None:
        self.half_range = np.maximum((np.asarray(high) - np.asarray(low)) / 2.0, 1e-9)

    def set_round(self, round_index: int) -> None:
        self.round = round_index
        self.beta = beta_for_round(self.config, round_index)

    def start_episode(self, episode_seed: int) -> None:
        self.rng = np.random.default_rng([self.config.seed, self.round, episode_seed])

    def decide(self, expert_action: np.ndarray, policy_action: np.ndarray | None,
               uncertainty: float | None, takeover: bool = False) -> Decision:
        raise NotImplementedError


class BetaGate(Gate):
    """DAgger mixing: the expert acts with probability beta (per step or per episode)."""

    def start_episode(self, episode_seed: int) -> None:
        super().start_episode(episode_seed)
        self.episode_draw = float(self.rng.random())

    def decide(self, expert_action, policy_action, uncertainty, takeover=False):
        if policy_action is None:
            return Decision(EXPERT, Reason.NO_POLICY)
        draw = self.episode_draw if self.config.mixing == "episode" else float(self.rng.random())
        source = EXPERT if draw < self.beta else POLICY
        return Decision(source, Reason.BETA_DRAW, draw, self.beta)


class HysteresisGate(Gate):
    """Robot-gated take-over with hysteresis: the expert takes control when ``value``
    exceeds the threshold, and hands back only once it is below handback_ratio x threshold,
    so control does not flap at the boundary. ``labels_everything``: the expert's action is
    a label at every state (SafeDAgger), or only where it acts (query-based gates)."""

    reason: Reason
    labels_everything = True

    def start_episode(self, episode_seed: int) -> None:
        super().start_episode(episode_seed)
        self.expert_in_control = False

    def measure(self, expert_action, policy_action, uncertainty) -> float:
        raise NotImplementedError

    def threshold(self) -> float | None:
        raise NotImplementedError

    def observe(self, value: float) -> None:
        """Called with every measured value (adaptive thresholds learn from them)."""

    def decide(self, expert_action, policy_action, uncertainty, takeover=False):
        if policy_action is None:
            return Decision(EXPERT, Reason.NO_POLICY)
        value = self.measure(expert_action, policy_action, uncertainty)
        t = self.threshold()
        self.observe(value)
        if t is None:  # not enough seen yet to know what "uncertain" means
            self.expert_in_control = False
            return Decision(EXPERT, Reason.WARMING_UP, value, None)
        started = False
        if self.expert_in_control and value < self.config.handback_ratio * t:
            self.expert_in_control = False
            return Decision(POLICY, Reason.HANDBACK, value, self.config.handback_ratio * t,
                            label=self.labels_everything)
        if not self.expert_in_control and value > t:
            self.expert_in_control = started = True
        if self.expert_in_control:
            return Decision(EXPERT, self.reason, value, t, intervention=started)
        return Decision(POLICY, self.reason, value, t, label=self.labels_everything)


class SafeGate(HysteresisGate):
    """SafeDAgger (Zhang & Cho 2017): the expert acts when the policy's action strays from
    the expert's by more than safe_threshold (per element, in units of its half-range)."""

    reason = Reason.DISCREPANCY

    def measure(self, expert_action, policy_action, uncertainty):
        return float(np.max(np.abs(np.asarray(policy_action) - expert_action)
                            / self.half_range))

    def threshold(self):
        return self.config.safe_threshold


class UncertaintyGate(HysteresisGate):
    """Ensemble-gated (EnsembleDAgger, ThriftyDAgger): the expert acts and labels where the
    members disagree. The threshold is fixed, or set from ``target_intervention_rate``.

    From a target rate, the threshold is the (1 - target) quantile of the spreads seen since
    the round's policy started (ThriftyDAgger's rule), times a correction exp(theta) that
    holds the share of decisions the expert makes at the target. The quantile alone puts
    the expert in charge of the target share of *states*, but the hand-back hysteresis keeps
    control with the expert until the spread falls to handback_ratio x threshold, and
    spreads are correlated in time: the realised share was 46-64% for a target of 20%.
    theta takes a Robbins-Monro step per decision, theta += RATE_GAIN x (expert acted -
    target), so over n decisions the realised share differs from the target by exactly
    (theta at end - theta at start) / (RATE_GAIN x n): 2 points for a change of 0.6 over a
    round of 3,000 decisions (test_gating's correlated-spread case)."""

    needs_uncertainty = True

    reason = Reason.UNCERTAINTY
    labels_everything = False
    WINDOW, MIN_SEEN = 2000, 50
    RATE_GAIN = 0.01  # theta's step per decision (see the class doc)

    def __init__(self, config, round_index=0):
        self.recent: list[float] = []
        self.theta = 0.0  # log of the threshold's correction; carried across rounds
        super().__init__(config, round_index)

    def set_round(self, round_index: int) -> None:
        if round_index != getattr(self, "round", None):
            self.recent = []  # a new round's policy: its spreads have a scale of their own
        super().set_round(round_index)

    def measure(self, expert_action, policy_action, uncertainty):
        return float(uncertainty if uncertainty is not None else np.inf)

    def observe(self, value):
        self.recent.append(value)
        del self.recent[:-self.WINDOW]

    def threshold(self):
        if self.config.uncertainty_threshold > 0:
            return self.config.uncertainty_threshold
        if len(self.recent) < self.MIN_SEEN:
            return None
        quantile = np.quantile(self.recent, 1.0 - self.config.target_intervention_rate)
        return float(quantile * np.exp(self.theta))

    def track_rate(self, expert_acted: bool) -> None:
        """One decision made while a policy ran: steer theta (see the class doc)."""
        if self.config.uncertainty_threshold == 0:
            self.theta += self.RATE_GAIN * (expert_acted - self.config.target_intervention_rate)

    def decide(self, expert_action, policy_action, uncertainty, takeover=False):
        decision = super().decide(expert_action, policy_action, uncertainty, takeover)
        if policy_action is not None:
            self.track_rate(decision.source is EXPERT)
        return decision


class HumanGate(Gate):
    """HG-DAgger (Kelly et al. 2019): the operator takes over by holding a button; their
    commands run and are the labels. Otherwise the policy drives, unlabelled."""

    def start_episode(self, episode_seed):
        super().start_episode(episode_seed)
        self.operator_in_control = False

    def decide(self, expert_action, policy_action, uncertainty, takeover=False):
        if policy_action is None:
            return Decision(EXPERT, Reason.NO_POLICY)  # no policy yet: the operator demonstrates
        started = takeover and not self.operator_in_control
        self.operator_in_control = takeover
        if takeover:
            return Decision(EXPERT, Reason.OPERATOR_TAKEOVER, 1.0, None, intervention=started)
        return Decision(POLICY, Reason.AUTONOMOUS, 0.0, None, label=False)


class NoiseGate(Gate):
    """DART (Laskey et al. 2017): the expert drives with Gaussian noise injected into what
    is executed; the label is the clean expert action. The noise std per element follows the
    policy's measured error (RMS of policy - expert over recent steps) x noise_scale."""

    WINDOW = 1000

    def __init__(self, config, round_index=0):
        super().__init__(config, round_index)
        self.errors: list[np.ndarray] = []

    def sigma(self) -> np.ndarray:
        if not self.errors:
            return self.config.noise_initial * self.half_range
        return self.config.noise_scale * np.sqrt(np.mean(np.square(self.errors), axis=0))

    def decide(self, expert_action, policy_action, uncertainty, takeover=False):
        sigma = self.sigma()
        if policy_action is not None:
            self.errors.append(np.asarray(policy_action) - expert_action)
            del self.errors[:-self.WINDOW]
        noisy = np.asarray(expert_action) + self.rng.normal(size=len(sigma)) * sigma
        return Decision(EXPERT, Reason.DART_NOISE, float(np.linalg.norm(sigma / self.half_range)),
                        None, action=noisy)


class BudgetGate(UncertaintyGate):
    """Labels only for the most uncertain states, within a total budget: the expert is
    asked (acts and labels) where the spread is above the threshold while the budget lasts;
    elsewhere the policy drives, unlabelled."""

    def __init__(self, config, round_index=0):
        super().__init__(config, round_index)
        self.used = 0

    def decide(self, expert_action, policy_action, uncertainty, takeover=False):
        left = self.used < self.config.label_budget
        if policy_action is None:
            self.used += left
            return Decision(EXPERT, Reason.NO_POLICY if left else Reason.BUDGET_EXHAUSTED,
                            label=left)
        value = self.measure(expert_action, policy_action, uncertainty)
        t = self.threshold()
        self.observe(value)
        if left and (t is None or value > t):
            self.used += 1
            self.track_rate(True)
            return Decision(EXPERT, Reason.BUDGET_QUERY, value, t)
        if left:
            self.track_rate(False)
        return Decision(POLICY, Reason.AUTONOMOUS if left else Reason.BUDGET_EXHAUSTED, value, t,
                        label=False)


class AsyncGate(Gate):
    """Labels that arrive later: the policy drives and its states are queued unlabelled;
    ``dagger-ros label`` (or the trainer's ``label_expert``) labels the queue afterwards."""

    def decide(self, expert_action, policy_action, uncertainty, takeover=False):
        if policy_action is None:
            return Decision(EXPERT, Reason.NO_POLICY)  # no policy yet: demonstrations
        return Decision(POLICY, Reason.ASYNC_QUEUED, label=False)


GATES: dict[str, type[Gate]] = {"beta": BetaGate, "safe": SafeGate,
                                "uncertainty": UncertaintyGate, "human_gated": HumanGate,
                                "noise": NoiseGate, "budget": BudgetGate, "async": AsyncGate}


def make_gate(config: GatingConfig, round_index: int = 0, low=None, high=None) -> Gate:
    gate = GATES[config.gating](config, round_index)
    if low is not None:
        gate.configure(low, high)
    return gate
