"""observer: the learner's observation, built from a robot's own topics.

The only node that knows robot topics. At the profile's control rate, on the ROS clock, it
builds /dagger/observation (a stamped vector, the tick's time as its stamp) from the newest
message of every input the profile names, judged by header stamps: an input missing, older
than its max_age or carrying a NaN/Inf means no observation that tick and a throttled log
naming the topic; the supervisor's watchdogs then hold the robot. A profile naming a joint
or field the topic does not carry stops the node at the first message (exit code 2),
naming it and listing what is there.

Episodes are paced by the operator: the gamepad's buttons on /dagger/operator/event, or
the services /dagger/episode/{start,end,success,failure} (std_srvs/Trigger; success and
failure mark and end). They are announced on /episode/event as the simulator's are, so the
recorder and the trainer work the same. Between episodes observations carry episode -1:
never recorded, and the supervisor holds the robot (or lets the operator move it freely).
"""

from __future__ import annotations

import importlib

from rclpy.node import Node

from dagger_ros.core.config import ConfigError
from dagger_ros.core.observer import (
    ObservationBuilder,
    ObserverConfig,
    OperatorEpisodes,
    ProfileMismatch,
)
from dagger_ros.core.profile import load_profile
from dagger_ros.core.records import Observation, OperatorEventKind, RecordError
from dagger_ros.ros import convert, qos, topics
from dagger_ros.ros.params import load_config
from dagger_ros.ros.run import EXIT_CONFIG, run_node


def message_type(name: str, topic: str, source: str):
    """The message class for ``pkg/msg/Type``; an unknown one is a ConfigError."""
    package, _, kind = name.split("/")
    try:
        return getattr(importlib.import_module(f"{package}.msg"), kind)
    except (ImportError, AttributeError):
        raise ConfigError(f"unknown message type '{name}' for {topic} (profile {source}): "
                          f"no {kind} in {package}.msg") from None


class ObserverNode(Node):
    def __init__(self, argv):
        super().__init__("observer")
        self.config: ObserverConfig = load_config(self, ObserverConfig, argv)
        self.profile = load_profile(self.config.profile)
        self.builder = ObservationBuilder(self.profile)
        self.episodes = OperatorEpisodes(self.config.task_name or self.profile.robot,
                                         self.config.episode_timeout)
        for topic, kind in self.builder.topics.items():
            cls = message_type(kind, topic, self.profile.source)
            callback = self.on_image if topic in self.builder.images else self.on_input
            self.create_subscription(cls, topic, lambda m, t=topic, c=callback: c(t, m),
                                     qos.SENSOR)
        self.pub_images = {i.name: topics.publisher(self, topics.observation_image(
            i.name, i.width * i.height * 3)) for i in self.profile.images}
        self.pub_obs = topics.publisher(self, topics.OBSERVATION)
        self.pub_event = topics.publisher(self, topics.EPISODE_EVENT)
        topics.subscribe(self, topics.OPERATOR_EVENT, self.on_operator_event)
        for kind, srv in topics.EPISODE_SERVICES.items():
            topics.service(self, srv, lambda req, res, k=kind: self.on_service(k, res))
        self.create_timer(1.0 / self.profile.control_rate_hz, self.on_tick)
        self.started = self.now_ns()
        self.create_timer(max(self.config.startup_grace, 0.1), self.check_inputs)
        self.get_logger().info(
            f"robot '{self.profile.robot}' at {self.profile.control_rate_hz:g} Hz: "
            f"{self.profile.observation_size} values from {', '.join(self.builder.topics)}")

    def now_ns(self) -> int:
        return self.get_clock().now().nanoseconds

    def on_input(self, topic: str, msg) -> None:
        try:
            self.builder.message(topic, msg)
        except ProfileMismatch as exc:
            print(f"[observer] configuration error: {exc} (profile {self.profile.source})",
                  flush=True)
            self.get_logger().error(f"{exc}; stopping (profile {self.profile.source})")
            raise SystemExit(EXIT_CONFIG) from None

    def on_image(self, topic: str, msg) -> None:
        why = self.builder.image(topic, msg)
        if why is not None:
            self.get_logger().error(f"{why}; no observation until a good image comes",
                                    throttle_duration_sec=2.0)

    def check_inputs(self) -> None:
        missing = self.builder.never_heard()
        if missing:
            self.get_logger().error(
                f"no message on {', '.join(missing)} since start-up "
                f"({(self.now_ns() - self.started) / 1e9:.0f} s): is the robot's bringup "
                "running and publishing there? No observation until it does",
                throttle_duration_sec=10.0)

    def on_tick(self) -> None:
        now = self.now_ns()
        values, why = self.builder.build(now)
        if values is None:
            self.get_logger().warning(f"no observation: {why}", throttle_duration_sec=2.0)
            return
        images, why = self.builder.build_images(now)
        if images is None:
            self.get_logger().warning(f"no observation: {why}", throttle_duration_sec=2.0)
            return
        label, events = self.episodes.observation_label(now)
        self.announce(events)
        for name, pixels in images.items():  # before the observation, which completes it
            self.pub_images[name].publish(convert.image(pixels, now, label))
        self.pub_obs.publish(topics.OBSERVATION.message(
            Observation(now, label, values).encode(self.profile.observation_names)))

    def announce(self, events) -> None:
        for event in events:
            self.pub_event.publish(topics.EPISODE_EVENT.message(event))
            what = "started" if event.EVENT == "start" else f"ended: {event.outcome}"
            self.get_logger().info(f"episode {event.episode} {what}")

    def press(self, kind: OperatorEventKind) -> None:
        self.announce(self.episodes.press(kind, self.now_ns()))

    def on_operator_event(self, msg) -> None:
        try:
            self.press(topics.OPERATOR_EVENT.read(msg).event)
        except RecordError as exc:
            self.get_logger().error(f"ignored: {exc}", throttle_duration_sec=1.0)

    def on_service(self, kind: str, response):
        was = self.episodes.episode
        if kind in ("success", "failure"):
            self.press(OperatorEventKind(kind))
            self.press(OperatorEventKind.END)
        else:
            self.press(OperatorEventKind(kind))
        response.success = kind == "start" or was >= 0
        response.message = (f"episode {self.episodes.episode} started" if kind == "start"
                            else f"episode {was} ended" if was >= 0 else "no episode runs")
        return response


def main() -> None:
    run_node("observer", ObserverNode)


if __name__ == "__main__":
    main()
