"""The guard of dagger_ros's reach into LeRobot (core/recording/lerobot_shim.py): it fails
when LeRobot's internals move, so the shim never silently stops applying."""

import inspect

import numpy as np


def test_lerobot_still_embeds_through_the_function_the_shim_wraps():
    import lerobot.datasets.dataset_writer as dataset_writer

    assert callable(getattr(dataset_writer, "embed_images", None)), \
        "lerobot no longer has dataset_writer.embed_images: review lerobot_shim.py"
    save = dataset_writer.DatasetWriter._save_episode_data
    assert "embed_images(" in inspect.getsource(save), \
        "DatasetWriter._save_episode_data no longer calls embed_images: review the shim"


def test_embedding_shim_defers_to_lerobot_when_media_is_present(monkeypatch):
    import datasets
    import lerobot.datasets.dataset_writer as dataset_writer

    from dagger_ros.core.recording.lerobot_shim import skip_embedding_without_media

    calls = []
    monkeypatch.setattr(dataset_writer, "embed_images", lambda ds: calls.append(ds) or ds)
    skip_embedding_without_media()
    plain = datasets.Dataset.from_dict({"x": [1.0, 2.0]})
    assert dataset_writer.embed_images(plain) is plain and calls == []
    images = datasets.Dataset.from_dict({"img": [None]},
                                        features=datasets.Features({"img": datasets.Image()}))
    dataset_writer.embed_images(images)
    assert calls == [images]


def test_closing_after_each_episode_leaves_complete_files_lerobot_reopens(tmp_path):
    """What the writer relies on: after close_episode_files the saved episodes are on disk
    in footer-complete files (a reader opens them while the writer lives), and the next
    save still works and opens new files."""
    import pyarrow.parquet as pq
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    from dagger_ros.core.recording.lerobot_shim import close_episode_files, one_episode_per_file

    features = {"observation.state": {"dtype": "float32", "shape": (2,), "names": ["a", "b"]},
                "action": {"dtype": "float32", "shape": (1,), "names": ["u"]}}
    root = tmp_path / "ds"
    writer = LeRobotDataset.create("local/shim", fps=10, features=features, root=root,
                                   use_videos=False)
    one_episode_per_file(writer)
    for episode, n in enumerate((4, 3)):
        for i in range(n):
            writer.add_frame({"observation.state": np.full(2, i, np.float32),
                              "action": np.zeros(1, np.float32), "task": "t"})
        writer.save_episode()
        close_episode_files(writer)
        for path in list((root / "data").rglob("*.parquet")) + list(
                (root / "meta/episodes").rglob("*.parquet")):
            pq.read_metadata(path)  # raises on a file without its footer
        reader = LeRobotDataset("local/shim", root=root)
        assert reader.num_episodes == episode + 1
    assert reader.num_frames == 7
    assert len(list((root / "data").rglob("*.parquet"))) == 2  # one file per episode


def test_a_one_frame_episode_among_others_leaves_the_dataset_readable(tmp_path):
    """LeRobot gives a 1-frame episode int64 stats and longer ones float64; with a 64-bit id
    column (a checkpoint, a robot's ns stamp) its loader then cannot open the dataset. The
    shim's float stats keep it readable; without the shim this test fails (checked)."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    from dagger_ros.core.recording.lerobot_shim import (
        close_episode_files,
        float_stats_for_single_frames,
        one_episode_per_file,
    )

    float_stats_for_single_frames()
    features = {"action": {"dtype": "float32", "shape": (1,), "names": ["u"]},
                "stamp_ns": {"dtype": "int64", "shape": (1,), "names": None}}
    root = tmp_path / "ds"
    writer = LeRobotDataset.create("local/one", fps=10, features=features, root=root,
                                   use_videos=False)
    one_episode_per_file(writer)
    stamp = 1_796_417_162_400_867_633  # a robot's wall clock in ns: no exact double
    for n in (3, 1, 2):
        for i in range(n):
            writer.add_frame({"action": np.zeros(1, np.float32),
                              "stamp_ns": np.array([stamp + i], np.int64), "task": "t"})
        writer.save_episode()
        close_episode_files(writer)
    writer.finalize()
    reader = LeRobotDataset("local/one", root=root)
    assert reader.num_episodes == 3 and reader.num_frames == 6
    assert int(reader[3]["stamp_ns"]) == stamp


def test_lerobots_notice_that_torchcodec_is_missing_is_dropped_and_nothing_else(caplog):
    import logging

    import dagger_ros  # noqa: F401  (installs the filter)

    logger = logging.getLogger("lerobot.utils.import_utils")
    with caplog.at_level(logging.WARNING, logger=logger.name):
        logger.warning("'torchcodec' is not available in your platform, falling back to 'pyav'")
        logger.warning("'torchcodec' is installed but cannot be loaded")
    assert [r.getMessage() for r in caplog.records] == [
        "'torchcodec' is installed but cannot be loaded"]
