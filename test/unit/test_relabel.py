"""Labels that arrive later (async): merged into the LeRobot dataset in place."""

import json

import numpy as np

from dagger_ros.core.recording import (
    DatasetWriter,
    Frame,
    journal,
    load_training_data,
    open_dataset,
)
from dagger_ros.core.recording.labels import LABELS_FILE, relabel

from .sample_records import decision, end

OBS, ACT = ["a", "b", "c"], ["u", "v"]


def frames(episode, steps, base, labelled_every=2):
    out = []
    for s in range(steps):
        label = [1.0, 1.0] if s % labelled_every == 0 else None
        record = decision(base + s, "policy", 1, expert_action=label, reason="async_queued",
                          beta=0.0, gating="async", uncertainty=0.1, label=f"{episode}:{s}")
        out.append(Frame(base + s, episode, s, np.full(3, float(s)), record))
    return out


def test_queue_labelled_later_is_merged_into_the_dataset(tmp_path):
    root = tmp_path / "ds"
    writer = DatasetWriter(root, "local/t", 50, OBS, ACT)
    for e in range(3):
        writer.write_episode(frames(e, 10, 100 * e), end(e, e, "success", 10), "t")
    writer.close()
    assert len(load_training_data(root, "local/t")[0]) == 15  # half labelled online
    logged = []
    n = relabel(root, "local/t", lambda o: np.array([o[0], 3.0]), "scripted/late",
                log=logged.append)
    assert n == 15
    obs, act, _ = load_training_data(root, "local/t")
    assert len(obs) == 30
    late = act[:, 1] == 3.0
    assert late.sum() == 15 and np.allclose(act[late, 0], obs[late, 0])
    dataset = open_dataset(root, "local/t")  # LeRobot's loader sees the merged labels
    journal.validate(root, dataset)
    assert float(np.asarray(dataset.meta.stats["action"]["max"])[1]) == 3.0
    import pandas as pd

    first = pd.read_parquet(sorted((root / "meta/episodes").rglob("*.parquet"))[0])
    assert np.asarray(first["stats/action/max"].iloc[0]).reshape(-1)[1] == 3.0
    assert journal.recover(root, "meta/dagger_episodes.jsonl", log=logged.append) == []
    lines = [json.loads(x) for x in (root / LABELS_FILE).read_text().splitlines()]
    assert [x["episode_index"] for x in lines] == [0, 1, 2]
    assert {x["label_source"] for x in lines} == {"scripted/late"}
    assert relabel(root, "local/t", lambda o: np.zeros(2), "again") == 0  # nothing left
    # and the recorder appends after it
    writer = DatasetWriter(root, "local/t", 50, OBS, ACT)
    writer.write_episode(frames(3, 4, 400), end(3, 3, "success", 4),
                         "t")
    assert open_dataset(root, "local/t").meta.total_episodes == 4


def test_the_late_expert_sees_state_and_environment_together(tmp_path):
    # a profile splits the observation (robot state, then task state); the expert labels
    # from the whole vector, as it saw it online
    root = tmp_path / "ds"
    writer = DatasetWriter(root, "local/t", 50, OBS, ACT, environment_names=["c"])
    writer.write_episode(frames(0, 6, 0), end(0, 0, "success", 6), "t")
    writer.close()
    seen = []
    relabel(root, "local/t", lambda o: seen.append(np.array(o)) or np.zeros(2), "late")
    assert len(seen) == 3 and all(len(o) == 3 for o in seen)
    assert [o[2] for o in seen] == [1.0, 3.0, 5.0]  # the environment element is there


def test_label_cli_names_a_folder_that_is_not_a_dataset(tmp_path):
    import subprocess

    proc = subprocess.run(["dagger-ros", "label", "--dataset", str(tmp_path), "--task",
                           "drive"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert f"{tmp_path} is not a LeRobot dataset" in proc.stderr


def test_label_expert_must_be_the_tasks_scripted_expert():
    import pytest

    from dagger_ros.core.config import ConfigError, from_mapping
    from dagger_ros.core.rounds import TrainerConfig

    with pytest.raises(ConfigError, match="'label_expert': 'scripted/reach_ik' is not"):
        from_mapping(TrainerConfig, {"task": "drive", "label_expert": "scripted/reach_ik"})


def test_a_running_recorder_keeps_labels_merged_beside_it(tmp_path):
    """The trainer's label_expert relabels between rounds while the recorder stays open;
    the recorder's next episode must not write its stale in-memory stats over them."""
    root = tmp_path / "ds"
    logged = []
    writer = DatasetWriter(root, "local/t", 50, OBS, ACT, log=logged.append)
    writer.write_episode(frames(0, 10, 0), end(0, 0, "success", 10),
                         "t")
    assert relabel(root, "local/t", lambda o: np.array([o[0], 3.0]), "scripted/late") == 5
    writer.write_episode(frames(1, 10, 100), end(1, 1, "success", 10),
                         "t")
    writer.close()
    dataset = open_dataset(root, "local/t")
    journal.validate(root, dataset)
    assert dataset.meta.total_episodes == 2
    assert float(np.asarray(dataset.meta.stats["action"]["max"])[1]) == 3.0
    stats = json.loads((root / "meta/stats.json").read_text())
    assert stats["action"]["max"][1] == 3.0
    obs, act, _ = load_training_data(root, "local/t")
    assert len(obs) == 15 and (act[:, 1] == 3.0).sum() == 5
    assert any("changed by another writer" in line for line in logged)
