"""Frames joined by the observation they answer, assembled into episodes.

An observation and the supervisor's decision for it carry the same stamp; either may
arrive first. They are joined by that stamp, never by arrival time. Frames gather per
episode until the episode's end event has come and all of its steps are there.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from dagger_ros.core.records import DecisionRecord, EpisodeEnd, parse_frame


@dataclasses.dataclass
class Frame:
    stamp_ns: int
    episode: int
    step: int
    observation: np.ndarray
    decision: DecisionRecord
    #: the cameras' images of this observation, by name (none without cameras)
    images: dict = dataclasses.field(default_factory=dict)


class FrameJoiner:
    """Pairs observations and decisions that carry the same stamp; either may come first.
    Re-sent observations (same stamp) are joined once. With ``cameras``, a frame also waits
    for each camera's image of that stamp."""

    def __init__(self, topic: str = "/dagger/observation", cameras=()):
        self.topic = topic
        self.cameras = tuple(cameras)
        self.observations: dict[int, tuple[str, np.ndarray]] = {}
        self.decisions: dict[int, DecisionRecord] = {}
        self.images: dict[int, dict[str, np.ndarray]] = {}
        self.joined: set[int] = set()

    def add_image(self, name: str, stamp_ns: int, pixels: np.ndarray) -> Frame | None:
        if stamp_ns in self.joined:
            return None
        self.images.setdefault(stamp_ns, {})[name] = pixels
        return self._try(stamp_ns)

    def add_observation(self, stamp_ns: int, label: str, values: np.ndarray) -> Frame | None:
        if stamp_ns in self.joined:
            return None
        self.observations[stamp_ns] = (label, values)
        return self._try(stamp_ns)

    def add_decision(self, decision: DecisionRecord) -> Frame | None:
        if decision.stamp_ns in self.joined:
            return None
        self.decisions[decision.stamp_ns] = decision
        return self._try(decision.stamp_ns)

    def _try(self, stamp: int) -> Frame | None:
        if stamp in self.observations and stamp in self.decisions and \
                len(self.images.get(stamp, ())) == len(self.cameras):
            label, values = self.observations.pop(stamp)
            episode, step = parse_frame(label, self.topic)
            self.joined.add(stamp)
            return Frame(stamp, episode, step, values, self.decisions.pop(stamp),
                         self.images.pop(stamp, {}))
        return None

    def forget_before(self, stamp_ns: int) -> None:
        """Drop bookkeeping of stamps older than ``stamp_ns`` (a saved episode's)."""
        self.joined = {s for s in self.joined if s >= stamp_ns}
        for table in (self.observations, self.decisions, self.images):
            for s in [s for s in table if s < stamp_ns]:
                del table[s]


class EpisodeAssembler:
    """Frames per episode; an episode is ready once its end event has come and all of its
    steps have been joined."""

    def __init__(self):
        self.frames: dict[int, dict[int, Frame]] = {}
        self.ends: dict[int, EpisodeEnd] = {}
        self.discarded: list[tuple[int, int, int]] = []

    def add_frame(self, frame: Frame) -> None:
        self.frames.setdefault(frame.episode, {})[frame.step] = frame

    def add_end(self, end: EpisodeEnd) -> None:
        self.ends[end.episode] = end

    def drop(self, episode: int) -> None:
        """Forget an episode entirely (one the dataset holds already)."""
        self.ends.pop(episode, None)
        self.frames.pop(episode, None)

    def ready(self) -> list[tuple[list[Frame], EpisodeEnd]]:
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
            if len(got) >= end.steps:
                out.append(([got[s] for s in sorted(got)], end))
            elif newest > episode:
                self.discarded.append((episode, len(got), end.steps))
                self.drop(episode)
        for _, end in out:
            self.drop(end.episode)
        return out

    def missing(self, episode: int) -> int:
        """Steps of an ended episode not joined yet (0 if it has not ended)."""
        end = self.ends.get(episode)
        return end.steps - len(self.frames.get(episode, {})) if end else 0

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
