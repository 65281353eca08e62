"""recorder: every frame, joined by the observation it answers, into a LeRobot dataset.

Subscribes /dagger/observation, /dagger/decision and /episode/event; writes each finished
episode (LeRobot API, closed and committed at once) with its provenance; announces each
saved episode on /dagger/recorder/saved (JSON provenance record). Stopped by Ctrl-C or
SIGTERM, it saves the episode in progress (its frames so far) with the outcome
"interrupted". The logic is core/recording/recorder.py's RecorderCore.

With cameras in the profile it also takes /dagger/observation/image/<name> and stores each
camera as a LeRobot video feature. The callbacks only take messages in: joining frames,
saving episodes and encoding video run on one worker thread, in arrival order, so a save
(video encoding takes ~0.5 s per 150 frames) never holds up the thread that takes frames.
"""

from __future__ import annotations

import os
import queue
import signal
import threading

from rclpy.node import Node

from dagger_ros.core.config import ConfigError
from dagger_ros.core.images import ImageError, decode_raw
from dagger_ros.core.profile import node_profile
from dagger_ros.core.recording import DatasetError, DatasetWriter, RecorderConfig, RecorderCore
from dagger_ros.core.records import Observation, RecordError, parse_frame
from dagger_ros.ros import convert, qos, topics
from dagger_ros.ros.params import load_config
from dagger_ros.ros.run import run_node


class RecorderNode(Node):
    def __init__(self, argv):
        super().__init__("recorder")
        self.config: RecorderConfig = load_config(self, RecorderConfig, argv)
        profile = node_profile(self.config.profile, self.config.task)
        self.observation_size = profile.observation_size
        try:
            writer = DatasetWriter(self.config.dataset_root, self.config.repo_id,
                                   # a robot's profile sets the rate; a sim task's, the key
                                   profile.control_rate_hz if self.config.profile
                                   else self.config.control_rate_hz,
                                   profile.observation_names,
                                   profile.action_names, robot_type=profile.robot,
                                   log=self.get_logger().warning,
                                   environment_names=profile.environment_names,
                                   images=profile.images)
        except DatasetError as exc:
            raise ConfigError(f"'dataset_root': {exc}") from None
        self.core = RecorderCore(writer, self.config.task_description, self.get_logger(),
                                 robot=profile.robot)
        self.pub_saved = topics.publisher(self, topics.RECORDER_SAVED)
        # every sample: a frame dropped on the reader's side would be a frame lost
        topics.subscribe(self, topics.OBSERVATION, self.on_observation, qos.EVERY_SAMPLE)
        # latched: a decision or image sent before this reader matched still arrives
        topics.subscribe(self, topics.DECISION, self.on_decision, qos.EVERY_SAMPLE_LATCHED)
        topics.subscribe(self, topics.EPISODE_EVENT, self.on_event)
        for spec in profile.images:
            topic = topics.observation_image(spec.name, spec.width * spec.height * 3)
            topics.subscribe(self, topic, lambda m, s=spec, t=topic.name: self.on_image(s, t, m),
                             qos.EVERY_SAMPLE_LATCHED)
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.failed = False
        self.worker = threading.Thread(target=self.work, name="recorder-writer", daemon=True)
        self.worker.start()
        self.get_logger().info(f"recording to {self.config.dataset_root} "
                               f"({writer.episodes} episodes already there"
                               + (f"; cameras {', '.join(i.name for i in profile.images)})"
                                  if profile.images else ")"))

    def work(self) -> None:
        """The worker: every record in arrival order through the core (joins, saves), at
        nice +10 (Linux: per thread; the video encoder's threads inherit it), so that
        encoding yields the CPU to the control path on a small machine."""
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        except OSError:
            pass
        while True:
            job = self.jobs.get()
            if job is None:
                return
            handler, args = job
            try:
                self.announce(handler(*args))
            except Exception as exc:  # a bug, not bad input: stop; close() saves the rest
                self.get_logger().error(f"recorder failed: {type(exc).__name__}: {exc}; "
                                        "stopping (what is complete is saved on the way out)")
                self.failed = True
                os.kill(os.getpid(), signal.SIGTERM)
                return

    def on_image(self, spec, topic: str, msg) -> None:
        try:
            if parse_frame(msg.header.frame_id, topic)[0] < 0:
                return  # taken between episodes: never recorded
            pixels = decode_raw(msg, spec, topic)
        except (ImageError, RecordError) as exc:
            self.get_logger().error(f"{exc}; not recorded", throttle_duration_sec=1.0)
            return
        self.jobs.put((self.core.image, (spec.name, convert.stamp_to_ns(msg.header.stamp),
                                         msg.header.frame_id, pixels)))

    def on_observation(self, msg) -> None:
        try:
            obs = Observation.decode(topics.OBSERVATION.read(msg), self.observation_size,
                                     topics.OBSERVATION.name)
        except RecordError as exc:
            self.get_logger().error(f"{exc}; not recorded", throttle_duration_sec=1.0)
            return
        self.jobs.put((self.core.observation, (obs,)))

    def on_decision(self, msg) -> None:
        self.take(topics.DECISION, msg, self.core.decision)

    def on_event(self, msg) -> None:
        self.take(topics.EPISODE_EVENT, msg, self.core.event)

    def take(self, topic, msg, handler) -> None:
        try:
            record = topic.read(msg)
        except RecordError as exc:
            self.get_logger().error(f"{exc}; not recorded", throttle_duration_sec=1.0)
            return
        self.jobs.put((handler, (record,)))

    def announce(self, saved) -> None:
        if self.context.ok():  # on the way out (close) nobody is told any more
            for record in saved:
                self.pub_saved.publish(topics.RECORDER_SAVED.message(record))

    def close(self) -> None:
        """Everything taken in is joined and saved first, then the episode in progress."""
        self.jobs.put(None)
        self.worker.join()
        if self.failed:  # what the worker left queued: joined here, each on its own
            while (job := self.jobs.get()) is not None:
                try:
                    job[0](*job[1])
                except Exception:  # the record that failed, or one like it
                    pass
        self.core.close()


def main() -> None:
    run_node("recorder", RecorderNode)


if __name__ == "__main__":
    main()
