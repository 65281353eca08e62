"""policy: the learned ensemble's action (and uncertainty) answering every observation.

Subscribes /dagger/observation and /dagger/round; publishes /dagger/policy/action (stamped
vector: ``position`` = the members' mean action, ``velocity`` = the members' standard
deviation per element, ``effort[0]`` = the scalar uncertainty) and /dagger/policy/status.
A checkpoint announced on /dagger/round is loaded between two observations (the executor
is single-threaded), so no control step is missed; a refused one leaves the last good
policy running. With cameras in the profile it also takes /dagger/observation/image/<name>
(published just before each observation, same stamp) and answers an observation once it
has every camera's image of it.
"""

from __future__ import annotations

from rclpy.node import Node

from dagger_ros.core.images import ImageError, ImageJoin, decode_raw
from dagger_ros.core.policy_runtime import PolicyConfig, PolicyRuntime
from dagger_ros.core.profile import node_profile
from dagger_ros.core.records import (
    Observation,
    PolicyAnswer,
    RecordError,
    frame_episode,
)
from dagger_ros.ros import convert, qos, topics
from dagger_ros.ros.params import load_config
from dagger_ros.ros.run import run_node


class PolicyNode(Node):
    def __init__(self, argv):
        super().__init__("policy")
        self.config: PolicyConfig = load_config(self, PolicyConfig, argv)
        profile = node_profile(self.config.profile, self.config.task)
        self.action_names = profile.action_names
        self.runtime = PolicyRuntime(profile.observation_size, profile.action_size,
                                     len(profile.state_names),
                                     self.config.lerobot_samples, self.config.torch_threads,
                                     images={i.name: i.shape for i in profile.images})
        self.pub_action = topics.publisher(self, topics.POLICY_ACTION)
        self.pub_status = topics.publisher(self, topics.POLICY_STATUS)
        topics.subscribe(self, topics.OBSERVATION, self.on_observation)
        topics.subscribe(self, topics.ROUND, self.on_round)
        self.cameras = {i.name: i for i in profile.images}
        #: observations waiting for their images (at most 100: a second at 100 Hz)
        self.join = ImageJoin(self.cameras)
        self.warned_drops = 0  # dropped observations the log has told of
        for spec in profile.images:
            topic = topics.observation_image(spec.name, spec.width * spec.height * 3)
            # volatile: a late start wants no history of old frames
            topics.subscribe(self, topic, lambda m, s=spec, t=topic.name: self.on_image(s, t, m),
                             qos.STREAM)
        if self.config.checkpoint:
            self.log_load(self.runtime.load(self.config.checkpoint), self.config.checkpoint)
            if self.runtime.checkpoint_id is not None:  # the supervisor lets it drive once
                self.runtime.round = 0  # it knows
                self.pub_status.publish(topics.POLICY_STATUS.message(self.runtime.status()))

    def log_load(self, loaded: bool, path: str) -> None:
        if loaded:
            self.get_logger().info(f"running checkpoint {self.runtime.checkpoint_id} ({path})")
        else:
            kept = self.runtime.checkpoint_id or "none"
            self.get_logger().error(f"refused checkpoint: {self.runtime.last_error}; keeping "
                                    f"the last good policy ({kept})")

    def on_round(self, msg) -> None:
        try:
            announcement = topics.ROUND.read(msg)
        except RecordError as exc:
            self.get_logger().error(f"{exc}; ignored")
            return
        loaded, status = self.runtime.on_round(announcement)
        if loaded is not None:
            self.log_load(loaded, announcement.checkpoint_path)
        self.pub_status.publish(topics.POLICY_STATUS.message(status))

    def on_observation(self, msg) -> None:
        try:
            obs = Observation.decode(topics.OBSERVATION.read(msg), self.runtime.observation_size,
                                     topics.OBSERVATION.name)
        except RecordError as exc:
            self.get_logger().error(f"{exc}; ignored", throttle_duration_sec=1.0)
            return
        if frame_episode(obs.frame) < 0:
            return  # no episode runs: nothing for the policy to drive
        if self.cameras:
            self.complete(self.join.add_observation(obs.stamp_ns, obs))
            return
        self.answer(obs, None)

    def on_image(self, spec, topic: str, msg) -> None:
        try:
            if frame_episode(msg.header.frame_id) < 0:
                return  # between episodes: nothing to answer (and nothing to keep)
            pixels = decode_raw(msg, spec, topic)
        except (ImageError, RecordError) as exc:
            self.get_logger().error(f"{exc}; ignored", throttle_duration_sec=1.0)
            return
        self.complete(self.join.add_image(spec.name, convert.stamp_to_ns(msg.header.stamp),
                                          pixels))

    def complete(self, joined) -> None:
        if joined is not None:
            self.answer(*joined)
        if self.join.dropped_observations > self.warned_drops:
            self.warned_drops = self.join.dropped_observations
            missing = [topics.observation_image(n).name for n in self.join.last_missing]
            self.get_logger().warning(
                f"{self.warned_drops} observation(s) unanswered so far: no image on "
                f"{', '.join(missing) or 'a camera'} came for them", throttle_duration_sec=2.0)

    def answer(self, obs: Observation, images: dict | None) -> None:
        answer = self.runtime.act(obs.values, frame_episode(obs.frame), images)
        if answer is None:
            return
        mean, spread, uncertainty = answer
        out = PolicyAnswer(obs.stamp_ns, obs.frame, mean, spread, uncertainty)
        self.pub_action.publish(topics.POLICY_ACTION.message(out.encode(self.action_names)))


NODE = PolicyNode  # what a lockstep bridge builds when it hosts this node (in_process)


def main() -> None:
    run_node("policy", PolicyNode)


if __name__ == "__main__":
    main()
