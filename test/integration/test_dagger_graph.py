"""DAgger through the real graph (six node processes): rounds, checkpoints, the dataset."""

import subprocess

import numpy as np
import pytest
from sensor_msgs.msg import JointState
from std_msgs.msg import String

from dagger_ros.core.policy_model import load_checkpoint, save_checkpoint
from dagger_ros.core.recording import read_provenance
from dagger_ros.core.records import Observation, RoundAnnouncement
from dagger_ros.core.rounds import read_metrics
from dagger_ros.ros import topics

from .rosgraph import Listener, start, stop, write_graph

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    proc = subprocess.run(["dagger-ros", "sim", "--runs", str(runs), "--name", "small",
                           "--rounds", "2", "--eval-episodes", "2", "--train-steps", "150"],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return runs / "small", proc.stdout


def test_main_job_writes_every_output(run):
    folder, stdout = run
    for name in ("graph.yaml", "metrics.jsonl", "bc_metrics.json", "learning_curve.png",
                 "summary.json", "report.md", "logs/graph.log"):
        assert (folder / name).exists(), name
    rows = read_metrics(folder / "metrics.jsonl")
    assert [r.round for r in rows] == [0, 1]
    assert [r.beta for r in rows] == [1.0, 0.5]
    assert "round  labels  DAgger    BC" in stdout
    assert (folder / "learning_curve.png").read_bytes()[:4] == b"\x89PNG"


def test_dataset_is_complete_and_traceable(run):
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    folder, _ = run
    ds = LeRobotDataset("local/dagger_drive", root=folder / "dataset")
    prov = read_provenance(folder / "dataset")
    rows = read_metrics(folder / "metrics.jsonl")
    assert ds.num_episodes == 2 == len(prov)
    assert ds.num_frames == sum(p.frames for p in prov) == rows[-1].labels
    table = ds.hf_dataset.with_format("numpy")
    assert list(table["index"]) == list(range(ds.num_frames))  # nothing dropped
    # round 0: expert only, no checkpoint; round 1: the checkpoint trained after round 0
    assert (prov[0].round, prov[0].checkpoint_id, prov[0].beta) == (0, None, 1.0)
    assert prov[0].policy_frames == 0
    assert (prov[1].round, prov[1].beta) == (1, 0.5)
    assert prov[1].checkpoint_id == rows[0].checkpoint_id
    assert prov[1].policy_frames > 0 and prov[1].expert_frames > 0
    assert {p.label_source for p in prov} == {"scripted/drive_stanley"}
    assert [p.seed for p in prov] == [0, 1]
    source = np.asarray(table["source"]).reshape(-1)
    executed, label = np.stack(table["executed_action"]), np.stack(table["action"])
    policy = np.stack(table["policy_action"])
    assert np.allclose(executed[source == 0], label[source == 0], atol=1e-6)
    assert np.allclose(executed[source == 1], np.clip(policy[source == 1], [-1.5, -2.5],
                                                      [1.5, 2.5]), atol=1e-6)
    ep_round = np.asarray(table["round"]).reshape(-1)
    assert set(ep_round[np.asarray(table["episode_index"]) == 1]) == {1}
    load_checkpoint(rows[-1].checkpoint, 9, 2)  # the last checkpoint is usable


def test_policy_refuses_bad_checkpoint_and_keeps_the_last_good(tmp_path, run):
    folder, _ = run
    rows = read_metrics(folder / "metrics.jsonl")
    good = rows[0].checkpoint
    policy, _ = load_checkpoint(good)
    policy.observation_names = policy.observation_names[:5]  # a checkpoint for another robot
    policy.weights[0] = policy.weights[0][:, :5, :]
    policy.obs_mean, policy.obs_std = policy.obs_mean[:5], policy.obs_std[:5]
    bad = save_checkpoint(policy, tmp_path, {"name": "wrong"})
    config = write_graph(tmp_path / "p.yaml", {"policy": {"task": "drive", "checkpoint": good}})
    watch = Listener({"/dagger/policy/status": String, "/dagger/policy/action": JointState})
    proc = start(["policy", "--ros-args", "--params-file", str(config)])
    try:
        pub_round = topics.publisher(watch.node, topics.ROUND)
        pub_obs = topics.publisher(watch.node, topics.OBSERVATION)
        pub_round.publish(topics.ROUND.message(RoundAnnouncement(5, str(bad), "x")))
        # the first status reports the YAML checkpoint (round 0); the refusal comes after it
        refused = lambda: [s for s in watch.records(topics.POLICY_STATUS) if s.error]  # noqa: E731
        assert watch.wait_until(refused, timeout=30)
        status = refused()[-1]
        assert status.checkpoint_id == rows[0].checkpoint_id  # the last good one
        assert "takes 5 observation values, the task gives 9" in status.error
        stamp = 0
        while not watch.messages["/dagger/policy/action"] and stamp < 200:
            stamp += 1
            pub_obs.publish(topics.OBSERVATION.message(
                Observation(stamp, "0:0", np.zeros(9)).encode(["o"] * 9)))
            watch.wait_until(lambda: watch.messages["/dagger/policy/action"], timeout=0.1)
        assert watch.messages["/dagger/policy/action"]  # still driving with the good one
    finally:
        out, err = stop(proc)
        watch.close()
    assert "refused checkpoint" in out + err


def test_recorder_refuses_a_folder_that_is_not_a_dataset(tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "todo.txt").write_text("x")
    config = write_graph(tmp_path / "r.yaml", {"recorder": {"task": "drive",
                                                            "dataset_root": str(folder)}})
    proc = subprocess.run(["recorder", "--ros-args", "--params-file", str(config)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert f"'dataset_root': {folder} exists and is not a LeRobot dataset" in proc.stderr
