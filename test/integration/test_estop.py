"""Emergency stop through real nodes: it latches, holds explicitly, and only the service
releases it."""

import time

import numpy as np
import pytest
from sensor_msgs.msg import JointState
from std_msgs.msg import Bool, String
from std_srvs.srv import SetBool

from dagger_ros.ros import qos, topics
from dagger_ros.ros.watch import Listener

from .rosgraph import start, stop, write_graph

pytestmark = pytest.mark.integration


def decisions(watch):
    return watch.records(topics.DECISION)


def test_estop_latches_holds_and_releases_only_by_service(tmp_path):
    config = write_graph(tmp_path / "g.yaml", {
        "mujoco_bridge": {"task": "reach", "max_episode_steps": 100000},
        "expert": {"task": "reach"},
        "supervisor": {"task": "reach", "beta_schedule": "constant", "beta0": 1.0}})
    watch = Listener({"/dagger/decision": String, "/joint_states": JointState,
                      "/dagger/estop/state": Bool})
    run = start(["dagger-ros", "run", "--config", str(config)])
    try:
        assert watch.wait_until(lambda: len(decisions(watch)) >= 20, timeout=60)
        engage = watch.node.create_publisher(Bool, "/dagger/estop", qos.STREAM)
        deadline = time.monotonic() + 20
        while engage.get_subscription_count() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        engage.publish(Bool(data=True))
        assert watch.wait_until(lambda: decisions(watch)[-1].source == "hold", timeout=20)
        engage.publish(Bool(data=False))  # must not release
        n = len(decisions(watch))
        assert watch.wait_until(lambda: len(decisions(watch)) >= n + 50, timeout=20)
        held = decisions(watch)[n:]
        assert {d.source for d in held} == {"hold"}  # still held, and never silent
        assert {d.reason for d in held} == {"estop"}
        assert all(d.executed_action == [0.0, 0.0, 0.0] for d in held)
        seen = len(watch.messages["/joint_states"])
        assert watch.wait_until(lambda: len(watch.messages["/joint_states"]) >= seen + 10,
                                timeout=20), "no /joint_states while held"
        speeds = np.array([m.velocity for m in watch.messages["/joint_states"][-10:]])
        assert np.max(np.abs(speeds)) < 0.05  # the arm stands still
        client = watch.node.create_client(SetBool, "/dagger/estop")
        assert client.wait_for_service(timeout_sec=20)
        future = client.call_async(SetBool.Request(data=False))
        deadline = time.monotonic() + 10
        while not future.done() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert future.result().message == "released"
        assert watch.wait_until(lambda: decisions(watch)[-1].source == "expert", timeout=20)
        states = [m.data for m in watch.messages["/dagger/estop/state"]]
        assert states[-2:] == [True, False]
    finally:
        out, err = stop(run)
        watch.close()
    assert "emergency stop ENGAGED by /dagger/estop topic" in out
