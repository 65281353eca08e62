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

import numpy as np
from rclpy.node import Node
from sensor_msgs.msg import Joy

from dagger_ros.core.experts import ExpertConfig, StampedAnswerer, make_expert
from dagger_ros.core.profile import node_profile
from dagger_ros.core.records import (
    Command,
    ExpertAnswer,
    Observation,
    OperatorEvent,
    RecordError,
    parse_frame,
)
from dagger_ros.core.tasks import make_task
from dagger_ros.core.teleop import Jog, JoyInputError, JoyMapping, JoySync, JoyWatchdog
from dagger_ros.ros import convert, topics
from dagger_ros.ros.params import load_config
from dagger_ros.ros.run import run_node


class ExpertNode(Node):
    def __init__(self, argv):
        super().__init__("expert")
        self.config: ExpertConfig = load_config(self, ExpertConfig, argv)
        self.task = make_task(self.config.task, self.config.model_file)
        self.action_names = self.task.action_names
        self.pub_action = topics.publisher(self, topics.EXPERT_ACTION)
        self.pub_command = None
        if self.config.drive_robot:
            kind, topic, self.encode, _ = convert.command_interface(
                self.task.command_kind, self.config.controller_name)
            self.pub_command = self.create_publisher(kind, topic, topics.COMMAND.qos)
            self.pub_stamped = topics.publisher(self, topics.COMMAND)
        if self.config.source == "joy":
            self.setup_joy()
            what = (f"gamepad '{self.config.joy_preset}' on {topics.JOY.name} (deadman "
                    f"{self.mapping.button_names['deadman']}, take over "
                    f"{self.mapping.button_names['takeover']}"
                    + (", jogging the position interface" if self.jog else "") + ")")
        else:
            self.expert = make_expert(self.task)
            self.answerer = StampedAnswerer(self.expert)
            topics.subscribe(self, topics.EXPERT_OBSERVATION, self.on_observation)
            what = f"expert '{self.expert.name}'"
        self.get_logger().info(f"{what} for task '{self.task.name}'"
                               + (" driving the robot" if self.pub_command else ""))

    # -- scripted -----------------------------------------------------------------------
    def on_observation(self, msg) -> None:
        try:
            obs = Observation.decode(topics.EXPERT_OBSERVATION.read(msg),
                                     len(self.task.privileged_names),
                                     topics.EXPERT_OBSERVATION.name)
        except RecordError as exc:
            self.get_logger().error(f"{exc}; ignored", throttle_duration_sec=1.0)
            return
        action = self.answerer.answer(obs.stamp_ns, obs.values)
        self.publish(ExpertAnswer(obs.stamp_ns, obs.frame, action))

    def publish(self, answer: ExpertAnswer) -> None:
        names = self.action_names
        self.pub_action.publish(topics.EXPERT_ACTION.message(answer.encode(names)))
        if self.pub_command is not None and answer.action is not None:
            self.pub_command.publish(self.encode(answer.action))
            self.pub_stamped.publish(topics.COMMAND.message(
                Command(answer.stamp_ns, answer.frame, answer.action).encode(names)))

    # -- gamepad ------------------------------------------------------------------------
    def setup_joy(self) -> None:
        profile = node_profile(self.config.profile, self.config.task)
        self.action_names = profile.action_names
        self.observation_size = profile.observation_size
        self.jog = Jog(profile) if profile.action.holds_position else None
        if self.jog is not None:  # sticks are joint speeds; commands are positions
            low, high = -self.jog.rates, self.jog.rates
        else:
            low, high = np.array(profile.action.low), np.array(profile.action.high)
        self.mapping = JoyMapping(self.config, self.action_names, low, high)
        self.measured: dict[int, np.ndarray] = {}  # jog: observation stamp -> its values
        self.watchdog = JoyWatchdog(self.config.joy_timeout)
        self.reading = None  # the newest valid reading
        self.sync = JoySync()  # joy_sync: observations awaiting their Joy
        self.pub_event = topics.publisher(self, topics.OPERATOR_EVENT)
        topics.subscribe(self, topics.JOY, self.on_joy)
        topics.subscribe(self, topics.OBSERVATION, self.on_learner_observation)

    def on_joy(self, msg: Joy) -> None:
        stamp = convert.stamp_to_ns(msg.header.stamp)
        if not self.watchdog.fresh(stamp, time.monotonic()):
            return  # the same message again: not news (a stuck driver repeats itself)
        try:
            self.reading = self.mapping.read(msg.axes, msg.buttons, topics.JOY.name)
        except JoyInputError as exc:
            self.reading = None  # nothing valid: the supervisor holds the robot
            self.get_logger().error(f"{exc}; holding until a valid message comes",
                                    throttle_duration_sec=1.0)
        else:
            for event in self.reading.events:
                self.pub_event.publish(topics.OPERATOR_EVENT.message(OperatorEvent(event, stamp)))
                self.get_logger().info(f"operator pressed '{event.value}'")
        for obs_stamp, frame in self.sync.joy(stamp):
            self.answer(obs_stamp, frame)

    def on_learner_observation(self, msg) -> None:
        vector = topics.OBSERVATION.read(msg)
        try:
            parse_frame(vector.frame, topics.OBSERVATION.name)
            if self.jog is not None:  # a jog moves from where this observation measured it
                self.measured[vector.stamp_ns] = Observation.decode(
                    vector, self.observation_size, topics.OBSERVATION.name).values
                for old in sorted(self.measured)[:-1000]:
                    del self.measured[old]
        except RecordError as exc:
            self.get_logger().error(f"{exc}; ignored", throttle_duration_sec=1.0)
            return
        if not self.config.joy_sync:
            self.answer(vector.stamp_ns, vector.frame)
            return
        for obs_stamp, frame in self.sync.observation(vector.stamp_ns, vector.frame):
            self.answer(obs_stamp, frame)

    def answer(self, stamp: int, label: str) -> None:
        reading = self.reading
        silent = not self.config.joy_sync and self.watchdog.silent(time.monotonic())
        if reading is None or silent:
            self.publish(ExpertAnswer(stamp, label, None))
            return
        action = reading.action
        if action is not None and self.jog is not None:
            measured = self.measured.pop(stamp, None)
            if measured is None:  # (cannot happen: answers follow their observation)
                self.publish(ExpertAnswer(stamp, label, None))
                return
            action = self.jog.target(action, measured)
        self.publish(ExpertAnswer(stamp, label, action, reading.takeover))


NODE = ExpertNode  # what a lockstep bridge builds when it hosts this node (in_process)


def main() -> None:
    run_node("expert", ExpertNode)


if __name__ == "__main__":
    main()
