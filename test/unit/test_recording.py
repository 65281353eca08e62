"""Frames joined by stamp, episodes written with LeRobot's API and opened by LeRobot."""

import json

import numpy as np
import pytest

from dagger_ros.core.recording import (
    PROVENANCE_FILE,
    DatasetError,
    DatasetWriter,
    EpisodeAssembler,
    FrameJoiner,
    load_training_data,
    open_dataset,
    read_provenance,
)

from .sample_records import CHECKPOINT, decision, end

OBS, ACT = ["a", "b", "c"], ["u", "v"]




def episode_frames(episode, steps, base, round_index=0):
    joiner, frames = FrameJoiner(), []
    for s in range(steps):
        stamp = base + s
        # decisions may arrive before their observation: join by stamp, not by order
        joiner.add_decision(decision(stamp, "policy" if s % 2 else "expert",
                                            round_index))
        frames.append(joiner.add_observation(stamp, f"{episode}:{s}", np.full(3, s, float)))
    return frames


def test_joiner_pairs_by_stamp_and_ignores_resent_observations():
    joiner = FrameJoiner()
    assert joiner.add_observation(5, "0:0", np.zeros(3)) is None
    assert joiner.add_observation(6, "0:1", np.ones(3)) is None
    frame = joiner.add_decision(decision(6, label="0:1"))
    assert (frame.episode, frame.step, frame.stamp_ns) == (0, 1, 6)
    assert joiner.add_observation(6, "0:1", np.ones(3)) is None  # re-sent: joined already
    assert joiner.add_decision(decision(5, label="0:0")).step == 0


def test_assembler_waits_for_end_and_every_step():
    asm = EpisodeAssembler()
    frames = episode_frames(0, 3, 100)
    asm.add_frame(frames[0])
    asm.add_end(end(0, 7, "success", 3))
    assert asm.ready() == [] and asm.missing(0) == 2
    asm.add_frame(frames[2])
    asm.add_frame(frames[1])
    [(ready, finished)] = asm.ready()
    assert [f.step for f in ready] == [0, 1, 2] and finished.seed == 7


def test_writer_appends_episodes_that_lerobot_opens_at_any_time(tmp_path):
    root = tmp_path / "ds"
    writer = DatasetWriter(root, "local/t", 50, OBS, ACT)
    writer.write_episode(episode_frames(0, 4, 0), end(0, 10, "success", 4), "t")
    assert open_dataset(root, "local/t").num_episodes == 1  # opens between episodes
    writer.write_episode(episode_frames(1, 3, 100, 1), end(1, 11, "failure", 3), "t")
    # a restarted recorder appends to the same dataset
    DatasetWriter(root, "local/t", 50, OBS, ACT).write_episode(
        episode_frames(2, 2, 200, 2), end(2, 12, "timeout", 2), "t")
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    ds = LeRobotDataset("local/t", root=root)
    assert (ds.num_episodes, ds.num_frames) == (3, 9)
    table = ds.hf_dataset.with_format("numpy")
    assert list(table["index"]) == list(range(9))
    assert list(table["episode_index"]) == [0] * 4 + [1] * 3 + [2] * 2
    assert list(np.asarray(table["round"]).reshape(-1)) == [0] * 4 + [1] * 3 + [2] * 2
    sources = np.asarray(table["source"]).reshape(-1)
    executed, label = np.stack(table["executed_action"]), np.stack(table["action"])
    assert np.allclose(executed[sources == 0], label[sources == 0])
    assert np.allclose(executed[sources == 1], np.stack(table["policy_action"])[sources == 1])
    info = json.loads((root / "meta" / "info.json").read_text())
    assert (info["total_episodes"], info["total_frames"]) == (3, 9)
    prov = read_provenance(root)
    assert [p.seed for p in prov] == [10, 11, 12]
    assert [p.outcome for p in prov] == ["success", "failure", "timeout"]
    assert prov[1].checkpoint_id == CHECKPOINT and prov[1].label_source == "scripted"
    assert (prov[0].expert_frames, prov[0].policy_frames) == (2, 2)
    obs, act, episodes = load_training_data(root, "local/t")
    assert obs.shape == (9, 3) and act.shape == (9, 2) and list(episodes[-2:]) == [2, 2]
    assert (root / PROVENANCE_FILE).exists()


def test_not_a_dataset_is_refused_by_name(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "cat.jpg").write_bytes(b"x")
    with pytest.raises(DatasetError, match=f"{folder} exists and is not a LeRobot dataset"):
        DatasetWriter(folder, "local/t", 50, OBS, ACT)
    with pytest.raises(DatasetError, match=f"{folder} is not a LeRobot dataset"):
        open_dataset(folder)


def test_appending_another_layout_is_refused(tmp_path):
    root = tmp_path / "ds"
    DatasetWriter(root, "local/t", 50, OBS, ACT).write_episode(
        episode_frames(0, 2, 0), end(0, 1, "success", 2),
        "t")
    with pytest.raises(DatasetError, match="feature 'observation.state' has shape"):
        DatasetWriter(root, "local/t", 50, OBS + ["d"], ACT)


def test_unfinished_episode_keeps_its_contiguous_frames():
    asm = EpisodeAssembler()
    frames = episode_frames(3, 6, 0)
    for f in frames[:4] + frames[5:]:  # step 4 never arrived
        asm.add_frame(f)
    [(kept, episode)] = asm.unfinished()
    assert episode == 3 and [f.step for f in kept] == [0, 1, 2, 3]
    assert asm.unfinished() == []


def test_an_episode_joined_mid_way_is_discarded_once_a_later_one_runs():
    asm = EpisodeAssembler()
    for frame in episode_frames(3, 5, 300)[2:]:  # the recorder (re)started at step 2
        asm.add_frame(frame)
    asm.add_end(end(3, 3, "success", 5))
    assert asm.ready() == [] and asm.discarded == []  # late frames may still come
    asm.add_frame(episode_frames(4, 1, 400)[0])
    assert asm.ready() == [] and asm.discarded == [(3, 3, 5)]


def test_a_one_frame_episode_leaves_the_dataset_readable(tmp_path):
    # an operator who presses start and end within one tick, on a robot whose stamps are
    # wall-clock ns: LeRobot alone would make the whole dataset unreadable (lerobot_shim)
    writer = DatasetWriter(tmp_path / "ds", "local/t", 50, OBS, ACT)
    robot_ns = 1_796_417_162_400_867_633
    for e, steps in enumerate((4, 1, 3)):
        frames = episode_frames(e, steps, robot_ns + 100 * e, round_index=1)
        writer.write_episode(frames, end(e, e, "success", steps), "t")
    writer.close()
    assert [p.frames for p in read_provenance(tmp_path / "ds", "local/t")] == [4, 1, 3]
    assert len(load_training_data(tmp_path / "ds", "local/t")[0]) == 8
