"""The ensemble trainer: it learns, splits by episode, and its members disagree off-data."""

import numpy as np
import pytest

from dagger_ros.core.config import ConfigError, from_mapping
from dagger_ros.core.training import TrainConfig, split_episodes, stable_split, train_ensemble


def test_learns_a_smooth_function_and_reports():
    rng = np.random.default_rng(0)
    obs = rng.uniform(-1, 1, size=(3000, 3)).astype(np.float32)
    act = np.stack([np.sin(2 * obs[:, 0]) + obs[:, 1], obs[:, 2] ** 2], axis=1)
    episodes = np.repeat(np.arange(30), 100)
    config = from_mapping(TrainConfig, {"members": 3, "hidden": [64, 64], "max_steps": 1500,
                                        "eval_every": 100})
    policy, report = train_ensemble(obs, act, episodes, ["x", "y", "z"], ["u", "v"], config)
    pred = policy.member_actions(obs[:200]).mean(0)
    assert np.sqrt(np.mean((pred - act[:200]) ** 2)) < 0.1
    assert report.holdout_episodes == 3 and report.frames == 3000
    # off the data, the members disagree more than on it
    _, near = policy.predict(np.zeros(3, np.float32))
    _, far = policy.predict(np.full(3, 8.0, np.float32))
    assert policy.uncertainty(far) > 3 * policy.uncertainty(near)


def test_holdout_takes_whole_episodes():
    ids = np.repeat(np.arange(10), 5)
    train, hold = split_episodes(ids, 0.2, np.random.default_rng(0))
    assert len(np.unique(ids[hold])) == 2
    assert not set(ids[hold]) & set(ids[train])
    _, hold_one = split_episodes(np.zeros(5, int), 0.2, np.random.default_rng(0))
    assert not hold_one.any()  # a single episode is never held out


def test_the_stable_split_keeps_each_episodes_side_as_the_data_grow():
    before = None
    for n in (2, 5, 20, 60, 150):
        ids = np.repeat(np.arange(n), 3)
        train, hold = stable_split(ids, 0.1)
        held = set(ids[hold])
        assert held and not held & set(ids[train])
        if before is not None:  # an episode trained on before is never held out now
            assert held >= before[0] and not held & before[1]
        before = (held, set(ids[train]))
    assert abs(len(before[0]) - 15) <= 2  # about the fraction, of 150 episodes
    # the split depends on the ids, not on their order or on which others are present
    _, some = stable_split(np.array([7, 40, 3, 99, 12, 0]), 0.1)
    _, alone = stable_split(np.array([0, 99]), 0.1)
    assert some[5] and not some[3] and alone[0] and not alone[1]
    _, single = stable_split(np.zeros(4, int), 0.1)
    assert not single.any()
    # ids that all fall below the fraction (0 and 5 at 0.1) still leave one to train on
    train, hold = stable_split(np.array([0, 0, 5, 5]), 0.1)
    assert train.any() and hold.any()


@pytest.mark.parametrize("settings, culprit", [
    ({"members": 0}, "'members' must be >= 1"),
    ({"hidden": []}, "'hidden' must list positive widths"),
    ({"holdout_fraction": 1.0}, "'holdout_fraction' must be in [0, 1)"),
    ({"device": "tpu"}, "'device' must be auto, cpu or cuda"),
])
def test_bad_training_settings_are_named(settings, culprit):
    with pytest.raises(ConfigError) as err:
        from_mapping(TrainConfig, settings)
    assert culprit in str(err.value)


def test_intervention_frames_up_weighted_and_frames_before_a_takeover_down_weighted():
    from dagger_ros.core.config import from_mapping
    from dagger_ros.core.rounds import TrainerConfig, frame_weights

    config = from_mapping(TrainerConfig, {"intervention_weight": 3.0,
                                          "pre_intervention_steps": 2,
                                          "pre_intervention_weight": 0.0})
    #            episode 0: policy, policy, policy, take-over, expert | episode 1: take-over
    frames = {"episode": np.array([0, 0, 0, 0, 0, 1]),
              "source": np.array([1, 1, 1, 0, 0, 0]),
              "policy_available": np.array([1, 1, 1, 1, 1, 1]),
              "intervention": np.array([0, 0, 0, 1, 0, 1])}
    assert frame_weights(frames, config).tolist() == [1.0, 0.0, 0.0, 3.0, 3.0, 3.0]


def test_round_zero_may_collect_its_own_number_of_demonstrations():
    from dagger_ros.core.rounds import TrainerConfig

    config = from_mapping(TrainerConfig, {"rounds": 4, "episodes_per_round": 3,
                                          "first_round_episodes": 1})
    assert [config.episodes_in(r) for r in range(4)] == [1, 3, 3, 3]
    assert config.total_episodes() == 10
    same = from_mapping(TrainerConfig, {"rounds": 2, "episodes_per_round": 3})
    assert same.episodes_in(0) == 3 and same.total_episodes() == 6
    with pytest.raises(ConfigError, match="'first_round_episodes' must be >= 0"):
        from_mapping(TrainerConfig, {"first_round_episodes": -1})
