"""The gamepad mapping and the simulated operator, without ROS."""

import numpy as np
import pytest

from dagger_ros.core.config import ConfigError, from_mapping
from dagger_ros.core.experts import make_expert
from dagger_ros.core.operator import SimOperatorConfig, SimulatedOperator
from dagger_ros.core.tasks import make_task
from dagger_ros.core.teleop import JoyConfig, JoyInputError, JoyMapping, JoyWatchdog

LOW, HIGH = np.array([-1.5, -2.5]), np.array([1.5, 2.5])


def mapping(**settings):
    return JoyMapping(from_mapping(JoyConfig, settings), ["linear.x", "angular.z"], LOW, HIGH)


@pytest.mark.parametrize("preset", ["xbox", "playstation", "generic"])
def test_sticks_scale_to_limits_and_encode_round_trips(preset):
    m = mapping(joy_preset=preset)
    axes, buttons = m.encode([0.75, -2.5], takeover=True)
    reading = m.read(axes, buttons)
    assert np.allclose(reading.action, [0.75, -2.5]) and reading.takeover


def test_deadman_released_gives_no_action_and_no_takeover():
    m = mapping()
    axes, buttons = m.encode([1.0, 0.0], takeover=True, deadman=False)
    reading = m.read(axes, buttons)
    assert reading.action is None and not reading.takeover


def test_episode_buttons_fire_once_per_press():
    m = mapping()
    axes, pressed = m.encode([0, 0], False, events=("start",))
    assert m.read(axes, pressed).events == ["start"]
    assert m.read(axes, pressed).events == []  # still held: no new event
    assert m.read(*m.encode([0, 0], False)).events == []


def test_short_joy_message_is_named():
    m = mapping()
    with pytest.raises(JoyInputError, match=r"/joy has 2 axes; the 'xbox' mapping needs 4"):
        m.read([0.0, 0.0], [0] * 11)
    with pytest.raises(JoyInputError, match="has 3 buttons"):
        m.read([0.0] * 8, [0] * 3)


def test_mapping_naming_a_missing_button_or_axis_is_a_config_error():
    with pytest.raises(ConfigError, match="'takeover_button' names button 'R9'"):
        from_mapping(JoyConfig, {"takeover_button": "R9"})
    with pytest.raises(ConfigError, match="'joy_axes' names axis 'LZ'"):
        from_mapping(JoyConfig, {"joy_axes": ["LY", "LZ"]})


def test_repeated_stamp_is_not_fresh():
    w = JoyWatchdog(0.5)
    assert w.fresh(10, now=0.0) and not w.fresh(10, now=0.3)
    assert not w.silent(0.4) and w.silent(0.6)  # the same message for too long: silent


def test_simulated_operator_takes_over_when_straying_and_hands_back():
    task = make_task("drive")
    config = from_mapping(SimOperatorConfig, {"reaction_delay": 0.04, "operator_noise": 0.0})
    op = SimulatedOperator(config, make_expert(task), task.observation_names,
                           (HIGH - LOW) / 2)
    obs = np.zeros(task.observation_size)
    flags = []
    for step, lateral in enumerate([0.0, 0.0, 0.3, 0.3, 0.3, 0.1, 0.04, 0.04, 0.04]):
        obs[0] = lateral
        flags.append(op.step(step * 20_000_000, obs.copy(), policy_running=True)[1])
    # it reacts two steps (40 ms) late, and holds on until below the hand-back tolerance
    assert flags == [False, False, False, False, True, True, True, True, False]
    assert op.step(10**9, obs, policy_running=False)[1] is False


def test_joy_sync_answers_each_observation_once_its_joy_came():
    from dagger_ros.core.teleop import JoySync

    sync = JoySync(limit=3)
    assert sync.observation(10, "0:0") == [] and sync.observation(20, "0:1") == []
    assert sync.joy(15) == [(10, "0:0")]  # the Joy reacting to 0:0, not yet to 0:1
    assert sync.joy(15) == []
    assert sync.joy(30) == [(20, "0:1")]
    assert sync.observation(25, "0:2") == [(25, "0:2")]  # its Joy is already here
    for s in range(40, 100, 10):  # the pad fell silent: only the newest few wait
        sync.observation(s, f"0:{s}")
    assert sync.joy(1000) == [(70, "0:70"), (80, "0:80"), (90, "0:90")]


def test_a_gamepad_jogs_a_position_arm_from_where_it_is_measured():
    from dagger_ros.core.config import ConfigError
    from dagger_ros.core.profile import load_profile, profile_from_mapping
    from dagger_ros.core.teleop import Jog

    jog = Jog(load_profile("reach_position"))  # max_rate 2 rad/s, 50 Hz
    observation = np.r_[0.5, -1.0, 2.59, np.zeros(6)]
    assert np.allclose(jog.target([2.0, 0.0, 2.0], observation), [0.54, -1.0, 2.6])  # limit
    assert np.allclose(jog.target([0.0, 0.0, 0.0], observation), [0.5, -1.0, 2.59])  # still
    import yaml

    data = yaml.safe_load(open(load_profile("reach_position").source).read())
    del data["action"]["max_rate"]
    with pytest.raises(ConfigError, match="jogs the position interface at the profile's "
                       "action.max_rate, which x.yaml does not set"):
        Jog(profile_from_mapping(data, "x.yaml"))
