"""The vision ensemble: it learns where things are in an image, its checkpoints round-trip
and are refused for another robot, and a recorded dataset's videos decode for training."""

import os

import numpy as np
import pytest

from dagger_ros.core.config import from_mapping
from dagger_ros.core.images import ImageField
from dagger_ros.core.policy_model import CheckpointError
from dagger_ros.core.policy_runtime import PolicyRuntime
from dagger_ros.core.recording import DatasetWriter, Frame
from dagger_ros.core.recording.reading import load_frames, load_images
from dagger_ros.core.training import TrainConfig
from dagger_ros.core.vision_model import (
    load_vision_checkpoint,
    save_vision_checkpoint,
    train_vision_ensemble,
)

from .sample_records import decision, end


def dots(n, rng, size=32):
    """Images with one bright dot each; the 'action' is where the dot is (-1..1)."""
    images = np.full((n, size, size, 3), 40, np.uint8)
    where = rng.uniform(-0.8, 0.8, (n, 2))
    cols = ((where[:, 0] + 1) / 2 * (size - 1)).round().astype(int)
    rows = ((where[:, 1] + 1) / 2 * (size - 1)).round().astype(int)
    for i, (r, c) in enumerate(zip(rows, cols, strict=True)):
        images[i, max(r - 1, 0):r + 2, max(c - 1, 0):c + 2] = (250, 30, 30)
    return images, where


CONFIG = {"members": 2, "hidden": [32], "max_steps": 300, "batch_size": 32,
          "eval_every": 50, "patience": 10, "learning_rate": 3e-3, "threads": 1}


def test_it_learns_where_the_dot_is_and_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    images, where = dots(400, rng)
    obs = rng.normal(size=(400, 2)).astype(np.float32)  # a state that says nothing of it
    episodes = np.repeat(np.arange(20), 20)
    policy, report = train_vision_ensemble(obs, {"cam": images}, where, episodes, ["a", "b"],
                                           ["x", "y"], from_mapping(TrainConfig, CONFIG))
    test_images, test_where = dots(40, np.random.default_rng(1))
    guesses = np.array([policy.predict(np.zeros(2), {"cam": im})[0] for im in test_images])
    error = np.abs(guesses - test_where).mean()
    assert error < 0.5 * np.abs(test_where - where.mean(0)).mean(), error  # not the mean
    path = save_vision_checkpoint(policy, tmp_path, {"name": "round_000"})
    again, config = load_vision_checkpoint(path, 2, 2, {"cam": (32, 32, 3)})
    assert config["architecture"]["type"] == "cnn_ensemble"
    a = policy.predict(np.zeros(2), {"cam": test_images[0]})
    b = again.predict(np.zeros(2), {"cam": test_images[0]})
    assert np.allclose(a[0], b[0], atol=1e-5) and np.allclose(a[1], b[1], atol=1e-5)
    # a robot with another camera, or none, refuses it by name; the last good one stays
    with pytest.raises(CheckpointError, match="sees cameras"):
        load_vision_checkpoint(path, 2, 2, {"wrist": (32, 32, 3)})
    runtime = PolicyRuntime(2, 2, images={"cam": (32, 32, 3)})
    assert runtime.load(str(path)) and runtime.status().kind == "vision_ensemble"
    mean, spread, uncertainty = runtime.act(np.zeros(2), 0, {"cam": test_images[0]})
    assert mean.shape == (2,) and uncertainty is not None and uncertainty >= 0
    blind = PolicyRuntime(2, 2)
    assert not blind.load(str(path)) and "sees cameras" in blind.last_error
    with pytest.raises(ValueError, match="needs camera"):
        again.predict(np.zeros(2), {})


def test_a_warm_start_begins_from_the_previous_policy_and_never_ends_worse():
    rng = np.random.default_rng(2)
    images, where = dots(200, rng)
    obs = rng.normal(size=(200, 2)).astype(np.float32)
    episodes = np.repeat(np.arange(10), 20)
    short = from_mapping(TrainConfig, {**CONFIG, "max_steps": 150})
    first, _ = train_vision_ensemble(obs, {"cam": images}, where, episodes, ["a", "b"],
                                     ["x", "y"], short)
    probe = {"cam": images[0]}
    # a fit that only wrecks the network (a huge step) keeps its starting point, which is
    # the first candidate; its normalisation is the previous policy's
    wild = from_mapping(TrainConfig, {**CONFIG, "max_steps": 100, "learning_rate": 5.0})
    # (3x the spread, shifted: some 3.2 of the old deviations away, inside the limit of 4)
    kept, report = train_vision_ensemble(obs * 3 + 1, {"cam": images}, where, episodes,
                                         ["a", "b"], ["x", "y"], wild, init=first)
    assert report.start == "warm"
    assert np.allclose(kept.obs_mean, first.obs_mean) and np.allclose(kept.obs_std,
                                                                      first.obs_std)
    assert np.allclose(kept.predict(np.zeros(2), probe)[0], first.predict(np.zeros(2), probe)[0],
                       atol=1e-6)
    # without the warm start the same wild fit ends elsewhere
    fresh, _ = train_vision_ensemble(obs * 3 + 1, {"cam": images}, where, episodes,
                                     ["a", "b"], ["x", "y"], wild)
    assert not np.allclose(fresh.predict(np.zeros(2), probe)[0],
                           first.predict(np.zeros(2), probe)[0], atol=1e-3)
    # a previous policy of another shape is refused, naming what differs
    three = from_mapping(TrainConfig, {**CONFIG, "members": 3, "max_steps": 10})
    with pytest.raises(ValueError, match="members"):
        train_vision_ensemble(obs, {"cam": images}, where, episodes, ["a", "b"], ["x", "y"],
                              three, init=first)
    with pytest.raises(ValueError, match="cameras"):
        train_vision_ensemble(obs, {"wrist": images}, where, episodes, ["a", "b"], ["x", "y"],
                              short, init=first)


def test_a_warm_start_whose_normalisation_no_longer_fits_trains_afresh_saying_why():
    rng = np.random.default_rng(4)
    images, where = dots(120, rng)
    episodes = np.repeat(np.arange(6), 20)
    still = np.column_stack([np.full(120, 0.3), rng.normal(size=120)])  # 'a' never moved
    config = from_mapping(TrainConfig, {**CONFIG, "max_steps": 20})
    first, _ = train_vision_ensemble(still, {"cam": images}, where, episodes, ["a", "b"],
                                     ["x", "y"], config)
    moving = np.column_stack([rng.normal(0.3, 0.5, 120), rng.normal(size=120)])
    later, report = train_vision_ensemble(moving, {"cam": images}, where, episodes,
                                          ["a", "b"], ["x", "y"], config, init=first)
    assert report.start.startswith("fresh: warm start refused, observation 'a' lies ")
    assert "'b'" not in report.start
    assert later.obs_std[0] > 0.3  # its own normalisation, not the one that blew 'a' up
    # a NaN among the values is never a fit: refused too, never let through
    from dagger_ros.core.vision_model import normalisation_drift

    broken = still.copy()
    broken[5, 1] = np.nan
    assert "observation 'b'" in normalisation_drift(first, ["a", "b"], ["x", "y"], broken,
                                                    where)
    assert normalisation_drift(first, ["a", "b"], ["x", "y"], still, where) == ""
    # the trainer's log says so, naming the round
    from dagger_ros.core.rounds import log_refused_warm_start

    said = []
    log_refused_warm_start(type("Ports", (), {"log": staticmethod(said.append)}), 3,
                           {"start": report.start})
    log_refused_warm_start(type("Ports", (), {"log": staticmethod(said.append)}), 4,
                           {"start": "warm"})
    assert said == [f"round 3: {report.start[len('fresh: '):]}; trained from scratch"]


def test_the_trainer_warm_starts_from_the_previous_rounds_checkpoint(tmp_path):
    from dagger_ros.core.rounds import TrainerConfig, previous_vision_policy

    rng = np.random.default_rng(3)
    images, where = dots(40, rng)
    policy, _ = train_vision_ensemble(np.zeros((40, 3)), {"cam": images}, where[:, :1].repeat(3, 1),
                                      np.repeat(np.arange(4), 10), ["a", "b", "c"],
                                      ["x", "y", "z"],
                                      from_mapping(TrainConfig, {**CONFIG, "max_steps": 5}))
    save_vision_checkpoint(policy, tmp_path / "checkpoints", {"name": "round_000"})
    warm = from_mapping(TrainerConfig, {"task": "reach_camera", "run_dir": str(tmp_path),
                                        "warm_start": True})
    cold = from_mapping(TrainerConfig, {"task": "reach_camera", "run_dir": str(tmp_path)})
    assert previous_vision_policy(warm, 0) is None  # round 0 starts fresh
    assert previous_vision_policy(cold, 1) is None
    start = previous_vision_policy(warm, 1)
    assert start is not None and np.allclose(start.obs_mean, policy.obs_mean)
    assert previous_vision_policy(warm, 2) is None  # round 1 wrote none
    # a reused run_dir holding an older run's round 0 too: the newest one is the start
    newer, _ = train_vision_ensemble(np.zeros((40, 3)), {"cam": images}, where[:, :1].repeat(3, 1),
                                     np.repeat(np.arange(4), 10), ["a", "b", "c"],
                                     ["x", "y", "z"],
                                     from_mapping(TrainConfig, {**CONFIG, "max_steps": 5}),
                                     seed=9)
    old = next((tmp_path / "checkpoints").glob("round_000-*"))
    # the older one sorts last by name and by hash too: only its age tells them apart
    old = old.rename(old.with_name("round_000-ffffffffffffffff"))
    os.utime(old, (1_000_000, 1_000_000))
    save_vision_checkpoint(newer, tmp_path / "checkpoints", {"name": "round_000"})
    assert len(list((tmp_path / "checkpoints").glob("round_000-*"))) == 2
    start = previous_vision_policy(warm, 1)
    probe = np.zeros(3), {"cam": images[0]}
    assert np.allclose(start.predict(*probe)[0], newer.predict(*probe)[0], atol=1e-6)


def test_recorded_videos_decode_frame_for_frame_for_training(tmp_path):
    camera = ImageField("cam", 64, 64)
    writer = DatasetWriter(tmp_path / "ds", "local/v", 50, ["a", "b", "c"], ["u", "v"],
                           images=[camera])
    for e, steps in enumerate((12, 7)):
        frames = [Frame(e * 100 + s, e, s, np.full(3, s, float),
                        decision(e * 100 + s, label=f"{e}:{s}"),
                        {"cam": np.full(camera.shape, 10 * s + 50 * e, np.uint8)})
                  for s in range(steps)]
        writer.write_episode(frames, end(e, e, "success", steps), "t")
    writer.close()
    images = load_images(tmp_path / "ds", "local/v", ["cam"])["cam"]
    frames = load_frames(tmp_path / "ds", "local/v")
    assert images.shape == (19, 64, 64, 3) == (len(frames["observation"]), 64, 64, 3)
    levels = images.reshape(19, -1).mean(axis=1)
    want = [10 * s for s in range(12)] + [10 * s + 50 for s in range(7)]
    assert np.allclose(levels, want, atol=4), levels
