"""The recorder node's logic without ROS: join, assemble, write, retry, interrupt, and
recognise the episodes a dataset already holds."""

import numpy as np

from dagger_ros.core.recording import (
    DatasetWriteError,
    DatasetWriter,
    RecorderCore,
    read_provenance,
)
from dagger_ros.core.records import EpisodeStart, Observation

from .sample_records import decision, end

OBS, ACT = ["a", "b", "c"], ["u", "v"]


class Log:
    def __init__(self):
        self.lines = []

    def info(self, text):
        self.lines.append(("info", text))

    def warning(self, text):
        self.lines.append(("warning", text))

    def error(self, text):
        self.lines.append(("error", text))

    def text(self, level):
        return [t for lvl, t in self.lines if lvl == level]


def feed(core, episode, steps, base, session="run-1", finish=True):
    """What the topics deliver for one episode; returns what got saved."""
    saved = core.event(EpisodeStart(episode, 100 + episode, "t", base, session))
    for s in range(steps):
        label = f"{episode}:{s}"
        saved += core.decision(decision(base + s, label=label))
        saved += core.observation(Observation(base + s, label, np.full(3, float(s))))
    if finish:
        saved += core.event(end(episode, 100 + episode, "success", steps, session))
    return saved


def recorder(root, log):
    return RecorderCore(DatasetWriter(root, "local/t", 50, OBS, ACT, log=log.warning), "t", log)


def test_episodes_are_saved_as_their_end_arrives(tmp_path):
    log = Log()
    core = recorder(tmp_path / "ds", log)
    assert [s.sim_episode for s in feed(core, 0, 4, 0)] == [0]
    saved = feed(core, 1, 3, 100)
    assert [(s.episode_index, s.frames, s.session) for s in saved] == [(1, 3, "run-1")]
    assert log.text("warning") == []


def test_a_restarted_recorder_recognises_the_episodes_already_saved(tmp_path):
    """The fault found by hand: a recorder restarted by `dagger-ros run` hears the latched
    event history and must not report the episodes it saved before as lost."""
    root = tmp_path / "ds"
    first = recorder(root, Log())
    feed(first, 0, 4, 0)
    feed(first, 1, 3, 100)
    log = Log()
    restarted = recorder(root, log)  # a new process on the same dataset
    history = [EpisodeStart(0, 100, "t", 0, "run-1"), end(0, 100, "success", 4, "run-1"),
               EpisodeStart(1, 101, "t", 100, "run-1"), end(1, 101, "success", 3, "run-1")]
    for event in history:
        assert restarted.event(event) == []
    saved = feed(restarted, 2, 5, 200)  # the next episode is recorded as ever
    assert [s.episode_index for s in saved] == [2]
    assert not any("not saved" in t for t in log.text("warning")), log.lines
    assert any("in the dataset already" in t for t in log.text("info"))
    # the same episode numbers from another run (another session) are new episodes
    assert [s.episode_index for s in feed(restarted, 0, 2, 300, session="run-2")] == [3]
    assert [p.sim_episode for p in read_provenance(root)] == [0, 1, 2, 0]


def test_an_episode_joined_mid_way_is_still_reported(tmp_path):
    log = Log()
    core = recorder(tmp_path / "ds", log)
    core.event(EpisodeStart(0, 100, "t", 0, "run-1"))
    for s in (3, 4):  # the recorder started while episode 0 ran
        core.decision(decision(s, label=f"0:{s}"))
        core.observation(Observation(s, f"0:{s}", np.zeros(3)))
    core.event(end(0, 100, "success", 5, "run-1"))
    feed(core, 1, 2, 100)
    assert log.text("warning") == ["sim episode 0 not saved: only 2 of its 5 frames were "
                                   "seen (the recorder started in the middle of it)"]


def test_a_write_error_keeps_the_episode_and_retries_at_the_next_end(tmp_path, monkeypatch):
    log = Log()
    core = recorder(tmp_path / "ds", log)
    real = core.writer.write_episode
    calls = []

    def failing_once(frames, end_event, task_text):
        calls.append(end_event.episode)
        if len(calls) == 1:
            raise DatasetWriteError(28, "No space left on device")
        return real(frames, end_event, task_text)

    monkeypatch.setattr(core.writer, "write_episode", failing_once)
    assert feed(core, 0, 3, 0) == []
    assert "retried at the next episode end" in log.text("error")[0]
    saved = feed(core, 1, 2, 100)
    assert [s.sim_episode for s in saved] == [0, 1] and calls == [0, 0, 1]


def test_close_saves_the_episode_in_progress_as_interrupted(tmp_path):
    root = tmp_path / "ds"
    core = recorder(root, Log())
    feed(core, 0, 6, 0, finish=False)
    [saved] = core.close()
    assert (saved.outcome, saved.frames, saved.seed, saved.session) == \
        ("interrupted", 6, 100, "run-1")
    assert [p.outcome for p in read_provenance(root)] == ["interrupted"]


def test_an_ended_episode_still_incomplete_at_close_is_reported(tmp_path):
    log = Log()
    core = recorder(tmp_path / "ds", log)
    core.decision(decision(7, label="0:7"))
    core.observation(Observation(7, "0:7", np.zeros(3)))
    core.event(end(0, 100, "success", 8, "run-1"))
    assert core.close() == []
    assert log.text("warning") == ["sim episode 0 not saved: only 1 of its 8 frames were "
                                   "seen (the recorder started in the middle of it)"]
