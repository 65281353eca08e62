"""sim_operator: a simulated person at a gamepad, for HG-DAgger without a person.

Subscribes /dagger/expert_observation (what the operator sees: the simulated world, without
the learner's sensor noise), /dagger/supervisor/status (whether a policy drives) and
/episode/event; publishes sensor_msgs/Joy on /joy, stamped with the observation it answers,
so the expert node (source: joy) turns it into actions exactly as it does a gamepad's.
It reacts after reaction_delay, steers like the scripted expert with noise, takes over when
the robot strays beyond takeover_deviation and hands back below handback_deviation.
"""

from __future__ import annotations

from rclpy.node import Node
from sensor_msgs.msg import Joy

from dagger_ros.core.experts import make_expert
from dagger_ros.core.operator import SimOperatorConfig, SimulatedOperator
from dagger_ros.core.records import Observation, RecordError, frame_episode
from dagger_ros.core.tasks import make_task
from dagger_ros.core.teleop import JoyMapping
from dagger_ros.ros import topics
from dagger_ros.ros.params import load_config
from dagger_ros.ros.run import run_node


class SimOperatorNode(Node):
    def __init__(self, argv):
        super().__init__("sim_operator")
        self.config: SimOperatorConfig = load_config(self, SimOperatorConfig, argv)
        task = make_task(self.config.task)
        self.observation_size = task.observation_size
        low, high = task.action_limits()
        self.mapping = JoyMapping(self.config, task.action_names, low, high)
        self.operator = SimulatedOperator(self.config, make_expert(task),
                                          task.observation_names, (high - low) / 2.0)
        self.policy_running = False
        self.episode = None
        self.pub_joy = topics.publisher(self, topics.JOY)
        topics.subscribe(self, topics.EXPERT_OBSERVATION, self.on_observation)
        topics.subscribe(self, topics.SUPERVISOR_STATUS, self.on_status)
        self.get_logger().info(
            f"simulated operator on '{self.config.joy_preset}' pad: delay "
            f"{self.config.reaction_delay:g} s, takes over beyond "
            f"{self.config.takeover_deviation:g}, hands back below "
            f"{self.config.handback_deviation:g}")

    def on_status(self, msg) -> None:
        try:
            self.policy_running = topics.SUPERVISOR_STATUS.read(msg).checkpoint_id is not None
        except RecordError as exc:
            self.get_logger().error(f"{exc}; ignored")

    def on_observation(self, msg) -> None:
        try:
            obs = Observation.decode(topics.EXPERT_OBSERVATION.read(msg), self.observation_size,
                                     topics.EXPERT_OBSERVATION.name)
        except RecordError as exc:
            self.get_logger().error(f"{exc}; ignored", throttle_duration_sec=1.0)
            return
        episode = frame_episode(obs.frame)
        if episode != self.episode:
            self.episode = episode
            self.operator.new_episode()
        action, takeover = self.operator.step(obs.stamp_ns, obs.values, self.policy_running)
        joy = Joy()
        joy.header.stamp, joy.header.frame_id = msg.header.stamp, msg.header.frame_id
        joy.axes, joy.buttons = self.mapping.encode(action, takeover)
        self.pub_joy.publish(joy)


def main() -> None:
    run_node("sim_operator", SimOperatorNode)


if __name__ == "__main__":
    main()
