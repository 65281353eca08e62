"""Benchmark: the recorder's writing path (LeRobot add_frame / save_episode / finalize).

  ./dev.sh shell, then: python bench/recorder.py [--episodes 200] [--frames 300]

Writes episodes of drive-sized frames (9 observation values, 2 actions, all provenance
columns) into a fresh dataset and prints the per-frame cost (add_frame) and the per-episode
cost (save + finalize + provenance line) at the first and the last episodes, the overall
frames per second, and checks with LeRobotDataset that no frame was dropped.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    from dagger_ros.core.recording import DatasetWriter, Frame
    from dagger_ros.core.recording.lerobot_shim import close_episode_files
    from dagger_ros.core.records import DecisionRecord, EpisodeEnd, Outcome, Reason, Source

    parser = argparse.ArgumentParser()
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--frames", type=int, default=300)
    args = parser.parse_args()
    obs_names = [f"o{i}" for i in range(9)]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ds"
        writer = DatasetWriter(root, "local/bench", 50, obs_names, ["u", "v"])
        rng = np.random.default_rng(0)
        per_frame, per_episode = [], []
        start = time.perf_counter()
        for e in range(args.episodes):
            frames = [Frame(e * 10_000 + s, e, s, rng.normal(size=9), DecisionRecord(
                stamp_ns=e * 10_000 + s, frame=f"{e}:{s}",
                source=Source.POLICY if s % 2 else Source.EXPERT, reason=Reason.BETA_DRAW,
                value=0.3, threshold=0.5, beta=0.5, round=1, checkpoint_id="abc0123456789def",
                gating="beta", label_source="x", uncertainty=0.1, expert_action=[0.1, 0.2],
                intervention=False, policy_action=[0.1, 0.3], executed_action=[0.1, 0.3],
                clamped=False, sent=True, stale=None)) for s in range(args.frames)]
            t0 = time.perf_counter()
            # what the recorder does per episode, split into its per-frame and per-episode parts
            end = EpisodeEnd(episode=e, seed=e, outcome=Outcome.SUCCESS, steps=args.frames)
            for row in writer.layout.episode_rows(frames, end, "bench"):
                writer.dataset.add_frame(row)
            t1 = time.perf_counter()
            writer.dataset.save_episode()
            close_episode_files(writer.dataset)
            t2 = time.perf_counter()
            per_frame.append((t1 - t0) / args.frames)
            per_episode.append(t2 - t1)
        total = time.perf_counter() - start
        from lerobot.datasets.lerobot_dataset import LeRobotDataset

        ds = LeRobotDataset("local/bench", root=root)
        expected = args.episodes * args.frames
        assert ds.num_frames == expected, (ds.num_frames, expected)
        assert list(ds.hf_dataset.with_format("numpy")["index"][-3:]) == \
            list(range(expected - 3, expected))
    first, last = slice(0, 5), slice(-5, None)
    print(f"recorder write path, {args.episodes} episodes x {args.frames} frames "
          f"({expected} frames, none dropped: LeRobotDataset reopens all of them)")
    print(f"  add_frame per frame: episodes 1-5 {1e6 * np.mean(per_frame[first]):.1f} us, "
          f"episodes {args.episodes - 4}-{args.episodes} {1e6 * np.mean(per_frame[last]):.1f} us")
    print(f"  save+finalize per episode: episodes 1-5 {1e3 * np.mean(per_episode[first]):.0f} "
          f"ms, episodes {args.episodes - 4}-{args.episodes} "
          f"{1e3 * np.mean(per_episode[last]):.0f} ms")
    print(f"  overall {expected / total:.0f} frames/s including saves "
          f"({args.frames / (np.mean(per_frame) * args.frames + np.mean(per_episode)):.0f} "
          f"frames/s from the per-episode means)")


if __name__ == "__main__":
    main()
