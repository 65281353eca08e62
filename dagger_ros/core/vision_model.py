"""A vision learner: the ensemble with a small convolutional encoder per member.

Each member sees the cameras' images (``observation.images.<name>``) and the observation
vector. Per camera: the image halved (2x2 average), three convolutions (16, 32, 16
channels; the second of stride 2) and a spatial soft-argmax that turns each of the 16
feature maps into the image position where it fires most (x, y): 32 numbers that locate
things, such as the target, in the image. These,
with the normalised observation vector, go through an MLP (``hidden``) to the action. The
members differ by initialisation and by their bootstrap resample of the episodes' frames;
their spread is the uncertainty, as for the vector ensemble.

Training and inference are torch (CPU here, CUDA when present). A checkpoint is
``model.safetensors`` (the members' weights and the normalisation) and ``config.json``
(format ``dagger_ros.vision_ensemble/1``: architecture, names, the cameras and their sizes,
provenance, content id), written atomically like the vector ensemble's.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from dagger_ros.core.policy_model import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    CheckpointError,
    write_checkpoint_folder,
)

FORMAT = "dagger_ros.vision_ensemble/1"
CHANNELS = (16, 32, 16)


def _modules():
    import torch
    from torch import nn

    class SpatialSoftArgmax(nn.Module):
        """(B, C, H, W) feature maps -> (B, 2C) expected x, y of each map's softmax, at a
        learnt temperature. It starts sharp (x50): at a fresh network's feature scale
        (~0.05) a plain softmax is almost uniform, every map answers the image's centre
        whatever it shows, and the head learnt to ignore the camera."""

        def __init__(self):
            super().__init__()
            self.log_scale = nn.Parameter(torch.tensor(float(np.log(50.0))))

        def forward(self, x):
            b, c, h, w = x.shape
            x = x * self.log_scale.exp()
            weights = torch.softmax(x.reshape(b, c, h * w), dim=-1).reshape(b, c, h, w)
            ys = torch.linspace(-1.0, 1.0, h, device=x.device)
            xs = torch.linspace(-1.0, 1.0, w, device=x.device)
            ex = (weights.sum(dim=2) * xs).sum(dim=-1)
            ey = (weights.sum(dim=3) * ys).sum(dim=-1)
            return torch.cat([ex, ey], dim=1)

    class Member(nn.Module):
        def __init__(self, cameras: int, observation_size: int, hidden, action_size: int):
            super().__init__()
            self.encoders = nn.ModuleList([nn.Sequential(
                nn.AvgPool2d(2),
                nn.Conv2d(3, CHANNELS[0], 5, padding=2), nn.ReLU(),
                nn.Conv2d(CHANNELS[0], CHANNELS[1], 3, stride=2, padding=1), nn.ReLU(),
                nn.Conv2d(CHANNELS[1], CHANNELS[2], 3, padding=1),
                SpatialSoftArgmax()) for _ in range(cameras)])
            layers, width = [], cameras * 2 * CHANNELS[2] + observation_size
            for h in hidden:
                layers += [nn.Linear(width, h), nn.ReLU()]
                width = h
            layers.append(nn.Linear(width, action_size))
            self.head = nn.Sequential(*layers)

        def forward(self, images, observation):
            features = [enc(img) for enc, img in zip(self.encoders, images, strict=True)]
            return self.head(torch.cat([*features, observation], dim=1))

    class Ensemble(nn.Module):
        def __init__(self, members: int, cameras: int, observation_size: int, hidden,
                     action_size: int):
            super().__init__()
            self.members = nn.ModuleList([Member(cameras, observation_size, hidden,
                                                 action_size) for _ in range(members)])

    return Ensemble


def _images_tensor(images: np.ndarray, device):
    """uint8 (B, H, W, 3) -> float (B, 3, H, W) in [0, 1]."""
    import torch

    t = torch.as_tensor(np.ascontiguousarray(images), device=device)
    return t.permute(0, 3, 1, 2).float().div_(255.0)


@dataclasses.dataclass
class VisionPolicy:
    """Answers like EnsemblePolicy, from the observation vector and the cameras' images."""

    model: object  # the torch Ensemble
    obs_mean: np.ndarray
    obs_std: np.ndarray
    act_mean: np.ndarray
    act_std: np.ndarray
    observation_names: list[str]
    action_names: list[str]
    cameras: list[str]  # image names, in the encoders' order
    image_shapes: dict  # {name: (H, W, 3)}
    hidden: list[int]
    #: per action element, the observation element it is an offset from (a position
    #: interface's command relative to the measured position), or None
    relative_to: list[int] | None = None

    @property
    def members(self) -> int:
        return len(self.model.members)

    def member_actions(self, observation: np.ndarray, images: dict) -> np.ndarray:
        """(K, action) for one observation and its images {name: (H, W, 3) uint8}."""
        import torch

        missing = [c for c in self.cameras if images is None or c not in images]
        if missing:
            raise ValueError(f"the vision policy needs camera(s) {', '.join(missing)}")
        obs = (np.asarray(observation, np.float32) - self.obs_mean) / self.obs_std
        with torch.inference_mode():
            x = torch.as_tensor(obs[None])
            imgs = [_images_tensor(np.asarray(images[c])[None], "cpu") for c in self.cameras]
            out = torch.stack([m(imgs, x)[0] for m in self.model.members]).numpy()
        out = out * self.act_std + self.act_mean
        if self.relative_to is not None:
            out = out + np.asarray(observation, np.float32)[self.relative_to]
        return out

    def predict(self, observation: np.ndarray, images: dict | None = None):
        members = self.member_actions(observation, images)
        return members.mean(axis=0), members.std(axis=0)

    def uncertainty(self, spread: np.ndarray) -> float:
        return float(np.mean(np.asarray(spread) / self.act_std))

    def config(self) -> dict:
        return {
            "format": FORMAT,
            "architecture": {"type": "cnn_ensemble", "members": self.members,
                             "hidden": list(self.hidden), "channels": list(CHANNELS),
                             "activation": "relu", "image_encoder": "spatial_soft_argmax"},
            "observation": {"names": list(self.observation_names),
                            "size": len(self.observation_names),
                            "images": {c: list(self.image_shapes[c]) for c in self.cameras}},
            "action": {"names": list(self.action_names), "size": len(self.action_names),
                       **({"relative_to": [self.observation_names[i] for i in self.relative_to]}
                          if self.relative_to is not None else {})},
        }

    def tensors(self) -> dict[str, np.ndarray]:
        out = {f"model.{k}": v.detach().cpu().numpy()
               for k, v in self.model.state_dict().items()}
        out.update(obs_mean=self.obs_mean, obs_std=self.obs_std, act_mean=self.act_mean,
                   act_std=self.act_std)
        return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}


def is_vision_checkpoint(path: str | Path) -> bool:
    try:
        return json.loads((Path(path) / CONFIG_FILE).read_text()).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def save_vision_checkpoint(policy: VisionPolicy, folder: str | Path, provenance: dict) -> Path:
    from safetensors.numpy import save

    return write_checkpoint_folder(folder, save(policy.tensors()), policy.config(), provenance)


def load_vision_checkpoint(folder: str | Path, observation_size: int | None = None,
                           action_size: int | None = None, images: dict | None = None
                           ) -> tuple[VisionPolicy, dict]:
    """Load a vision checkpoint; refuse one whose sizes or cameras differ from the robot's
    (``images``: {name: (H, W, 3)} the profile gives)."""
    import torch
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    folder = Path(folder)
    try:
        config = json.loads((folder / CONFIG_FILE).read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{folder / CONFIG_FILE}: {exc}") from None
    try:
        obs_names, act_names = config["observation"]["names"], config["action"]["names"]
        cams = {c: tuple(s) for c, s in config["observation"]["images"].items()}
    except (KeyError, TypeError, AttributeError) as exc:
        raise CheckpointError(f"{folder / CONFIG_FILE} lacks {exc}") from None
    if observation_size is not None and len(obs_names) != observation_size:
        raise CheckpointError(f"checkpoint {folder} takes {len(obs_names)} observation values, "
                              f"the robot gives {observation_size}")
    if action_size is not None and len(act_names) != action_size:
        raise CheckpointError(f"checkpoint {folder} gives {len(act_names)} action values, "
                              f"the robot takes {action_size}")
    if images is not None and cams != {c: tuple(s) for c, s in images.items()}:
        raise CheckpointError(f"checkpoint {folder} sees cameras {cams}, the robot's profile "
                              f"gives {dict(images)}")
    try:
        t = load_file(str(folder / WEIGHTS_FILE))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{folder / WEIGHTS_FILE} is not a safetensors file: {exc}") \
            from None
    try:
        arch = config["architecture"]
        model = _modules()(arch["members"], len(cams), len(obs_names), arch["hidden"],
                           len(act_names))
        model.load_state_dict({k[len("model."):]: torch.from_numpy(v) for k, v in t.items()
                               if k.startswith("model.")})
        norm = [t[k] for k in ("obs_mean", "obs_std", "act_mean", "act_std")]
    except (KeyError, TypeError) as exc:
        raise CheckpointError(f"checkpoint {folder} lacks {exc}") from None
    except RuntimeError as exc:
        raise CheckpointError(f"{folder / WEIGHTS_FILE}: weights do not fit the config "
                              f"({str(exc).splitlines()[0]})") from None
    model.eval()
    relative = config["action"].get("relative_to")
    if relative is not None and any(n not in obs_names for n in relative):
        raise CheckpointError(f"{folder / CONFIG_FILE}: action.relative_to names an element "
                              "the observation does not have")
    policy = VisionPolicy(model, *norm, obs_names, act_names, list(cams), cams,
                          arch["hidden"],
                          None if relative is None else [obs_names.index(n) for n in relative])
    return policy, config


def check_warm_start(init: VisionPolicy, cameras: list[str], shapes: dict,
                     observation_names: list[str], action_names: list[str], config,
                     relative_to) -> None:
    """Raise ValueError naming what differs when ``init`` cannot be the starting point of a
    fit with these inputs (another camera, image size, vector, action, architecture)."""
    wanted = {"cameras": cameras, "image shapes": {c: tuple(int(v) for v in shapes[c])
                                                   for c in cameras},
              "observation names": observation_names, "action names": action_names,
              "members": config.members, "hidden": list(config.hidden),
              "relative_to": None if relative_to is None else list(relative_to)}
    has = {"cameras": list(init.cameras),
           "image shapes": {c: tuple(int(v) for v in s) for c, s in init.image_shapes.items()},
           "observation names": list(init.observation_names),
           "action names": list(init.action_names), "members": init.members,
           "hidden": list(init.hidden), "relative_to": init.relative_to}
    for key, value in wanted.items():
        if has[key] != value:
            raise ValueError(f"warm start: the previous policy's {key} are {has[key]}, this "
                             f"fit's are {value}; start fresh (warm_start: false) or keep "
                             "them as they were")


def train_vision_ensemble(observations: np.ndarray, images: dict[str, np.ndarray],
                          actions: np.ndarray, episode_ids: np.ndarray, observation_names,
                          action_names, config, seed: int = 0,
                          weights: np.ndarray | None = None,
                          relative_to: list[int] | None = None,
                          init: VisionPolicy | None = None):
    """Fit the vision ensemble (``config``: a TrainConfig: members, hidden, learning_rate,
    batch_size, max_steps, eval_every, patience, holdout_fraction, device, threads).
    ``images``: {camera: (N, H, W, 3) uint8}, frame-aligned with ``observations``;
    ``weights`` and ``relative_to`` as for training.train_ensemble. ``init``: a policy to
    start from (warm start), with its normalisation; the result is never worse on the
    held-out frames than ``init`` itself, which is the first candidate. A start whose
    normalisation no longer fits the data (normalisation_drift) is refused: the fit begins
    fresh, and the report's ``start`` says why.
    Returns (VisionPolicy with the lowest held-out loss, TrainReport)."""
    import torch

    from dagger_ros.core.training import TrainReport, prepare, stable_split

    start = time.perf_counter()
    rng, device, obs, act = prepare(config, seed, observations, actions, relative_to)
    cameras = sorted(images)
    if len(obs) == 0:
        raise ValueError("no frames to train on")
    if not cameras:
        raise ValueError("the vision ensemble needs at least one camera's images")
    for c in cameras:
        if len(images[c]) != len(obs):
            raise ValueError(f"{len(images[c])} images of camera {c} for {len(obs)} frames")
    # held-out episodes by id, the same in every round: a warm start is judged fairly
    train, hold = stable_split(np.asarray(episode_ids), config.holdout_fraction)
    begin = "fresh"
    if init is not None:
        check_warm_start(init, cameras, {c: images[c].shape[1:] for c in cameras},
                         list(observation_names), list(action_names), config, relative_to)
        drift = normalisation_drift(init, observation_names, action_names, obs[train],
                                    act[train])
        if drift:  # its scaling would blow those inputs up: a fresh fit, saying why
            init, begin = None, f"fresh: warm start refused, {drift}"
        else:
            begin = "warm"
    if init is not None:
        obs_mean, obs_std, act_mean, act_std = (init.obs_mean, init.obs_std, init.act_mean,
                                                init.act_std)
    else:
        obs_mean, obs_std = obs[train].mean(0), obs[train].std(0) + 1e-6
        act_mean, act_std = act[train].mean(0), act[train].std(0) + 1e-6
    x = torch.as_tensor((obs - obs_mean) / obs_std, device=device)
    y = torch.as_tensor((act - act_mean) / act_std, device=device)
    wt = torch.as_tensor(np.ones(len(obs), np.float32) if weights is None
                         else np.asarray(weights, np.float32), device=device)
    pixels = {c: torch.as_tensor(np.ascontiguousarray(images[c]), device=device)
              for c in cameras}  # uint8 on the device; converted per batch
    model = _modules()(config.members, len(cameras), obs.shape[1], config.hidden,
                       act.shape[1])
    if init is not None:
        model.load_state_dict(init.model.state_dict())
    model = model.to(device)
    optim = torch.optim.AdamW(model.parameters(), lr=config.learning_rate,
                              weight_decay=config.weight_decay)
    train_idx, hold_idx = np.flatnonzero(train), np.flatnonzero(hold)
    boot = [rng.choice(train_idx, size=len(train_idx)) for _ in range(config.members)]

    def batch_images(idx):
        return [pixels[c][idx].permute(0, 3, 1, 2).float().div_(255.0) for c in cameras]

    def holdout_loss() -> float:
        model.eval()
        total, n = 0.0, 0
        with torch.no_grad():
            for s in range(0, len(hold_idx), 256):
                idx = torch.as_tensor(hold_idx[s:s + 256], device=device)
                imgs = batch_images(idx)
                for m in model.members:
                    total += float(((m(imgs, x[idx]) - y[idx]) ** 2).sum())
                n += len(idx) * config.members * act.shape[1]
        model.train()
        return total / max(n, 1)

    best, stale, step = (np.inf, None), 0, 0
    if init is not None and len(hold_idx):  # the starting point is the first candidate
        best = (holdout_loss(), {k: v.detach().cpu().clone()
                                 for k, v in model.state_dict().items()})
    for step in range(1, config.max_steps + 1):
        loss = 0.0
        for k, m in enumerate(model.members):
            idx = torch.as_tensor(boot[k][rng.integers(0, len(boot[k]), config.batch_size)],
                                  device=device)
            loss = loss + (((m(batch_images(idx), x[idx]) - y[idx]) ** 2).mean(-1)
                           * wt[idx]).mean()
        optim.zero_grad(set_to_none=True)
        loss.backward()
        optim.step()
        if step % config.eval_every == 0 or step == config.max_steps:
            value = holdout_loss() if len(hold_idx) else float(loss) / config.members
            if value < best[0] - 1e-5:
                best = (value, {k: v.detach().cpu().clone()
                                for k, v in model.state_dict().items()})
                stale = 0
            else:
                stale += 1
                if len(hold_idx) and stale >= config.patience:
                    break
    if best[1] is not None:
        model.load_state_dict(best[1])
    model = model.cpu().eval()
    shapes = {c: tuple(int(v) for v in images[c].shape[1:]) for c in cameras}
    policy = VisionPolicy(model, obs_mean, obs_std, act_mean, act_std, list(observation_names),
                          list(action_names), cameras, shapes, list(config.hidden),
                          None if relative_to is None else list(relative_to))
    report = TrainReport(frames=len(obs), episodes=len(np.unique(episode_ids)),
                         holdout_episodes=len(np.unique(np.asarray(episode_ids)[hold])),
                         steps=step, best_holdout_loss=round(float(best[0]), 6),
                         seconds=round(time.perf_counter() - start, 3), device=str(device),
                         start=begin)
    return policy, report


DRIFT_LIMIT = 4.0  # how far (RMS, in the previous fit's standard deviations) values may lie


def normalisation_drift(init: VisionPolicy, observation_names, action_names,
                        observations: np.ndarray, actions: np.ndarray) -> str:
    """Why ``init``'s normalisation no longer fits the data ('' if it does). A warm start
    keeps the normalisation of the fit it starts from: a value that barely moved then (a
    joint the demonstrations left alone) and spreads, or sits, far from that fit's mean now
    would reach the network scaled up as much. The limit: a value's root-mean-square
    distance from the previous mean, in the previous standard deviations, DRIFT_LIMIT."""
    worst = []
    for kind, names, values, mean, std in (
            ("observation", observation_names, observations, init.obs_mean, init.obs_std),
            ("action", action_names, actions, init.act_mean, init.act_std)):
        if not len(values):
            continue
        with np.errstate(invalid="ignore", over="ignore"):
            distance = np.sqrt(np.mean((np.asarray(values, float) - mean) ** 2, axis=0))
            ratio = distance / np.maximum(np.asarray(std, float), 1e-6)
        worst += [(float(r) if np.isfinite(r) else np.inf, f"{kind} '{names[i]}'")
                  for i, r in enumerate(ratio) if not r <= DRIFT_LIMIT]  # NaN: refused too
    if not worst:
        return ""
    ratio, name = max(worst)
    return (f"{name} lies {ratio:.1f} of the previous fit's standard deviations from its "
            f"mean (root mean square; limit {DRIFT_LIMIT:g})"
            + (f", and {len(worst) - 1} more value(s)" if len(worst) > 1 else ""))
