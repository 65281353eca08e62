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

OBS, ACT = ["a", "b", "c"], ["u", "v"]


def decision(stamp, source="expert", round_index=0):
    return {"stamp_ns": stamp, "source": source, "reason": "beta_draw", "round": round_index,
            "beta": 0.5, "checkpoint_id": "ck" if round_index else None, "gating": "beta",
            "label_source": "scripted/x", "expert_action": [1.0, 2.0],
            "policy_action": [0.5, 0.5] if source == "policy" else None,
            "executed_action": [1.0, 2.0] if source == "expert" else [0.5, 0.5],
            "uncertainty": 0.2 if source == "policy" else None}


def episode_frames(episode, steps, base, round_index=0):
    joiner, frames = FrameJoiner(), []
    for s in range(steps):
        stamp = base + s
        # decisions may arrive before their observation: join by stamp, not by order
        joiner.add_decision(stamp, decision(stamp, "policy" if s % 2 else "expert",
                                            round_index))
        frames.append(joiner.add_observation(stamp, f"{episode}:{s}", np.full(3, s, float)))
    return frames


def test_joiner_pairs_by_stamp_and_ignores_resent_observations():
    joiner = FrameJoiner()
    assert joiner.add_observation(5, "0:0", np.zeros(3)) is None
    assert joiner.add_observation(6, "0:1", np.ones(3)) is None
    frame = joiner.add_decision(6, decision(6))
    assert (frame.episode, frame.step, frame.stamp_ns) == (0, 1, 6)
    assert joiner.add_observation(6, "0:1", np.ones(3)) is None  # re-sent: joined already
    assert joiner.add_decision(5, decision(5)).step == 0


def test_assembler_waits_for_end_and_every_step():
    asm = EpisodeAssembler()
    frames = episode_frames(0, 3, 100)
    asm.add_frame(frames[0])
    asm.add_end({"episode": 0, "seed": 7, "outcome": "success", "steps": 3})
    assert asm.ready() == [] and asm.missing(0) == 2
    asm.add_frame(frames[2])
    asm.add_frame(frames[1])
    [(ready, end)] = asm.ready()
    assert [f.step for f in ready] == [0, 1, 2] and end["seed"] == 7


def test_writer_appends_episodes_that_lerobot_opens_at_any_time(tmp_path):
    root = tmp_path / "ds"
    writer = DatasetWriter(root, "local/t", 50, OBS, ACT)
    writer.write_episode(episode_frames(0, 4, 0), {"episode": 0, "seed": 10,
                                                   "outcome": "success", "steps": 4}, "t")
    assert open_dataset(root, "local/t").num_episodes == 1  # opens between episodes
    writer.write_episode(episode_frames(1, 3, 100, 1), {"episode": 1, "seed": 11,
                                                        "outcome": "failure", "steps": 3}, "t")
    # a restarted recorder appends to the same dataset
    DatasetWriter(root, "local/t", 50, OBS, ACT).write_episode(
        episode_frames(2, 2, 200, 2), {"episode": 2, "seed": 12, "outcome": "timeout",
                                       "steps": 2}, "t")
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
    assert [p["seed"] for p in prov] == [10, 11, 12]
    assert [p["outcome"] for p in prov] == ["success", "failure", "timeout"]
    assert prov[1]["checkpoint_id"] == "ck" and prov[1]["label_source"] == "scripted/x"
    assert (prov[0]["expert_frames"], prov[0]["policy_frames"]) == (2, 2)
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
        episode_frames(0, 2, 0), {"episode": 0, "seed": 1, "outcome": "success", "steps": 2},
        "t")
    with pytest.raises(DatasetError, match="feature 'observation.state' has shape"):
        DatasetWriter(root, "local/t", 50, OBS + ["d"], ACT)


def test_embedding_shim_defers_to_lerobot_when_media_is_present(monkeypatch):
    import datasets
    import lerobot.datasets.lerobot_dataset as lerobot_dataset

    from dagger_ros.core.recording import skip_embedding_without_media

    calls = []
    monkeypatch.setattr(lerobot_dataset, "embed_images", lambda ds: calls.append(ds) or ds)
    skip_embedding_without_media()
    plain = datasets.Dataset.from_dict({"x": [1.0, 2.0]})
    assert lerobot_dataset.embed_images(plain) is plain and calls == []
    images = datasets.Dataset.from_dict({"img": [None]},
                                        features=datasets.Features({"img": datasets.Image()}))
    lerobot_dataset.embed_images(images)
    assert calls == [images]


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
    asm.add_end({"episode": 3, "seed": 3, "outcome": "success", "steps": 5})
    assert asm.ready() == [] and asm.discarded == []  # late frames may still come
    asm.add_frame(episode_frames(4, 1, 400)[0])
    assert asm.ready() == [] and asm.discarded == [(3, 3, 5)]
