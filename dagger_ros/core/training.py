"""Training the ensemble: bootstrapped members, held-out episodes, early stopping.

All K members train at once as one batched network over stacked weights (torch.bmm), each
on its own bootstrap resample of the training episodes' frames, which is several times
faster on a small CPU than K separate networks.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from dagger_ros.core.config import ConfigError, param
from dagger_ros.core.policy_model import EnsemblePolicy


@dataclasses.dataclass
class TrainConfig:
    """How the trainer fits the ensemble."""

    members: int = param(5, "Ensemble members (their spread is the policy's uncertainty).")
    hidden: list[int] = param([256, 256], "Hidden layer widths of each member's MLP.")
    learning_rate: float = param(1e-3, "Adam learning rate.")
    batch_size: int = param(256, "Frames per member per gradient step.")
    max_steps: int = param(3000, "Gradient steps at most per retraining.")
    eval_every: int = param(200, "Gradient steps between held-out evaluations.")
    patience: int = param(4, "Stop after this many held-out evaluations without improvement.")
    holdout_fraction: float = param(0.1, "Fraction of episodes held out for early stopping "
                                    "(at least one episode once there are two).")
    weight_decay: float = param(1e-5, "AdamW weight decay.")
    device: str = param("auto", "'auto' (CUDA when present, else CPU), 'cpu' or 'cuda'.")
    threads: int = param(0, "CPU threads for torch (0: all cores).")
    warm_start: bool = param(False, "Vision ensemble only: each fit starts from the previous "
                             "one (the last round's checkpoint; BC's fit at the previous "
                             "label count) instead of a fresh network, so that what the "
                             "encoders found (where the target is in the image) carries "
                             "over rather than being sought again from scratch each round. "
                             "It keeps the previous fit's normalisation; where a value now "
                             "spreads over 4 times wider than then, the fit starts fresh and "
                             "the trainer's log names the value. "
                             "On reach_camera it did not help (README, Cameras): off by "
                             "default. The vector ensemble always starts fresh.")

    def validate(self) -> None:
        if self.members < 1:
            raise ConfigError(f"'members' must be >= 1, got {self.members}")
        if not self.hidden or any(h < 1 for h in self.hidden):
            raise ConfigError(f"'hidden' must list positive widths, got {self.hidden}")
        if not 0.0 <= self.holdout_fraction < 1.0:
            raise ConfigError(f"'holdout_fraction' must be in [0, 1), got "
                              f"{self.holdout_fraction}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ConfigError(f"'device' must be auto, cpu or cuda, got '{self.device}'")
        for key in ("learning_rate", "batch_size", "max_steps", "eval_every", "patience"):
            if getattr(self, key) <= 0:
                raise ConfigError(f"'{key}' must be positive, got {getattr(self, key)}")


@dataclasses.dataclass
class TrainReport:
    frames: int
    episodes: int
    holdout_episodes: int
    steps: int
    best_holdout_loss: float
    seconds: float
    device: str
    start: str = "fresh"  # "warm": from the previous policy; "fresh: <why not>" if refused


def split_episodes(episode_ids: np.ndarray, fraction: float, rng: np.random.Generator):
    """Boolean masks (train, holdout) splitting whole episodes."""
    episodes = np.unique(episode_ids)
    n_hold = int(round(fraction * len(episodes)))
    if fraction > 0 and len(episodes) >= 2:
        n_hold = max(n_hold, 1)
    held = rng.choice(episodes, size=n_hold, replace=False) if n_hold else np.array([], int)
    holdout = np.isin(episode_ids, held)
    return ~holdout, holdout


GOLDEN = (5 ** 0.5 - 1) / 2


def stable_split(episode_ids: np.ndarray, fraction: float):
    """Boolean masks (train, holdout) splitting whole episodes by their ids alone: episode
    ``e`` is held out when the fractional part of ``e`` times the golden ratio is below
    ``fraction`` (so about that share of any run of ids, spread evenly, episode 0 always).
    An episode keeps its side as the data grow, so a fit that warm-starts from the last
    one is never judged on frames that one trained on. With none held out by the rule and
    two episodes or more, the one nearest it is held out; with all held out, the one
    farthest from it is trained on."""
    ids = np.asarray(episode_ids)
    episodes = np.unique(ids)
    if fraction <= 0 or len(episodes) < 2:
        return np.ones(len(ids), bool), np.zeros(len(ids), bool)
    phase = (episodes * GOLDEN) % 1.0
    held = episodes[phase < fraction]
    if len(held) == 0:
        held = episodes[[int(np.argmin(phase))]]
    elif len(held) == len(episodes):  # a few ids that all fall below: train on one
        held = episodes[np.arange(len(episodes)) != int(np.argmax(phase))]
    holdout = np.isin(ids, held)
    return ~holdout, holdout


def _device(name: str):
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("trainer 'device' is 'cuda' but no CUDA device is available")
    return torch.device(name)


def prepare(config: TrainConfig, seed: int, observations, actions, relative_to=None):
    """What every learner's training starts with: torch's threads and seed, a numpy
    generator, the device, and float32 observations and targets (each action element
    relative to its observation element where ``relative_to`` says so)."""
    import torch

    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(seed)
    obs = np.asarray(observations, dtype=np.float32)
    act = np.asarray(actions, dtype=np.float32)
    if relative_to is not None:
        act = act - obs[:, relative_to]
    return np.random.default_rng(seed), _device(config.device), obs, act


def train_ensemble(observations: np.ndarray, actions: np.ndarray, episode_ids: np.ndarray,
                   observation_names, action_names, config: TrainConfig, seed: int = 0,
                   weights: np.ndarray | None = None, relative_to: list[int] | None = None
                   ) -> tuple[EnsemblePolicy, TrainReport]:
    """Fit the ensemble to (observation, expert action) frames.

    ``weights`` (optional, per frame) scale each frame's loss. ``relative_to`` (optional,
    per action element, an observation index): the network learns the action minus that
    observation element (a position command as an offset from the measured position, which
    is a few hundredths of a radian, where the absolute angle spans radians). Returns the
    policy with the lowest held-out loss seen (the last one if nothing is held out) and a
    report.
    """
    import torch

    start = time.perf_counter()
    rng, device, obs, act = prepare(config, seed, observations, actions, relative_to)
    if len(obs) == 0:
        raise ValueError("no frames to train on")
    w = np.ones(len(obs), np.float32) if weights is None else np.asarray(weights, np.float32)
    train, hold = split_episodes(np.asarray(episode_ids), config.holdout_fraction, rng)
    obs_mean, obs_std = obs[train].mean(0), obs[train].std(0) + 1e-6
    act_mean, act_std = act[train].mean(0), act[train].std(0) + 1e-6
    x = torch.as_tensor((obs - obs_mean) / obs_std, device=device)
    y = torch.as_tensor((act - act_mean) / act_std, device=device)
    wt = torch.as_tensor(w, device=device)
    k = config.members
    sizes = [obs.shape[1], *config.hidden, act.shape[1]]
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        bound = 1.0 / np.sqrt(fan_in)
        params.append(torch.empty(k, fan_in, fan_out, device=device).uniform_(-bound, bound)
                      .requires_grad_())
        params.append(torch.zeros(k, 1, fan_out, device=device).requires_grad_())
    optim = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=config.weight_decay)
    train_idx = np.flatnonzero(train)
    hold_idx = torch.as_tensor(np.flatnonzero(hold), device=device)
    # each member's bootstrap resample of the training frames
    boot = torch.as_tensor(np.stack([rng.choice(train_idx, size=len(train_idx))
                                     for _ in range(k)]), device=device)

    def forward(inputs):  # inputs (K, B, in)
        h = inputs
        for i in range(0, len(params), 2):
            h = torch.baddbmm(params[i + 1], h, params[i])
            if i < len(params) - 2:
                h = torch.relu(h)
        return h

    best = (np.inf, None)
    stale, step = 0, 0
    gen = torch.Generator(device=device).manual_seed(seed)
    for step in range(1, config.max_steps + 1):
        pick = torch.randint(0, boot.shape[1], (k, config.batch_size), device=device,
                             generator=gen)
        idx = torch.gather(boot, 1, pick)
        pred = forward(x[idx])
        loss = (((pred - y[idx]) ** 2).mean(-1) * wt[idx]).mean()
        optim.zero_grad(set_to_none=True)
        loss.backward()
        optim.step()
        if step % config.eval_every == 0 or step == config.max_steps:
            with torch.no_grad():
                if len(hold_idx):
                    pred = forward(x[hold_idx].expand(k, -1, -1))
                    value = float(((pred - y[hold_idx]) ** 2).mean())
                else:
                    value = float(loss)
            if value < best[0] - 1e-5:
                best = (value, [p.detach().cpu().numpy().copy() for p in params])
                stale = 0
            else:
                stale += 1
                if len(hold_idx) and stale >= config.patience:
                    break
    weights_np = best[1] if best[1] is not None else [p.detach().cpu().numpy() for p in params]
    policy = EnsemblePolicy(
        weights=[weights_np[i] for i in range(0, len(weights_np), 2)],
        biases=[weights_np[i][:, 0, :] for i in range(1, len(weights_np), 2)],
        obs_mean=obs_mean, obs_std=obs_std, act_mean=act_mean, act_std=act_std,
        observation_names=list(observation_names), action_names=list(action_names),
        relative_to=None if relative_to is None else list(relative_to))
    report = TrainReport(frames=len(obs), episodes=len(np.unique(episode_ids)),
                         holdout_episodes=len(np.unique(np.asarray(episode_ids)[hold])),
                         steps=step, best_holdout_loss=round(float(best[0]), 6),
                         seconds=round(time.perf_counter() - start, 3), device=str(device))
    return policy, report
