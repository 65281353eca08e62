"""The recorder node's logic without ROS: observations and decisions joined into frames,
frames into episodes, episodes written (retried after a write error), and the episode in
progress saved as ``interrupted`` on the way out."""

from __future__ import annotations

import dataclasses

from dagger_ros.core.config import ConfigError, param
from dagger_ros.core.recording.join import EpisodeAssembler, Frame, FrameJoiner
from dagger_ros.core.recording.reading import read_provenance
from dagger_ros.core.recording.schema import id_code, task_text_for
from dagger_ros.core.recording.writer import DatasetWriteError, DatasetWriter
from dagger_ros.core.records import (
    DecisionRecord,
    EpisodeEnd,
    EpisodesFinished,
    EpisodeStart,
    Observation,
    Outcome,
    SavedEpisode,
    frame_episode,
)


@dataclasses.dataclass
class RecorderConfig:
    """Parameters of the recorder node."""

    task: str = param("reach", "Simulated task whose profile applies when no 'profile' is "
                      "given.")
    profile: str = param("", "Robot profile: the observation and action names recorded.")
    dataset_root: str = param("runs/default/dataset", "Folder of the LeRobot dataset; "
                              "created if absent, appended to if it exists.")
    repo_id: str = param("local/dagger_ros", "LeRobot repo_id recorded in the dataset.")
    task_description: str = param("", "Text stored as each frame's LeRobot 'task' (empty: "
                                  "'<robot>: DAgger collection (<gating> gating, labels by "
                                  "<label source>)', one per method and label source).")
    control_rate_hz: float = param(50.0, "Frames per second stored as the dataset's fps "
                                   "(with a 'profile': the profile's control rate instead).")

    def validate(self) -> None:
        from dagger_ros.core.tasks import task_class

        task_class(self.task)
        if not self.dataset_root:
            raise ConfigError("'dataset_root' must name a folder")
        if self.control_rate_hz <= 0:
            raise ConfigError(f"'control_rate_hz' must be positive, got {self.control_rate_hz}")


class RecorderCore:
    """Feed it what arrives (:meth:`observation`, :meth:`decision`, :meth:`event`); each
    returns the episodes saved because of it, oldest first.

    ``log`` has ``info``, ``warning`` and ``error`` (an rclpy logger, or a test's). An
    episode the dataset already holds (a restarted recorder hears the latched event history
    of its source) is recognised by its source's session and episode number and skipped."""

    def __init__(self, writer: DatasetWriter, task_text: str, log, robot: str = ""):
        #: the task string of every episode; empty: one per method and label source
        #: (task_text_for), so DAgger's and a baseline's episodes stay apart after a merge
        self.writer, self.task_text, self.robot, self.log = writer, task_text, robot, log
        self.joiner = FrameJoiner(cameras=[i.name for i in writer.layout.images])
        self.assembler = EpisodeAssembler()
        self.unsaved: list[tuple[list[Frame], EpisodeEnd]] = []  # left by a write error
        self.retry_blocked = False
        self.starts: dict[int, EpisodeStart] = {}
        # keyed by the session's dataset code (id_code), as the session column stores it
        self.in_dataset = {(id_code(p.session), p.sim_episode): p.episode_index
                           for p in read_provenance(writer.root, writer.repo_id) if p.session}
        self.skipped = 0  # ended episodes heard again that the dataset holds already

    def observation(self, observation: Observation) -> list[SavedEpisode]:
        if frame_episode(observation.frame) < 0:
            return []  # taken between episodes: never recorded
        return self._take(self.joiner.add_observation(observation.stamp_ns, observation.frame,
                                                      observation.values))

    def image(self, name: str, stamp_ns: int, frame: str, pixels) -> list[SavedEpisode]:
        """Camera ``name``'s image of the observation stamped ``stamp_ns``."""
        if frame_episode(frame) < 0:
            return []
        return self._take(self.joiner.add_image(name, stamp_ns, pixels))

    def decision(self, record: DecisionRecord) -> list[SavedEpisode]:
        if frame_episode(record.frame) < 0:
            return []
        return self._take(self.joiner.add_decision(record))

    def event(self, event) -> list[SavedEpisode]:
        if isinstance(event, EpisodeStart):
            self.starts[event.episode] = event
        elif isinstance(event, EpisodeEnd):
            saved_as = self.in_dataset.get((id_code(event.session), event.episode))
            if saved_as is not None:
                if not self.skipped:
                    self.log.info(f"episode {event.episode} of session {event.session} is "
                                  f"in the dataset already (episode {saved_as}); the event "
                                  "history's episodes already saved are skipped")
                self.skipped += 1
                self.assembler.drop(event.episode)
                return []
            self.assembler.add_end(event)
            return self.flush()
        elif not isinstance(event, EpisodesFinished):
            raise TypeError(f"not an episode event: {event!r}")
        return []

    def _take(self, frame: Frame | None) -> list[SavedEpisode]:
        if frame is None:
            return []
        self.assembler.add_frame(frame)
        return self.flush()

    def flush(self) -> list[SavedEpisode]:
        """Write every finished episode, oldest first. After a write error the episodes
        wait in memory and are retried when the next one finishes."""
        ready = [(f, end) for f, end in self.assembler.ready() if f]  # f empty: aborted at once
        for episode, seen, steps in self.assembler.discarded:
            self.log.warning(f"sim episode {episode} not saved: only {seen} of its {steps} "
                             "frames were seen (the recorder started in the middle of it)")
        self.assembler.discarded.clear()
        if not ready and not self.unsaved:
            return []
        self.unsaved += ready
        if not ready and self.retry_blocked:
            return []
        self.retry_blocked = False
        out = []
        while self.unsaved:
            frames, end = self.unsaved[0]
            try:
                record = self.writer.write_episode(frames, end, self.task_for(frames))
            except DatasetWriteError as exc:
                self.log.error(f"{exc}. {len(self.unsaved)} finished episode(s) are kept in "
                               "memory and retried at the next episode end")
                self.retry_blocked = True
                return out
            self.unsaved.pop(0)
            self.joiner.forget_before(frames[-1].stamp_ns)
            if end.session:
                self.in_dataset[(id_code(end.session), end.episode)] = record.episode_index
            how = "as interrupted" if record.outcome is Outcome.INTERRUPTED else \
                record.outcome.value
            self.log.info(f"saved episode {record.episode_index} {how} (sim episode "
                          f"{record.sim_episode}, round {record.round}, {record.frames} "
                          "frames)")
            out.append(record)
        return out

    def task_for(self, frames: list[Frame]) -> str:
        first = frames[0].decision
        return self.task_text or task_text_for(self.robot or "robot", first.gating,
                                               first.label_source)

    def close(self) -> list[SavedEpisode]:
        """On the way out: save what is complete, then the episode in progress as
        'interrupted' (never half-written: each is one finalized LeRobot episode)."""
        self.unsaved += [(f, end) for f, end in self.assembler.ready() if f]
        for episode, end in sorted(self.assembler.ends.items()):  # ended, never complete
            seen = len(self.assembler.frames.get(episode, {}))
            self.log.warning(f"sim episode {episode} not saved: only {seen} of its "
                             f"{end.steps} frames were seen (the recorder started in the "
                             "middle of it)")
            self.assembler.drop(episode)
        for frames, episode in self.assembler.unfinished():
            start = self.starts.get(episode)
            self.unsaved.append((frames, EpisodeEnd(
                episode=episode, seed=start.seed if start else -1,
                outcome=Outcome.INTERRUPTED, steps=len(frames),
                session=start.session if start else "")))
        self.retry_blocked = False
        saved = self.flush()
        if self.unsaved:
            lost = sum(len(f) for f, _ in self.unsaved)
            self.log.error(f"{len(self.unsaved)} episode(s) ({lost} frames) could not be "
                           f"written to {self.writer.root}; see the errors above")
        self.writer.close()
        return saved
