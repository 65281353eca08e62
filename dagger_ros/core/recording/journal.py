"""A commit journal for a LeRobot dataset, so a kill at any moment cannot break what was
saved before it.

LeRobot writes an episode in several steps: the data parquet file, the episode metadata
parquet file, meta/info.json (rewritten in place, not atomically), meta/stats.json and
meta/tasks.parquet; a SIGKILL between (or inside) any of them leaves files that disagree.
The recorder therefore commits after every finalized episode: one JSON file, replaced
atomically (write, fsync, rename), that lists every data and episode-metadata file with its
size and holds the contents of info.json, stats.json, the tasks and the number of
provenance lines. At start-up, :func:`recover` puts the folder back to its last commit:

- files under data/ and meta/episodes/ that the commit does not list (an episode torn by
  the kill) are moved to ``torn/<time>/`` (kept, never deleted), with a log line each;
- info.json, stats.json and tasks.parquet are restored from the commit if they differ;
- the provenance file is cut back to the committed episodes (a torn last line included).

:func:`validate` then checks what LeRobot's loader relies on: episode indices 0..N-1,
frame ranges contiguous and matching meta/info.json, and the parquet row counts.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

COMMIT_FILE = "meta/dagger_ros_commit.json"
TORN_DIR = "torn"
#: files that are written once and never change (videos: one file per episode and camera)
TRACKED_DIRS = ("data", "meta/episodes", "videos")


class JournalError(ValueError):
    """A dataset folder that cannot be put back to a consistent state."""


def atomic_write_text(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that a reader (or a kill) sees the old or the new
    content, never a mix."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def tracked_files(root: Path) -> dict[str, int]:
    """Relative path -> size of every file in the write-once folders."""
    out = {}
    for sub in TRACKED_DIRS:
        base = root / sub
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            if path.is_file():
                out[path.relative_to(root).as_posix()] = path.stat().st_size
    return out


def read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def commit(root: Path, tasks: list[str], provenance_lines: int) -> dict:
    """Record the folder's present state as the last good one."""
    root = Path(root)
    info = read_json(root / "meta/info.json")
    if info is None:
        raise JournalError(f"{root / 'meta/info.json'} is missing or unreadable; cannot commit")
    record = {
        "version": 1,
        "episodes": int(info["total_episodes"]),
        "frames": int(info["total_frames"]),
        "files": tracked_files(root),
        "info": info,
        "stats": read_json(root / "meta/stats.json"),
        "tasks": list(tasks),
        "provenance_lines": int(provenance_lines),
        "time": time.time(),
    }
    atomic_write_text(root / COMMIT_FILE, json.dumps(record))
    return record


def load_commit(root: Path) -> dict | None:
    path = Path(root) / COMMIT_FILE
    if not path.exists():
        return None
    record = read_json(path)
    if record is None or record.get("version") != 1:
        raise JournalError(f"{path} is unreadable; the dataset's last good state is unknown")
    return record


def recover(root: Path, provenance_file: str,
            log: Callable[[str], None] = print) -> list[str]:
    """Put ``root`` back to its last commit; returns what was done (also passed to ``log``).

    A folder without a commit is left as it is (a dataset from elsewhere, or one created
    just before a kill; :func:`validate` judges it)."""
    root = Path(root)
    record = load_commit(root)
    if record is None:
        return []
    actions: list[str] = []
    stamp = time.strftime("%Y%m%d-%H%M%S")
    committed = record["files"]
    for rel, size in tracked_files(root).items():
        if committed.get(rel) == size:
            continue
        target = root / TORN_DIR / stamp / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(root / rel, target)
        actions.append(f"moved {rel} ({size} bytes), written after the last commit, to "
                       f"{target.relative_to(root)}")
    # LeRobot's scratch space for an episode being saved: frames as PNGs under images/,
    # the video being encoded in tmp*/ (a kill mid-episode leaves them; a later save at the
    # same index would pick the PNGs up as its own frames)
    scratch = ([root / "images"] if (root / "images").is_dir() else []) + \
        sorted(p for p in root.glob("tmp*") if p.is_dir())
    for path in scratch:
        target = root / TORN_DIR / stamp / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
        actions.append(f"moved LeRobot's unfinished {path.name}/ to {target.relative_to(root)}")
    missing = [rel for rel in committed if not (root / rel).exists()]
    if missing:
        raise JournalError(f"{root}: committed files are missing: {', '.join(missing[:5])}"
                           f"{' ...' if len(missing) > 5 else ''}")
    if read_json(root / "meta/info.json") != record["info"]:
        atomic_write_text(root / "meta/info.json", json.dumps(record["info"], indent=4))
        actions.append("restored meta/info.json from the last commit")
    if record["stats"] is not None and read_json(root / "meta/stats.json") != record["stats"]:
        atomic_write_text(root / "meta/stats.json", json.dumps(record["stats"], indent=4))
        actions.append("restored meta/stats.json from the last commit")
    if record["tasks"] and read_tasks(root) != record["tasks"]:
        write_tasks(root, record["tasks"])
        actions.append("restored meta/tasks.parquet from the last commit")
    actions += trim_provenance(root / provenance_file, record["provenance_lines"])
    for action in actions:
        log(f"dataset {root}: {action}")
    return actions


def read_tasks(root: Path) -> list[str] | None:
    import pandas as pd

    try:
        tasks = pd.read_parquet(root / "meta/tasks.parquet")
    except Exception:  # a torn or missing file: restore it
        return None
    return [str(t) for t in tasks.sort_values("task_index").index]


def write_tasks(root: Path, tasks: list[str]) -> None:
    import pandas as pd

    frame = pd.DataFrame({"task_index": range(len(tasks))}, index=tasks)
    tmp = root / "meta/.tasks.parquet.tmp"
    frame.to_parquet(tmp)
    os.replace(tmp, root / "meta/tasks.parquet")


def trim_provenance(path: Path, lines: int) -> list[str]:
    """Keep the first ``lines`` whole lines of the provenance file."""
    if not path.exists():
        return []
    text = path.read_text()
    kept = text.splitlines(keepends=True)[:lines]
    if "".join(kept) == text:
        return []
    atomic_write_text(path, "".join(kept))
    return [f"cut {path.name} back to its {lines} committed lines"]


def validate(root: Path, dataset) -> None:
    """Check an opened LeRobotDataset: indices contiguous, counts matching meta/info.json
    and the parquet files. Raises JournalError naming what disagrees."""
    import pyarrow.parquet as pq

    root = Path(root)
    meta = dataset.meta
    episodes = meta.episodes
    total_e, total_f = meta.total_episodes, meta.total_frames
    if episodes is None:
        if total_e:
            raise JournalError(f"{root}: meta/info.json says {total_e} episodes, "
                               "meta/episodes holds none")
        return
    index = [int(i) for i in episodes["episode_index"]]
    if index != list(range(total_e)):
        raise JournalError(f"{root}: episode indices are not 0..{total_e - 1} as "
                           f"meta/info.json says (got {len(index)} episodes)")
    expected = 0
    for e, start, stop in zip(index, episodes["dataset_from_index"],
                              episodes["dataset_to_index"], strict=True):
        if int(start) != expected:
            raise JournalError(f"{root}: episode {e} starts at frame {start}, expected "
                               f"{expected} (frame indices not contiguous)")
        expected = int(stop)
    if expected != total_f:
        raise JournalError(f"{root}: episodes cover {expected} frames, meta/info.json says "
                           f"{total_f}")
    rows = sum(pq.read_metadata(p).num_rows for p in sorted((root / "data").glob("*/*.parquet")))
    if rows != total_f:
        raise JournalError(f"{root}: data/ holds {rows} frames, meta/info.json says {total_f}")
