"""Beta schedules and the beta gate."""

import numpy as np
import pytest

from dagger_ros.core.config import ConfigError, from_mapping
from dagger_ros.core.gating import GatingConfig, beta_for_round, make_gate

CASES = [  # (schedule settings, round, expected beta)
    ({"beta_schedule": "constant", "beta0": 0.7}, 5, 0.7),
    ({"beta_schedule": "linear", "beta0": 1.0, "beta_rounds": 4}, 0, 1.0),
    ({"beta_schedule": "linear", "beta0": 1.0, "beta_rounds": 4}, 2, 0.5),
    ({"beta_schedule": "linear", "beta0": 1.0, "beta_rounds": 4}, 9, 0.0),
    ({"beta_schedule": "exponential", "beta0": 1.0, "beta_decay": 0.5}, 3, 0.125),
    ({"beta_schedule": "exponential", "beta0": 0.8, "beta_decay": 0.9}, 0, 0.8),
]


@pytest.mark.parametrize("settings, round_index, expected", CASES)
def test_beta_schedule(settings, round_index, expected):
    assert beta_for_round(from_mapping(GatingConfig, settings), round_index) == \
        pytest.approx(expected)


def sources(gate, steps, episode=0):
    gate.start_episode(episode)
    return [gate.decide(np.zeros(2), np.ones(2), 0.1).source for _ in range(steps)]


def test_beta_one_and_zero_are_all_expert_and_all_policy():
    assert set(sources(make_gate(from_mapping(GatingConfig, {"beta0": 1.0}), 0), 200)) == \
        {"expert"}
    gate = make_gate(from_mapping(GatingConfig, {"beta_schedule": "constant", "beta0": 0.0}))
    assert set(sources(gate, 200)) == {"policy"}


def test_step_mixing_follows_beta():
    gate = make_gate(from_mapping(GatingConfig, {"beta_schedule": "constant", "beta0": 0.3}))
    share = sources(gate, 4000).count("expert") / 4000
    assert abs(share - 0.3) < 0.03


def test_episode_mixing_keeps_one_source_per_episode():
    gate = make_gate(from_mapping(GatingConfig, {"beta_schedule": "constant", "beta0": 0.5,
                                                 "mixing": "episode"}))
    per_episode = [set(sources(gate, 50, episode=e)) for e in range(40)]
    assert all(len(s) == 1 for s in per_episode)
    assert {next(iter(s)) for s in per_episode} == {"expert", "policy"}


def test_draws_repeat_for_the_same_seed_round_and_episode():
    config = from_mapping(GatingConfig, {"beta_schedule": "constant", "beta0": 0.5})
    assert sources(make_gate(config), 100, 3) == sources(make_gate(config), 100, 3)


def test_without_policy_the_expert_acts():
    gate = make_gate(from_mapping(GatingConfig, {"beta_schedule": "constant", "beta0": 0.0}))
    decision = gate.decide(np.zeros(2), None, None)
    assert (decision.source, decision.reason) == ("expert", "no_policy")


@pytest.mark.parametrize("settings, culprit", [
    ({"gating": "coinflip"}, "'gating' must be one of"),
    ({"beta0": 1.5}, "'beta0' must be in [0, 1]"),
    ({"beta_schedule": "cosine"}, "'beta_schedule' must be one of"),
    ({"mixing": "frame"}, "'mixing' must be one of"),
])
def test_bad_gating_settings_are_named(settings, culprit):
    with pytest.raises(ConfigError) as err:
        from_mapping(GatingConfig, settings)
    assert culprit in str(err.value)
