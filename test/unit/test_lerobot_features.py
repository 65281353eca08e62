"""What a LeRobot user gets from a dagger_ros dataset: the features LeRobot's policies read,
nothing non-finite on disk, and provenance in per-frame columns (read back without the meta
files, which LeRobot's own tools drop)."""

import dataclasses
import json
import math

import numpy as np
import pyarrow.parquet as pq
import pytest

from dagger_ros.core.gating import GATES
from dagger_ros.core.recording import (
    DatasetWriter,
    Frame,
    Layout,
    load_frames,
    read_provenance,
    task_text_for,
)
from dagger_ros.core.recording.journal import COMMIT_FILE
from dagger_ros.core.recording.schema import CODES_FILE, PROVENANCE_FILE, code_id, id_code
from dagger_ros.core.records import Gating, LabelKind

from .sample_records import CHECKPOINT, decision, end

OBS, ENV, ACT = ["j.position", "j.velocity", "target.x"], ["target.x"], ["j.velocity", "u"]


def frames_of(episode, n, base, **decided):
    return [Frame(base + s, episode, s, np.array([s, 2.0 * s, 5.0]),
                  decision(base + s, label=f"{episode}:{s}", **decided)) for s in range(n)]


def writer(root):
    return DatasetWriter(root, "local/t", 50, OBS, ACT, robot_type="arm",
                         environment_names=ENV)


def finite(value) -> bool:
    return all(math.isfinite(v) for v in np.asarray(value, float).reshape(-1))


def test_every_gate_has_a_code():
    assert set(GATES) == {g.value for g in Gating}


@pytest.mark.parametrize("hex_id", ["0000000000000001", "ffffffffffffffff", CHECKPOINT,
                                    "8000000000000000", "7fffffffffffffff"])
def test_checkpoint_ids_survive_an_int64_column(hex_id):
    code = id_code(hex_id)
    assert -(1 << 63) <= code < (1 << 63) and code != 0
    assert code_id(code) == hex_id
    assert id_code(None) == 0 and code_id(0) is None
    assert id_code("session one") == id_code("session one") != 0  # a name: its hash


def test_the_observation_splits_into_robot_state_and_environment():
    layout = Layout(OBS, ACT, ENV)
    features = layout.features()
    assert features["observation.state"]["names"] == ["j.position", "j.velocity"]
    assert features["observation.environment_state"]["names"] == ["target.x"]
    assert "observation.environment_state" not in Layout(OBS, ACT).features()
    with pytest.raises(ValueError, match="must be the last elements"):
        Layout(OBS, ACT, ["j.position"])


def test_nothing_non_finite_reaches_the_dataset(tmp_path):
    root = tmp_path / "ds"
    w = writer(root)
    bad = frames_of(0, 4, 0, source="policy", round_index=1, value=float("nan"),
                    threshold=None, policy_action=[float("nan"), 1.0],
                    uncertainty=float("inf"))
    w.write_episode(bad, end(0, 3, "failure", 4), "t")
    w.close()
    [path] = (root / "data").rglob("*.parquet")
    table = pq.read_table(path).to_pydict()
    for name, values in table.items():
        if name != "task_index":
            assert all(finite(v) for v in values), name
    assert table["gate_valid"] == [0] * 4 and table["uncertainty_valid"] == [0] * 4
    assert table["policy_available"] == [1] * 4 and table["policy_action_valid"] == [0] * 4
    assert table["policy_action"][0] == [0.0, 0.0]
    stats = json.loads((root / "meta/stats.json").read_text())
    for key, per_stat in stats.items():
        for stat, value in per_stat.items():
            assert finite(value), (key, stat)


def test_reward_done_and_success_follow_the_episode_outcome(tmp_path):
    root = tmp_path / "ds"
    w = writer(root)
    w.write_episode(frames_of(0, 3, 0), end(0, 1, "success", 3), "t")
    w.write_episode(frames_of(1, 2, 100), end(1, 2, "failure", 2), "t")
    w.close()
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    table = LeRobotDataset("local/t", root=root).hf_dataset.with_format("numpy")
    assert list(np.asarray(table["next.done"]).reshape(-1)) == [0, 0, 1, 0, 1]
    assert list(np.asarray(table["next.success"]).reshape(-1)) == [0, 0, 1, 0, 0]
    assert list(np.asarray(table["next.reward"]).reshape(-1)) == [0, 0, 1, 0, 0]
    # the learner's observation is the two parts again, in the profile's order
    assert load_frames(root, "local/t")["observation"][2].tolist() == [2.0, 4.0, 5.0]


def test_provenance_is_rebuilt_from_the_frames_alone(tmp_path):
    """With every meta file of ours deleted (what LeRobot's edit tools do), the columns still
    say each episode's round, checkpoint, label source, gating, seed, outcome and session."""
    root = tmp_path / "ds"
    w = writer(root)
    task = task_text_for("arm", "beta", "scripted/x")
    written = [
        w.write_episode(frames_of(0, 3, 0), end(0, 10, "success", 3, "a1b2c3d4e5f6"), task),
        w.write_episode(frames_of(1, 4, 100, source="policy", round_index=1, beta=0.25),
                        end(1, 11, "failure", 4, "a1b2c3d4e5f6"), task),
        w.write_episode(frames_of(2, 2, 200, gating="noise", expert_action=None),
                        end(2, 12, "timeout", 2), "my own words"),
    ]
    w.close()
    for name in (PROVENANCE_FILE, CODES_FILE, COMMIT_FILE):
        (root / name).unlink()
    read = read_provenance(root, "local/t")
    assert [dataclasses.replace(r, label_source="") for r in read] == \
        [dataclasses.replace(r, label_source="") for r in written]
    assert [r.label_source for r in read] == ["scripted/x", "scripted/x", "none"]
    assert read[1].checkpoint_id == CHECKPOINT and read[1].round == 1
    assert read[2].gating == "noise" and read[2].session == ""
    info = json.loads((root / "meta/info.json").read_text())
    # the code tables travel inside info.json, which every LeRobot tool keeps
    assert "expert=0" in info["features"]["source"]["names"][0]
    assert f"{LabelKind.LATER.value}={LabelKind.LATER.code}" in \
        info["features"]["label_source"]["names"][0]


def test_the_readme_lists_the_codes_the_dataset_uses():
    from pathlib import Path

    from dagger_ros.core.recording.schema import CODED_COLUMNS

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    codes = readme[readme.index("| column | codes |"):].split("\n\n")[0].splitlines()
    for column, table in CODED_COLUMNS.items():
        [line] = [ln for ln in codes if ln.startswith(f"| `{column}` | ")]
        cell = line.split(" | ")[1].rstrip(" |")
        listed = [item.split(" (")[0].strip() for item in cell.split(", ")]
        assert listed == [f"{value} {code}" for value, code in table.code_table().items()], \
            column
