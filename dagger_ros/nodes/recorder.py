"""recorder: every frame, joined by the observation it answers, into a LeRobot dataset.

Subscribes /dagger/observation, /dagger/decision and /episode/event; writes each finished
episode (LeRobot API, finalized at once) with its provenance; announces each saved episode
on /dagger/recorder/saved (JSON provenance record). Stopped by Ctrl-C or SIGTERM, it saves
the episode in progress (its frames so far) with the outcome "interrupted".
"""

from __future__ import annotations

from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_msgs.msg import String

from dagger_ros.core.config import ConfigError
from dagger_ros.core.recording import (
    DatasetError,
    DatasetWriteError,
    DatasetWriter,
    EpisodeAssembler,
    FrameJoiner,
    RecorderConfig,
)
from dagger_ros.core.tasks import task_class
from dagger_ros.ros import convert, qos
from dagger_ros.ros.params import load_config
from dagger_ros.ros.run import run_node


class RecorderNode(Node):
    def __init__(self, argv):
        super().__init__("recorder")
        self.config: RecorderConfig = load_config(self, RecorderConfig, argv)
        task = task_class(self.config.task)
        self.observation_size = len(task.observation_names)
        self.task_text = self.config.task_description or task.name
        try:
            self.writer = DatasetWriter(self.config.dataset_root, self.config.repo_id,
                                        self.config.control_rate_hz, task.observation_names,
                                        task.action_names, robot_type=task.name,
                                        log=self.get_logger().warning)
        except DatasetError as exc:
            raise ConfigError(f"'dataset_root': {exc}") from None
        self.seeds: dict[int, int] = {}
        self.joiner = FrameJoiner()
        self.assembler = EpisodeAssembler()
        self.unsaved: list[tuple[list, dict]] = []  # episodes a write error left in memory
        self.retry_blocked = False
        self.pub_saved = self.create_publisher(String, "/dagger/recorder/saved", qos.EVENTS)
        self.create_subscription(JointState, "/dagger/observation", self.on_observation,
                                 qos.EVERY_SAMPLE)
        self.create_subscription(String, "/dagger/decision", self.on_decision, qos.EVERY_SAMPLE)
        self.create_subscription(String, "/episode/event", self.on_event, qos.EVENTS)
        self.get_logger().info(f"recording to {self.config.dataset_root} "
                               f"({self.writer.episodes} episodes already there)")

    def on_observation(self, msg: JointState) -> None:
        try:
            values = convert.vector_from_msg(msg, self.observation_size, "/dagger/observation")
        except convert.VectorSizeError as exc:
            self.get_logger().error(str(exc), throttle_duration_sec=1.0)
            return
        self.take(self.joiner.add_observation(convert.stamp_to_ns(msg.header.stamp),
                                              msg.header.frame_id, values))

    def on_decision(self, msg: String) -> None:
        record = convert.json_from_msg(msg)
        self.take(self.joiner.add_decision(int(record["stamp_ns"]), record))

    def on_event(self, msg: String) -> None:
        event = convert.json_from_msg(msg)
        if event.get("event") == "start":
            self.seeds[int(event["episode"])] = int(event["seed"])
        if event.get("event") == "end":
            self.assembler.add_end(event)
            self.flush()

    def take(self, frame) -> None:
        if frame is not None:
            self.assembler.add_frame(frame)
            self.flush()

    def flush(self) -> None:
        """Write every finished episode, oldest first. After a write error the episodes
        wait in memory and are retried when the next one finishes."""
        ready = [(f, end) for f, end in self.assembler.ready() if f]  # f empty: aborted at once
        for episode, seen, steps in self.assembler.discarded:
            self.get_logger().warning(f"sim episode {episode} not saved: only {seen} of its "
                                      f"{steps} frames were seen (the recorder started in the "
                                      "middle of it)")
        self.assembler.discarded.clear()
        if not ready and not self.unsaved:
            return
        self.unsaved += ready
        if not ready and self.retry_blocked:
            return
        self.retry_blocked = False
        while self.unsaved:
            frames, end = self.unsaved[0]
            try:
                record = self.writer.write_episode(frames, end, self.task_text)
            except DatasetWriteError as exc:
                self.get_logger().error(f"{exc}. {len(self.unsaved)} finished episode(s) are "
                                        "kept in memory and retried at the next episode end",
                                        throttle_duration_sec=5.0)
                self.retry_blocked = True
                return
            self.unsaved.pop(0)
            self.joiner.forget_before(frames[-1].stamp_ns)
            if self.context.ok():  # on the way out (close) nobody is told any more
                self.pub_saved.publish(convert.json_msg(record))
            how = "as interrupted" if record["outcome"] == "interrupted" else record["outcome"]
            self.get_logger().info(
                f"saved episode {record['episode_index']} {how} (sim episode "
                f"{record['sim_episode']}, round {record['round']}, {record['frames']} frames)")

    def close(self) -> None:
        """On the way out: save what is complete, then the episode in progress as
        'interrupted' (never half-written: each is one finalized LeRobot episode)."""
        self.unsaved += [(f, end) for f, end in self.assembler.ready() if f]
        for frames, episode in self.assembler.unfinished():
            end = {"episode": episode, "seed": self.seeds.get(episode, -1),
                   "outcome": "interrupted", "steps": len(frames)}
            self.unsaved.append((frames, end))
        self.retry_blocked = False
        self.flush()
        if self.unsaved:
            lost = sum(len(f) for f, _ in self.unsaved)
            self.get_logger().error(f"{len(self.unsaved)} episode(s) ({lost} frames) could "
                                    f"not be written to {self.config.dataset_root}; see the "
                                    "errors above")
        self.writer.close()


def main() -> None:
    run_node("recorder", RecorderNode)


if __name__ == "__main__":
    main()
