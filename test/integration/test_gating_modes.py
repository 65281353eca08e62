"""Every gating mode through the real nodes (bridge, expert, policy, supervisor), and the
gamepad path: the simulated operator's sensor_msgs/Joy through the expert node."""

import time

import numpy as np
import pytest
from sensor_msgs.msg import JointState, Joy
from std_msgs.msg import String

from dagger_ros.ros import qos
from dagger_ros.ros.watch import Listener

from .rosgraph import start, stop
from .test_fault_panel import announce_round, decisions, graph

pytestmark = pytest.mark.integration


def run_mode(tmp_path, supervisor, steps=300, nodes=("mujoco_bridge", "expert", "policy",
                                                     "supervisor"), **sections):
    bridge = sections.setdefault("mujoco_bridge", {})  # this test hears every decision
    bridge["wait_for_nodes"] = [*bridge.get("wait_for_nodes", ["policy"]), "test_listener"]
    config, ckpt = graph(tmp_path, nodes=nodes, supervisor=supervisor, **sections)
    watch = Listener({"/dagger/decision": String, "/dagger/observation": JointState})
    run = start(["dagger-ros", "run", "--config", str(config)])
    # the mode under test, once the announced round applies: before it, the policy drives
    # from its YAML checkpoint (round 0), and a start-up frame can be held for an expert
    # still matching the bridge (expert_timeout), which is the watchdogs' test, not this one
    judged = lambda: [d for d in decisions(watch)  # noqa: E731
                      if d.policy_action is not None and d.round >= 1]
    proposed = lambda: bool(judged())  # noqa: E731
    try:
        for _ in range(30):  # the trainer's announcement is latched; re-sent like a retry
            announce_round(watch, ckpt)
            if watch.wait_until(proposed, timeout=3.0):
                break
        assert watch.wait_until(lambda: len(judged()) >= steps, timeout=120)
        every = decisions(watch)
    finally:
        stdout, err = stop(run)
        watch.close()
    assert all(d.gating == supervisor["gating"] for d in every)
    return [d for d in every if d.policy_action is not None and d.round >= 1], every


def test_safe_mode_expert_takes_over_on_discrepancy(tmp_path):
    out, _ = run_mode(tmp_path, {"gating": "safe", "safe_threshold": 0.3})
    assert {d.reason for d in out} <= {"discrepancy", "handback"}
    took = [d for d in out if d.source == "expert"]
    assert took and all(d.value > 0.3 * 0.5 and d.threshold in (0.3, 0.15)
                        for d in took)
    assert all(d.expert_action is not None for d in out)  # the expert labels every state
    assert any(d.intervention for d in out)


def test_uncertainty_mode_labels_only_where_the_expert_is_asked(tmp_path):
    # the constant policy's members agree exactly (spread 0): below any threshold
    out, _ = run_mode(tmp_path, {"gating": "uncertainty", "uncertainty_threshold": 0.05})
    assert {d.reason for d in out} == {"uncertainty"}
    assert all(d.source == "policy" and d.expert_action is None for d in out)
    assert all(d.threshold == 0.05 and d.value == 0.0 for d in out)


def test_noise_mode_executes_the_expert_with_noise_and_records_it_clean(tmp_path):
    out, _ = run_mode(tmp_path, {"gating": "noise", "noise_scale": 1.0})
    assert {d.reason for d in out} == {"dart_noise"}
    executed = np.array([d.executed_action for d in out])
    label = np.array([d.expert_action for d in out])
    assert np.all(np.abs(executed - label).max(axis=1) > 0)  # noise went to the robot
    assert np.std(executed - label, axis=0)[0] > 0.05  # scaled to the policy's error


def test_budget_mode_asks_while_its_budget_lasts_then_stops(tmp_path):
    # (the exact count is unit-tested; a listener may join after the first decisions)
    out, every = run_mode(tmp_path, {"gating": "budget", "label_budget": 40}, steps=300)
    assert sum(d.expert_action is not None for d in every) <= 40
    first = next(i for i, d in enumerate(every) if d.reason == "budget_exhausted")
    assert all(d.expert_action is None for d in every[first:])  # no label after that
    assert every[-1].reason == "budget_exhausted" and every[-1].source == "policy"


def test_human_gated_with_the_simulated_operator_through_joy(tmp_path):
    out, _ = run_mode(
        tmp_path, {"gating": "human_gated", "label_source": "operator/sim"}, steps=600,
        nodes=("mujoco_bridge", "sim_operator", "expert", "policy", "supervisor"),
        mujoco_bridge={"max_episode_steps": 1500, "wait_for_nodes": ["policy", "expert"]},
        expert={"source": "joy", "joy_sync": True},
        sim_operator={"reaction_delay": 0.1, "takeover_deviation": 0.2,
                      "handback_deviation": 0.05})
    reasons = {d.reason for d in out}
    assert {"operator_takeover", "autonomous"} <= reasons
    assert any(d.intervention for d in out)
    for d in out:  # labels exactly where the operator had control
        assert (d.expert_action is not None) == (d.reason == "operator_takeover")
    assert {d.label_source for d in out} == {"operator/sim"}


def test_bad_joy_message_is_named_and_the_robot_held(tmp_path):
    config, ckpt = graph(tmp_path, nodes=("mujoco_bridge", "expert", "supervisor"),
                         mujoco_bridge={"stepping": "realtime", "max_episode_steps": 100000,
                                        "wait_for_nodes": [], "wait_for_expert": False},
                         expert={"source": "joy"})
    watch = Listener({"/dagger/decision": String})
    run = start(["dagger-ros", "run", "--config", str(config)])
    try:
        pub = watch.node.create_publisher(Joy, "/joy", qos.STREAM)
        deadline = time.monotonic() + 30
        while pub.get_subscription_count() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        for i in range(20):  # a pad with two axes where the xbox mapping needs four
            msg = Joy(axes=[0.5, 0.5], buttons=[0] * 11)
            msg.header.stamp.sec = i + 1
            pub.publish(msg)
            time.sleep(0.05)
        assert watch.wait_until(lambda: len(decisions(watch)) >= 20, timeout=30)
        held = decisions(watch)[-10:]
    finally:
        out, err = stop(run)
        watch.close()
    assert "Joy message on /joy has 2 axes; the 'xbox' mapping needs 4" in out
    assert all(d.source == "hold" and d.executed_action == [0.0, 0.0] for d in held)
    assert {d.reason for d in held} <= {"no_label", "expert_timeout"}


def test_async_mode_queues_the_policys_states_unlabelled(tmp_path):
    out, _ = run_mode(tmp_path, {"gating": "async"})
    assert {d.reason for d in out} == {"async_queued"}
    assert all(d.source == "policy" and d.expert_action is None for d in out)


def test_gamepad_buttons_start_mark_and_end_episodes(tmp_path):
    config, _ = graph(tmp_path, nodes=("mujoco_bridge", "expert", "supervisor"),
                      mujoco_bridge={"stepping": "realtime", "auto_reset": False,
                                     "wait_for_nodes": [], "wait_for_expert": False},
                      expert={"source": "joy"}, supervisor={"beta0": 1.0})
    watch = Listener({"/episode/event": String, "/dagger/decision": String})
    run = start(["dagger-ros", "run", "--config", str(config)])
    pub = watch.node.create_publisher(Joy, "/joy", qos.STREAM)
    stamp = [0]

    def press(*buttons, repeat=5):
        for _ in range(repeat):  # a pad sends its state at a steady rate
            stamp[0] += 1
            msg = Joy(axes=[0.0] * 8, buttons=[0] * 11)
            msg.buttons[4] = 1  # LB: deadman held
            for b in buttons:
                msg.buttons[b] = 1
            msg.header.stamp.sec = stamp[0]
            pub.publish(msg)
            time.sleep(0.04)

    try:
        deadline = time.monotonic() + 30
        while pub.get_subscription_count() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        started = lambda: any(e.EVENT == "start" for e in watch.events())  # noqa: E731
        for _ in range(20):  # as a person would, press again until something happens
            press()
            press(7)  # START
            if watch.wait_until(started, timeout=1.0):
                break
        assert started()
        press()
        assert watch.wait_until(lambda: len(decisions(watch)) >= 10, timeout=30)
        press(0)  # A: success
        press(6)  # BACK: end
        assert watch.wait_until(lambda: any(e.EVENT == "end" for e in watch.events()),
                                timeout=30)
        assert watch.wait_until(lambda: any(e.EVENT == "end" and e.outcome == "success"
                                            for e in watch.events()), timeout=10)
        end = [e for e in watch.events() if e.EVENT == "end"][-1]
    finally:
        out, err = stop(run)
        watch.close()
    # a START pressed again (as a person does when nothing seems to happen) aborts and
    # restarts; the episode ended by BACK is the one marked
    assert end.outcome == "success"
    assert "operator pressed 'start'" in out
    assert f"operator ended episode {end.episode}: success" in out
