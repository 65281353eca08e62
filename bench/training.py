"""Benchmark: retraining the 5-member ensemble on 100,000 frames on this machine's CPUs.

  ./dev.sh shell, then: python bench/training.py [--frames 100000] [--device cpu]

Uses the trainer's own defaults (TrainConfig) on synthetic drive-sized data (9 in, 2 out,
episodes of 1,000 frames); prints the wall time, the steps taken and the held-out loss.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def main() -> None:
    from dagger_ros.core.config import from_mapping
    from dagger_ros.core.training import TrainConfig, train_ensemble

    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--max-steps", type=int, default=None)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(args.frames, 9)).astype(np.float32)
    act = np.stack([np.tanh(obs[:, 0] - 0.5 * obs[:, 1]) + 0.3 * obs[:, 4],
                    0.5 * obs[:, 2] * obs[:, 3]], axis=1)
    episodes = np.arange(args.frames) // 1000
    values = {"device": args.device}
    if args.max_steps:
        values["max_steps"] = args.max_steps
    config = from_mapping(TrainConfig, values)
    start = time.perf_counter()
    _, report = train_ensemble(obs, act, episodes, [f"o{i}" for i in range(9)], ["u", "v"],
                               config)
    wall = time.perf_counter() - start
    print(f"retrain {config.members}-member {config.hidden} ensemble on {args.frames} frames "
          f"({report.episodes} episodes, {report.holdout_episodes} held out), device "
          f"{report.device}, {os.cpu_count()} CPUs: {wall:.1f} s wall, {report.steps} steps "
          f"(max {config.max_steps}, batch {config.batch_size} per member), best held-out "
          f"loss {report.best_holdout_loss:.4f}")


if __name__ == "__main__":
    main()
