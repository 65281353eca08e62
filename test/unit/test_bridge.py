"""The simulator side without ROS: episodes, seeds, clock, command handling."""

import numpy as np
import pytest

from dagger_ros.core.bridge import BridgeConfig, CommandSlot, SimBridge
from dagger_ros.core.config import from_mapping


def bridge(**values):
    return SimBridge(from_mapping(BridgeConfig, {"task": "reach", **values}))


def test_episodes_use_consecutive_seeds_and_then_finish():
    sim = bridge(seed=100, episodes=2, max_episode_steps=3)
    seeds = []
    for _ in range(2):
        sim.start_episode()
        seeds.append(sim.task.seed)
        end = None
        while end is None:
            end = sim.step(np.zeros(3))
        assert end.outcome == "timeout" and end.steps == 3
    assert seeds == [100, 101]
    with pytest.raises(StopIteration):
        sim.start_episode()
    assert sim.finished


def test_clock_is_monotonic_across_resets():
    sim = bridge(max_episode_steps=2)
    stamps = []
    for _ in range(3):
        sim.start_episode()
        stamps.append(sim.clock_ns)
        while sim.step(np.zeros(3)) is None:
            pass
    assert stamps == sorted(stamps) and len(set(stamps)) == 3
    assert sim.clock_ns == (6 + 2) * 20_000_000  # 6 steps, and 2 resets of one period each


def test_command_limits_clamp_and_bad_commands_are_rejected():
    sim = bridge(command_limits=[0.5, 0.5, 0.5])
    sim.start_episode()
    assert np.allclose(sim.clamp(np.array([3.0, -3.0, 0.1])), [0.5, -0.5, 0.1])
    with pytest.raises(ValueError, match="NaN"):
        sim.clamp(np.array([np.nan, 0, 0]))
    with pytest.raises(ValueError, match="takes 3"):
        sim.clamp(np.zeros(4))


@pytest.mark.parametrize("rule, expected", [("zero", [0, 0, 0]), ("hold", [0.3, 0.2, 0.1])])
def test_stale_command_rule(rule, expected):
    sim = bridge(stale_command=rule)
    sim.start_episode()
    sim.step(np.array([0.3, 0.2, 0.1]))
    assert np.allclose(sim.stale_fallback(), expected)


def test_command_slot_goes_stale_after_timeout():
    slot = CommandSlot(timeout=0.1)
    assert slot.take(0.0) is None
    slot.put(np.ones(2), now=1.0)
    assert slot.take(1.05) is not None
    assert slot.take(1.2) is None
    assert slot.stale_ticks == 2


def test_a_reset_mid_step_never_reuses_an_observation_stamp():
    sim = SimBridge(from_mapping(BridgeConfig, {"task": "reach"}))
    sim.start_episode()
    sim.step(np.zeros(3))
    waiting = sim.clock_ns  # an observation at this stamp awaits its command...
    sim.start_episode()  # ...when a reset cuts the episode short
    assert sim.clock_ns > waiting


def test_operator_episode_buttons():
    from dagger_ros.core.bridge import EpisodeButtons

    buttons = EpisodeButtons()
    assert buttons.press("start", running=False) == (None, True)
    assert buttons.press("success", running=True) == (None, False)
    assert buttons.press("end", running=True) == ("success", False)  # the mark is kept
    assert buttons.press("end", running=False) == (None, False)  # nothing running: nothing
    buttons.new_episode()
    assert buttons.press("end", running=True) == ("aborted", False)  # no mark: aborted
    buttons.press("failure", running=True)
    assert buttons.press("start", running=True) == ("aborted", True)  # restart: aborted
    # an unknown button never reaches them: decoding the event names topic and value
    from dagger_ros.core.records import OperatorEvent, RecordError

    with pytest.raises(RecordError, match="/dagger/operator/event: 'event' = 'jump' is not a "
                       "known OperatorEventKind"):
        OperatorEvent.decode('{"event": "jump", "stamp_ns": 1}', "/dagger/operator/event")
