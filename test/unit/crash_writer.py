"""Child process for test_dataset_crash.py: writes episodes, then dies by SIGKILL at a
chosen point inside the next episode's write (or fails it with a real OS error).

    python crash_writer.py ROOT BEFORE POINT [camera]

BEFORE episodes are written normally, then POINT is armed and one more is written. With
``camera``, every frame also has a 64x64 image, stored as a video feature.
"""

import json
import os
import resource
import signal
import sys
from pathlib import Path

import numpy as np

from dagger_ros.core.images import ImageField
from dagger_ros.core.recording import DatasetWriteError, DatasetWriter, Frame

sys.path.insert(0, str(Path(__file__).parent))
from sample_records import decision, end  # noqa: E402

OBS, ACT = ["a", "b", "c"], ["u", "v"]
CAMERA = ImageField("cam", 64, 64)


def frames(episode: int, steps: int, base: int, camera: bool = False) -> list[Frame]:
    out = []
    for s in range(steps):
        record = decision(base + s, expert_action=[float(s), 1.0], beta=1.0,
                          label=f"{episode}:{s}")
        images = {"cam": np.full(CAMERA.shape, (s * 7) % 256, np.uint8)} if camera else {}
        out.append(Frame(base + s, episode, s, np.full(3, s, float), record, images))
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
    elif point in ("video_encoding", "video_moved"):
        original_save = dw.DatasetWriter._save_episode_video

        def save_episode_video(self, video_key, episode_index, temp_path=None):
            if point == "video_encoding":  # half the episode's video file, then the kill
                path = self._encode_temporary_episode_video(video_key, episode_index)
                data = path.read_bytes()
                target = self._root / self._meta.video_path.format(
                    video_key=video_key, chunk_index=0, file_index=episode_index)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data[: len(data) // 2])
                die()
            out = original_save(self, video_key, episode_index, temp_path)
            die()  # the video is in place; the episode's metadata is not
            return out

        dw.DatasetWriter._save_episode_video = save_episode_video
    elif point == "file_too_large":  # a real OS error from the kernel, like a full disk
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (40_000, resource.RLIM_INFINITY))
    else:
        raise SystemExit(f"unknown point {point}")


def main() -> None:
    root, before, point = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    camera = sys.argv[4:] == ["camera"]
    writer = DatasetWriter(root, "local/crash", 50, OBS, ACT, images=[CAMERA] if camera else ())
    start = writer.episodes
    for e in range(start, start + before):
        writer.write_episode(frames(e, 20 + e, 10_000 * e, camera),
                             end(e, e, "success", 20 + e), "t")
    arm(point)
    e = start + before
    steps = 60 if camera else 3000
    try:
        writer.write_episode(frames(e, steps, 10_000 * e, camera),
                             end(e, e, "success", steps), "t")
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
