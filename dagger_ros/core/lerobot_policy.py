"""A LeRobot policy as the learner: any policy LeRobot saved as a pretrained folder (ACT,
Diffusion, ...), run with LeRobot's own pre- and post-processors and its action queue.

A LeRobot pretrained folder (what ``lerobot-train`` writes under
``checkpoints/<step>/pretrained_model``) holds ``config.json`` with the policy ``type``,
``model.safetensors``, and the processors' ``policy_preprocessor.json`` /
``policy_postprocessor.json`` with their state files. It is told from a dagger_ros
checkpoint (whose config.json has an ``architecture``) by that ``type``.

The policy reads the dataset's features: ``observation.state`` (the profile's state
fields), ``observation.environment_state`` (its environment fields) and
``observation.images.<camera>`` (the profile's cameras: channels first, 0..1, as LeRobot's
dataset gives a decoded frame), and answers ``action``. Its inputs and output are checked
against the profile's sizes and cameras when it loads; a mismatch is refused naming the
folder and the feature.

Uncertainty: with ``samples`` > 1 the policy answers each observation ``samples`` times at
once (one batch, so one forward pass; with an action queue, ``samples`` whole chunks). A
stochastic policy (Diffusion, flow-matching policies) draws a different action sequence per
row; the first row is executed (a real sample, never an average of modes), and the spread
of the rows is the uncertainty: the standard deviation over samples of each action element
in the policy's own normalized units (LeRobot's normalizer: dataset std or half-range),
averaged over elements. Whether the policy is stochastic is measured when it loads (two
samples of one observation differ or not); a deterministic one (ACT at inference) gives
none, and a gate that needs one refuses it (see Supervisor), naming both.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from dagger_ros.core.policy_model import CheckpointError

STATE, ENVIRONMENT, ACTION = "observation.state", "observation.environment_state", "action"
IMAGES = "observation.images."


def is_lerobot_folder(path: str | Path) -> bool:
    """A LeRobot pretrained folder: a config.json with a policy ``type``."""
    try:
        config = json.loads((Path(path) / "config.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and "type" in config and "architecture" not in config


def folder_id(path: Path) -> str:
    """A content id like a dagger_ros checkpoint's: a hash of the weights and config."""
    h = hashlib.sha256()
    for name in ("model.safetensors", "config.json"):
        h.update((path / name).read_bytes())
    return h.hexdigest()[:16]


class LeRobotLearner:
    """Answers observations like EnsemblePolicy (``predict`` -> action, spread), with a
    LeRobot policy; ``reset`` starts a new episode (empties the action queue)."""

    def __init__(self, path: str | Path, state_size: int, environment_size: int,
                 action_size: int, device: str = "cpu", samples: int = 1,
                 threads: int | None = None, images: dict | None = None):
        """``images``: the profile's cameras, {name: (H, W, 3)}."""
        path = Path(path)
        images = {name: tuple(int(v) for v in shape) for name, shape in (images or {}).items()}
        if samples < 1:
            raise CheckpointError(f"{path}: samples must be >= 1, got {samples}")
        for name in ("config.json", "model.safetensors"):
            if not (path / name).is_file():
                raise CheckpointError(f"{path}: not a LeRobot pretrained folder (no {name})")
        try:
            import torch
            from lerobot.configs.policies import PreTrainedConfig

            if threads is not None:  # (process-wide: this process runs one policy)
                torch.set_num_threads(threads)
            from lerobot.policies.factory import get_policy_class, make_pre_post_processors

            config = PreTrainedConfig.from_pretrained(path)
            config.device = device
        except Exception as exc:  # draccus and lerobot raise many kinds for a bad config
            raise CheckpointError(f"{path}/config.json is not a LeRobot policy config: "
                                  f"{type(exc).__name__}: {exc}") from None
        self.kind = config.type
        want = {STATE: state_size, ENVIRONMENT: environment_size}
        shapes = {k: tuple(int(v) for v in f.shape) for k, f in config.input_features.items()}
        inputs = {k: int(np.prod(s)) for k, s in shapes.items() if not k.startswith(IMAGES)}
        outputs = {k: int(np.prod(f.shape)) for k, f in config.output_features.items()}
        unknown = [k for k in inputs if k not in want or want[k] == 0]
        wrong = [f"{k} has {n} elements, the profile {want[k]}" for k, n in inputs.items()
                 if k in want and want[k] and n != want[k]]
        cameras = {k[len(IMAGES):]: s for k, s in shapes.items() if k.startswith(IMAGES)}
        unknown += [f"{IMAGES}{c}" for c in cameras if c not in images]
        wrong += [f"{IMAGES}{c} is {s}, the profile's camera gives "
                  f"{(3, *images[c][:2])} (channels, height, width)"
                  for c, s in cameras.items() if c in images and s != (3, *images[c][:2])]
        wrong += [f"it does not read camera '{c}' ({IMAGES}{c}), which the profile gives: "
                  "a policy that ignores the camera cannot see what only the camera shows"
                  for c in images if c not in cameras]
        if unknown or wrong or outputs.get(ACTION) != action_size:
            why = wrong + [f"it reads {k}, which the profile does not give" for k in unknown]
            if outputs.get(ACTION) != action_size:
                why.append(f"its action has {outputs.get(ACTION)} elements, the profile "
                           f"{action_size}")
            raise CheckpointError(f"{path}: LeRobot {self.kind} policy does not fit this "
                                  f"robot: {'; '.join(why)}")
        try:
            self.policy = get_policy_class(self.kind).from_pretrained(path, config=config)
            self.preprocess, self.postprocess = make_pre_post_processors(
                config, pretrained_path=str(path))
        except Exception as exc:
            raise CheckpointError(f"{path}: LeRobot could not load its {self.kind} policy: "
                                  f"{type(exc).__name__}: {exc}") from None
        self.policy.eval()
        self.torch, self.device = torch, device
        self.inputs = [k for k in (STATE, ENVIRONMENT) if k in inputs]
        self.cameras = images
        self.state_size, self.action_size = state_size, action_size
        self.observation_size = state_size + environment_size
        self.content_id = folder_id(path)
        self.samples = samples
        self.last_uncertainty: float | None = None
        #: samples > 1 of a policy whose samples differ: the spread is its uncertainty
        self.gives_uncertainty = samples > 1 and self.stochastic()
        self.reset()

    def reset(self) -> None:
        self.policy.reset()

    def stochastic(self) -> bool:
        """Whether two samples of one observation differ (Diffusion: yes; ACT: no)."""
        self.reset()
        blank = {c: np.zeros(shape, np.uint8) for c, shape in self.cameras.items()}
        normalized, _ = self._sample(np.zeros(self.observation_size, np.float32), rows=2,
                                     images=blank)
        self.reset()
        return bool(np.any(np.abs(normalized[0] - normalized[1]) > 1e-6))

    def _sample(self, observation: np.ndarray, rows: int, images: dict | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
        """(normalized actions, actions), one row per sample; ``images``: {camera: (H, W, 3)
        uint8}."""
        torch = self.torch
        obs = np.asarray(observation, np.float32)
        parts = {STATE: obs[:self.state_size], ENVIRONMENT: obs[self.state_size:]}
        batch = {k: torch.from_numpy(parts[k].copy())[None].repeat(rows, 1)
                 for k in self.inputs}
        for camera in self.cameras:
            if images is None or camera not in images:
                raise ValueError(f"the policy needs camera '{camera}'s image")
            # as LeRobot's dataset gives a decoded frame: float, channels first, 0..1
            pixels = torch.from_numpy(np.array(images[camera], np.uint8))  # own, writable
            frame = pixels.permute(2, 0, 1).float().div_(255.0)
            batch[f"{IMAGES}{camera}"] = frame[None].repeat(rows, 1, 1, 1)
        with torch.inference_mode():
            normalized = self.policy.select_action(self.preprocess(batch))
            action = self.postprocess(normalized)
        as_array = lambda t: np.asarray(t.detach().cpu().numpy(), float).reshape(rows, -1)  # noqa: E731
        return as_array(normalized), as_array(action)

    def predict(self, observation: np.ndarray, images: dict | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
        """The first sample's action and the samples' standard deviation per element."""
        normalized, action = self._sample(observation, self.samples, images)
        self.last_uncertainty = (float(np.mean(normalized.std(axis=0)))
                                 if self.gives_uncertainty else None)
        return action[0], action.std(axis=0)

    def uncertainty(self, spread) -> float | None:
        """The spread of the last answer's samples in normalized units, or None."""
        return self.last_uncertainty
