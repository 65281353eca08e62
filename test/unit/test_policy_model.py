"""The ensemble and its checkpoints: predictions, round trip, refusals that name the file."""

import json

import numpy as np
import pytest

from dagger_ros.core.policy_model import (
    CheckpointError,
    EnsemblePolicy,
    load_checkpoint,
    save_checkpoint,
)


def random_policy(obs=4, act=2, members=3, hidden=(8, 8), seed=0):
    rng = np.random.default_rng(seed)
    sizes = [obs, *hidden, act]
    return EnsemblePolicy(
        weights=[rng.normal(size=(members, a, b)).astype(np.float32)
                 for a, b in zip(sizes[:-1], sizes[1:], strict=True)],
        biases=[rng.normal(size=(members, b)).astype(np.float32) for b in sizes[1:]],
        obs_mean=np.zeros(obs, np.float32), obs_std=np.ones(obs, np.float32),
        act_mean=np.full(act, 0.5, np.float32), act_std=np.full(act, 2.0, np.float32),
        observation_names=[f"o{i}" for i in range(obs)],
        action_names=[f"a{i}" for i in range(act)])


def reference_member(policy, k, x):
    h = (x - policy.obs_mean) / policy.obs_std
    for i, (w, b) in enumerate(zip(policy.weights, policy.biases, strict=True)):
        h = h @ w[k] + b[k]
        if i < len(policy.weights) - 1:
            h = np.maximum(h, 0)
    return h * policy.act_std + policy.act_mean


def test_stacked_inference_matches_each_member_and_batches():
    policy = random_policy()
    x = np.random.default_rng(1).normal(size=4).astype(np.float32)
    members = policy.member_actions(x)
    for k in range(policy.members):
        assert np.allclose(members[k], reference_member(policy, k, x), atol=1e-5)
    mean, spread = policy.predict(x)
    assert np.allclose(mean, members.mean(0)) and np.allclose(spread, members.std(0))
    batch = np.stack([x, x * 2])
    assert np.allclose(policy.member_actions(batch)[:, 0], members, atol=1e-5)
    assert policy.uncertainty(spread) == pytest.approx(float(np.mean(spread / 2.0)))


def test_checkpoint_round_trip_and_content_id(tmp_path):
    policy = random_policy()
    path = save_checkpoint(policy, tmp_path, {"name": "round_001", "round": 1})
    assert path.name.startswith("round_001-")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp")]
    loaded, config = load_checkpoint(path, 4, 2)
    x = np.ones(4, np.float32)
    assert np.allclose(loaded.predict(x)[0], policy.predict(x)[0])
    assert config["content_id"] == path.name.split("-")[1]
    assert config["provenance"]["round"] == 1
    assert config["architecture"] == {"type": "mlp_ensemble", "members": 3, "hidden": [8, 8],
                                      "activation": "relu"}
    # same weights, same id; other weights, other id
    assert save_checkpoint(policy, tmp_path, {"name": "round_001"}) == path
    other = save_checkpoint(random_policy(seed=5), tmp_path, {"name": "round_001"})
    assert other != path


def test_refuses_wrong_sizes_naming_the_checkpoint(tmp_path):
    path = save_checkpoint(random_policy(), tmp_path, {})
    with pytest.raises(CheckpointError, match=f"{path} takes 4 observation values, the task "
                                              "gives 12"):
        load_checkpoint(path, 12, 2)
    with pytest.raises(CheckpointError, match="gives 2 action values, the task takes 3"):
        load_checkpoint(path, 4, 3)


def test_refuses_pickles_and_broken_files(tmp_path):
    pickle_file = tmp_path / "policy.pt"
    pickle_file.write_bytes(b"\x80\x04K\x01.")
    with pytest.raises(CheckpointError, match="is not a folder .* pickles are never loaded"):
        load_checkpoint(pickle_file)
    folder = tmp_path / "ckpt"
    folder.mkdir()
    (folder / "model.pt").write_bytes(b"\x80\x04K\x01.")
    with pytest.raises(CheckpointError, match="has no config.json"):
        load_checkpoint(folder)
    good = save_checkpoint(random_policy(), tmp_path, {})
    (good / "model.safetensors").write_bytes(b"not safetensors at all")
    with pytest.raises(CheckpointError, match="is not a safetensors file"):
        load_checkpoint(good)
    good2 = save_checkpoint(random_policy(seed=3), tmp_path, {})
    config = json.loads((good2 / "config.json").read_text())
    config["architecture"]["hidden"] = [16, 8]
    (good2 / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="layer 0 has shape"):
        load_checkpoint(good2)
