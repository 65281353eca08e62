"""expert: the scripted expert's action answering every observation.

Subscribes /dagger/expert_observation (the simulator's noise-free observation: a scripted
expert is a privileged teacher); publishes /dagger/expert/action (stamped vector with the
observation's stamp). With ``drive_robot`` it also commands the robot directly (and
publishes the same command stamped on /dagger/command, as the supervisor does).
"""

from __future__ import annotations

from rclpy.node import Node
from sensor_msgs.msg import JointState

from dagger_ros.core.experts import ExpertConfig, StampedAnswerer, make_expert
from dagger_ros.core.tasks import make_task
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
        self.expert = make_expert(self.task)
        self.answerer = StampedAnswerer(self.expert)
        self.pub_action = self.create_publisher(JointState, ACTION_TOPIC, qos.STREAM)
        self.pub_command = None
        if self.config.drive_robot:
            kind, topic, self.encode, _ = convert.command_interface(
                self.task.command_kind, self.config.controller_name)
            self.pub_command = self.create_publisher(kind, topic, qos.STREAM)
            self.pub_stamped = self.create_publisher(JointState, convert.STAMPED_COMMAND_TOPIC,
                                                     qos.STREAM)
        self.create_subscription(JointState, OBSERVATION_TOPIC, self.on_observation, qos.STREAM)
        self.get_logger().info(f"expert '{self.expert.name}' for task '{self.task.name}'"
                               + (" driving the robot" if self.pub_command else ""))

    def on_observation(self, msg: JointState) -> None:
        try:
            obs = convert.vector_from_msg(msg, self.task.observation_size, OBSERVATION_TOPIC)
        except convert.VectorSizeError as exc:
            self.get_logger().error(str(exc), throttle_duration_sec=1.0)
            return
        stamp = convert.stamp_to_ns(msg.header.stamp)
        action = self.answerer.answer(stamp, obs)
        self.pub_action.publish(convert.vector_msg(self.task.action_names, action, stamp,
                                                   msg.header.frame_id))
        if self.pub_command is not None:
            self.pub_command.publish(self.encode(action))
            self.pub_stamped.publish(convert.vector_msg(self.task.action_names, action, stamp,
                                                        msg.header.frame_id))


def main() -> None:
    run_node("expert", ExpertNode)


if __name__ == "__main__":
    main()
