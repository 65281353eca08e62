"""Ctrl-C in the middle of an episode: the recorder saves it, whole, as interrupted."""

import signal

import numpy as np
import pytest
from std_msgs.msg import String

from dagger_ros.core.recording import read_provenance
from dagger_ros.core.records import SavedEpisode
from dagger_ros.ros.watch import Listener

from .rosgraph import start, stop, write_graph

pytestmark = pytest.mark.integration


def test_ctrl_c_mid_episode_saves_it_as_interrupted(tmp_path):
    root = tmp_path / "dataset"
    config = write_graph(tmp_path / "g.yaml", {
        "/**": {"task": "drive"},
        "mujoco_bridge": {"wait_for_nodes": ["recorder"]},
        "expert": {},
        "supervisor": {"beta_schedule": "constant", "beta0": 1.0},
        "recorder": {"dataset_root": str(root)}})
    watch = Listener({"/dagger/decision": String})
    run = start(["dagger-ros", "run", "--config", str(config)])
    try:
        # a drive episode is ~1,000 steps: stop well inside the first one
        assert watch.wait_until(lambda: len(watch.messages["/dagger/decision"]) >= 200,
                                timeout=90)
    finally:
        out, err = stop(run, signal.SIGINT)
        watch.close()
    assert run.returncode == 0, out + err
    assert "saved episode 0 as interrupted" in out
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    ds = LeRobotDataset("local/dagger_ros", root=root)
    [prov] = read_provenance(root)
    assert prov.outcome == "interrupted" and prov.seed == 0
    assert ds.num_episodes == 1 and ds.num_frames == prov.frames >= 200
    table = ds.hf_dataset.with_format("numpy")
    assert list(table["frame_index"]) == list(range(ds.num_frames))  # contiguous from 0
    assert np.all(np.isfinite(np.stack(table["action"])))
    assert SavedEpisode.decode(prov.encode(), "test") == prov  # a record that round-trips
