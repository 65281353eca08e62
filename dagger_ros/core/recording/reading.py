"""Reading a dagger_ros dataset back: through LeRobotDataset, as a user's code would."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from dagger_ros.core.recording.schema import PROVENANCE_COLUMNS, provenance_from_columns
from dagger_ros.core.records import SavedEpisode

#: LeRobot decodes video with PyAV here (its wheels carry FFmpeg); torchcodec, LeRobot's
#: default, needs a system FFmpeg 4-7 that a fresh machine lacks (dev.sh removes it)
VIDEO_BACKEND = "pyav"


class DatasetError(ValueError):
    """A dataset path that is not a (compatible) LeRobot dataset."""


def open_dataset(root: str | Path, repo_id: str = "local/dagger_ros"):
    """Open a LeRobot dataset; a path that is not one raises DatasetError naming it."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    root = Path(root)
    if not (root / "meta" / "info.json").is_file():
        raise DatasetError(f"{root} is not a LeRobot dataset (no meta/info.json)")
    try:
        return LeRobotDataset(repo_id, root=root, video_backend=VIDEO_BACKEND)
    except Exception as exc:  # lerobot raises many kinds for a broken folder
        raise DatasetError(f"{root} could not be opened as a LeRobot dataset: "
                           f"{type(exc).__name__}: {exc}") from None


def video_frame_count(root: Path, meta, index: int, key: str) -> int:
    """Frames in the video file holding episode ``index``'s ``key`` (the episode just
    saved: each episode has its own file, see lerobot_shim.one_episode_per_file)."""
    import av

    episode = meta.latest_episode
    if episode is None or int(_first(episode["episode_index"])) != index:
        raise DatasetError(f"{root}: episode {index}'s metadata is not the latest saved")
    path = Path(root) / meta.video_path.format(
        video_key=key, chunk_index=int(_first(episode[f"videos/{key}/chunk_index"])),
        file_index=int(_first(episode[f"videos/{key}/file_index"])))
    try:
        with av.open(str(path)) as container:
            return sum(1 for packet in container.demux(video=0) if packet.size)
    except (OSError, av.error.FFmpegError) as exc:
        raise DatasetError(f"{path}: the video does not open ({exc})") from None


def _first(value):
    return value[0] if isinstance(value, (list, tuple, np.ndarray)) else value


def check_features(dataset, features: dict, root: Path) -> None:
    """Refuse to append to a dataset recorded with another layout (other observation or
    action sizes, or columns of another dagger_ros version)."""
    for key, want in features.items():
        have = dataset.meta.features.get(key)
        if have is None or list(have["shape"]) != list(want["shape"]):
            raise DatasetError(f"{root}: feature '{key}' has shape "
                               f"{None if have is None else have['shape']}, this recorder "
                               f"writes {want['shape']}; record into another folder")


def load_training_data(root: str | Path, repo_id: str = "local/dagger_ros"):
    """All labelled frames so far, read back through LeRobotDataset: (obs, expert action,
    episode)."""
    f = load_frames(root, repo_id)
    keep = f["labelled"] == 1  # frames without an expert label teach nothing
    return f["observation"][keep], f["action"][keep], f["episode"][keep]


OBSERVATION_KEYS = ("observation.state", "observation.environment_state")


def learner_observation(table) -> np.ndarray:
    """The learner's observation vectors (state, then environment) from a table's columns
    (a HF dataset, a pyarrow table or a dict of columns)."""
    names = table.column_names if hasattr(table, "column_names") else list(table)
    parts = []
    for key in OBSERVATION_KEYS:
        if key in names:
            column = table[key] if not hasattr(table, "column") else table.column(key)
            values = column.to_pylist() if hasattr(column, "to_pylist") else column
            parts.append(np.asarray(list(values), np.float32).reshape(len(values), -1))
    if not parts:
        raise DatasetError(f"no {' or '.join(OBSERVATION_KEYS)} column among {names}")
    return np.concatenate(parts, axis=1)


def load_frames(root: str | Path, repo_id: str = "local/dagger_ros") -> dict[str, np.ndarray]:
    """Every frame, in dataset order, with what the trainer's weighting needs."""
    dataset = open_dataset(root, repo_id)
    table = dataset.hf_dataset.with_format("numpy")
    n = len(table)

    def column(name, default):
        if name in table.column_names:
            return np.asarray(table[name]).reshape(n, -1)[:, 0]
        return np.full(n, default)

    return {"observation": learner_observation(table),
            "action": np.stack(table["action"]).astype(np.float32),
            "episode": np.asarray(table["episode_index"]).reshape(-1),
            "labelled": column("labelled", 1), "source": column("source", 0),
            "policy_available": column("policy_available", 0),
            "intervention": column("intervention", 0)}


def load_images(root: str | Path, repo_id: str = "local/dagger_ros", cameras=(),
                episodes: int | None = None) -> dict[str, np.ndarray]:
    """Every frame's image of each camera, {name: (N, H, W, 3) uint8} in dataset order, of
    the first ``episodes`` episodes (all: None; a trainer passes the count it read the
    vectors of, while a recorder may be appending): each episode's video decoded once, in
    sequence (PyAV), from its from_timestamp on; far faster than LeRobot's per-frame seeks
    when a trainer needs them all."""
    dataset = open_dataset(root, repo_id)
    episodes_meta = dataset.meta.episodes
    count = len(episodes_meta) if episodes is None else episodes
    if count > len(episodes_meta):
        raise DatasetError(f"{root} has {len(episodes_meta)} episodes, {count} asked for")
    out = {}
    for name in cameras:
        key = f"observation.images.{name}"
        if key not in dataset.meta.video_keys:
            raise DatasetError(f"{root} has no video feature {key}")
        out[name] = np.concatenate([episode_video(dataset, root, key, ep)
                                    for ep in range(count)])
    return out


def episode_video(dataset, root: str | Path, key: str, episode: int) -> np.ndarray:
    """Episode ``episode``'s frames of video feature ``key``, (length, H, W, 3) uint8,
    decoded in sequence (PyAV) from its from_timestamp on; ``dataset``: open_dataset's."""
    import av

    row = dataset.meta.episodes[episode]
    length = int(row["length"])
    path = Path(root) / dataset.meta.video_path.format(
        video_key=key, chunk_index=int(row[f"videos/{key}/chunk_index"]),
        file_index=int(row[f"videos/{key}/file_index"]))
    first = int(round(float(row[f"videos/{key}/from_timestamp"]) * dataset.meta.fps))
    frames = []
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i >= first:
                frames.append(frame.to_ndarray(format="rgb24"))
            if len(frames) == length:
                break
    if len(frames) != length:
        raise DatasetError(f"{path}: {len(frames)} frames decoded for episode {episode}'s "
                           f"{length}")
    return np.stack(frames)


def read_provenance(root: str | Path, repo_id: str = "local/dagger_ros") -> list[SavedEpisode]:
    """The provenance record of every episode, rebuilt from the dataset's per-frame columns
    (round, checkpoint, label source, gating, seed, outcome, ...), so it survives LeRobot's
    delete, split, merge and feature edits. meta/dagger_episodes.jsonl holds the same
    records as written, a convenience no reader depends on. An empty or absent dataset has
    none."""
    root = Path(root)
    try:  # a dataset with no episode yet has no data for LeRobot to open
        if not json.loads((root / "meta" / "info.json").read_text()).get("total_episodes"):
            return []
    except (OSError, ValueError):
        return []
    dataset = open_dataset(root, repo_id)
    table = dataset.hf_dataset.with_format("numpy")
    missing = [c for c in PROVENANCE_COLUMNS if c not in table.column_names]
    if missing:
        raise DatasetError(f"{root} has no provenance column {', '.join(missing)} (written "
                           "by another tool, or an older dagger_ros)")
    tasks = {int(i): str(t) for t, i in
             zip(dataset.meta.tasks.index, dataset.meta.tasks["task_index"], strict=True)}
    episodes = np.asarray(table["episode_index"]).reshape(-1)
    task_index = np.asarray(table["task_index"]).reshape(-1)
    columns = {c: np.asarray(table[c]).reshape(len(episodes), -1)[:, 0]
               for c in PROVENANCE_COLUMNS}
    out = []
    for e in np.unique(episodes):  # np.unique sorts; rows of an episode are contiguous
        rows = np.flatnonzero(episodes == e)
        out.append(provenance_from_columns({c: v[rows] for c, v in columns.items()}, int(e),
                                           tasks.get(int(task_index[rows[0]]), "")))
    return out
