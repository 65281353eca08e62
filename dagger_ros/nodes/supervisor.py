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

import time

from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_msgs.msg import Bool, String
from std_srvs.srv import SetBool

from dagger_ros.core.experts import EXPERTS
from dagger_ros.core.supervisor import Supervisor, SupervisorConfig
from dagger_ros.core.tasks import make_task
from dagger_ros.ros import convert, qos
from dagger_ros.ros.params import load_config
from dagger_ros.ros.run import run_node


class SupervisorNode(Node):
    def __init__(self, argv):
        super().__init__("supervisor")
        self.config: SupervisorConfig = load_config(self, SupervisorConfig, argv)
        task = make_task(self.config.task)
        self.action_size = task.action_size
        low, high = task.action_limits()
        self.core = Supervisor(self.config, low, high, EXPERTS[task.name].name)
        kind, topic, self.encode, _ = convert.command_interface(task.command_kind,
                                                                self.config.controller_name)
        self.pub_command = self.create_publisher(kind, topic, qos.STREAM)
        self.pub_stamped = self.create_publisher(JointState, convert.STAMPED_COMMAND_TOPIC,
                                                 qos.STREAM)
        self.action_names = task.action_names
        self.pub_decision = self.create_publisher(String, "/dagger/decision", qos.STREAM)
        self.pub_status = self.create_publisher(String, "/dagger/supervisor/status", qos.EVENTS)
        self.create_subscription(JointState, "/dagger/observation", self.on_observation,
                                 qos.STREAM)
        self.create_subscription(JointState, "/dagger/expert/action", self.on_expert, qos.STREAM)
        self.create_subscription(JointState, "/dagger/policy/action", self.on_policy, qos.STREAM)
        self.create_subscription(String, "/dagger/policy/status", self.on_policy_status,
                                 qos.EVENTS)
        self.create_subscription(String, "/dagger/round", self.on_round, qos.EVENTS)
        self.pub_estop = self.create_publisher(Bool, "/dagger/estop/state", qos.EVENTS)
        self.create_subscription(Bool, "/dagger/estop", self.on_estop_topic, qos.STREAM)
        self.create_service(SetBool, "/dagger/estop", self.on_estop_service)
        self.pub_estop.publish(Bool(data=False))
        self.create_timer(min(0.02, 1.0 / self.config.hold_rate_hz), self.on_timer)
        self.holding: str | None = None  # why the robot is being held, while it is
        self.last_hold = 0.0
        self.announced_round = -1
        self.get_logger().info(f"gating '{self.config.gating}' "
                               f"({self.config.describe_gating()}); commands on {topic}")

    def _vector(self, msg: JointState, topic: str):
        try:
            return convert.vector_from_msg(msg, self.action_size, topic)
        except convert.VectorSizeError as exc:
            self.get_logger().error(str(exc), throttle_duration_sec=1.0)
            return None

    def on_observation(self, msg: JointState, info) -> None:
        again = self.core.resend(convert.stamp_to_ns(msg.header.stamp), time.monotonic())
        if again is not None:  # re-sent: its command was lost before the bridge listened
            self.pub_stamped.publish(convert.vector_msg(self.action_names, again,
                                                        convert.stamp_to_ns(msg.header.stamp),
                                                        msg.header.frame_id))
            self.log_events()
            return
        self.emit(self.core.add_observation(convert.stamp_to_ns(msg.header.stamp),
                                            msg.header.frame_id, time.monotonic(),
                                            convert.delay_s(info)))

    def on_expert(self, msg: JointState, info) -> None:
        if len(msg.position) == 0:  # the operator answered without a label (deadman, silent)
            action = None
        else:
            action = self._vector(msg, "/dagger/expert/action")
            if action is None:
                return
        takeover = bool(len(msg.effort) and msg.effort[0] > 0.5)
        self.emit(self.core.add_expert(convert.stamp_to_ns(msg.header.stamp),
                                       msg.header.frame_id, action, time.monotonic(),
                                       convert.delay_s(info), takeover))

    def on_policy(self, msg: JointState, info) -> None:
        action = self._vector(msg, "/dagger/policy/action")
        if action is not None:
            spread = float(msg.effort[0]) if len(msg.effort) else None
            self.emit(self.core.add_policy(convert.stamp_to_ns(msg.header.stamp),
                                           msg.header.frame_id, action, spread,
                                           time.monotonic(), convert.delay_s(info)))

    def on_timer(self) -> None:
        now = time.monotonic()
        for result in self.core.expire(now):
            self.emit(result)
        why = self.core.hold_due(now)
        if why is not None and now - self.last_hold >= 1.0 / self.config.hold_rate_hz:
            if self.holding is None:
                self.get_logger().warning(f"holding the robot: {why}")
            self.holding, self.last_hold = why, now
            self.pub_command.publish(self.encode(self.core.hold_command(now)))
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
            self.pub_stamped.publish(convert.vector_msg(self.action_names, command,
                                                        record["stamp_ns"], record["frame"]))
        elif record.get("stale"):
            self.get_logger().warning(f"dropped the command for {record['frame']}: "
                                      f"{record['stale']}", throttle_duration_sec=1.0)
        self.pub_decision.publish(convert.json_msg(record))
        if self.core.events:
            self.log_events()

    def on_estop_topic(self, msg: Bool) -> None:
        if msg.data:  # false on the topic never releases: only the service does
            self.set_estop(True, "/dagger/estop topic")

    def on_estop_service(self, request, response):
        changed = self.set_estop(request.data, "/dagger/estop service")
        response.success = True
        response.message = ("engaged" if request.data else "released") + (
            "" if changed else " (unchanged)")
        return response

    def set_estop(self, engage: bool, origin: str) -> bool:
        changed = self.core.estop.engage(origin) if engage else self.core.estop.release()
        if changed:
            self.pub_estop.publish(Bool(data=engage))
            log = self.get_logger().warn if engage else self.get_logger().info
            log(f"emergency stop {'ENGAGED' if engage else 'released'} by {origin}")
        return changed

    def on_round(self, msg: String) -> None:
        announcement = convert.json_from_msg(msg)
        if announcement.get("checkpoint_id") is None:  # no policy yet: nothing to wait for
            self.apply_round(int(announcement["round"]), None)

    def on_policy_status(self, msg: String) -> None:
        status = convert.json_from_msg(msg)
        # the policy reports what it actually runs (the last good checkpoint if it refused)
        self.apply_round(int(status["round"]), status.get("checkpoint_id"))

    def apply_round(self, round_index: int, checkpoint_id) -> None:
        if round_index < self.announced_round:
            return
        self.core.set_round(round_index, checkpoint_id)
        self.announced_round = round_index
        self.pub_status.publish(convert.json_msg({"round": round_index, "beta": self.core.gate.beta,
                                                  "checkpoint_id": checkpoint_id}))
        self.get_logger().info(f"round {round_index}: beta {self.core.gate.beta:.3f}, "
                               f"policy {checkpoint_id or 'none'}")


def main() -> None:
    run_node("supervisor", SupervisorNode)


if __name__ == "__main__":
    main()
