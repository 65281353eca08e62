"""Position safety with real processes: the position-controlled arm of the hardware-shaped
simulator, driven by a policy through the robot graph (observer, gamepad expert, policy,
supervisor). When the policy is killed mid-motion, and when the e-stop is engaged, the arm
stops where it was measured: every command is near the measured position, never zero."""

import os
import signal
import time

import numpy as np
import pytest
from sensor_msgs.msg import JointState, Joy
from std_msgs.msg import Float64MultiArray, String
from std_srvs.srv import SetBool, Trigger

from dagger_ros.core.policy_model import save_checkpoint
from dagger_ros.core.profile import load_profile
from dagger_ros.core.teleop import JoyConfig, JoyMapping
from dagger_ros.core.training import TrainConfig, train_ensemble
from dagger_ros.launcher import node_processes
from dagger_ros.ros import qos, topics

from .rosgraph import Listener, start, stop, write_graph

pytestmark = pytest.mark.integration
COMMANDS = "/forward_position_controller/commands"
STEP = 0.03  # rad per tick the policy moves base_yaw: 1.5 rad/s commanded


def sweeping_policy(folder):
    """A checkpoint that turns the base steadily: each command is the measured position
    plus STEP on base_yaw (learned as an offset, like every position policy)."""
    profile = load_profile("reach_position")
    rng = np.random.default_rng(0)
    obs = rng.normal(scale=0.5, size=(600, len(profile.observation_names)))
    actions = obs[:, :3] + np.array([STEP, 0.0, 0.0])
    policy, _ = train_ensemble(obs, actions, np.arange(600) // 100, profile.observation_names,
                               profile.action_names, TrainConfig(max_steps=600, threads=1),
                               relative_to=[0, 1, 2])
    return save_checkpoint(policy, folder, {"name": "sweep"})


def call(node, kind, name, request):
    client = node.create_client(kind, name)
    assert client.wait_for_service(timeout_sec=30), name
    future = client.call_async(request)
    deadline = time.monotonic() + 10
    while not future.done() and time.monotonic() < deadline:
        time.sleep(0.02)
    return future.result()


def positions(watch, since=0):
    return np.array([m.position for m in watch.messages["/joint_states"][since:]])


def commands(watch, since=0):
    return np.array([m.data for m in watch.messages[COMMANDS][since:]])


def assert_held(watch, q_stop, joints_since, commands_since, what):
    """After a stop at measured position q_stop: the arm comes to rest near it and every
    command sent is near where the arm was measured, none of them zero."""
    sent = commands(watch, commands_since)
    assert len(sent) >= 20, f"{what}: the supervisor went silent instead of holding"
    assert not np.any(np.all(np.abs(sent) < 1e-6, axis=1)), f"{what}: a zero command"
    assert np.max(np.abs(sent - q_stop)) < 0.25, f"{what}: a command far from the arm"
    q = positions(watch, joints_since)
    assert np.max(np.abs(q - q_stop)) < 0.25, f"{what}: the arm moved on"
    speeds = np.array([m.velocity for m in watch.messages["/joint_states"][-10:]])
    assert np.max(np.abs(speeds)) < 0.05, f"{what}: the arm is still moving"
    assert np.max(np.abs(sent[-5:] - q[-1])) < 0.02  # holding where it is measured


def robot_graph(tmp_path, **supervisor):
    """The robot graph on the position arm, the policy sweeping, a pad held by this
    process (deadman, no take-over): (graph file, listener)."""
    ckpt = sweeping_policy(tmp_path / "checkpoints")
    config = write_graph(tmp_path / "g.yaml", {
        "/**": {"profile": "reach_position", "stepping": "realtime"},
        "mujoco_bridge": {"exposes": "hardware", "task": "reach_position",
                          "controller_name": "forward_position_controller",
                          "control_rate_hz": 50.0, "seed": 4},
        "observer": {"startup_grace": 3.0},
        "expert": {"source": "joy", "joy_preset": "xbox"},
        "policy": {"checkpoint": str(ckpt)},
        "supervisor": {"gating": "human_gated", "label_source": "operator/test",
                       "between_episodes": "hold", "expert_timeout": 0.5, **supervisor}})
    watch = Listener({"/joint_states": JointState, COMMANDS: Float64MultiArray,
                      "/dagger/decision": String})
    pad = watch.node.create_publisher(Joy, "/joy", qos.STREAM)
    mapping = JoyMapping(JoyConfig(joy_preset="xbox"), ["a", "b", "c"], -np.ones(3),
                         np.ones(3))
    axes, buttons = mapping.encode(np.zeros(3), False)  # deadman held, sticks still

    def press():
        msg = Joy(axes=axes, buttons=buttons)
        msg.header.stamp = watch.node.get_clock().now().to_msg()
        pad.publish(msg)

    watch.node.create_timer(0.02, press)
    return config, watch


def test_a_killed_policy_and_the_estop_hold_the_position_arm_where_it_is(tmp_path):
    config, watch = robot_graph(tmp_path)
    run = start(["dagger-ros", "run", "--config", str(config)])
    try:
        assert call(watch.node, Trigger, "/dagger/episode/start", Trigger.Request()).success
        def driven():
            return [d for d in watch.records(topics.DECISION) if d.source == "policy"]

        if not watch.wait_until(lambda: len(driven()) >= 25, timeout=60):
            seen = {(d.source, d.reason) for d in watch.records(topics.DECISION)}
            raise AssertionError(f"the policy never drove; decisions: {seen}")
        start_yaw = positions(watch)[-1][0]
        assert watch.wait_until(lambda: abs(positions(watch)[-1][0] - start_yaw) > 0.2, 30)
        # mid-motion: the policy dies
        speed = watch.messages["/joint_states"][-1].velocity[0]
        assert abs(speed) > 0.2, "not moving when the policy was killed"
        j0, c0 = len(watch.messages["/joint_states"]), len(watch.messages[COMMANDS])
        q_kill = positions(watch)[-1]
        os.kill(node_processes(run.pid)["policy"], signal.SIGKILL)
        time.sleep(0.8)  # before the launcher's respawn (1 s) brings it back
        assert_held(watch, q_kill, j0, c0, "policy killed")
        # the policy comes back and drives again; then the e-stop
        n = len(driven())
        assert watch.wait_until(lambda: len(driven()) >= n + 20, timeout=60)
        j1, c1 = len(watch.messages["/joint_states"]), len(watch.messages[COMMANDS])
        q_stop = positions(watch)[-1]
        reply = call(watch.node, SetBool, topics.ESTOP_SERVICE.name, SetBool.Request(data=True))
        assert reply.success
        time.sleep(1.0)
        assert_held(watch, q_stop, j1, c1, "e-stop")
        held = [d for d in watch.records(topics.DECISION) if d.reason == "estop"]
        assert held and all(np.max(np.abs(np.array(d.executed_action) - q_stop)) < 0.25
                            for d in held)
    finally:
        out, err = stop(run)
        watch.close()
    assert "policy" in out + err


def test_judged_by_stamps_a_paused_supervisor_sends_nothing_stale_and_no_burst(tmp_path):
    """delay_source 'stamp' (config/robot.yaml's): after the supervisor stalls for a
    second, what queued meanwhile is older than max_input_delay by its stamps: recorded
    stale, never sent, and the arm gets no burst of old commands."""
    config, watch = robot_graph(tmp_path, delay_source="stamp", max_input_delay=0.1)
    run = start(["dagger-ros", "run", "--config", str(config)])
    try:
        assert call(watch.node, Trigger, "/dagger/episode/start", Trigger.Request()).success
        assert watch.wait_until(lambda: sum(d.source == "policy" for d in
                                            watch.records(topics.DECISION)) >= 25, 60)
        supervisor = node_processes(run.pid)["supervisor"]
        os.kill(supervisor, signal.SIGSTOP)
        time.sleep(1.0)
        resumed = time.monotonic()
        n = len(watch.records(topics.DECISION))
        os.kill(supervisor, signal.SIGCONT)
        assert watch.wait_until(lambda: len(watch.records(topics.DECISION)) >= n + 60, 30)
        after = watch.records(topics.DECISION)[n:]
        with watch.lock:
            arrivals = [t for t in watch.arrivals[COMMANDS] if t > resumed]
    finally:
        out, err = stop(run)
        watch.close()
    stale = [d for d in after if d.reason == "stale_input"]
    assert len(stale) >= 20 and not any(d.sent for d in stale), \
        f"{len(stale)} stale of {len(after)}: {sorted({d.reason.value for d in after})}"
    assert "s late (max_input_delay 0.1 s, by stamp)" in out + err
    burst = [t for t in arrivals if t - arrivals[0] < 0.1]
    assert len(burst) <= 8, f"{len(burst)} commands within 100 ms after the pause"
