"""The supervisor's decisions: pairing by stamp, waiting for the policy, safe commands."""

import numpy as np
import pytest

from dagger_ros.core.config import ConfigError, from_mapping
from dagger_ros.core.supervisor import Supervisor, SupervisorConfig


def supervisor(beta0=0.0, **extra):
    config = from_mapping(SupervisorConfig, {"task": "drive", "beta_schedule": "constant",
                                             "beta0": beta0, **extra})
    return Supervisor(config, np.array([-1.5, -2.5]), np.array([1.5, 2.5]), "scripted/test")


def test_expert_alone_until_a_policy_runs():
    sup = supervisor()
    command, record = sup.add_expert(100, "0:0", [1.0, 0.1], now=0.0)
    assert np.allclose(command, [1.0, 0.1])
    assert (record.source, record.reason, record.checkpoint_id) == \
        ("expert", "no_policy", None)
    assert record.label_source == "scripted/test"


def test_waits_for_both_proposals_in_either_order():
    sup = supervisor(beta0=0.0)
    sup.set_round(1, "abc")
    assert sup.add_expert(200, "1:0", [1.0, 0.0], now=0.0) is None
    command, record = sup.add_policy(200, "1:0", [0.5, 0.2], 0.1, now=0.01)
    assert np.allclose(command, [0.5, 0.2]) and record.source == "policy"
    assert record.expert_action == [1.0, 0.0] and record.policy_action == [0.5, 0.2]
    assert (record.round, record.checkpoint_id, record.uncertainty) == (1, "abc", 0.1)
    assert sup.add_policy(300, "1:1", [0.5, 0.2], 0.1, now=0.02) is None
    assert sup.add_expert(300, "1:1", [1.0, 0.0], now=0.02) is not None


def test_each_stamp_decided_once():
    sup = supervisor()
    assert sup.add_expert(100, "0:0", [1.0, 0.0], now=0.0) is not None
    assert sup.add_expert(100, "0:0", [1.0, 0.0], now=0.1) is None  # a re-sent observation


def test_policy_timeout_hands_the_step_to_the_expert():
    sup = supervisor(policy_timeout=0.2)
    sup.set_round(1, "abc")
    assert sup.add_expert(100, "0:0", [1.0, 0.0], now=0.0) is None
    assert sup.expire(now=0.1) == []
    [(command, record)] = sup.expire(now=0.3)
    assert record.source == "expert" and record.reason == "policy_timeout"


def test_non_finite_policy_action_is_never_sent():
    sup = supervisor(beta0=0.0)
    sup.set_round(1, "abc")
    sup.add_expert(100, "0:0", [1.0, 0.0], now=0.0)
    command, record = sup.add_policy(100, "0:0", [np.nan, 0.0], 0.1, now=0.0)
    assert np.all(np.isfinite(command)) and np.allclose(command, [1.0, 0.0])
    assert record.reason == "invalid_policy_action"


def test_commands_are_clamped_and_marked():
    sup = supervisor(beta0=0.0)
    sup.set_round(1, "abc")
    sup.add_expert(100, "0:0", [1.0, 0.0], now=0.0)
    command, record = sup.add_policy(100, "0:0", [9.0, -9.0], 0.1, now=0.0)
    assert np.allclose(command, [1.5, -2.5]) and record.clamped
    assert record.executed_action == [1.5, -2.5]


def test_emergency_stop_holds_until_explicitly_released():
    sup = supervisor(beta0=0.0)
    sup.set_round(1, "abc")
    assert sup.estop.engage("operator") and not sup.estop.engage("again")
    sup.add_expert(100, "0:0", [1.0, 0.5], now=0.0)
    command, record = sup.add_policy(100, "0:0", [0.8, 0.1], 0.1, now=0.0)
    assert np.allclose(command, [0.0, 0.0])
    assert (record.source, record.reason) == ("hold", "estop")
    assert record.expert_action == [1.0, 0.5]  # the label is still recorded
    assert sup.estop.release()
    sup.add_expert(200, "0:1", [1.0, 0.5], now=0.0)
    command, record = sup.add_policy(200, "0:1", [0.8, 0.1], 0.1, now=0.0)
    assert record.source == "policy" and np.allclose(command, [0.8, 0.1])


def test_configured_limits_and_rate_limit_by_stamp():
    import pytest

    from dagger_ros.core.config import ConfigError

    sup = supervisor(command_limits=[1.0, 1.0], max_command_rate=[5.0, 50.0])
    stamps = [0, 20_000_000, 40_000_000, 60_000_000]  # 20 ms apart
    out = [sup.add_expert(s, f"0:{i}", [1.4, -2.0], now=0.0)[0] for i, s in enumerate(stamps)]
    # linear.x: bounded to 1.0 and ramped at 5/s (0.1 per 20 ms); angular.z: bounded to -1.0
    assert np.allclose([o[0] for o in out], [0.1, 0.2, 0.3, 0.4])
    assert np.allclose([o[1] for o in out], [-1.0, -1.0, -1.0, -1.0])
    # a new episode starts from rest again
    assert np.isclose(sup.add_expert(80_000_000, "1:0", [1.4, 0.0], now=0.0)[0][0], 0.1)
    with pytest.raises(ConfigError, match="'max_command_rate' has 3 values"):
        supervisor(max_command_rate=[1.0, 1.0, 1.0])
    with pytest.raises(ConfigError, match="'command_limits' must all be positive"):
        supervisor(command_limits=[0.0, 1.0])


def test_emergency_stop_is_not_ramped_by_the_rate_limit():
    sup = supervisor(max_command_rate=[1.0, 1.0])
    for i in range(30):  # ramp up to 0.6 m/s
        sup.add_expert(i * 20_000_000, f"0:{i}", [1.0, 0.0], now=0.0)
    sup.estop.engage("test")
    command, record = sup.add_expert(30 * 20_000_000, "0:30", [1.0, 0.0], now=0.0)
    assert np.allclose(command, [0.0, 0.0]) and record.source == "hold"


# -- watchdogs ----------------------------------------------------------------------------
def test_silent_expert_is_held_explicitly_then_resumes():
    sup = supervisor(expert_timeout=0.2)
    assert sup.add_observation(100, "0:0", now=0.0) is None
    assert sup.expire(now=0.1) == []
    [(command, record)] = sup.expire(now=0.25)
    assert np.allclose(command, 0.0) and record.sent  # a hold command, never silence
    assert (record.source, record.reason, record.expert_action) == \
        ("hold", "expert_timeout", None)
    assert any("expert silent" in e for e in sup.events)
    # down: the next observation is held at once, without waiting again
    command, record = sup.add_observation(200, "0:1", now=0.3)
    assert record.reason == "expert_timeout"
    # the expert answers again: it labels and acts from its next observation on
    assert sup.add_expert(200, "0:1", [1.0, 0.0], now=0.31) is None  # 200 decided: dropped
    assert sup.dropped == 1
    sup.add_observation(300, "0:2", now=0.32)
    command, record = sup.add_expert(300, "0:2", [1.0, 0.0], now=0.33)
    assert record.source == "expert" and np.allclose(command, [1.0, 0.0])
    assert any("expert is answering again" in e for e in sup.events)


def test_silent_policy_hands_over_and_a_restarted_one_resumes():
    sup = supervisor(beta0=0.0, policy_timeout=0.2)
    sup.set_round(1, "abc")
    sup.add_observation(100, "1:0", now=0.0)
    assert sup.add_expert(100, "1:0", [1.0, 0.0], now=0.01) is None
    [(command, record)] = sup.expire(now=0.25)
    assert record.source == "expert" and record.reason == "policy_timeout"
    # down: the expert's label is acted on at once
    sup.add_observation(200, "1:1", now=0.3)
    command, record = sup.add_expert(200, "1:1", [1.0, 0.0], now=0.3)
    assert record.reason == "policy_timeout"
    # the restarted policy proposes again: it is waited for, and drives (beta 0)
    sup.add_observation(300, "1:2", now=0.4)
    assert sup.add_policy(300, "1:2", [0.3, 0.1], 0.05, now=0.41) is None
    command, record = sup.add_expert(300, "1:2", [1.0, 0.0], now=0.42)
    assert record.source == "policy" and np.allclose(command, [0.3, 0.1])


def test_delayed_inputs_are_held_and_never_sent():
    sup = supervisor(max_input_delay=0.1)
    sup.add_observation(100, "0:0", now=0.0, delay=0.005)
    command, record = sup.add_expert(100, "0:0", [1.0, 0.0], now=0.0, delay=0.9)
    assert command is None and not record.sent
    assert (record.source, record.reason) == ("hold", "stale_input")
    assert record.expert_action == [1.0, 0.0]  # the label itself is still good
    assert "0.900 s" in record.stale
    # right behind the backlog: fresh by itself, but held until stamps move 0.1 s on
    command, record = sup.add_expert(50_000_000, "0:1", [1.0, 0.0], now=0.01, delay=0.01)
    assert command is None and record.stale == "catching up after delayed inputs"
    command, record = sup.add_expert(200_000_100, "0:2", [1.0, 0.0], now=0.02, delay=0.01)
    assert command is not None and record.source == "expert"


def test_an_older_observation_decided_after_a_newer_one_is_not_sent():
    sup = supervisor(beta0=0.0)
    sup.set_round(1, "abc")
    sup.add_expert(100, "1:0", [1.0, 0.0], now=0.0)  # waits for the policy
    sup.add_expert(200, "1:1", [1.0, 0.0], now=0.01)
    assert sup.add_policy(200, "1:1", [0.2, 0.0], 0.1, now=0.02)[0] is not None
    command, record = sup.add_policy(100, "1:0", [0.2, 0.0], 0.1, now=0.03)
    assert command is None and record.reason == "stale_input"


def test_hold_is_due_when_nothing_was_sent_for_hold_after():
    sup = supervisor(hold_after=0.1)
    assert sup.hold_due(now=5.0) is None  # nothing seen yet: not in charge of a robot
    sup.add_observation(200, "0:1", now=5.0)
    sup.add_expert(200, "0:1", [1.0, 0.0], now=5.0)
    assert sup.hold_due(now=5.05) is None
    reason = sup.hold_due(now=5.3)
    assert reason.startswith("no new observation or expert")
    assert np.allclose(sup.hold_command(5.3), 0.0)


def test_asymmetric_bounds_for_position_interfaces():
    sup = supervisor(command_min=[-0.5, 0.0], command_max=[1.0, 2.0])
    command, _ = sup.add_expert(100, "0:0", [-1.0, -1.0], now=0.0)
    assert np.allclose(command, [-0.5, 0.0])
    with pytest.raises(ConfigError, match="command bounds are empty"):
        supervisor(command_min=[2.0, 0.0])


def test_a_resent_observation_gets_its_command_again():
    sup = supervisor()
    sup.add_observation(100, "0:0", now=0.0)
    command, _ = sup.add_expert(100, "0:0", [1.0, 0.0], now=0.0)
    assert np.allclose(sup.resend(100, now=0.5), command)  # the bridge never got it
    assert sup.resend(50, now=0.5) is None
    assert sup.add_observation(100, "0:0", now=0.6) is None


def test_a_resent_observation_held_as_stale_gets_its_hold_never_a_stall():
    """Lockstep: the bridge waits for this stamp's command; the stale rule sent none."""
    sup = supervisor(max_input_delay=0.1)
    sup.add_observation(100, "0:0", now=0.0)
    command, record = sup.add_expert(100, "0:0", [1.0, 0.0], now=0.0, delay=0.3)
    assert command is None and record.reason == "stale_input"
    hold = sup.resend(100, now=0.5)
    assert np.allclose(hold, 0.0) and sup.events[-1].startswith("observation 0:0 re-sent")
    assert sup.hold_due(0.55) is None  # it counts as sent
    assert np.allclose(sup.resend(100, now=1.0), 0.0)  # and again, if that was lost too


def test_an_old_stale_observation_is_never_sent_once_a_newer_command_went_out():
    sup = supervisor(max_input_delay=0.1)
    sup.add_expert(100, "0:0", [1.0, 0.0], now=0.0, delay=0.3)
    sup.add_observation(100, "0:0", now=0.0)
    stamp = 100 + 200_000_000
    sup.add_observation(stamp, "0:1", now=0.2)
    command, _ = sup.add_expert(stamp, "0:1", [1.0, 0.0], now=0.2)
    assert command is not None
    assert sup.resend(100, now=0.3) is None


def test_lockstep_late_inputs_age_nothing_and_are_acted_on():
    sup = supervisor(max_input_delay=0.1, stepping="lockstep")
    sup.add_observation(100, "0:0", now=0.0)
    command, record = sup.add_expert(100, "0:0", [1.0, 0.0], now=0.0, delay=2.0)
    assert np.allclose(command, [1.0, 0.0]) and record.source == "expert"
    with pytest.raises(ConfigError, match="unknown 'stepping' 'sometimes'"):
        supervisor(stepping="sometimes")


def position_supervisor(**extra):
    """The position arm: holds keep the measured position (observation indices 0-2)."""
    config = from_mapping(SupervisorConfig, {"task": "reach", "beta_schedule": "constant",
                                             "beta0": 1.0, "max_command_rate": [2.0] * 3,
                                             **extra})
    return Supervisor(config, np.array([-3.0] * 3), np.array([3.0] * 3), "operator",
                      hold_indices=[0, 1, 2])


def obs(q):
    return np.r_[q, np.zeros(3)]


def test_a_position_arm_holds_where_it_was_measured_never_at_zero():
    sup = position_supervisor(expert_timeout=0.2)
    q = [0.5, -1.0, 1.2]
    sup.add_observation(0, "0:0", now=0.0, values=obs(q))
    assert sup.expire(now=0.1) == []
    [(command, record)] = sup.expire(now=0.3)  # the operator is silent: a hold
    assert record.source == "hold" and np.allclose(command, q)
    sup.estop.engage("test")
    # the expert counts as down now: the observation is decided as it arrives
    command, record = sup.add_observation(20_000_000, "0:1", now=0.31,
                                          values=obs([0.6, -1.0, 1.2]))
    assert record.reason == "estop" and np.allclose(command, q)  # the hold stays put
    assert np.allclose(sup.hold_command(0.4), q)


def test_a_position_arm_not_measured_yet_is_never_commanded():
    sup = position_supervisor()
    assert sup.hold_command(0.0) is None
    sup.add_observation(0, "0:0", now=0.0)  # no values: nothing measured
    command, record = sup.add_expert(0, "0:0", None, now=0.0)
    assert command is None and not record.sent


def test_an_episode_and_a_handover_start_from_the_measured_position_rate_limited():
    sup = position_supervisor()
    q = np.array([0.5, -1.0, 1.2])
    sup.add_observation(0, "0:0", now=0.0, values=obs(q))
    command, _ = sup.add_expert(0, "0:0", q + 1.0, now=0.0)  # a jump of 1 rad per joint
    assert np.allclose(command, q + 2.0 * 0.02)  # 2 rad/s over one 20 ms tick, from q
    step = 20_000_000
    sup.add_observation(step, "0:1", now=0.02, values=obs(q))
    command, _ = sup.add_expert(step, "0:1", q + 1.0, now=0.02)
    assert np.allclose(command, q + 2.0 * 0.04)


def test_between_episodes_the_robot_is_held_or_driven_freely_by_the_operator():
    held = position_supervisor()
    held.add_observation(0, "-1:0", now=0.0, values=obs([0.1, 0.2, 0.3]))
    command, record = held.add_expert(0, "-1:0", [1.0, 1.0, 1.0], now=0.0)
    assert record.reason == "between_episodes" and np.allclose(command, [0.1, 0.2, 0.3])
    assert record.expert_action is None  # never a label
    free = position_supervisor(between_episodes="operator")
    free.set_round(1, "ck")  # a running policy is not waited for between episodes
    free.add_observation(0, "-1:0", now=0.0, values=obs([0.1, 0.2, 0.3]))
    command, record = free.add_expert(0, "-1:0", [0.12, 0.2, 0.3], now=0.0)
    assert record.reason == "free_drive" and record.source == "expert"
    assert np.allclose(command, [0.12, 0.2, 0.3]) and record.expert_action is None


def test_a_forced_hold_keeps_the_gates_verdict_on_the_label():
    # HG-DAgger labels only the states the person took over; an e-stop hold changes
    # what is executed, not whether the person's action is this state's label
    sup = supervisor(gating="human_gated")
    sup.set_round(1, "abc")
    sup.estop.engage("operator")
    sup.add_expert(100, "1:0", [1.0, 0.5], now=0.0, takeover=False)
    _, record = sup.add_policy(100, "1:0", [0.8, 0.1], 0.1, now=0.0)
    assert (record.source, record.reason, record.expert_action) == ("hold", "estop", None)
    sup.add_expert(200, "1:1", [1.0, 0.5], now=0.0, takeover=True)
    _, record = sup.add_policy(200, "1:1", [0.8, 0.1], 0.1, now=0.0)
    assert (record.source, record.reason, record.expert_action) == \
        ("hold", "estop", [1.0, 0.5])


def test_stamp_age_is_none_for_a_stamp_on_another_clock():
    from dagger_ros.core.supervisor import stamp_age

    now = 1_796_000_000 * 10**9
    assert stamp_age(now - 30_000_000, now) == pytest.approx(0.03)
    assert stamp_age(now + 5_000_000, now) == 0.0  # a little ahead: clock skew
    assert stamp_age(123 * 10**9, now) is None  # a simulation's clock from zero
    with pytest.raises(Exception, match="'delay_source' must be one of"):
        supervisor(delay_source="dds")
