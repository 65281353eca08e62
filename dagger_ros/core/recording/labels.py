"""Labels that arrive later: the ``async`` queue labelled by a chosen expert, merged into
the LeRobot dataset in place.

With ``gating: async`` the policy drives and its states are recorded unlabelled
(``labelled`` 0). :func:`relabel` asks an expert for each of them and merges the answers
into the dataset: the ``action`` and ``labelled`` columns of the data files, the episodes'
statistics (meta/episodes) and meta/stats.json, each file replaced atomically, then a new
commit of the journal. Each labelled episode gets a line in meta/dagger_labels.jsonl:
which frames, by which label source, when.

Run it while no recorder writes to the dataset (the trainer does, between rounds): files
written after the last commit are refused, never touched.

The expert labels what was recorded (``observation.state``). A scripted expert that is a
privileged teacher online (it reads the noise-free state) labels the noisy recorded state
here, as a person labelling a recording would.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from dagger_ros.core.recording import journal
from dagger_ros.core.recording.reading import DatasetError, learner_observation, open_dataset
from dagger_ros.core.recording.schema import PROVENANCE_FILE
from dagger_ros.core.records import Source

LABELS_FILE = "meta/dagger_labels.jsonl"
RELABELLED = ("action", "labelled")


def relabel(root: str | Path, repo_id: str, act: Callable[[np.ndarray], np.ndarray],
            label_source: str, log: Callable[[str], None] = print) -> int:
    """Label every unlabelled frame (held frames excepted) with ``act``; returns how many."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = Path(root)
    dataset = open_dataset(root, repo_id)
    commit = journal.load_commit(root)
    if commit is not None and journal.tracked_files(root) != commit["files"]:
        raise DatasetError(f"{root} has files written after its last commit (a recorder "
                           "writing an episode now, or one killed mid-write): label it when "
                           "no recorder writes; a recorder's start puts it back in order")
    changed: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # episode -> (action, labelled)
    total = 0
    for path in sorted((root / "data").glob("*/*.parquet")):
        table = pq.read_table(path)
        labelled = np.asarray(table.column("labelled").to_pylist()).reshape(-1)
        source = np.asarray(table.column("source").to_pylist()).reshape(-1)
        todo = np.flatnonzero((labelled == 0) & (source != Source.HOLD.code))
        if not len(todo):
            continue
        obs = learner_observation(table)  # state and environment parts, as recorded
        action = np.asarray(table.column("action").to_pylist(), np.float32)
        for i in todo:
            action[i] = act(obs[i])
        labelled[todo] = 1
        for name, values in (("action", action), ("labelled", labelled)):
            field = table.schema.field(name)
            nested = pa.types.is_list(field.type) or pa.types.is_fixed_size_list(field.type)
            column = values.reshape(len(values), -1) if nested else values.reshape(-1)
            table = table.set_column(table.schema.get_field_index(name), field,
                                     pa.array(column.tolist(), type=field.type))
        tmp = path.with_name(f".{path.name}.tmp")
        pq.write_table(table, tmp)
        os.replace(tmp, path)
        episodes = np.asarray(table.column("episode_index").to_pylist()).reshape(-1)
        for e in np.unique(episodes[todo]):
            rows = episodes == e
            changed[int(e)] = (action[rows], labelled[rows].reshape(-1, 1))
        total += len(todo)
    if not changed:
        return 0
    update_statistics(root, dataset, changed)
    now = time.time()
    with open(root / LABELS_FILE, "a") as fh:
        for e in sorted(changed):
            fh.write(json.dumps({"episode_index": e, "label_source": label_source,
                                 "labelled_at": now}) + "\n")
    provenance = len((root / PROVENANCE_FILE).read_text().splitlines())
    tasks = [str(t) for t in dataset.meta.tasks.sort_values("task_index").index]
    journal.commit(root, tasks, provenance)
    log(f"dataset {root}: {total} frames of {len(changed)} episodes labelled by "
        f"{label_source}")
    return total


def update_statistics(root: Path, dataset, changed: dict) -> None:
    """Recompute the relabelled columns' statistics: per episode, then the aggregate."""
    import pandas as pd
    from lerobot.datasets.compute_stats import aggregate_stats, compute_episode_stats

    features = {k: dataset.meta.features[k] for k in RELABELLED}
    for path in sorted((root / "meta/episodes").glob("*/*.parquet")):
        frame = pd.read_parquet(path)
        hit = [i for i, e in enumerate(frame["episode_index"]) if int(e) in changed]
        if not hit:
            continue
        for i in hit:
            action, labelled = changed[int(frame["episode_index"].iloc[i])]
            stats = compute_episode_stats({"action": action, "labelled": labelled}, features)
            for key, per_stat in stats.items():
                for stat, value in per_stat.items():
                    column = f"stats/{key}/{stat}"
                    if column in frame.columns:
                        frame.at[frame.index[i], column] = np.asarray(value).tolist()
        tmp = path.with_name(f".{path.name}.tmp")
        frame.to_parquet(tmp)
        os.replace(tmp, path)
    per_episode = []
    for path in sorted((root / "meta/episodes").glob("*/*.parquet")):
        frame = pd.read_parquet(path)
        for _, row in frame.iterrows():
            per_episode.append({k: {s: np.asarray(row[f"stats/{k}/{s}"], dtype=float)
                                    for s in ("min", "max", "mean", "std", "count")}
                                for k in RELABELLED})
    aggregated = aggregate_stats(per_episode)
    stats = json.loads((root / "meta/stats.json").read_text())
    for key in RELABELLED:
        for stat, value in aggregated[key].items():
            stats[key][stat] = np.asarray(value).tolist()
    journal.atomic_write_text(root / "meta/stats.json", json.dumps(stats, indent=4))
