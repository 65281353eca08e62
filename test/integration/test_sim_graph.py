"""The bridge and the expert as real processes on this run's own ROS domain."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import numpy as np
import psutil
import pytest
from sensor_msgs.msg import JointState
from std_msgs.msg import String

from .rosgraph import Listener, start, stop, write_graph

pytestmark = pytest.mark.integration

EVENT = "/episode/event"


def ends(listener):
    return [e for e in listener.events() if e.EVENT == "end"]


def graph(tmp_path, task, **bridge):
    return write_graph(tmp_path / f"{task}.yaml", {
        # this test's listener, and the expert (wait_for_expert) listen before episode 0
        "mujoco_bridge": {"task": task, "seed": 500, "stepping": "lockstep",
                          "wait_for_subscribers": 1, **bridge},
        "expert": {"task": task, "drive_robot": True},
    })


@pytest.fixture
def listener():
    watcher = Listener({EVENT: String, "/joint_states": JointState,
                        "/dagger/observation": JointState, "/dagger/expert/action": JointState})
    yield watcher
    watcher.close()


@pytest.mark.parametrize("task, episodes", [("reach", 10), ("drive", 2)])
def test_expert_solves_seeded_episodes_through_ros(tmp_path, listener, task, episodes):
    run = start(["dagger-ros", "run", "--config", str(graph(tmp_path, task,
                                                          episodes=episodes))])
    out, err = run.communicate(timeout=240)
    assert run.returncode == 0, out + err
    assert listener.wait_until(lambda: len(ends(listener)) == episodes, timeout=10)
    done = ends(listener)
    assert [e.seed for e in done] == list(range(500, 500 + episodes))
    assert all(e.outcome == "success" for e in done), done
    last = listener.events()[-1]
    assert last.EVENT == "finished" and last.episodes == episodes


def test_expert_answers_name_the_observation_they_answer(tmp_path, listener):
    run = start(["dagger-ros", "run", "--config", str(graph(tmp_path, "drive", episodes=0))])

    def stamps(topic):
        with listener.lock:
            return [(m.header.stamp.sec, m.header.stamp.nanosec)
                    for m in listener.messages[topic]]

    def answered_after_first_observation():
        obs = stamps("/dagger/observation")
        return [a for a in stamps("/dagger/expert/action") if obs and a >= obs[0]]

    try:
        # discovery can be slow under load: wait until this reader sees a stream of answers
        assert listener.wait_until(lambda: len(answered_after_first_observation()) >= 200,
                                   timeout=90)
    finally:
        stop(run)
    observed = set(stamps("/dagger/observation"))
    # the expert answers the privileged observation, published just before the learner's:
    # a stop between the two leaves one answer newer than any observation heard
    answers = [a for a in answered_after_first_observation() if a <= max(observed)]
    assert set(answers) <= observed  # each answer carries the stamp of an observation
    assert len(answers) >= 200


def test_lockstep_same_seed_same_episodes(tmp_path, listener):
    config = graph(tmp_path, "reach", episodes=4)
    results = []
    for _ in range(2):
        before = len(ends(listener))
        run = start(["dagger-ros", "run", "--config", str(config)])
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, out + err
        assert listener.wait_until(lambda b=before: len(ends(listener)) == b + 4, timeout=10)
        results.append([(e.seed, e.steps, e.episode_return)
                        for e in ends(listener)[before:]])
    assert results[0] == results[1]


def test_realtime_without_commands_stops_the_arm(tmp_path, listener):
    config = write_graph(tmp_path / "rt.yaml", {"mujoco_bridge": {
        "task": "reach", "wait_for_subscribers": 1, "wait_for_expert": False,
        "stepping": "realtime",
        "control_rate_hz": 100.0,
        "stale_command": "zero", "command_timeout": 0.05}})
    run = start(["dagger-ros", "run", "--config", str(config)])
    try:
        assert listener.wait_until(lambda: len(listener.messages["/joint_states"]) >= 150,
                                   timeout=30)
    finally:
        out, err = stop(run)
    late = listener.messages["/joint_states"][50:150]
    speeds = np.array([m.velocity for m in late])
    assert np.max(np.abs(speeds)) < 0.05  # zero velocity commanded: the arm holds still
    gaps = np.diff(listener.arrivals["/joint_states"][50:150])
    assert 0.005 < np.median(gaps) < 0.02  # it keeps publishing at its rate, never silent


def test_realtime_expert_still_succeeds(tmp_path, listener):
    config = graph(tmp_path, "reach", episodes=3, stepping="realtime")
    run = start(["dagger-ros", "run", "--config", str(config)])
    out, err = run.communicate(timeout=120)
    assert run.returncode == 0, out + err
    assert listener.wait_until(lambda: len(ends(listener)) == 3, timeout=10)
    assert sum(e.outcome == "success" for e in ends(listener)) >= 2


def test_reset_service_starts_next_seed(tmp_path, listener):
    from std_srvs.srv import Trigger

    config = write_graph(tmp_path / "idle.yaml", {"mujoco_bridge": {
        "task": "reach", "seed": 40, "wait_for_subscribers": 1, "wait_for_expert": False}})
    run = start(["dagger-ros", "run", "--config", str(config)])
    try:
        client = listener.node.create_client(Trigger, "/sim/reset")
        assert client.wait_for_service(timeout_sec=30)
        assert listener.wait_until(lambda: listener.events(), timeout=30)  # episode 0 began
        future = client.call_async(Trigger.Request())
        deadline = time.monotonic() + 10
        while not future.done() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert future.done() and future.result().success
        assert future.result().message == "episode 1 seed 41"
        assert listener.wait_until(lambda: any(getattr(e, "outcome", None) == "aborted"
                                               for e in listener.events()), timeout=10)
        starts = [e.seed for e in listener.events() if e.EVENT == "start"]
        assert starts[:2] == [40, 41]
    finally:
        stop(run)


def children(proc) -> dict[str, psutil.Process]:
    found = {}
    for child in psutil.Process(proc.pid).children(recursive=True):
        try:
            cmd = " ".join(child.cmdline())
        except psutil.NoSuchProcess:
            continue
        for name in ("mujoco_bridge", "expert"):
            if f"/{name} " in cmd:
                found[name] = child
    return found


def test_a_node_dying_is_named_and_the_rest_stopped(tmp_path, listener):
    run = start(["dagger-ros", "run", "--config", str(graph(tmp_path, "reach", episodes=0))])
    assert listener.wait_until(lambda: len(ends(listener)) >= 2, timeout=60)
    nodes = children(run)
    assert set(nodes) == {"mujoco_bridge", "expert"}
    nodes["mujoco_bridge"].send_signal(signal.SIGKILL)  # critical: the run stops
    out, err = run.communicate(timeout=60)
    assert run.returncode == 1
    assert "node 'mujoco_bridge' died with exit code -9" in err
    assert not nodes["expert"].is_running()


def test_ctrl_c_stops_every_node_cleanly(tmp_path, listener):
    run = start(["dagger-ros", "run", "--config", str(graph(tmp_path, "reach", episodes=0))])
    assert listener.wait_until(lambda: len(ends(listener)) >= 1, timeout=60)
    nodes = children(run)
    out, err = stop(run, signal.SIGINT)
    assert run.returncode == 0, err
    assert "did not stop cleanly" not in err
    assert not any(p.is_running() for p in nodes.values())


@pytest.mark.parametrize("params, culprit", [
    ({"taks": "reach"}, "unknown key 'taks'"),
    ({"control_rate_hz": "fast"}, "'control_rate_hz' must be a number"),
    ({"command_limits": [1.0]}, "'command_limits' has 1 values but task 'reach'"),
    ({"model_file": "/nonexistent/arm.xml"}, "MJCF model file not found: /nonexistent"),
])
def test_node_with_bad_parameters_exits_nonzero_naming_it(tmp_path, params, culprit):
    config = write_graph(tmp_path / "bad.yaml", {"mujoco_bridge": params})
    proc = subprocess.run(["mujoco_bridge", "--ros-args", "--params-file", str(config)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert culprit in proc.stderr
    assert "Traceback" not in proc.stderr


def test_cli_rejects_bad_graph_before_starting_anything(tmp_path):
    config = write_graph(tmp_path / "bad.yaml", {"expert": {"task": "reach", "gain": 3}})
    proc = subprocess.run(["dagger-ros", "run", "--config", str(config)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2
    assert f"unknown key 'gain' (in section 'expert', file {config})" in proc.stderr


def test_expert_rejects_observation_of_wrong_length(tmp_path, listener):
    from dagger_ros.core.records import Observation
    from dagger_ros.ros import convert, topics

    def observation(names, values, stamp, frame):
        return topics.EXPERT_OBSERVATION.message(Observation(stamp, frame, values).encode(names))

    config = write_graph(tmp_path / "e.yaml", {"expert": {"task": "reach"}})
    proc = start(["expert", "--ros-args", "--params-file", str(config)])
    try:
        pub = topics.publisher(listener.node, topics.EXPERT_OBSERVATION)
        deadline = time.monotonic() + 30
        while pub.get_subscription_count() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        good = np.r_[np.zeros(6), 0.3, 0, 0.3, 0.1, 0, 0]

        def answered():
            return {convert.stamp_to_ns(m.header.stamp)
                    for m in listener.messages["/dagger/expert/action"]}

        # good observations until one is answered: both directions are matched then
        stamp = 1000
        while not answered() and time.monotonic() < deadline:
            stamp += 1
            pub.publish(observation(["x"] * 12, good, stamp, "0:1"))
            listener.wait_until(answered, timeout=0.2)
        assert answered()
        pub.publish(observation(["a"] * 5, np.zeros(5), 123, "0:2"))
        pub.publish(observation(["x"] * 12, good, 5000, "0:3"))
        # in-order delivery: once 5000 is answered, the bad one was handled before it
        assert listener.wait_until(lambda: 5000 in answered(), timeout=20)
        assert 123 not in answered()
        assert proc.poll() is None
    finally:
        out, err = stop(proc)
    assert "message on /dagger/expert_observation has 5 values, expected 12" in out + err
    assert os.environ["ROS_DOMAIN_ID"] != "0"


def test_nodes_stop_when_the_launcher_is_killed(tmp_path, listener):
    run = start(["dagger-ros", "run", "--config", str(graph(tmp_path, "reach", episodes=0))])
    assert listener.wait_until(lambda: len(ends(listener)) >= 1, timeout=60)
    nodes = children(run)
    run.kill()  # SIGKILL: the launcher cannot clean up itself
    run.communicate(timeout=30)
    gone = psutil.wait_procs(list(nodes.values()), timeout=20)[0]
    assert len(gone) == 2, "a node outlived its launcher"
