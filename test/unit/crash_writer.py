"""Child process for test_dataset_crash.py: writes episodes, then dies by SIGKILL at a
chosen point inside the next episode's write (or fails it with a real OS error).

    python crash_writer.py ROOT BEFORE POINT

BEFORE episodes are written normally, then POINT is armed and one more is written.
"""

import json
import os
import resource
import signal
import sys
from pathlib import Path

import numpy as np

from dagger_ros.core.recording import DatasetWriteError, DatasetWriter, Frame

sys.path.insert(0, str(Path(__file__).parent))
from sample_records import decision, end  # noqa: E402

OBS, ACT = ["a", "b", "c"], ["u", "v"]


def frames(episode: int, steps: int, base: int) -> list[Frame]:
    out = []
    for s in range(steps):
        record = decision(base + s, expert_action=[float(s), 1.0], beta=1.0,
                          label=f"{episode}:{s}")
        out.append(Frame(base + s, episode, s, np.full(3, s, float), record))
    return out


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def arm(point: str) -> None:
    import lerobot.datasets.dataset_metadata as dm
    import lerobot.datasets.dataset_writer as dw
    import pyarrow.parquet as pq

    if point in ("data_written", "episode_meta_written"):
        folder = "data" if point == "data_written" else "episodes"
        original = pq.ParquetWriter.write_table

        def write_table(self, table, *args, **kwargs):
            original(self, table, *args, **kwargs)
            if f"/{folder}/" in str(self.where):
                die()  # the rows are written, the file's footer is not

        pq.ParquetWriter.write_table = write_table
    elif point == "info_torn":
        def write_info(info, root):
            text = json.dumps(info.to_dict() if hasattr(info, "to_dict") else info, indent=4)
            with open(Path(root) / "meta/info.json", "w") as fh:
                fh.write(text[: len(text) // 2])  # half a JSON file, as a kill mid-write leaves
            die()

        dm.write_info = write_info
    elif point == "before_stats":
        dm.write_stats = lambda stats, root: die()
    elif point == "finalize":
        original_close = dw.DatasetWriter.close_writer

        def close_writer(self):
            had_writer = self._pq_writer is not None
            original_close(self)
            if had_writer:
                die()  # the data file is closed; the episode-metadata file is not

        dw.DatasetWriter.close_writer = close_writer
    elif point == "provenance_torn":
        def append(self, record):
            with open(self.root / "meta/dagger_episodes.jsonl", "a") as fh:
                fh.write(record.encode()[:20])
            die()

        DatasetWriter._append_provenance = append
    elif point == "commit":
        original_replace = os.replace

        def replace(src, dst):
            if str(dst).endswith("dagger_ros_commit.json"):
                die()  # the new commit is written beside the old one, not yet in place
            original_replace(src, dst)

        os.replace = replace
    elif point == "file_too_large":  # a real OS error from the kernel, like a full disk
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (40_000, resource.RLIM_INFINITY))
    else:
        raise SystemExit(f"unknown point {point}")


def main() -> None:
    root, before, point = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    writer = DatasetWriter(root, "local/crash", 50, OBS, ACT)
    start = writer.episodes
    for e in range(start, start + before):
        writer.write_episode(frames(e, 20 + e, 10_000 * e), end(e, e, "success", 20 + e), "t")
    arm(point)
    e = start + before
    try:
        writer.write_episode(frames(e, 3000, 10_000 * e), end(e, e, "success", 3000), "t")
    except DatasetWriteError as exc:
        resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY,) * 2)
        print(f"WRITE ERROR: {exc}", flush=True)
        # the folder is consistent again: a smaller episode now fits and is saved
        writer.write_episode(frames(e, 5, 10_000 * e), end(e, e, "success", 5), "t")
        print(f"EPISODES {writer.episodes}", flush=True)
        return
    print("NOT KILLED", flush=True)


if __name__ == "__main__":
    main()
