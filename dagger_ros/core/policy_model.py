"""The learned policy: a K-member MLP ensemble, its normalisation, and its checkpoints.

Inference is numpy over stacked weights (one batched matmul per layer for all members),
so the policy node needs no torch and answers an observation in tens of microseconds.
A checkpoint is a folder with ``model.safetensors`` (weights and normalisation, nothing
executable) and ``config.json`` (architecture, names and sizes, provenance, content id).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
FORMAT = "dagger_ros.ensemble_mlp/1"


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message names the file and the mismatch."""


@dataclasses.dataclass
class EnsemblePolicy:
    """Stacked weights: ``weights[l]`` is (K, in, out), ``biases[l]`` is (K, out)."""

    weights: list[np.ndarray]
    biases: list[np.ndarray]
    obs_mean: np.ndarray
    obs_std: np.ndarray
    act_mean: np.ndarray
    act_std: np.ndarray
    observation_names: list[str]
    action_names: list[str]
    #: per action element, the observation element it is an offset from (a position
    #: interface learns each command relative to the joint's measured position), or None
    relative_to: list[int] | None = None

    @property
    def members(self) -> int:
        return self.weights[0].shape[0]

    @property
    def hidden(self) -> list[int]:
        return [w.shape[2] for w in self.weights[:-1]]

    def member_actions(self, observation: np.ndarray) -> np.ndarray:
        """Every member's action: (K, action) for one observation, (K, B, action) for a batch."""
        obs = np.asarray(observation, dtype=np.float32)
        single = obs.ndim == 1
        h = ((obs - self.obs_mean) / self.obs_std).reshape(1, -1, obs.shape[-1])
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = np.matmul(h, w) + b[:, None, :]  # (K, B, out): all members in one call
            if i < last:
                np.maximum(h, 0.0, out=h)
        out = h * self.act_std + self.act_mean
        if self.relative_to is not None:
            out = out + obs.reshape(1, -1, obs.shape[-1])[..., self.relative_to]
        return out[:, 0, :] if single else out

    def predict(self, observation: np.ndarray, images: dict | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
        """Mean action over members and the members' standard deviation per element
        (``images``: a vision policy's input; this one reads the vector alone)."""
        members = self.member_actions(observation)
        return members.mean(axis=0), members.std(axis=0)

    def uncertainty(self, spread: np.ndarray) -> float:
        """One number for the ensemble's disagreement: the member spread per action element
        in units of that element's spread in the training labels, averaged."""
        return float(np.mean(np.asarray(spread) / self.act_std))

    # -- persistence ----------------------------------------------------------------
    def tensors(self) -> dict[str, np.ndarray]:
        out = {"obs_mean": self.obs_mean, "obs_std": self.obs_std, "act_mean": self.act_mean,
               "act_std": self.act_std}
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            out[f"layers.{i}.weight"] = w
            out[f"layers.{i}.bias"] = b
        return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}


def content_id(weights_bytes: bytes, config: dict) -> str:
    """A short hash of the weights and the architecture: equal ids, equal policies."""
    h = hashlib.sha256(weights_bytes)
    h.update(json.dumps({k: config[k] for k in ("architecture", "observation", "action")},
                        sort_keys=True).encode())
    return h.hexdigest()[:16]


def save_checkpoint(policy: EnsemblePolicy, folder: str | Path, provenance: dict) -> Path:
    """Write the checkpoint atomically: a temporary folder renamed into place.

    Returns the final folder ``<folder>/<name>-<content id>`` where ``name`` is
    ``provenance['name']`` (default ``checkpoint``). A reader never sees a half-written one.
    """
    from safetensors.numpy import save

    config = {
        "format": FORMAT,
        "architecture": {"type": "mlp_ensemble", "members": policy.members,
                         "hidden": policy.hidden, "activation": "relu"},
        "observation": {"names": list(policy.observation_names),
                        "size": len(policy.observation_names)},
        "action": {"names": list(policy.action_names), "size": len(policy.action_names),
                   **({"relative_to": [policy.observation_names[i] for i in policy.relative_to]}
                      if policy.relative_to is not None else {})},
    }
    return write_checkpoint_folder(folder, save(policy.tensors()), config, provenance)


def write_checkpoint_folder(folder: str | Path, weights_bytes: bytes, config: dict,
                            provenance: dict) -> Path:
    """``<folder>/<provenance name>-<content id>/`` with the weights and ``config`` (plus
    provenance and content id), written in a temporary folder and renamed into place."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = {**config, "provenance": {**provenance, "created_unix": round(time.time(), 3)}}
    cid = content_id(weights_bytes, config)
    config["content_id"] = cid
    final = folder / f"{provenance.get('name', 'checkpoint')}-{cid}"
    if final.exists():
        return final  # identical content already saved
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=folder))
    try:
        (tmp / WEIGHTS_FILE).write_bytes(weights_bytes)
        (tmp / CONFIG_FILE).write_text(json.dumps(config, indent=2))
        for f in (tmp / WEIGHTS_FILE, tmp / CONFIG_FILE):
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def load_checkpoint(folder: str | Path, observation_size: int | None = None,
                    action_size: int | None = None) -> tuple[EnsemblePolicy, dict]:
    """Load a checkpoint folder; refuse anything but safetensors + JSON of the right sizes."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    folder = Path(folder)
    config_path, weights_path = folder / CONFIG_FILE, folder / WEIGHTS_FILE
    if not folder.is_dir():
        raise CheckpointError(f"checkpoint {folder} is not a folder (expected {WEIGHTS_FILE} "
                              f"and {CONFIG_FILE} inside; pickles are never loaded)")
    for f in (config_path, weights_path):
        if not f.is_file():
            raise CheckpointError(f"checkpoint {folder} has no {f.name}")
    try:
        config = json.loads(config_path.read_text())
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{config_path} is not valid JSON: {exc}") from None
    if config.get("format") != FORMAT:
        raise CheckpointError(f"{config_path}: format {config.get('format')!r}, expected "
                              f"{FORMAT!r}")
    try:
        t = load_file(str(weights_path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{weights_path} is not a safetensors file: {exc}") from None
    obs_names, act_names = config["observation"]["names"], config["action"]["names"]
    if observation_size is not None and len(obs_names) != observation_size:
        raise CheckpointError(f"checkpoint {folder} takes {len(obs_names)} observation values, "
                              f"the task gives {observation_size}")
    if action_size is not None and len(act_names) != action_size:
        raise CheckpointError(f"checkpoint {folder} gives {len(act_names)} action values, "
                              f"the task takes {action_size}")
    layers = len(config["architecture"]["hidden"]) + 1
    try:
        weights = [t[f"layers.{i}.weight"] for i in range(layers)]
        biases = [t[f"layers.{i}.bias"] for i in range(layers)]
        relative = config["action"].get("relative_to")
        policy = EnsemblePolicy(weights, biases, t["obs_mean"], t["obs_std"], t["act_mean"],
                                t["act_std"], obs_names, act_names,
                                None if relative is None else [obs_names.index(n)
                                                               for n in relative])
    except KeyError as exc:
        raise CheckpointError(f"{weights_path} lacks tensor {exc}") from None
    except ValueError as exc:
        raise CheckpointError(f"{config_path}: action.relative_to names an element the "
                              f"observation does not have ({exc})") from None
    sizes = [len(obs_names)] + config["architecture"]["hidden"] + [len(act_names)]
    for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
        k = config["architecture"]["members"]
        if w.shape != (k, sizes[i], sizes[i + 1]) or b.shape != (k, sizes[i + 1]):
            raise CheckpointError(f"{weights_path}: layer {i} has shape {w.shape}, the config "
                                  f"says {(k, sizes[i], sizes[i + 1])}")
    if policy.obs_mean.shape != (len(obs_names),) or policy.act_mean.shape != (len(act_names),):
        raise CheckpointError(f"{weights_path}: normalisation sizes do not match the config")
    return policy, config
