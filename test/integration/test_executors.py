"""What the executor choice rests on (ros/run.py): rclpy's EventsExecutor, which nodes run
by default, cannot give a subscription callback its MessageInfo (the lockstep graph's old
"hang": the supervisor died at its first observation); it keeps up with a flood from
another process and still stops on SIGTERM; a supervisor that must judge input delays
refuses it by name; and a lockstep bridge hosting expert, policy and supervisor runs
every step with every frame recorded."""

import os
import re
import signal
import subprocess
import sys
import textwrap

import pytest

from .rosgraph import start, write_graph

pytestmark = pytest.mark.integration

INFO_PROBE = textwrap.dedent("""
    import sys, rclpy
    from rclpy.experimental import EventsExecutor
    from std_msgs.msg import String
    rclpy.init()
    node = rclpy.create_node("probe")
    got = []
    node.create_subscription(String, "/probe", lambda m, info: got.append(info), 10)
    pub = node.create_publisher(String, "/probe", 10)
    node.create_timer(0.01, lambda: pub.publish(String(data="x")))
    executor = EventsExecutor()
    executor.add_node(node)
    try:
        for _ in range(30):
            executor.spin_once(timeout_sec=0.1)
        print("delivered", len(got))
    except SystemError as exc:
        print("SystemError", exc)
    rclpy.shutdown()
""")


def test_rclpy_events_executor_cannot_give_a_callback_its_message_info():
    """If this fails, rclpy fixed it: the supervisor could then judge delays under the
    EventsExecutor too (see SupervisorNode.preferred_executor)."""
    out = subprocess.run([sys.executable, "-c", INFO_PROBE], capture_output=True, text=True,
                         timeout=60)
    assert "SystemError" in out.stdout, out.stdout + out.stderr


FLOOD_NODE = textwrap.dedent("""
    from rclpy.node import Node
    from std_msgs.msg import Int64
    from dagger_ros.ros import qos
    from dagger_ros.ros.run import run_node

    class Counter(Node):
        def __init__(self, argv):
            super().__init__("counter")
            self.count = 0
            self.create_subscription(Int64, "/flood", self.on_msg, qos.EVERY_SAMPLE)
            print("ready", flush=True)

        def on_msg(self, msg):
            self.count += 1
            if msg.data < 0:
                print("got", self.count, flush=True)

    run_node("counter", Counter)
""")

FLOOD = textwrap.dedent("""
    import time, rclpy
    from std_msgs.msg import Int64
    from dagger_ros.ros import qos
    rclpy.init()
    node = rclpy.create_node("flood")
    pub = node.create_publisher(Int64, "/flood", qos.EVERY_SAMPLE)
    deadline = time.monotonic() + 30
    while pub.get_subscription_count() < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    for i in range(20000):
        pub.publish(Int64(data=i))
    pub.publish(Int64(data=-1))
    pub.wait_for_all_acked(rclpy.duration.Duration(seconds=30))
    rclpy.shutdown()
""")


def test_an_events_executor_node_keeps_up_with_a_flood_and_stops_on_sigterm(tmp_path):
    counter = start([sys.executable, "-c", FLOOD_NODE],
                    env={**os.environ, "DAGGER_ROS_EXECUTOR": "events"})
    assert "ready" in counter.stdout.readline()
    flood = subprocess.run([sys.executable, "-c", FLOOD], timeout=120, capture_output=True,
                           text=True)
    assert flood.returncode == 0, flood.stderr
    line = counter.stdout.readline()
    assert line.startswith("got 20001"), line  # every message, none lost, no hang
    counter.send_signal(signal.SIGTERM)
    assert counter.wait(timeout=15) == 0


def test_a_supervisor_judging_delays_refuses_the_events_executor_by_name(tmp_path):
    config = write_graph(tmp_path / "s.yaml", {"supervisor": {
        "task": "drive", "stepping": "realtime", "max_input_delay": 0.1}})
    proc = subprocess.run(["supervisor", "--ros-args", "--params-file", str(config)],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "DAGGER_ROS_EXECUTOR": "events"})
    assert proc.returncode == 2
    assert "delay_source 'source_timestamp' needs each input's MessageInfo" in proc.stderr
    assert "DAGGER_ROS_EXECUTOR" in proc.stderr


def test_a_lockstep_bridge_hosting_the_graph_records_every_step(tmp_path):
    from dagger_ros.core.recording import read_provenance

    config = write_graph(tmp_path / "g.yaml", {
        "/**": {"task": "drive", "stepping": "lockstep"},
        "mujoco_bridge": {"episodes": 2, "wait_for_nodes": ["recorder"],
                          "in_process": ["expert", "policy", "supervisor"]},
        "expert": {}, "policy": {}, "supervisor": {},
        "recorder": {"dataset_root": str(tmp_path / "dataset")}})
    run = subprocess.run(["dagger-ros", "run", "--config", str(config)], capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "running expert, policy, supervisor in this process" in run.stdout
    assert "starting mujoco_bridge, recorder with" in run.stdout  # two processes
    saved = read_provenance(tmp_path / "dataset", "local/dagger_ros")
    steps = [int(s) for s in re.findall(r"after (\d+) steps", run.stdout)]
    assert [p.frames for p in saved] == steps and len(steps) == 2
