"""Recording: frames joined by the observation they answer, episodes written with LeRobot.

The recorder joins each observation with the supervisor's decision for it by the
observation's stamp (never by arrival time), assembles episodes, and writes every finished
episode with LeRobot's own API (LeRobotDataset.create / add_frame / save_episode /
finalize). Every episode goes to its own parquet file and is finalized at once, so the
dataset on disk is complete and opens with ``LeRobotDataset(repo_id, root=...)`` between
any two episodes, and a later run (or a restarted recorder) appends to it.

Per-episode provenance (round, checkpoint, label source, gating, beta, seed, outcome) is
kept beside LeRobot's metadata in ``meta/dagger_episodes.jsonl``, one line per episode.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np

from dagger_ros.core import journal
from dagger_ros.core.config import ConfigError, param

PROVENANCE_FILE = "meta/dagger_episodes.jsonl"
CODES_FILE = "meta/dagger_ros.json"
SOURCE_CODES = {"expert": 0, "policy": 1, "hold": 2}
REASON_CODES = {"no_policy": 0, "beta_draw": 1, "policy_timeout": 2, "invalid_policy_action": 3,
                "estop": 4, "expert_timeout": 5, "stale_input": 6, "no_label": 7,
                "discrepancy": 8, "handback": 9, "uncertainty": 10, "warming_up": 11,
                "operator_takeover": 12, "autonomous": 13, "dart_noise": 14,
                "budget_query": 15, "budget_exhausted": 16, "async_queued": 17}


class DatasetError(ValueError):
    """A dataset path that is not a (compatible) LeRobot dataset."""


class DatasetWriteError(OSError):
    """An episode that could not be written (full disk, unwritable folder). The dataset on
    disk is back at its last good episode; the caller still holds the episode's frames."""


@dataclasses.dataclass
class RecorderConfig:
    """Parameters of the recorder node."""

    task: str = param("reach", "Task whose observations and actions are recorded.")
    dataset_root: str = param("runs/default/dataset", "Folder of the LeRobot dataset; "
                              "created if absent, appended to if it exists.")
    repo_id: str = param("local/dagger_ros", "LeRobot repo_id recorded in the dataset.")
    task_description: str = param("", "Text stored as each frame's LeRobot 'task' (empty: "
                                  "the task name).")
    control_rate_hz: float = param(50.0, "Frames per second stored as the dataset's fps.")

    def validate(self) -> None:
        from dagger_ros.core.tasks import task_class

        task_class(self.task)
        if not self.dataset_root:
            raise ConfigError("'dataset_root' must name a folder")
        if self.control_rate_hz <= 0:
            raise ConfigError(f"'control_rate_hz' must be positive, got {self.control_rate_hz}")


def features_for(observation_names, action_names) -> dict:
    """LeRobot features of a dagger_ros dataset."""
    obs, act = list(observation_names), list(action_names)

    def vec(names, dtype="float32"):
        return {"dtype": dtype, "shape": (len(names),), "names": names}

    def scalar(dtype):
        return {"dtype": dtype, "shape": (1,), "names": None}

    return {
        "observation.state": vec(obs),       # what the learner saw
        "action": vec(act),                  # the expert's label: what a policy learns
        "policy_action": vec(act),           # the policy's proposal (zeros if none)
        "executed_action": vec(act),         # what was sent to the robot, after clamping
        "source": scalar("int64"),           # who executed: SOURCE_CODES
        "reason": scalar("int64"),           # why: REASON_CODES
        "policy_available": scalar("int64"),  # 1 if the policy proposed an action
        "labelled": scalar("int64"),         # 1 if 'action' holds the expert's label
        "gate_value": scalar("float32"),     # what the gate measured (NaN: nothing)
        "gate_threshold": scalar("float32"),  # what it compared it with (NaN: nothing)
        "intervention": scalar("int64"),     # 1 where the expert took control away
        "uncertainty": scalar("float32"),    # ensemble spread (0 if no policy)
        "round": scalar("int64"),            # DAgger round that collected the frame
    }


@dataclasses.dataclass
class Frame:
    stamp_ns: int
    episode: int
    step: int
    observation: np.ndarray
    decision: dict


def parse_label(label: str) -> tuple[int, int]:
    """``"<episode>:<step>"`` -> (episode, step)."""
    episode, step = label.split(":")
    return int(episode), int(step)


class FrameJoiner:
    """Pairs observations and decisions that carry the same stamp; either may come first.
    Re-sent observations (same stamp) are joined once."""

    def __init__(self):
        self.observations: dict[int, tuple[str, np.ndarray]] = {}
        self.decisions: dict[int, dict] = {}
        self.joined: set[int] = set()

    def add_observation(self, stamp_ns: int, label: str, values: np.ndarray) -> Frame | None:
        if stamp_ns in self.joined:
            return None
        self.observations[stamp_ns] = (label, values)
        return self._try(stamp_ns)

    def add_decision(self, stamp_ns: int, decision: dict) -> Frame | None:
        if stamp_ns in self.joined:
            return None
        self.decisions[stamp_ns] = decision
        return self._try(stamp_ns)

    def _try(self, stamp: int) -> Frame | None:
        if stamp in self.observations and stamp in self.decisions:
            label, values = self.observations.pop(stamp)
            episode, step = parse_label(label)
            self.joined.add(stamp)
            return Frame(stamp, episode, step, values, self.decisions.pop(stamp))
        return None

    def forget_before(self, stamp_ns: int) -> None:
        """Drop bookkeeping of stamps older than ``stamp_ns`` (a saved episode's)."""
        self.joined = {s for s in self.joined if s >= stamp_ns}
        for table in (self.observations, self.decisions):
            for s in [s for s in table if s < stamp_ns]:
                del table[s]


class EpisodeAssembler:
    """Frames per simulated episode; an episode is ready once its end event has come and
    all of its steps have been joined."""

    def __init__(self):
        self.frames: dict[int, dict[int, Frame]] = {}
        self.ends: dict[int, dict] = {}
        self.discarded: list[tuple[int, int, int]] = []

    def add_frame(self, frame: Frame) -> None:
        self.frames.setdefault(frame.episode, {})[frame.step] = frame

    def add_end(self, event: dict) -> None:
        self.ends[int(event["episode"])] = event

    def ready(self) -> list[tuple[list[Frame], dict]]:
        """Episodes complete now (their frames in step order, their end event), removed.

        An ended episode still missing frames once a later episode's frame has been joined
        will never be complete (observations and decisions arrive in order per topic: the
        recorder started or restarted in the middle of it). It is dropped and listed in
        ``discarded`` as (episode, frames seen, steps)."""
        out = []
        newest = max(self.frames, default=-1)
        for episode in sorted(self.ends):
            end = self.ends[episode]
            got = self.frames.get(episode, {})
            if len(got) >= int(end["steps"]):
                out.append(([got[s] for s in sorted(got)], end))
            elif newest > episode:
                self.discarded.append((episode, len(got), int(end["steps"])))
                self.ends.pop(episode)
                self.frames.pop(episode, None)
        for _, end in out:
            self.ends.pop(int(end["episode"]))
            self.frames.pop(int(end["episode"]), None)
        return out

    def unfinished(self) -> list[tuple[list[Frame], int]]:
        """Episodes with frames but no end event yet: their frames contiguous from step 0
        (anything after a gap is dropped), with the episode number. Removes them."""
        out = []
        for episode in sorted(set(self.frames) - set(self.ends)):
            got = self.frames.pop(episode)
            frames = []
            while len(frames) in got:
                frames.append(got[len(frames)])
            if frames:
                out.append((frames, episode))
        return out

    def missing(self, episode: int) -> int:
        end = self.ends.get(episode)
        return int(end["steps"]) - len(self.frames.get(episode, {})) if end else 0


def frame_row(frame: Frame, action_size: int, task_text: str) -> dict:
    """One LeRobot frame from a joined observation and decision."""
    d = frame.decision
    policy, label = d.get("policy_action"), d.get("expert_action")
    return {
        "observation.state": np.asarray(frame.observation, np.float32),
        "action": np.asarray(label if label is not None else np.zeros(action_size),
                             np.float32),
        "policy_action": np.asarray(policy if policy is not None else np.zeros(action_size),
                                    np.float32),
        "executed_action": np.asarray(d["executed_action"], np.float32),
        "source": np.array([SOURCE_CODES[d["source"]]], np.int64),
        "reason": np.array([REASON_CODES.get(d["reason"], -1)], np.int64),
        "policy_available": np.array([int(policy is not None)], np.int64),
        "labelled": np.array([int(label is not None)], np.int64),
        "gate_value": np.array([_number(d.get("value"))], np.float32),
        "gate_threshold": np.array([_number(d.get("threshold"))], np.float32),
        "intervention": np.array([int(bool(d.get("intervention")))], np.int64),
        "uncertainty": np.array([d.get("uncertainty") or 0.0], np.float32),
        "round": np.array([int(d["round"])], np.int64),
        "task": task_text,
    }


def _number(value) -> float:
    return float("nan") if value is None else float(value)


def control_switches(frames: list[Frame]) -> int:
    """Hand-offs between expert and policy within an episode (context switches)."""
    sources = [f.decision["source"] for f in frames if f.decision["source"] != "hold"]
    return sum(a != b for a, b in zip(sources, sources[1:], strict=False))


def episode_provenance(frames: list[Frame], end: dict, dataset_episode: int) -> dict:
    """What made an episode: round, checkpoint, label source, gating, beta, seed, outcome."""
    first = frames[0].decision
    sources = [f.decision["source"] for f in frames]
    return {
        "episode_index": dataset_episode,
        "sim_episode": int(end["episode"]),
        "seed": int(end["seed"]),
        "outcome": end["outcome"],
        "frames": len(frames),
        "round": int(first["round"]),
        "checkpoint_id": first.get("checkpoint_id"),
        "label_source": first["label_source"],
        "gating": first["gating"],
        "beta": first["beta"],
        "expert_frames": sources.count("expert"),
        "policy_frames": sources.count("policy"),
        "hold_frames": sources.count("hold"),
        "unlabelled_frames": sum(f.decision.get("expert_action") is None for f in frames),
        "interventions": sum(bool(f.decision.get("intervention")) for f in frames),
        "intervention_frames": sum(f.decision["source"] == "expert"
                                   and f.decision.get("policy_action") is not None
                                   for f in frames),
        "handoffs": control_switches(frames),
        "first_stamp_ns": frames[0].stamp_ns,
        "last_stamp_ns": frames[-1].stamp_ns,
    }


def skip_embedding_without_media() -> None:
    """Make LeRobot's save skip ``embed_images`` when no column holds images or audio.

    lerobot 0.4.4's ``_save_episode_data`` runs ``embed_images`` on every episode: a
    row-by-row ``datasets.map(embed_table_storage)`` that costs ~150 ms per 300 frames and
    changes nothing unless a feature requires storage embedding (images, audio). The shim
    returns the dataset unchanged in exactly that case and defers to LeRobot otherwise.
    """
    import lerobot.datasets.lerobot_dataset as lerobot_dataset
    from datasets.features.features import require_storage_embed

    original = lerobot_dataset.embed_images
    if getattr(original, "skips_without_media", False):
        return

    def embed_images(dataset):
        if not any(require_storage_embed(f) for f in dataset.features.values()):
            return dataset
        return original(dataset)

    embed_images.skips_without_media = True
    lerobot_dataset.embed_images = embed_images


class DatasetWriter:
    """Appends episodes to one LeRobot dataset, each finalized and committed as soon as it
    is saved (see :mod:`dagger_ros.core.journal`): a kill at any moment loses at most the
    episode being written, and the next writer on the folder puts it back to the last
    commit, logging what it moved aside."""

    def __init__(self, root: str | Path, repo_id: str, fps: float, observation_names,
                 action_names, robot_type: str = "", log=print):
        from datasets.utils.logging import disable_progress_bar

        disable_progress_bar()
        skip_embedding_without_media()
        self.root = Path(root)
        self.repo_id, self.fps, self.robot_type, self.log = repo_id, fps, robot_type, log
        self.features = features_for(observation_names, action_names)
        self.action_size = len(action_names)
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
                      if p.name not in ("meta", "data", journal.TORN_DIR)]
            if others or (any(self.root.iterdir()) and not (self.root / "meta").exists()):
                raise DatasetError(f"{self.root} exists and is not a LeRobot dataset (no "
                                   "meta/info.json); choose an empty or new folder")
            for sub in ("meta", "data"):  # created just before a kill: no episode in it
                shutil.rmtree(self.root / sub, ignore_errors=True)
        self.root.parent.mkdir(parents=True, exist_ok=True)
        staging = self.root.parent / f".{self.root.name}.creating"
        shutil.rmtree(staging, ignore_errors=True)
        dataset = LeRobotDataset.create(
            self.repo_id, fps=int(round(self.fps)), features=self.features, root=staging,
            robot_type=self.robot_type or None, use_videos=False, metadata_buffer_size=1)
        journal.atomic_write_text(staging / CODES_FILE, json.dumps(
            {"source_codes": SOURCE_CODES, "reason_codes": REASON_CODES,
             "provenance_file": PROVENANCE_FILE}, indent=2))
        journal.commit(staging, [], 0)
        if self.root.exists():
            for child in staging.iterdir():
                os.replace(child, self.root / child.name)
            staging.rmdir()
        else:
            os.replace(staging, self.root)
        dataset.root = dataset.meta.root = self.root
        self._settings(dataset)
        return dataset

    def _open(self):
        dataset = open_dataset(self.root, self.repo_id)
        check_features(dataset, self.features, self.root)
        try:
            journal.validate(self.root, dataset)
        except journal.JournalError as exc:
            raise DatasetError(str(exc)) from None
        self._settings(dataset)
        if journal.load_commit(self.root) is None:  # a dataset this writer did not start
            journal.commit(self.root, self._tasks(dataset), len(read_provenance(self.root)))
        return dataset

    @staticmethod
    def _settings(dataset) -> None:
        # one parquet file per episode: every save is closed (finalized) at once
        dataset.meta.metadata_buffer_size = 1
        dataset.meta.update_chunk_settings(data_files_size_in_mb=1e-6)

    @staticmethod
    def _tasks(dataset) -> list[str]:
        tasks = dataset.meta.tasks
        return [] if tasks is None else [str(t) for t in tasks.sort_values("task_index").index]

    @property
    def episodes(self) -> int:
        if self.dataset is None:
            return int(journal.load_commit(self.root)["episodes"])
        return self.dataset.meta.total_episodes

    def write_episode(self, frames: list[Frame], end: dict, task_text: str) -> dict:
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
            for frame in frames:
                self.dataset.add_frame(frame_row(frame, self.action_size, task_text))
            self.dataset.save_episode()
            self.dataset.finalize()
            record = episode_provenance(frames, end, index)
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

    def _append_provenance(self, record: dict) -> None:
        with open(self.root / PROVENANCE_FILE, "a") as fh:
            fh.write(json.dumps(record) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def _roll_back(self) -> None:
        """After a failed write: back to the last commit. The LeRobot handle is reopened
        now if the disk allows, else before the next write."""
        if self.dataset is not None:
            try:
                self.dataset.finalize()
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


def read_provenance(root: str | Path) -> list[dict]:
    path = Path(root) / PROVENANCE_FILE
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
