"""The crash-safe writer: episodes appended to one LeRobot dataset with LeRobot's own API
(LeRobotDataset.create / resume / add_frame / save_episode), each closed on disk (see
:mod:`.lerobot_shim`) and committed (see :mod:`.journal`) as soon as it is saved, so the
folder opens with ``LeRobotDataset(repo_id, root=...)`` between any two episodes and a kill
at any moment loses at most the episode being written.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from dagger_ros.core.recording import journal
from dagger_ros.core.recording.join import Frame
from dagger_ros.core.recording.lerobot_shim import (
    close_episode_files,
    one_episode_per_file,
    patch_lerobot,
)
from dagger_ros.core.recording.reading import (
    VIDEO_BACKEND,
    DatasetError,
    check_features,
    open_dataset,
)
from dagger_ros.core.recording.schema import (
    CODES_FILE,
    PROVENANCE_FILE,
    Layout,
    codes_document,
    episode_provenance,
)
from dagger_ros.core.recording.video import rgb_encoder, scheduling_kept
from dagger_ros.core.records import EpisodeEnd, SavedEpisode


class DatasetWriteError(OSError):
    """An episode that could not be written (full disk, unwritable folder). The dataset on
    disk is back at its last good episode; the caller still holds the episode's frames."""


class DatasetWriter:
    """Appends episodes to one LeRobot dataset, each finalized and committed as soon as it
    is saved (see :mod:`.journal`): a kill at any moment loses at most the
    episode being written, and the next writer on the folder puts it back to the last
    commit, logging what it moved aside."""

    def __init__(self, root: str | Path, repo_id: str, fps: float, observation_names,
                 action_names, robot_type: str = "", log=print, environment_names=(),
                 images=()):
        from datasets.utils.logging import disable_progress_bar

        # should an SVT-AV1 encoder run all the same (see .video), ~20 lines an episode: errors
        os.environ.setdefault("SVT_LOG", "1")

        disable_progress_bar()
        patch_lerobot()
        self.root = Path(root)
        self.repo_id, self.fps, self.robot_type, self.log = repo_id, fps, robot_type, log
        try:
            self.layout = Layout(observation_names, action_names, environment_names, images)
        except ValueError as exc:
            raise DatasetError(f"{self.root}: {exc}") from None
        self.features = self.layout.features()
        check_writable(self.root)
        try:
            self.recovered = journal.recover(self.root, PROVENANCE_FILE, log)
        except journal.JournalError as exc:
            raise DatasetError(str(exc)) from None
        if is_empty_dataset(self.root):
            self.dataset = self._create()
        else:
            self.dataset = self._open()
        self.committed = journal.load_commit(self.root)  # the commit this writer holds

    def _create(self):
        """A new, empty dataset, built in a sibling folder and moved into place, so a kill
        during creation never leaves a half-made one."""
        import shutil

        from lerobot.datasets.lerobot_dataset import LeRobotDataset

        if self.root.exists():
            others = [p.name for p in self.root.iterdir()
                      if p.name not in ("meta", "data", "videos", journal.TORN_DIR)]
            if others or (any(self.root.iterdir()) and not (self.root / "meta").exists()):
                raise DatasetError(f"{self.root} exists and is not a LeRobot dataset (no "
                                   "meta/info.json); choose an empty or new folder")
            for sub in ("meta", "data", "videos"):  # created just before a kill: no episode
                shutil.rmtree(self.root / sub, ignore_errors=True)
        self.root.parent.mkdir(parents=True, exist_ok=True)
        staging = self.root.parent / f".{self.root.name}.creating"
        shutil.rmtree(staging, ignore_errors=True)
        dataset = LeRobotDataset.create(
            self.repo_id, fps=int(round(self.fps)), features=self.features, root=staging,
            robot_type=self.robot_type or None, use_videos=bool(self.layout.images),
            metadata_buffer_size=1, video_files_size_in_mb=1e-6, rgb_encoder=rgb_encoder())
        dataset.finalize()  # nothing written yet; the handle is on the staging folder
        journal.atomic_write_text(staging / CODES_FILE, json.dumps(codes_document(), indent=2))
        journal.commit(staging, [], 0)
        if self.root.exists():
            for child in staging.iterdir():
                os.replace(child, self.root / child.name)
            staging.rmdir()
        else:
            os.replace(staging, self.root)
        return self._resume()

    def _resume(self):
        """A LeRobot handle in write mode on the folder (which holds a valid dataset)."""
        from lerobot.datasets.lerobot_dataset import LeRobotDataset

        try:
            dataset = LeRobotDataset.resume(self.repo_id, root=self.root,
                                            video_backend=VIDEO_BACKEND,
                                            rgb_encoder=rgb_encoder())
        except Exception as exc:  # lerobot raises many kinds for a broken folder
            raise DatasetError(f"{self.root} could not be opened for writing as a LeRobot "
                               f"dataset: {type(exc).__name__}: {exc}") from None
        one_episode_per_file(dataset)
        return dataset

    def _open(self):
        reader = open_dataset(self.root, self.repo_id)
        check_features(reader, self.features, self.root)
        try:
            journal.validate(self.root, reader)
        except journal.JournalError as exc:
            raise DatasetError(str(exc)) from None
        if journal.load_commit(self.root) is None:  # a dataset this writer did not start
            journal.commit(self.root, self._tasks(reader), provenance_lines(self.root))
        return self._resume()

    @staticmethod
    def _tasks(dataset) -> list[str]:
        tasks = dataset.meta.tasks
        return [] if tasks is None else [str(t) for t in tasks.sort_values("task_index").index]

    @property
    def episodes(self) -> int:
        if self.dataset is None:
            return int(journal.load_commit(self.root)["episodes"])
        return self.dataset.meta.total_episodes

    def write_episode(self, frames: list[Frame], end: EpisodeEnd,
                      task_text: str) -> SavedEpisode:
        """Save one episode and its provenance, then commit; returns the provenance record.

        On an OSError (a full disk, a folder gone read-only) the folder is put back to the
        last commit and DatasetWriteError is raised; nothing saved before is touched and the
        caller may retry the same frames later."""
        index = None
        try:
            if self.dataset is not None and journal.load_commit(self.root) != self.committed:
                # another writer committed meanwhile (`dagger-ros label`, the trainer's
                # label_expert): LeRobot's in-memory stats predate its labels, and saving
                # from them would write stale stats over the merged ones
                self.log(f"dataset {self.root} was changed by another writer since this "
                         "recorder's last episode (e.g. labels merged): reopened from disk")
                self.dataset = None
            if self.dataset is None:  # a previous failure, or the above: reopen first
                self._reopen()
            index = self.episodes
            rows = list(self.layout.episode_rows(frames, end, task_text))
            record = episode_provenance(rows, end, index, frames[0].decision)
            for row in rows:
                self.dataset.add_frame(row)
            # cameras encoded one after the other in this process: LeRobot's parallel
            # encoding forks the recorder, a multithreaded ROS process, at each save
            with scheduling_kept(self.log):
                self.dataset.save_episode(parallel_encoding=False)
            close_episode_files(self.dataset)
            self._check_videos(index, len(rows))
            self._append_provenance(record)
            journal.commit(self.root, self._tasks(self.dataset), index + 1)
            self.committed = journal.load_commit(self.root)
        except (OSError, DatasetError) as exc:
            self._roll_back()
            saved = journal.load_commit(self.root) or {"episodes": "its"}
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise DatasetWriteError(
                getattr(exc, "errno", None), f"could not write episode "
                f"{saved['episodes'] if index is None else index} ({len(frames)} frames) to "
                f"{self.root}: {reason}; the dataset keeps its {saved['episodes']} saved "
                "episodes") from None
        return record

    def _check_videos(self, index: int, frames: int) -> None:
        """Every camera's video of the episode just saved holds one frame per frame
        recorded: a dropped or extra video frame is an error (the episode is rolled back),
        never silent."""
        if not self.layout.images:
            return
        from dagger_ros.core.recording.reading import video_frame_count

        for image in self.layout.images:
            have = video_frame_count(self.root, self.dataset.meta, index, image.key)
            if have != frames:
                raise DatasetError(f"episode {index}: the video of {image.key} has {have} "
                                   f"frames for {frames} recorded")

    def _append_provenance(self, record: SavedEpisode) -> None:
        with open(self.root / PROVENANCE_FILE, "a") as fh:
            fh.write(record.encode() + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def _roll_back(self) -> None:
        """After a failed write: back to the last commit. The LeRobot handle is reopened
        now if the disk allows, else before the next write."""
        if self.dataset is not None:
            try:
                self.dataset.clear_episode_buffer()
                close_episode_files(self.dataset)
            except Exception:  # half-open writers on a full disk; recover() moves their files
                pass
        self.dataset = None
        try:
            self._reopen()
        except (OSError, DatasetError) as exc:
            self.log(f"dataset {self.root}: not reopened yet ({exc}); retrying at the next "
                     "episode")

    def _reopen(self) -> None:
        journal.recover(self.root, PROVENANCE_FILE, self.log)
        self.dataset = self._create() if is_empty_dataset(self.root) else self._open()
        self.committed = journal.load_commit(self.root)

    def close(self) -> None:
        if self.dataset is not None:
            self.dataset.finalize()
            self.dataset = None


def provenance_lines(root: Path) -> int:
    path = Path(root) / PROVENANCE_FILE
    return len(path.read_text().splitlines()) if path.exists() else 0


def check_writable(root: Path) -> None:
    """A folder we can create and write in, or DatasetError naming it and why."""
    existing = root
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise DatasetError(f"cannot create {root}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise DatasetError(f"cannot write in {existing} (permission denied), so {root} "
                           "cannot hold a dataset")
    for sub in ("", "meta", "data"):
        path = root / sub
        if path.is_dir() and not os.access(path, os.W_OK | os.X_OK):
            raise DatasetError(f"cannot write in {path} (permission denied)")


def is_empty_dataset(root: Path) -> bool:
    """No dataset yet, or one created but killed before its first episode was saved."""
    info = journal.read_json(root / "meta/info.json")
    if info is None:
        return not (root / "data").exists() and not (root / "meta/episodes").exists()
    return int(info.get("total_episodes", 0)) == 0 and not journal.tracked_files(root)

