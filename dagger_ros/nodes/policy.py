"""policy: the learned ensemble's action (and uncertainty) answering every observation.

Subscribes /dagger/observation and /dagger/round; publishes /dagger/policy/action (stamped
vector: ``position`` = the members' mean action, ``velocity`` = the members' standard
deviation per element, ``effort[0]`` = the scalar uncertainty) and /dagger/policy/status.
A checkpoint announced on /dagger/round is loaded between two observations (the executor
is single-threaded), so no control step is missed; a refused one leaves the last good
policy running.
"""

from __future__ import annotations

from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_msgs.msg import String

from dagger_ros.core.policy_runtime import PolicyConfig, PolicyRuntime
from dagger_ros.core.tasks import task_class
from dagger_ros.ros import convert, qos
from dagger_ros.ros.params import load_config
from dagger_ros.ros.run import run_node

OBSERVATION_TOPIC = "/dagger/observation"


class PolicyNode(Node):
    def __init__(self, argv):
        super().__init__("policy")
        self.config: PolicyConfig = load_config(self, PolicyConfig, argv)
        task = task_class(self.config.task)
        self.action_names = task.action_names
        self.runtime = PolicyRuntime(len(task.observation_names), len(task.action_names))
        self.pub_action = self.create_publisher(JointState, "/dagger/policy/action", qos.STREAM)
        self.pub_status = self.create_publisher(String, "/dagger/policy/status", qos.EVENTS)
        self.create_subscription(JointState, OBSERVATION_TOPIC, self.on_observation, qos.STREAM)
        self.create_subscription(String, "/dagger/round", self.on_round, qos.EVENTS)
        if self.config.checkpoint:
            self.load(self.config.checkpoint)
        self.round = -1

    def load(self, path: str) -> None:
        if self.runtime.load(path):
            self.get_logger().info(f"running checkpoint {self.runtime.checkpoint_id} ({path})")
        else:
            kept = self.runtime.checkpoint_id or "none"
            self.get_logger().error(f"refused checkpoint: {self.runtime.last_error}; keeping "
                                    f"the last good policy ({kept})")

    def on_round(self, msg: String) -> None:
        announcement = convert.json_from_msg(msg)
        self.round = int(announcement["round"])
        path = announcement.get("checkpoint_path")
        if path and path != self.runtime.checkpoint_path:
            self.load(path)
        self.pub_status.publish(convert.json_msg({
            "round": self.round, "checkpoint_id": self.runtime.checkpoint_id,
            "checkpoint_path": self.runtime.checkpoint_path, "error": self.runtime.last_error}))

    def on_observation(self, msg: JointState) -> None:
        try:
            obs = convert.vector_from_msg(msg, self.runtime.observation_size, OBSERVATION_TOPIC)
        except convert.VectorSizeError as exc:
            self.get_logger().error(str(exc), throttle_duration_sec=1.0)
            return
        answer = self.runtime.act(obs)
        if answer is None:
            return
        mean, spread, uncertainty = answer
        out = convert.vector_msg(self.action_names, mean, convert.stamp_to_ns(msg.header.stamp),
                                 msg.header.frame_id)
        out.velocity = [float(v) for v in spread]
        out.effort = [uncertainty]
        self.pub_action.publish(out)


def main() -> None:
    run_node("policy", PolicyNode)


if __name__ == "__main__":
    main()
