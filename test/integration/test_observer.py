"""The observer and the supervisor as real processes beside a stand-in robot that publishes
only what a ros2_control arm publishes (/joint_states, a target): observations by header
stamp and max age, episodes paced by the episode services, position holds, bad input."""

import subprocess
import threading
import time

import numpy as np
import pytest
from geometry_msgs.msg import PointStamped, PoseStamped
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray, String
from std_srvs.srv import Trigger

from dagger_ros.ros import topics
from dagger_ros.ros.watch import Listener

from .rosgraph import ROOT, start, stop, write_graph

pytestmark = pytest.mark.integration
JOINTS = ["base_yaw", "shoulder_pitch", "elbow_pitch"]
Q = [0.4, -0.8, 1.1]
PROFILE = ROOT / "config" / "profiles" / "reach_position.yaml"
COMMANDS = "/forward_position_controller/commands"


class FakeArm:
    """Publishes /joint_states, the tool pose, /target and /target_offset at 50 Hz, stamped
    with the time now."""

    def __init__(self, node):
        self.node = node
        self.pub_joints = node.create_publisher(JointState, "/joint_states", 10)
        self.pub_target = node.create_publisher(PointStamped, "/target", 10)
        self.pub_tool = node.create_publisher(PoseStamped, "/tcp_pose_broadcaster/pose", 10)
        self.pub_offset = node.create_publisher(PointStamped, "/target_offset", 10)
        self.position = list(Q)
        self.target_on = True
        self.running = True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while self.running:
            stamp = self.node.get_clock().now().to_msg()
            joints = JointState(name=JOINTS, position=list(self.position),
                                velocity=[0.0] * 3, effort=[])
            joints.header.stamp = stamp
            self.pub_joints.publish(joints)
            tool = PoseStamped()
            tool.header.stamp = stamp
            tool.pose.position.x, tool.pose.position.z = 0.2, 0.3
            self.pub_tool.publish(tool)
            if self.target_on:
                target = PointStamped()
                target.header.stamp = stamp
                target.point.x, target.point.z = 0.3, 0.2
                self.pub_target.publish(target)
            offset = PointStamped()
            offset.header.stamp = stamp
            offset.point.x, offset.point.z = 0.1, -0.1
            self.pub_offset.publish(offset)
            time.sleep(0.02)

    def close(self):
        self.running = False
        self.thread.join(timeout=2)


def call(watch, name):
    client = watch.node.create_client(Trigger, name)
    assert client.wait_for_service(timeout_sec=20), name
    future = client.call_async(Trigger.Request())
    deadline = time.monotonic() + 10
    while not future.done() and time.monotonic() < deadline:
        time.sleep(0.02)
    return future.result()


def test_observations_episodes_and_position_holds_from_robot_topics(tmp_path):
    config = write_graph(tmp_path / "robot.yaml", {
        "/**": {"profile": "reach_position"},
        "observer": {"startup_grace": 1.0},
        "supervisor": {"stepping": "realtime", "expert_timeout": 0.2}})
    watch = Listener({"/dagger/observation": JointState, "/episode/event": String,
                      "/dagger/decision": String,
                      COMMANDS: Float64MultiArray})
    arm = FakeArm(watch.node)
    run = start(["dagger-ros", "run", "--config", str(config)])
    try:
        observations = lambda: watch.records(topics.OBSERVATION)  # noqa: E731
        assert watch.wait_until(lambda: len(observations()) >= 20, timeout=60)
        first = observations()[0]
        assert first.frame.startswith("-1:")  # no episode yet
        assert np.allclose(np.asarray(first.position)[:3], Q)
        # between episodes and with no operator the arm is held where it is, never at zero
        assert watch.wait_until(lambda: len(watch.messages[COMMANDS]) >= 10, 30)
        with watch.lock:
            held = [list(m.data) for m in watch.messages[COMMANDS][-5:]]
        assert np.allclose(held, [Q] * 5)
        assert call(watch, "/dagger/episode/start").success
        assert watch.wait_until(lambda: any(o.frame.startswith("0:") for o in observations()),
                                timeout=10)
        time.sleep(0.3)
        assert call(watch, "/dagger/episode/success").message == "episode 0 ended"
        assert watch.wait_until(lambda: any(e.EVENT == "end" for e in watch.events()), 10)
        [end] = [e for e in watch.events() if e.EVENT == "end"]
        steps = [o for o in observations() if o.frame.startswith("0:")]
        assert (end.outcome, end.steps) == ("success", len(steps))
        assert [int(o.frame.split(":")[1]) for o in steps] == list(range(end.steps))
        # a target that stops: no observation, the topic named, the arm still held
        arm.target_on = False
        n = len(observations())
        time.sleep(1.5)
        assert len(observations()) <= n + 30  # at most the 0.5 s max_age's worth
        decisions = watch.records(topics.DECISION)
        # held throughout (a start-up hiccup may also make an input stale: held, not sent)
        assert {d.reason for d in decisions} <= {"between_episodes", "expert_timeout",
                                                 "no_label", "stale_input"}
        assert all(np.allclose(d.executed_action, Q) for d in decisions)
        arm.position = [0.4, float("nan"), 1.1]  # NaN in /joint_states
        arm.target_on = True
        time.sleep(2.5)  # past the 2 s throttle of the observer's warning
    finally:
        out, err = stop(run)
        arm.close()
        watch.close()
    assert "no observation: /target is" in out
    assert "no observation: /joint_states carries NaN/Inf in shoulder_pitch.position" in out


def test_a_gamepad_jogs_the_position_arm_and_releasing_it_holds(tmp_path):
    from sensor_msgs.msg import Joy

    config = write_graph(tmp_path / "robot.yaml", {
        "/**": {"profile": "reach_position"},
        "observer": {},
        "expert": {"source": "joy"},
        "supervisor": {"stepping": "realtime", "beta_schedule": "constant", "beta0": 1.0,
                       "label_source": "operator/test"}})
    watch = Listener({"/dagger/decision": String, COMMANDS: Float64MultiArray})
    arm = FakeArm(watch.node)
    pub = watch.node.create_publisher(Joy, "/joy", 10)
    run = start(["dagger-ros", "run", "--config", str(config)])
    stick = {"deadman": 1}

    def pad():
        while arm.running:
            joy = Joy(axes=[0.0] * 8, buttons=[0] * 11)
            joy.axes[1] = 1.0  # LY, full: base_yaw at its max_rate
            joy.buttons[4] = stick["deadman"]  # LB
            joy.header.stamp = watch.node.get_clock().now().to_msg()
            pub.publish(joy)
            time.sleep(0.02)

    threading.Thread(target=pad, daemon=True).start()
    try:
        assert call(watch, "/dagger/episode/start").success
        driven = lambda: [d for d in watch.records(topics.DECISION)  # noqa: E731
                          if d.source == "expert" and not d.frame.startswith("-1:")]
        assert watch.wait_until(lambda: len(driven()) >= 20, timeout=60)
        stick["deadman"] = 0
        time.sleep(1.0)
        after = watch.records(topics.DECISION)[-10:]
    finally:
        stop(run)
        arm.close()
        watch.close()
    jogged = np.array([d.executed_action for d in driven()[-10:]])
    assert np.allclose(jogged, [Q[0] + 2.0 * 0.02, Q[1], Q[2]])  # one period at 2 rad/s
    assert all(np.allclose(d.expert_action, d.executed_action) for d in driven()[-10:])
    assert {d.reason for d in after} == {"no_label"}  # deadman released: held ...
    assert all(np.allclose(d.executed_action, Q) for d in after)  # ... where it is


def test_a_profile_naming_a_joint_the_robot_lacks_stops_the_observer_naming_it(tmp_path):
    profile = tmp_path / "arm.yaml"
    text = PROFILE.read_text()
    profile.write_text(text.replace("elbow_pitch]", "wrist]"))
    config = write_graph(tmp_path / "o.yaml", {"observer": {"profile": str(profile)}})
    watch = Listener({"/dagger/observation": JointState})
    arm = FakeArm(watch.node)
    try:
        proc = subprocess.run(["observer", "--ros-args", "--params-file", str(config)],
                              capture_output=True, text=True, timeout=60)
    finally:
        arm.close()
        watch.close()
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert ("/joint_states has no joint 'wrist' (the profile's position field); its "
            "joints: base_yaw, shoulder_pitch, elbow_pitch") in proc.stdout + proc.stderr


def test_an_unknown_message_type_in_the_profile_is_named(tmp_path):
    profile = tmp_path / "arm.yaml"
    text = PROFILE.read_text()
    profile.write_text(text.replace("geometry_msgs/PointStamped", "geometry_msgs/Pointy"))
    config = write_graph(tmp_path / "o.yaml", {"observer": {"profile": str(profile)}})
    proc = subprocess.run(["observer", "--ros-args", "--params-file", str(config)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "unknown message type 'geometry_msgs/msg/Pointy' for /target" in proc.stderr
