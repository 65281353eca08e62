"""The labelled frames of a dataset as a LeRobot dataset of their own, for trainers that
learn from every frame they are given (lerobot-train).

A frame without an expert label (``labelled`` 0: the policy drove unqueried under an
uncertainty, budget, human or async gate, or the robot was held) stores zeros in
``action``; LeRobot's policies would learn those zeros as the expert's answer. So each
episode's labelled frames are split into runs of consecutive frames, and each run becomes
one episode of the subset: an action chunk (ACT, Diffusion) never spans a gap where the
label is missing. Every other column is copied as it is, provenance included, and each
camera's video is decoded and the kept frames encoded again; timestamps restart at 0 in
each run. A budget gate's lone labels are 1-frame runs, which LeRobot
stores with statistics of another type than longer ones (see lerobot_shim). The subset is
built in a sibling folder and moved into place, so a kill leaves the previous one or none,
never half of one.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np

from dagger_ros.core.recording.lerobot_shim import (
    close_episode_files,
    one_episode_per_file,
    patch_lerobot,
)
from dagger_ros.core.recording.reading import episode_video, open_dataset
from dagger_ros.core.recording.video import rgb_encoder, scheduling_kept

AUTOMATIC = ("timestamp", "frame_index", "episode_index", "index", "task_index")


def labelled_runs(episodes: np.ndarray, labelled: np.ndarray) -> list[np.ndarray]:
    """Row indices of each run of consecutive labelled rows within one episode."""
    keep = np.asarray(labelled).astype(bool)
    episodes = np.asarray(episodes)
    runs, start = [], None
    for i in range(len(keep) + 1):
        inside = i < len(keep) and keep[i] and (start is None or episodes[i] == episodes[start])
        if start is not None and not inside:
            runs.append(np.arange(start, i))
            start = None
        if start is None and i < len(keep) and keep[i]:
            start = i
    return runs


def write_labelled_subset(root: str | Path, repo_id: str, out: str | Path) -> dict | None:
    """Write the labelled frames of the dataset at ``root`` to ``out`` (replacing it);
    returns {frames, episodes, dropped}, or None (and removes ``out``) when every frame is
    labelled, so the dataset itself can be trained on."""
    from datasets.utils.logging import disable_progress_bar
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    disable_progress_bar()
    patch_lerobot()
    start = time.monotonic()
    out = Path(out)
    source = open_dataset(root, repo_id)
    table = source.hf_dataset.with_format("numpy")
    n = len(table)
    labelled = np.asarray(table["labelled"]).reshape(n) if "labelled" in table.column_names \
        else np.ones(n, int)
    if labelled.all():
        shutil.rmtree(out, ignore_errors=True)
        return None
    runs = labelled_runs(np.asarray(table["episode_index"]).reshape(n), labelled)
    if not runs:
        raise ValueError(f"{root}: no frame has an expert label yet; nothing to train on")
    tasks = {int(i): str(t) for t, i in
             zip(source.meta.tasks.index, source.meta.tasks["task_index"], strict=True)}
    features = source.meta.features
    videos = list(source.meta.video_keys)  # not in the table: decoded per episode below
    columns = [k for k in features if k not in AUTOMATIC and k not in videos]
    values = {k: np.asarray(table[k]) for k in columns}
    episode_of = np.asarray(table["episode_index"]).reshape(n)
    frame_of = np.asarray(table["frame_index"]).reshape(n)
    task_index = np.asarray(table["task_index"]).reshape(n)
    staging = out.with_name(f".{out.name}.building")
    shutil.rmtree(staging, ignore_errors=True)
    subset = LeRobotDataset.create(repo_id, fps=source.meta.fps, features=features,
                                   root=staging, robot_type=source.meta.robot_type,
                                   use_videos=bool(videos), rgb_encoder=rgb_encoder())
    # a file per episode: LeRobot 0.6's buffered metadata writer fails on episodes whose
    # stats differ in type (a 1-frame run, 64-bit ids), as the recorder found before
    one_episode_per_file(subset)
    shaped = {k: values[k].reshape(n, *features[k]["shape"]).astype(features[k]["dtype"])
              for k in columns}
    decoded: tuple[int, dict] = (-1, {})  # one episode's frames at a time
    for rows in runs:
        episode = int(episode_of[rows[0]])  # a run lies within one episode
        if videos and decoded[0] != episode:
            decoded = (episode, {k: episode_video(source, root, k, episode) for k in videos})
        for i in rows:
            frame = {k: shaped[k][i] for k in columns}
            frame.update({k: decoded[1][k][int(frame_of[i])] for k in videos})
            frame["task"] = tasks[int(task_index[i])]
            subset.add_frame(frame)
        with scheduling_kept(print):  # one camera after the other: no fork of the trainer
            subset.save_episode(parallel_encoding=False)
        close_episode_files(subset)
    subset.finalize()
    shutil.rmtree(out, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staging, out)
    kept = sum(len(r) for r in runs)
    return {"frames": kept, "episodes": len(runs), "dropped": n - kept,
            "seconds": round(time.monotonic() - start, 2)}

