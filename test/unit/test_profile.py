"""Robot profiles: the shipped ones load and agree with the simulator; bad ones are refused
naming the key and the file."""

from pathlib import Path

import numpy as np
import pytest
import yaml

from dagger_ros.core.config import ConfigError
from dagger_ros.core.profile import load_profile, profile_from_mapping, task_profile
from dagger_ros.core.tasks import task_class

PROFILES = sorted((Path(__file__).parents[2] / "config" / "profiles").glob("*.yaml"))


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.stem)
def test_every_shipped_profile_loads(path):
    profile = load_profile(path)
    assert profile.observation_size > 0 and profile.action_size > 0
    assert profile.environment_names  # LeRobot's ACT/Diffusion need environment state


@pytest.mark.parametrize("task", ["reach", "drive"])
def test_sim_profiles_describe_their_task(task):
    """A sim task is one producer of a profile: names, sizes and limits agree."""
    profile = load_profile(task)
    cls = task_class(task)
    assert profile.observation_names == list(cls.observation_names)
    assert profile.action_names == list(cls.action_names)
    low, high = cls().action_limits()
    assert np.allclose(profile.action.low, low) and np.allclose(profile.action.high, high)
    assert profile.from_simulator
    produced = task_profile(task)  # what the task itself produces, field by field
    assert (produced.state_names, produced.environment_names, produced.action) == \
        (profile.state_names, profile.environment_names, profile.action)


def test_the_position_arm_holds_its_measured_position():
    profile = load_profile("reach_position")
    assert profile.action.holds_position
    assert profile.hold_indices() == [0, 1, 2]
    assert profile.state_names[:3] == ["base_yaw.position", "shoulder_pitch.position",
                                       "elbow_pitch.position"]
    assert profile.environment_names == ["target.x", "target.y", "target.z",
                                         "offset.x", "offset.y", "offset.z"]
    assert load_profile("reach").hold_indices() is None  # velocity: zero


def base():
    return yaml.safe_load((PROFILES[0].parent / "reach_position.yaml").read_text())


@pytest.mark.parametrize("change, message", [
    (lambda d: d.update(speed=1), r"unknown key 'speed' \(file x.yaml\)"),
    (lambda d: d.pop("action"), r"missing key 'action' \(file x.yaml\)"),
    (lambda d: d["observation"][0].update(field="torque"),
     r"'field' must be one of position, velocity, effort, got 'torque' \(in observation\[0\]"),
    (lambda d: d["observation"][2].update(type="PointStamped"),
     "'type' = 'PointStamped' is not a message type"),
    (lambda d: d["observation"][2].update(paths=["point.x", "point..y", "point.z"]),
     "'paths' entry 'point..y' is not an attribute path"),
    (lambda d: d["observation"][0].update(max_age=0),
     r"'max_age' must be positive, got 0.0 \(in observation\[0\]"),
    (lambda d: d["action"].update(interface="effort"), "'interface' must be one of"),
    (lambda d: d["action"].update(min=[0.0, 0.0]),
     r"'min' has 2 values but the action has 3 \(in action, file x.yaml\)"),
    (lambda d: d["action"].update(min=[5.0, -2.0, -2.6]), "'min' is above 'max' for "
     "base_yaw.position"),
    (lambda d: d["observation"].pop(0),
     "a position interface holds the last measured position, but the observation has no "
     "'base_yaw.position'"),
])
def test_a_bad_profile_names_the_culprit(change, message):
    data = base()
    change(data)
    with pytest.raises(ConfigError, match=message):
        profile_from_mapping(data, "x.yaml")


def test_a_missing_profile_is_named(tmp_path):
    with pytest.raises(ConfigError, match="robot profile not found: nosuch"):
        load_profile("nosuch")
