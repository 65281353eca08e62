"""expert: the expert's action answering every observation.

``source: scripted``: the task's scripted expert. It reads /dagger/expert_observation (the
simulator's noise-free observation: a scripted expert is a privileged teacher) and
publishes /dagger/expert/action (stamped vector with the observation's stamp). With
``drive_robot`` it also commands the robot directly (and publishes the same command
stamped on /dagger/command, as the supervisor does).

``source: joy``: a person with a gamepad (the standard ``joy`` node's sensor_msgs/Joy on
/joy) or the simulated operator. Each observation on /dagger/observation is answered with
the sticks scaled to the action limits; ``effort[0]`` is 1 while the take-over button is
held; an empty ``position`` means no label (deadman released, or the gamepad silent or
stuck repeating one message), which the supervisor answers with a hold when the operator
should act. Episode buttons are published on /dagger/operator/event (JSON).
"""

from __future__ import annotations

import time

from rclpy.node import Node
from sensor_msgs.msg import JointState, Joy
from std_msgs.msg import String

from dagger_ros.core.experts import ExpertConfig, StampedAnswerer, make_expert
from dagger_ros.core.tasks import make_task
from dagger_ros.core.teleop import JoyInputError, JoyMapping, JoySync, JoyWatchdog
from dagger_ros.ros import convert, qos
from dagger_ros.ros.params import load_config
from dagger_ros.ros.run import run_node

OBSERVATION_TOPIC = "/dagger/expert_observation"
ACTION_TOPIC = "/dagger/expert/action"


class ExpertNode(Node):
    def __init__(self, argv):
        super().__init__("expert")
        self.config: ExpertConfig = load_config(self, ExpertConfig, argv)
        self.task = make_task(self.config.task, self.config.model_file)
        self.pub_action = self.create_publisher(JointState, ACTION_TOPIC, qos.STREAM)
        self.pub_command = None
        if self.config.drive_robot:
            kind, topic, self.encode, _ = convert.command_interface(
                self.task.command_kind, self.config.controller_name)
            self.pub_command = self.create_publisher(kind, topic, qos.STREAM)
            self.pub_stamped = self.create_publisher(JointState, convert.STAMPED_COMMAND_TOPIC,
                                                     qos.STREAM)
        if self.config.source == "joy":
            self.setup_joy()
            what = (f"gamepad '{self.config.joy_preset}' on /joy (deadman "
                    f"{self.mapping.button_names['deadman']}, take over "
                    f"{self.mapping.button_names['takeover']})")
        else:
            self.expert = make_expert(self.task)
            self.answerer = StampedAnswerer(self.expert)
            self.create_subscription(JointState, OBSERVATION_TOPIC, self.on_observation,
                                     qos.STREAM)
            what = f"expert '{self.expert.name}'"
        self.get_logger().info(f"{what} for task '{self.task.name}'"
                               + (" driving the robot" if self.pub_command else ""))

    # -- scripted -----------------------------------------------------------------------
    def on_observation(self, msg: JointState) -> None:
        try:
            obs = convert.vector_from_msg(msg, self.task.observation_size, OBSERVATION_TOPIC)
        except convert.VectorSizeError as exc:
            self.get_logger().error(str(exc), throttle_duration_sec=1.0)
            return
        stamp = convert.stamp_to_ns(msg.header.stamp)
        self.publish(stamp, msg.header.frame_id, self.answerer.answer(stamp, obs), False)

    def publish(self, stamp: int, label: str, action, takeover: bool) -> None:
        out = convert.vector_msg(self.task.action_names, [] if action is None else action,
                                 stamp, label)
        out.effort = [1.0 if takeover else 0.0]
        self.pub_action.publish(out)
        if self.pub_command is not None and action is not None:
            self.pub_command.publish(self.encode(action))
            self.pub_stamped.publish(convert.vector_msg(self.task.action_names, action, stamp,
                                                        label))

    # -- gamepad ------------------------------------------------------------------------
    def setup_joy(self) -> None:
        low, high = self.task.action_limits()
        self.mapping = JoyMapping(self.config, self.task.action_names, low, high)
        self.watchdog = JoyWatchdog(self.config.joy_timeout)
        self.reading = None  # the newest valid reading
        self.sync = JoySync()  # joy_sync: observations awaiting their Joy
        # volatile: a late joiner must never replay an old "start" or "end"
        self.pub_event = self.create_publisher(String, "/dagger/operator/event", qos.STREAM)
        self.create_subscription(Joy, "/joy", self.on_joy, qos.STREAM)
        self.create_subscription(JointState, "/dagger/observation", self.on_learner_observation,
                                 qos.STREAM)

    def on_joy(self, msg: Joy) -> None:
        stamp = convert.stamp_to_ns(msg.header.stamp)
        if not self.watchdog.fresh(stamp, time.monotonic()):
            return  # the same message again: not news (a stuck driver repeats itself)
        try:
            self.reading = self.mapping.read(msg.axes, msg.buttons, "/joy")
        except JoyInputError as exc:
            self.reading = None  # nothing valid: the supervisor holds the robot
            self.get_logger().error(f"{exc}; holding until a valid message comes",
                                    throttle_duration_sec=1.0)
        else:
            for event in self.reading.events:
                self.pub_event.publish(convert.json_msg({"event": event, "stamp_ns": stamp}))
                self.get_logger().info(f"operator pressed '{event}'")
        for obs_stamp, frame in self.sync.joy(stamp):
            self.answer(obs_stamp, frame)

    def on_learner_observation(self, msg: JointState) -> None:
        stamp = convert.stamp_to_ns(msg.header.stamp)
        if not self.config.joy_sync:
            self.answer(stamp, msg.header.frame_id)
            return
        for obs_stamp, frame in self.sync.observation(stamp, msg.header.frame_id):
            self.answer(obs_stamp, frame)

    def answer(self, stamp: int, label: str) -> None:
        reading = self.reading
        silent = not self.config.joy_sync and self.watchdog.silent(time.monotonic())
        if reading is None or silent:
            self.publish(stamp, label, None, False)
            return
        self.publish(stamp, label, reading.action, reading.takeover)


def main() -> None:
    run_node("expert", ExpertNode)


if __name__ == "__main__":
    main()
