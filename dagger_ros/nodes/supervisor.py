"""supervisor: decides, observation by observation, whose action reaches the robot.

Subscribes /dagger/observation, /dagger/expert/action, /dagger/policy/action,
/dagger/policy/status and /dagger/round; publishes the robot command
(/<controller_name>/commands or /cmd_vel) and the same command stamped with its observation
on /dagger/command, a decision record per observation on /dagger/decision (JSON: source,
reason, beta, uncertainty, round, checkpoint, the three actions, sent) and
/dagger/supervisor/status.

Watchdogs (see core/supervisor.py): a silent policy hands over to the expert; a silent
expert, stale inputs or no observations give explicit hold commands, never silence.

Emergency stop: ``true`` on /dagger/estop (std_msgs/Bool) or the /dagger/estop service
(std_srvs/SetBool, data=true) engages it; only the service with data=false releases it.
While engaged every observation is answered with an explicit hold (zero command); the
state is latched on /dagger/estop/state.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
from rclpy.node import Node
from std_msgs.msg import Bool

from dagger_ros.core.config import ConfigError
from dagger_ros.core.experts import EXPERTS
from dagger_ros.core.profile import node_profile
from dagger_ros.core.records import (
    Command,
    ExpertAnswer,
    PolicyAnswer,
    RecordError,
    parse_frame,
)
from dagger_ros.core.supervisor import Supervisor, SupervisorConfig, stamp_age
from dagger_ros.ros import convert, topics
from dagger_ros.ros.params import load_config
from dagger_ros.ros.run import executor_kind, run_node


class SupervisorNode(Node):
    def __init__(self, argv):
        super().__init__("supervisor")
        self.config: SupervisorConfig = load_config(self, SupervisorConfig, argv)
        profile = node_profile(self.config.profile, self.config.task,
                               self.config.controller_name)
        self.action_size, self.action_names = profile.action_size, profile.action_names
        self.observation_size = profile.observation_size
        action = profile.action
        rates = self.config.max_command_rate or list(action.max_rate)
        if rates != self.config.max_command_rate:  # the profile's rate limits apply
            self.config = dataclasses.replace(self.config, max_command_rate=rates)
        expert = EXPERTS.get(self.config.task) if not self.config.profile else None
        self.core = Supervisor(self.config, np.array(action.low), np.array(action.high),
                               expert.name if expert else "operator",
                               hold_indices=profile.hold_indices())
        kind, self.encode = convert.command_encoder(action, self.get_clock())
        topic = action.topic
        self.pub_command = self.create_publisher(kind, topic, topics.COMMAND.qos)
        self.pub_stamped = topics.publisher(self, topics.COMMAND)
        self.pub_decision = topics.publisher(self, topics.DECISION)
        self.pub_status = topics.publisher(self, topics.SUPERVISOR_STATUS)
        self.pub_estop = topics.publisher(self, topics.ESTOP_STATE)
        # input delays are judged in real time only (the world waits in lockstep): by each
        # message's source timestamp (its MessageInfo), or by its observation's stamp
        judges = self.config.stepping == "realtime" and self.config.max_input_delay > 0
        self.reads_info = judges and self.config.delay_source == "source_timestamp"
        self.reads_stamps = judges and self.config.delay_source == "stamp"
        self.foreign_clock_named = False
        #: rclpy's EventsExecutor cannot give a callback its MessageInfo (see ros/run.py)
        self.preferred_executor = "single" if self.reads_info else "events"
        if self.reads_info and executor_kind() == "events":
            raise ConfigError("max_input_delay with delay_source 'source_timestamp' needs each "
                              "input's MessageInfo, which rclpy's EventsExecutor cannot give "
                              "a callback (rclpy 9.1.2: SystemError): unset "
                              "DAGGER_ROS_EXECUTOR, or set delay_source: stamp")
        for source, callback in ((topics.OBSERVATION, self.on_observation),
                                 (topics.EXPERT_ACTION, self.on_expert),
                                 (topics.POLICY_ACTION, self.on_policy)):
            topics.subscribe(self, source, callback if self.reads_info else
                             lambda msg, cb=callback: cb(msg, None))
        topics.subscribe(self, topics.POLICY_STATUS, self.on_policy_status)
        topics.subscribe(self, topics.ROUND, self.on_round)
        topics.subscribe(self, topics.ESTOP, self.on_estop_topic)
        topics.service(self, topics.ESTOP_SERVICE, self.on_estop_service)
        self.pub_estop.publish(Bool(data=False))
        self.create_timer(min(0.02, 1.0 / self.config.hold_rate_hz), self.on_timer)
        self.holding: str | None = None  # why the robot is being held, while it is
        self.last_hold = 0.0
        self.get_logger().info(f"gating '{self.config.gating}' "
                               f"({self.config.describe_gating()}); commands on {topic} "
                               f"({action.interface}, holds "
                               f"{'the measured position' if action.holds_position else 'zero'})")
        if self.config.stepping == "realtime":
            self.listener_check = self.create_timer(3.0, self.check_controller)

    def check_controller(self) -> None:
        """Once, after start-up: a robot command topic nobody listens to is named."""
        self.listener_check.cancel()
        if self.pub_command.get_subscription_count() == 0:
            self.get_logger().warning(
                f"nothing subscribes {self.pub_command.topic_name}: is the robot's "
                "controller running (ros2 control list_controllers)? Commands go nowhere")

    def bad_input(self, exc: RecordError) -> None:
        self.get_logger().error(f"{exc}; ignored", throttle_duration_sec=1.0)

    def delay(self, info, stamp_ns: int) -> float:
        """How late an input is (s): since its publisher sent it (``info``), or the age of
        its observation's stamp on this node's clock; 0 when not judged."""
        if self.reads_info:
            return convert.delay_s(info)
        if not self.reads_stamps:
            return 0.0
        age = stamp_age(stamp_ns, self.get_clock().now().nanoseconds)
        if age is None and not self.foreign_clock_named:
            self.foreign_clock_named = True
            self.get_logger().warning(
                f"stamps on {topics.OBSERVATION.name} are not on this machine's clock (a "
                "simulation's, or clocks not synchronised: run chrony): delay_source 'stamp' "
                "cannot judge input delays; none is judged")
        return age or 0.0

    def on_observation(self, msg, info) -> None:
        vector = topics.OBSERVATION.read(msg)
        try:
            parse_frame(vector.frame, topics.OBSERVATION.name)
        except RecordError as exc:
            return self.bad_input(exc)
        values = None
        if len(vector.position) == self.observation_size:
            values = vector.position  # a position interface holds at what it measures
        again = self.core.resend(vector.stamp_ns, time.monotonic())
        if again is not None:  # re-sent: its command was lost before the bridge listened
            self.pub_stamped.publish(topics.COMMAND.message(
                Command(vector.stamp_ns, vector.frame, again).encode(self.action_names)))
            self.log_events()
            return
        self.emit(self.core.add_observation(vector.stamp_ns, vector.frame, time.monotonic(),
                                            self.delay(info, vector.stamp_ns), values))

    def on_expert(self, msg, info) -> None:
        try:
            answer = ExpertAnswer.decode(topics.EXPERT_ACTION.read(msg), self.action_size,
                                         topics.EXPERT_ACTION.name)
        except RecordError as exc:
            return self.bad_input(exc)
        self.emit(self.core.add_expert(answer.stamp_ns, answer.frame, answer.action,
                                       time.monotonic(), self.delay(info, answer.stamp_ns),
                                       answer.takeover))

    def on_policy(self, msg, info) -> None:
        try:
            answer = PolicyAnswer.decode(topics.POLICY_ACTION.read(msg), self.action_size,
                                         topics.POLICY_ACTION.name)
        except RecordError as exc:
            return self.bad_input(exc)
        self.emit(self.core.add_policy(answer.stamp_ns, answer.frame, answer.action,
                                       answer.uncertainty, time.monotonic(),
                                       self.delay(info, answer.stamp_ns)))

    def on_timer(self) -> None:
        now = time.monotonic()
        for result in self.core.expire(now):
            self.emit(result)
        why = self.core.hold_due(now)
        if why is not None and now - self.last_hold >= 1.0 / self.config.hold_rate_hz:
            if self.holding is None:
                self.get_logger().warning(f"holding the robot: {why}")
            self.holding, self.last_hold = why, now
            hold = self.core.hold_command(now)
            if hold is not None:  # (a position arm never measured cannot be held)
                self.pub_command.publish(self.encode(hold))
        elif why is None and self.holding is not None:
            self.get_logger().info("commands flow again: hold ended")
            self.holding = None
        self.log_events()

    def log_events(self) -> None:
        for line in self.core.events:
            self.get_logger().warning(line)
        self.core.events.clear()

    def emit(self, result) -> None:
        if result is None:
            return
        command, record = result
        if command is not None:
            if self.pub_command.get_subscription_count():  # the robot's controller (not a
                self.pub_command.publish(self.encode(command))  # lockstep bridge)
            self.pub_stamped.publish(topics.COMMAND.message(
                Command(record.stamp_ns, record.frame, command).encode(self.action_names)))
        elif record.stale:
            self.get_logger().warning(f"dropped the command for {record.frame}: "
                                      f"{record.stale}", throttle_duration_sec=1.0)
        self.pub_decision.publish(topics.DECISION.message(record))
        if self.core.events:
            self.log_events()

    def on_estop_topic(self, msg: Bool) -> None:
        if msg.data:  # false on the topic never releases: only the service does
            self.set_estop(True, f"{topics.ESTOP.name} topic")

    def on_estop_service(self, request, response):
        changed = self.set_estop(request.data, f"{topics.ESTOP_SERVICE.name} service")
        response.success = True
        response.message = ("engaged" if request.data else "released") + (
            "" if changed else " (unchanged)")
        return response

    def set_estop(self, engage: bool, origin: str) -> bool:
        changed = self.core.estop.engage(origin) if engage else self.core.estop.release()
        if changed:  # (rclpy refuses two severities from one logging call site)
            self.pub_estop.publish(Bool(data=engage))
            if engage:
                self.get_logger().warning(f"emergency stop ENGAGED by {origin}")
            else:
                self.get_logger().info(f"emergency stop released by {origin}")
        return changed

    def on_round(self, msg) -> None:
        try:
            self.publish_status(self.core.on_round(topics.ROUND.read(msg)))
        except RecordError as exc:
            self.bad_input(exc)

    def on_policy_status(self, msg) -> None:
        try:
            self.publish_status(self.core.on_policy_status(topics.POLICY_STATUS.read(msg)))
            if self.core.refused:
                self.get_logger().error(self.core.refused)
        except RecordError as exc:
            self.bad_input(exc)

    def publish_status(self, status) -> None:
        if status is None:
            return
        self.pub_status.publish(topics.SUPERVISOR_STATUS.message(status))
        gate = (f"beta {status.beta:.3f}" if self.config.gating == "beta" else
                f"{self.config.gating} gate")  # the other gates leave beta unused
        self.get_logger().info(f"round {status.round}: {gate}, "
                               f"policy {status.checkpoint_id or 'none'}")


NODE = SupervisorNode  # what a lockstep bridge builds when it hosts this node (in_process)


def main() -> None:
    run_node("supervisor", SupervisorNode)


if __name__ == "__main__":
    main()
