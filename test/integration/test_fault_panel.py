"""The fault panel: one test per fault, injected into real running nodes.

Each row of the README's fault table names its test here. The graphs run the drive task
with a constant policy (every member outputs 0.3 m/s straight ahead), so whose command
reached the robot is plain to see in every decision record.
"""

import signal
import time

import numpy as np
import psutil
import pytest
from geometry_msgs.msg import Twist
from std_msgs.msg import String

from dagger_ros.core.policy_model import EnsemblePolicy, load_checkpoint, save_checkpoint
from dagger_ros.core.recording import journal, open_dataset, read_provenance
from dagger_ros.core.records import RoundAnnouncement
from dagger_ros.core.rounds import checkpoint_id
from dagger_ros.core.tasks import task_class
from dagger_ros.ros import topics
from dagger_ros.ros.watch import Listener

from .rosgraph import start, stop, write_graph

pytestmark = pytest.mark.integration
POLICY_ACTION = [0.3, 0.0]


def constant_policy(folder) -> tuple[str, str]:
    """A checkpoint whose every member outputs POLICY_ACTION."""
    task = task_class("drive")
    obs, act, hidden, members = len(task.observation_names), len(task.action_names), 8, 2
    sizes = [obs, hidden, act]
    policy = EnsemblePolicy(
        weights=[np.zeros((members, a, b), np.float32)
                 for a, b in zip(sizes, sizes[1:], strict=False)],
        biases=[np.zeros((members, b), np.float32) for b in sizes[1:]],
        obs_mean=np.zeros(obs, np.float32), obs_std=np.ones(obs, np.float32),
        act_mean=np.asarray(POLICY_ACTION, np.float32), act_std=np.ones(act, np.float32),
        observation_names=list(task.observation_names), action_names=list(task.action_names))
    path = save_checkpoint(policy, folder, {"name": "constant"})
    return str(path), checkpoint_id(path)


def graph(tmp_path, stepping="lockstep", nodes=("mujoco_bridge", "expert", "policy",
                                                "supervisor"), **sections):
    ckpt, _ = constant_policy(tmp_path / "ckpt")
    # the bridge and the supervisor are told the same stepping (a section may override it)
    stepping = sections.get("mujoco_bridge", {}).pop("stepping", stepping)
    base = {
        "/**": {"task": "drive", "stepping": stepping},
        "mujoco_bridge": {"max_episode_steps": 200,
                          "wait_for_nodes": ["policy"] if "policy" in nodes else []},
        "expert": {},
        "policy": {"checkpoint": ckpt},
        "supervisor": {"beta_schedule": "constant", "beta0": 0.0},
        "recorder": {"dataset_root": str(tmp_path / "dataset")},
    }
    for name, extra in sections.items():
        base.setdefault(name, {}).update(extra)
    return write_graph(tmp_path / "g.yaml", {n: base[n] for n in ("/**", *nodes)}), ckpt


def announce_round(watch, ckpt):
    """What the trainer does: round 1 with this checkpoint (latched, as the trainer's)."""
    pub = topics.publisher(watch.node, topics.ROUND)
    pub.publish(topics.ROUND.message(RoundAnnouncement(1, ckpt, checkpoint_id(ckpt))))
    return pub


def decisions(watch, since=0):
    return watch.records(topics.DECISION, since)


def stale_holds(records):
    return [d for d in records if d.reason == "stale_input"]


def decided_after_hold(records) -> int:
    """How many decisions followed the first hold for a stale input (-1: none yet)."""
    first = next((i for i, d in enumerate(records) if d.reason == "stale_input"), None)
    return -1 if first is None else len(records) - first - 1


def node_process(run, name) -> psutil.Process:
    for child in psutil.Process(run.pid).children(recursive=True):
        try:
            if f"/{name} " in " ".join(child.cmdline()):
                return child
        except psutil.NoSuchProcess:
            continue
    raise AssertionError(f"no '{name}' process under the launcher")


def every_observation_decided(records):
    """Lockstep: within an episode steps follow one another, so a missing step is an
    observation that got no decision (and no command)."""
    steps: dict[int, list[int]] = {}
    for r in records:
        episode, step = map(int, r.frame.split(":"))
        steps.setdefault(episode, []).append(step)
    return all(sorted(s) == list(range(min(s), max(s) + 1)) for s in steps.values())


def kill_and_recover(tmp_path, name, fallback_reason, recovered):
    """Kill ``name`` while the policy drives; wait for the fallback decisions, then for
    ``recovered(decision)`` after the launcher restarted it. Returns the decisions from
    the kill on, and the launcher's stderr."""
    config, ckpt = graph(tmp_path)
    watch = Listener({"/dagger/decision": String})
    run = start(["dagger-ros", "run", "--config", str(config)])
    failed = None
    try:
        announce_round(watch, ckpt)
        if not watch.wait_until(lambda: sum(d.source == "policy"
                                            for d in decisions(watch)) >= 30, timeout=90):
            failed = "the policy never drove 30 steps"
        else:
            node_process(run, name).send_signal(signal.SIGKILL)
            n = len(decisions(watch))
            if not watch.wait_until(lambda: any(d.reason == fallback_reason
                                                for d in decisions(watch, n)), timeout=30):
                failed = f"no '{fallback_reason}' decision after the kill"
            else:
                k = n + next(i for i, d in enumerate(decisions(watch, n))
                             if d.reason == fallback_reason)
                if not watch.wait_until(lambda: any(recovered(d) for d in decisions(watch, k)),
                                        timeout=60):
                    failed = f"'{name}' never recovered after its restart"
                after = decisions(watch, n)
        seen = decisions(watch)
    finally:
        _, err = stop(run)
        watch.close()
    if failed:  # say what the graph did, so a failure names its cause
        sources = {s: sum(d.source == s for d in seen) for s in ("policy", "expert", "hold")}
        reasons = sorted({d.reason for d in seen})
        pytest.fail(f"{failed}: {len(seen)} decisions {sources}, reasons {reasons}; "
                    f"launcher log tail:\n{err[-4000:]}")
    assert f"node '{name}' died with exit code -9" in err and "restarting it" in err
    assert every_observation_decided(after)  # the robot was commanded at every step
    return after


def test_policy_killed_expert_takes_over_and_restarted_policy_resumes(tmp_path):
    after = kill_and_recover(tmp_path, "policy", "policy_timeout",
                             lambda d: d.source == "policy")
    handed = [d for d in after if d.reason == "policy_timeout"]
    assert {d.source for d in handed} == {"expert"}
    assert all(d.executed_action == d.expert_action for d in handed)
    back = [d for d in after if d.source == "policy"]
    assert np.allclose(back[0].executed_action, POLICY_ACTION, atol=1e-5)


def test_expert_killed_robot_held_until_it_answers_again(tmp_path):
    after = kill_and_recover(tmp_path, "expert", "expert_timeout",
                             lambda d: d.expert_action is not None)
    held = [d for d in after if d.reason == "expert_timeout"]
    assert {d.source for d in held} == {"hold"}
    assert all(d.executed_action == [0.0, 0.0] and d.sent for d in held)
    assert all(d.expert_action is None for d in held)  # recorded as unlabelled


def test_recorder_sigkilled_dataset_intact_and_restart_appends(tmp_path):
    config, ckpt = graph(tmp_path, nodes=("mujoco_bridge", "expert", "policy", "supervisor",
                                          "recorder"),
                         mujoco_bridge={"wait_for_nodes": ["policy", "recorder"],
                                        "max_episode_steps": 60})
    watch = Listener({"/dagger/recorder/saved": String})
    run = start(["dagger-ros", "run", "--config", str(config)])

    def saved():
        return watch.records(topics.RECORDER_SAVED)

    try:
        announce_round(watch, ckpt)
        assert watch.wait_until(lambda: len(saved()) >= 3, timeout=90)
        node_process(run, "recorder").send_signal(signal.SIGKILL)
        before = len(saved())
        assert watch.wait_until(lambda: len(saved()) >= before + 3, timeout=90)
    finally:
        out, err = stop(run)
        watch.close()
    assert "node 'recorder' died with exit code -9" in err
    root = tmp_path / "dataset"
    dataset = open_dataset(root, "local/dagger_ros")
    journal.validate(root, dataset)
    total = dataset.meta.total_frames
    assert [int(i) for i in dataset.hf_dataset["index"]] == list(range(total))
    prov = read_provenance(root)
    assert [p.episode_index for p in prov] == list(range(dataset.meta.total_episodes))
    assert sum(p.frames for p in prov) == total
    announced = {s.episode_index for s in saved()}
    assert announced <= {p.episode_index for p in prov}  # nothing announced was lost
    for p in prov:  # every saved episode is whole: steps 0..n-1 of one sim episode
        rows = dataset.hf_dataset.filter(lambda r, e=p.episode_index: r["episode_index"] == e)
        assert list(rows["frame_index"]) == list(range(p.frames))


def test_trainer_killed_last_checkpoint_stays_and_collection_goes_on(tmp_path):
    config, _ = graph(
        tmp_path, nodes=("mujoco_bridge", "expert", "policy", "supervisor", "recorder",
                         "trainer"),
        mujoco_bridge={"wait_for_nodes": ["policy", "recorder"], "max_episode_steps": 100,
                       "auto_reset": True},
        policy={"checkpoint": ""},
        supervisor={"beta_schedule": "constant", "beta0": 0.5},
        trainer={"dataset_root": str(tmp_path / "dataset"), "run_dir": str(tmp_path / "run"),
                 "rounds": 50, "episodes_per_round": 1, "eval_episodes": 1, "members": 2,
                 "hidden": [16], "max_steps": 30, "target_success": 1.0})
    watch = Listener({"/dagger/recorder/saved": String, "/dagger/policy/status": String,
                      "/dagger/decision": String})
    run = start(["dagger-ros", "run", "--config", str(config)])

    def status():
        with watch.lock:
            msgs = watch.messages["/dagger/policy/status"]
            return topics.POLICY_STATUS.read(msgs[-1]) if msgs else None

    try:
        # round 1 runs round 0's checkpoint (the lockstep graph collects some 500 steps a
        # second meanwhile, so the dataset the trainer reads grows fast)
        assert watch.wait_until(lambda: status() is not None and status().round >= 1
                                and status().checkpoint_id is not None, timeout=180)
        node_process(run, "trainer").send_signal(signal.SIGKILL)
        saved_before = len(watch.messages["/dagger/recorder/saved"])
        n = len(decisions(watch))
        assert watch.wait_until(
            lambda: len(watch.messages["/dagger/recorder/saved"]) >= saved_before + 2,
            timeout=90), "collection stopped with the trainer"
        # read only now: a round the trainer announced just before it died may still have
        # reached the policy after the kill; from then on nothing can change it
        running = status().checkpoint_id
        after = decisions(watch, n)
    finally:
        out, err = stop(run)
        watch.close()
    assert "node 'trainer' died with exit code -9" in err and "goes on without it" in err
    used = {(d.source, d.checkpoint_id) for d in after}
    assert running and ("policy", running) in used, f"policy running {running}; used {used}"
    checkpoints = [p for p in (tmp_path / "run" / "checkpoints").iterdir()
                   if not p.name.startswith(".")]
    assert checkpoints
    for folder in checkpoints:  # every checkpoint in place is whole and loads
        load_checkpoint(folder, 9, 2)


def test_supervisor_paused_delayed_commands_are_dropped_not_burst(tmp_path):
    config, _ = graph(tmp_path, stepping="realtime", nodes=("mujoco_bridge", "expert",
                                                           "supervisor"),
                      mujoco_bridge={"max_episode_steps": 100000, "wait_for_nodes": []},
                      supervisor={"beta0": 1.0, "max_input_delay": 0.1})
    watch = Listener({"/dagger/decision": String, "/cmd_vel": Twist})
    run = start(["dagger-ros", "run", "--config", str(config)])
    try:
        assert watch.wait_until(lambda: len(decisions(watch)) >= 50, timeout=60)
        supervisor = node_process(run, "supervisor")
        supervisor.send_signal(signal.SIGSTOP)
        time.sleep(1.0)  # the fault itself: a process that stalls for a second
        n = len(decisions(watch))
        supervisor.send_signal(signal.SIGCONT)
        # the listener may still be reading decisions from before the pause: wait for the
        # holds themselves, never for a count that a backlog alone can reach
        holds = watch.wait_until(lambda: len(stale_holds(decisions(watch, n))) >= 20
                                 and len(decisions(watch, n)) >= 60, timeout=30)
        after = decisions(watch, n)
        with watch.lock:
            # commands from the first hold on: what the listener still read of the ones
            # sent before the pause is no burst
            first = n + next((i for i, d in enumerate(after) if d.reason == "stale_input"), 0)
            resumed = watch.arrivals["/dagger/decision"][first]
            arrivals = [t for t in watch.arrivals["/cmd_vel"] if t >= resumed]
    finally:
        stop(run)
        watch.close()
    stale = stale_holds(after)
    assert holds, (f"{len(stale)} holds for a stale input among {len(after)} decisions after "
                   "the pause; 20 expected")
    assert not any(d.sent for d in stale)
    first = arrivals[0]
    burst = [t for t in arrivals if t - first < 0.1]
    assert len(burst) <= 8, f"{len(burst)} commands within 100 ms after the pause"


def test_supervisor_paused_in_lockstep_the_simulation_steps_on(tmp_path):
    """A lockstep bridge waits for the command of its observation; a supervisor left at
    stepping: realtime holds that observation as stale after the pause and sends nothing.
    The bridge's re-send of it must get the hold, or the graph waits for ever."""
    config, _ = graph(tmp_path, stepping="lockstep", nodes=("mujoco_bridge", "expert",
                                                           "supervisor"),
                      mujoco_bridge={"max_episode_steps": 100000, "wait_for_nodes": []},
                      supervisor={"beta0": 1.0, "max_input_delay": 0.1,
                                  "stepping": "realtime",
                                  "expert_timeout": 5.0})  # the pause is not the expert's
    watch = Listener({"/dagger/decision": String})
    run = start(["dagger-ros", "run", "--config", str(config)])
    try:
        assert watch.wait_until(lambda: len(decisions(watch)) >= 50, timeout=60)
        supervisor = node_process(run, "supervisor")
        supervisor.send_signal(signal.SIGSTOP)
        time.sleep(1.0)
        n = len(decisions(watch))
        supervisor.send_signal(signal.SIGCONT)
        # moved on: 50 decisions after the first hold (the listener may still be reading
        # decisions from before the pause, so a count alone proves nothing)
        moved_on = watch.wait_until(lambda: decided_after_hold(decisions(watch, n)) >= 50,
                                    timeout=30)
        after = decisions(watch, n)
    finally:
        out, err = stop(run)
        watch.close()
    stale = stale_holds(after)
    assert stale, (f"the pause made no input stale, the test saw no fault: {len(after)} "
                   f"decisions after it, reasons {sorted({d.reason.value for d in after})}")
    assert moved_on, f"the lockstep graph stalled after the pause ({len(after)} decisions)"
    assert "re-sent after its command was dropped: sending its hold" in out + err
    assert every_observation_decided(after)


def test_stale_robot_state_gets_explicit_holds(tmp_path):
    config, _ = graph(tmp_path, stepping="realtime", nodes=("mujoco_bridge", "expert",
                                                           "supervisor"),
                      mujoco_bridge={"max_episode_steps": 100000, "wait_for_nodes": []},
                      supervisor={"beta0": 1.0, "hold_after": 0.1, "hold_rate_hz": 50.0})
    watch = Listener({"/dagger/decision": String, "/cmd_vel": Twist})
    run = start(["dagger-ros", "run", "--config", str(config)])
    try:
        assert watch.wait_until(lambda: len(decisions(watch)) >= 50, timeout=60)
        bridge = node_process(run, "mujoco_bridge")
        bridge.send_signal(signal.SIGSTOP)  # the robot's state stops arriving
        paused = time.monotonic()
        time.sleep(1.0)
        with watch.lock:
            during = [(t, m) for t, m in zip(watch.arrivals["/cmd_vel"],
                                             watch.messages["/cmd_vel"], strict=True)
                      if t > paused + 0.2]
        bridge.send_signal(signal.SIGCONT)
        n = len(decisions(watch))
        assert watch.wait_until(lambda: len(decisions(watch)) >= n + 20, timeout=30)
    finally:
        out, err = stop(run)
        watch.close()
    assert len(during) >= 20, "the supervisor fell silent instead of holding"
    assert all(m.linear.x == 0.0 and m.angular.z == 0.0 for _, m in during)
    assert "holding the robot: no new observation" in out
    assert "commands flow again" in out


@pytest.mark.parametrize("name", ["mujoco_bridge", "supervisor"])
def test_critical_node_killed_stops_the_graph_naming_it(tmp_path, name):
    config, ckpt = graph(tmp_path)
    watch = Listener({"/dagger/decision": String})
    run = start(["dagger-ros", "run", "--config", str(config)])
    try:
        announce_round(watch, ckpt)
        assert watch.wait_until(lambda: len(decisions(watch)) >= 30, timeout=90)
        others = [node_process(run, n) for n in ("mujoco_bridge", "expert", "policy",
                                                 "supervisor") if n != name]
        node_process(run, name).send_signal(signal.SIGKILL)
        out, err = run.communicate(timeout=60)
    finally:
        stop(run)
        watch.close()
    assert run.returncode == 1
    assert f"node '{name}' died with exit code -9" in err and "stopping the graph" in err
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in others)
