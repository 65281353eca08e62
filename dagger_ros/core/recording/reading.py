"""Reading a dagger_ros dataset back: through LeRobotDataset, as a user's code would."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from dagger_ros.core.recording.schema import PROVENANCE_FILE
from dagger_ros.core.records import SavedEpisode


class DatasetError(ValueError):
    """A dataset path that is not a (compatible) LeRobot dataset."""


def open_dataset(root: str | Path, repo_id: str = "local/dagger_ros"):
    """Open a LeRobot dataset; a path that is not one raises DatasetError naming it."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    root = Path(root)
    if not (root / "meta" / "info.json").is_file():
        raise DatasetError(f"{root} is not a LeRobot dataset (no meta/info.json)")
    try:
        return LeRobotDataset(repo_id, root=root)
    except Exception as exc:  # lerobot raises many kinds for a broken folder
        raise DatasetError(f"{root} could not be opened as a LeRobot dataset: "
                           f"{type(exc).__name__}: {exc}") from None


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


def load_frames(root: str | Path, repo_id: str = "local/dagger_ros") -> dict[str, np.ndarray]:
    """Every frame, in dataset order, with what the trainer's weighting needs."""
    dataset = open_dataset(root, repo_id)
    table = dataset.hf_dataset.with_format("numpy")
    n = len(table)

    def column(name, default):
        if name in table.column_names:
            return np.asarray(table[name]).reshape(n, -1)[:, 0]
        return np.full(n, default)

    return {"observation": np.stack(table["observation.state"]).astype(np.float32),
            "action": np.stack(table["action"]).astype(np.float32),
            "episode": np.asarray(table["episode_index"]).reshape(-1),
            "labelled": column("labelled", 1), "source": column("source", 0),
            "policy_available": column("policy_available", 0),
            "intervention": column("intervention", 0)}


def read_provenance(root: str | Path) -> list[SavedEpisode]:
    """The provenance record of every saved episode (meta/dagger_episodes.jsonl)."""
    path = Path(root) / PROVENANCE_FILE
    if not path.exists():
        return []
    where = str(path)
    return [SavedEpisode.from_dict(json.loads(line), where)
            for line in path.read_text().splitlines() if line.strip()]
