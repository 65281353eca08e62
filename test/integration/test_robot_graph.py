"""robot.launch's graph, unchanged, as real processes against the hardware-shaped simulator
with a simulated person at the gamepad: HG-DAgger on the position-controlled reach arm in
real time at 50 Hz, episodes paced by the person's buttons, rounds retrained in the
background and hot-swapped, every frame recorded with its provenance and the marked
outcome."""

import numpy as np
import pytest
import yaml
from sensor_msgs.msg import JointState
from std_msgs.msg import String

from dagger_ros.core.recording import read_provenance
from dagger_ros.core.records import EpisodeEnd
from dagger_ros.core.rounds import read_metrics
from dagger_ros.ros import topics

from .rosgraph import ROOT, Listener, start, stop

pytestmark = pytest.mark.integration
ROBOT_NODES = ("observer", "expert", "policy", "supervisor", "recorder", "trainer")


def graph(tmp_path):
    """config/robot_sim.yaml, made small: 3 demonstrations, then 2 episodes a round."""
    sections = yaml.safe_load((ROOT / "config" / "robot_sim.yaml").read_text())
    robot = yaml.safe_load((ROOT / "config" / "robot.yaml").read_text())
    for node in ROBOT_NODES[:-1]:  # the robot graph's nodes, as robot.yaml has them
        assert node in robot and node in sections
    trainer = sections["trainer"]["ros__parameters"]
    trainer.update(rounds=2, first_round_episodes=3, episodes_per_round=2, max_steps=400,
                   run_dir=str(tmp_path / "run"), dataset_root=str(tmp_path / "dataset"))
    sections["recorder"]["ros__parameters"]["dataset_root"] = str(tmp_path / "dataset")
    path = tmp_path / "robot_sim.yaml"
    path.write_text(yaml.safe_dump(sections))
    return path


def test_hg_dagger_on_the_position_arm_paced_by_the_operator(tmp_path):
    watch = Listener({"/episode/event": String, "/dagger/decision": String,
                      "/dagger/observation": JointState})
    run = start(["dagger-ros", "run", "--config", str(graph(tmp_path))])
    try:
        finished = run.wait(timeout=600)
    finally:
        out, err = stop(run)
        publishers = {i.node_name for i in
                      watch.node.get_publishers_info_by_topic("/dagger/observation")}
        services = {name for name, _ in watch.node.get_service_names_and_types()}
        watch.close()
    log = out + err
    assert finished == 0, log[-4000:]
    assert "node 'trainer' finished" in log
    # the simulator is hardware-shaped: nothing of DAgger comes from it
    assert publishers <= {"observer"}, publishers
    assert topics.SIM_RESET.name not in services
    # the person paced the episodes with the gamepad's buttons
    assert "person presses 'start'" in log and "operator pressed 'start'" in log
    # two rounds retrained, each checkpoint hot-swapped into the running policy
    rows = read_metrics(tmp_path / "run" / "metrics.jsonl")
    assert [r.round for r in rows] == [0, 1]
    assert {r.evaluated_by for r in rows} == {"operator"}
    for row in rows:
        assert f"running checkpoint {row.checkpoint_id}" in log
    # every frame recorded, with its provenance and the outcome the person marked
    ends = {(e.session, e.episode): e for e in watch.events() if isinstance(e, EpisodeEnd)}
    saved = read_provenance(tmp_path / "dataset")
    counted = [s for s in saved if s.outcome != "aborted"]
    assert len([s for s in counted if s.round == 0]) >= 3
    assert len([s for s in counted if s.round == 1]) >= 2
    for s in saved:
        end = ends.get((s.session, s.sim_episode))
        if end is None or s.outcome == "aborted":
            continue  # an episode cut by the stop at the end
        assert s.frames == end.steps and s.outcome == end.outcome, (s, end)
        assert s.outcome in ("success", "failure")
        assert s.label_source == "operator/sim_person" and s.gating == "human_gated"
    round0 = [s for s in saved if s.round == 0]
    round1 = [s for s in saved if s.round == 1]
    assert all(s.checkpoint_id is None and s.policy_frames == 0 for s in round0)
    assert {s.checkpoint_id for s in round1} == {rows[0].checkpoint_id}
    assert sum(s.policy_frames for s in round1) > 0
    # labels are the person's, and only where the person drove (HG-DAgger)
    decisions = watch.records(topics.DECISION)
    driven = [d for d in decisions if d.frame.split(":")[0] != "-1"]
    # (a state the person had taken over keeps its label when it is held as stale)
    wrong = [d for d in driven if (d.expert_action is not None) != (d.source == "expert")
             and not (d.source == "hold" and d.reason in ("stale_input", "estop"))]
    assert driven and not wrong, wrong[:3]
    # no command moved a joint faster than the profile's max_rate (2 rad/s), hand-overs
    # between the person and the policy included
    sent = [d for d in driven if d.sent and d.source != "hold"]
    handovers = 0
    for a, b in zip(sent, sent[1:], strict=False):
        if a.frame.split(":")[0] != b.frame.split(":")[0]:
            continue
        dt = (b.stamp_ns - a.stamp_ns) / 1e9
        step = np.abs(np.subtract(b.executed_action, a.executed_action))
        assert np.all(step <= 2.0 * dt + 1e-6), (a, b)
        handovers += a.source != b.source
    assert handovers > 0  # the person took over from the policy (and handed back)
