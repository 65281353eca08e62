"""Retraining a LeRobot policy between rounds with LeRobot's own training code.

Each round runs ``lerobot-train`` (its module, in this Python) on the aggregated dataset:
round 0 starts a new policy of ``lerobot_policy`` type, later rounds fine-tune the previous
round's pretrained folder (``--policy.path``). CUDA is used when torch sees it, else the
CPU. The result, LeRobot's ``pretrained_model`` folder, is copied atomically to
``<run_dir>/checkpoints/round_<rrr>-<content id>/``, which the policy node loads
(lerobot_policy.LeRobotLearner) like any checkpoint.

LeRobot trains on every frame it is given, and a frame without an expert label
(``labelled`` 0: unqueried under uncertainty, budget, human_gated or async gating, or held)
stores zeros in ``action``. So when any frame is unlabelled, lerobot-train gets the
labelled frames only, as a dataset of their own (recording.subset: runs of consecutive
labelled frames as episodes, rebuilt each round under ``<run_dir>/lerobot_train/labelled``);
when every frame is labelled (beta, safe, noise gating), it trains on the dataset itself.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from dagger_ros.core.lerobot_policy import folder_id
from dagger_ros.core.recording.subset import write_labelled_subset


class LeRobotTrainingError(RuntimeError):
    """lerobot-train failed; the message carries the end of its output."""


def device() -> str:
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:
        return "cpu"


def train_round(config, round_index: int, previous: str | None) -> tuple[Path, dict]:
    """One round of LeRobot training; returns (checkpoint folder, training report)."""
    run_dir = Path(config.run_dir)
    out = run_dir / "lerobot_train" / f"round_{round_index:03d}"
    shutil.rmtree(out, ignore_errors=True)  # lerobot-train refuses an existing output_dir
    out.parent.mkdir(parents=True, exist_ok=True)
    where = device()
    subset_root = out.parent / "labelled"
    subset = write_labelled_subset(config.dataset_root, config.repo_id, subset_root)
    dataset_root = subset_root if subset else Path(config.dataset_root)
    policy = ([f"--policy.path={previous}"] if previous else
              [f"--policy.type={config.lerobot_policy}", *config.lerobot_args])
    cmd = [sys.executable, "-m", "lerobot.scripts.lerobot_train",
           f"--dataset.repo_id={config.repo_id}", f"--dataset.root={dataset_root}",
           *policy, f"--policy.device={where}", "--policy.push_to_hub=false",
           "--wandb.enable=false", f"--steps={config.lerobot_steps}",
           f"--batch_size={config.lerobot_batch_size}", f"--seed={config.seed + round_index}",
           f"--save_freq={config.lerobot_steps}",
           f"--log_freq={max(1, config.lerobot_steps // 10)}",
           "--num_workers=0", f"--output_dir={out}"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "WANDB_MODE": "disabled"}
    start = time.monotonic()
    result = subprocess.run(cmd, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - start
    text = result.stdout + result.stderr
    pretrained = out / "checkpoints" / "last" / "pretrained_model"
    if result.returncode != 0 or not pretrained.is_dir():
        tail = "\n".join(text.strip().splitlines()[-15:])
        raise LeRobotTrainingError(f"lerobot-train (round {round_index}, {' '.join(cmd[3:])}) "
                                   f"failed with exit code {result.returncode}:\n{tail}")
    losses = [float(x) for x in re.findall(r"step:\S+ .*? loss:([0-9.eE+-]+)", text)]
    content = folder_id(pretrained)
    final = run_dir / "checkpoints" / f"round_{round_index:03d}-{content}"
    staging = final.with_name(f".{final.name}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(pretrained, staging)
    if final.exists():
        shutil.rmtree(final)
    os.replace(staging, final)
    report = {"learner": f"lerobot/{config.lerobot_policy}", "steps": config.lerobot_steps,
              "batch_size": config.lerobot_batch_size, "device": where,
              "dataset": str(dataset_root), "labelled_subset": subset,
              "seconds": round(seconds, 1), "fine_tuned_from": previous,
              "first_loss": losses[0] if losses else None,
              "final_loss": losses[-1] if losses else None, "losses": losses}
    return final, report
