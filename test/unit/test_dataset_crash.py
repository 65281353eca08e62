"""The recorder's dataset survives a SIGKILL at any step of an episode's write, and a real
write error (the kernel refusing to grow a file, as on a full disk) corrupts nothing."""

import subprocess
import sys
from pathlib import Path

import pytest

from dagger_ros.core.images import ImageField
from dagger_ros.core.recording import (
    PROVENANCE_FILE,
    DatasetError,
    DatasetWriter,
    journal,
    load_training_data,
    open_dataset,
    read_provenance,
)

CHILD = Path(__file__).with_name("crash_writer.py")
OBS, ACT = ["a", "b", "c"], ["u", "v"]
POINTS = ["data_written", "episode_meta_written", "info_torn", "before_stats", "finalize",
          "provenance_torn", "commit"]


def run_child(root, before, point, *extra):
    return subprocess.run([sys.executable, str(CHILD), str(root), str(before), point, *extra],
                          capture_output=True, text=True, timeout=120)


def check_intact(root, episodes):
    """What LeRobot's loader and our trainer see: the saved episodes, whole."""
    dataset = open_dataset(root, "local/crash")
    assert dataset.meta.total_episodes == episodes
    journal.validate(root, dataset)
    assert [int(i) for i in dataset.hf_dataset["index"]] == list(range(dataset.meta.total_frames))
    assert dataset.meta.total_frames == sum(20 + e for e in range(episodes))
    prov = read_provenance(root)
    assert [p.episode_index for p in prov] == list(range(episodes))
    obs, act, ids = load_training_data(root, "local/crash")
    assert len(obs) == dataset.meta.total_frames


@pytest.mark.parametrize("point", POINTS)
def test_sigkill_inside_an_episode_write_loses_only_that_episode(tmp_path, point):
    root = tmp_path / "ds"
    result = run_child(root, 2, point)
    assert result.returncode == -9, result.stdout + result.stderr  # killed where armed
    logged = []
    writer = DatasetWriter(root, "local/crash", 50, OBS, ACT, log=logged.append)
    assert writer.episodes == 2
    check_intact(root, 2)
    if point not in ("commit",):  # a kill before the commit's rename leaves only its tmp
        assert logged, "recovery must say what it did"
    # and the restarted recorder appends where the last good episode ended
    result = run_child(root, 1, "commit")
    assert result.returncode == -9
    DatasetWriter(root, "local/crash", 50, OBS, ACT, log=logged.append)
    check_intact(root, 3)


def test_torn_files_are_kept_aside_not_deleted(tmp_path):
    root = tmp_path / "ds"
    assert run_child(root, 1, "data_written").returncode == -9
    logged = []
    DatasetWriter(root, "local/crash", 50, OBS, ACT, log=logged.append)
    torn = list((root / journal.TORN_DIR).rglob("*.parquet"))
    assert torn and any("data/" in line and "torn/" in line for line in logged), logged


def test_kill_before_the_first_episode_starts_afresh(tmp_path):
    root = tmp_path / "ds"
    assert run_child(root, 0, "info_torn").returncode == -9
    writer = DatasetWriter(root, "local/crash", 50, OBS, ACT)
    assert writer.episodes == 0
    assert run_child(root, 1, "commit").returncode == -9
    DatasetWriter(root, "local/crash", 50, OBS, ACT)
    check_intact(root, 1)


def test_write_error_is_clear_and_corrupts_nothing(tmp_path):
    root = tmp_path / "ds"
    result = run_child(root, 2, "file_too_large")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WRITE ERROR: " in result.stdout
    message = result.stdout.split("WRITE ERROR: ")[1].splitlines()[0]
    assert "episode 2" in message and str(root) in message and "keeps its 2 saved" in message
    assert "EPISODES 3" in result.stdout  # it wrote the next episode once space was back
    dataset = open_dataset(root, "local/crash")
    journal.validate(root, dataset)
    assert dataset.meta.total_frames == 20 + 21 + 5


def test_unwritable_dataset_path_is_named(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DatasetError, match="is a file, not a folder"):
        DatasetWriter(blocker / "ds", "local/crash", 50, OBS, ACT)


def test_provenance_file_is_cut_back_to_committed_lines(tmp_path):
    root = tmp_path / "ds"
    assert run_child(root, 1, "commit").returncode == -9
    DatasetWriter(root, "local/crash", 50, OBS, ACT)
    assert len((root / PROVENANCE_FILE).read_text().splitlines()) == 1


CAMERA_POINTS = ["video_encoding", "video_moved", "commit"]


@pytest.mark.parametrize("point", CAMERA_POINTS)
def test_sigkill_during_video_encoding_loses_only_that_episode(tmp_path, point):
    """With a camera: a kill while the episode's video is encoded (half a file in place),
    after it is moved into videos/, or before the commit loses that episode alone; the
    saved episodes' frames and videos decode, and the next episode appends."""
    root = tmp_path / "ds"
    result = run_child(root, 2, point, "camera")
    assert result.returncode == -9, result.stdout + result.stderr
    logged = []
    writer = DatasetWriter(root, "local/crash", 50, OBS, ACT, log=logged.append,
                           images=[ImageField("cam", 64, 64)])
    assert writer.episodes == 2
    check_intact(root, 2)
    if point != "commit":
        assert any("videos/" in line and "torn/" in line for line in logged), logged
    dataset = open_dataset(root, "local/crash")
    last = dataset[dataset.meta.total_frames - 1]["observation.images.cam"]
    assert tuple(last.shape) == (3, 64, 64)
    # frame s of an episode is grey level 7*s: the video decodes to the frame it was given
    assert abs(float(last.mean()) * 255 - 7 * 20) < 6
    writer.close()
    assert run_child(root, 1, "commit", "camera").returncode == -9
    DatasetWriter(root, "local/crash", 50, OBS, ACT, images=[ImageField("cam", 64, 64)])
    check_intact(root, 3)


def test_a_kill_during_the_first_camera_episode_leaves_a_folder_that_reopens(tmp_path):
    """LeRobot's scratch space (images/ as PNGs, tmp*/ with the video being encoded) is
    moved aside: the recorder reopens the folder and writes the episode again."""
    root = tmp_path / "ds"
    assert run_child(root, 0, "video_encoding", "camera").returncode == -9
    logged = []
    writer = DatasetWriter(root, "local/crash", 50, OBS, ACT, log=logged.append,
                           images=[ImageField("cam", 64, 64)])
    assert writer.episodes == 0
    assert not (root / "images").exists() and not list(root.glob("tmp*"))
    writer.close()
    assert run_child(root, 1, "commit", "camera").returncode == -9
    DatasetWriter(root, "local/crash", 50, OBS, ACT, images=[ImageField("cam", 64, 64)])
    check_intact(root, 1)
