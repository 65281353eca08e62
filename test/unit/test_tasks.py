"""Tasks: seeded determinism, model errors, action handling, episode outcomes."""

import numpy as np
import pytest

from dagger_ros.core.config import ConfigError
from dagger_ros.core.experts import make_expert
from dagger_ros.core.tasks import TASKS, make_task


@pytest.mark.parametrize("name", sorted(TASKS))
def test_same_seed_same_episode_step_for_step(name):
    def trajectory(seed):
        task = make_task(name)
        expert = make_expert(task)
        obs = [task.reset(seed)]
        for _ in range(60):
            result = task.step(expert.act(task.true_observation()))  # privileged
            obs.append(result.observation)
            if result.outcome:
                break
        return np.array(obs)

    a, b, c = trajectory(7), trajectory(7), trajectory(8)
    assert np.array_equal(a, b)
    assert a.shape != c.shape or not np.allclose(a, c)


@pytest.mark.parametrize("name", sorted(TASKS))
def test_observation_and_action_sizes_match_names(name):
    task = make_task(name)
    obs = task.reset(0)
    assert obs.shape == (task.observation_size,)
    low, high = task.action_limits()
    assert low.shape == high.shape == (task.action_size,)
    assert np.all(low < high)


def test_unknown_task():
    with pytest.raises(ConfigError, match="unknown task 'swim'; known tasks: drive, reach"):
        make_task("swim")


def test_missing_model_file(tmp_path):
    with pytest.raises(ConfigError, match="MJCF model file not found"):
        make_task("reach", str(tmp_path / "arm.xml"))


def test_broken_model_file(tmp_path):
    path = tmp_path / "arm.xml"
    path.write_text("<mujoco><worldbody><body></mujoco>")
    with pytest.raises(ConfigError, match=f"broken MJCF model {path}"):
        make_task("reach", str(path))


def test_model_without_required_joint(tmp_path):
    path = tmp_path / "empty.xml"
    path.write_text("<mujoco><worldbody><geom type='plane' size='1 1 1'/></worldbody></mujoco>")
    with pytest.raises(ConfigError, match="has no joint 'base_yaw'"):
        make_task("reach", str(path))


def test_action_of_wrong_length_and_nan_rejected():
    task = make_task("reach")
    task.reset(0)
    with pytest.raises(ValueError, match="takes 3"):
        task.step(np.zeros(2))
    with pytest.raises(ValueError, match="NaN"):
        task.step(np.array([0.0, np.nan, 0.0]))


def test_reach_times_out_without_commands():
    task = make_task("reach", max_episode_steps=20)
    task.reset(3)
    for _ in range(20):
        result = task.step(np.zeros(3))
    assert result.outcome == "timeout"
    with pytest.raises(RuntimeError):
        task.step(np.zeros(3))


def test_drive_leaves_road_when_turning_hard():
    task = make_task("drive")
    task.reset(0)
    outcome = None
    for _ in range(500):
        outcome = task.step(np.array([1.0, 2.0])).outcome
        if outcome:
            break
    assert outcome == "failure"


def test_drive_standing_still_makes_no_progress():
    task = make_task("drive", max_episode_steps=50)
    task.reset(1)
    for _ in range(50):
        task.step(np.zeros(2))
    assert abs(task.progress()) < 0.01
