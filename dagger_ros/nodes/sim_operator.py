"""sim_operator: a simulated person at a gamepad, for HG-DAgger without a person.

Subscribes /dagger/expert_observation (what the operator sees: the simulated world, without
the learner's sensor noise), /dagger/supervisor/status (whether a policy drives) and
/episode/event; publishes sensor_msgs/Joy on /joy, stamped with the observation it answers,
so the expert node (source: joy) turns it into actions exactly as it does a gamepad's.
It reacts after reaction_delay, steers like the scripted expert with noise, takes over when
the robot strays beyond takeover_deviation and hands back below handback_deviation.

``watches: robot``: a person beside a robot (core ReachPerson). It sees /joint_states and
/target only, and /episode/event and /dagger/supervisor/status as the operator's screen
shows them; it publishes /joy at the joint states' rate, stamped now, with the sticks as
joint speeds (the expert jogs the arm), the take-over button, and the start, success,
failure and end buttons; between episodes it calls /hardware_sim/reset_scene, the
person's hands re-placing the target.
"""

from __future__ import annotations

import numpy as np
from rclpy.node import Node
from sensor_msgs.msg import Joy
from std_srvs.srv import Trigger

from dagger_ros.core.experts import make_expert
from dagger_ros.core.operator import ReachPerson, SimOperatorConfig, SimulatedOperator
from dagger_ros.core.profile import load_profile
from dagger_ros.core.records import (
    EpisodeEnd,
    EpisodeStart,
    Observation,
    RecordError,
    frame_episode,
)
from dagger_ros.core.tasks import make_task
from dagger_ros.core.teleop import JoyMapping
from dagger_ros.ros import topics
from dagger_ros.ros.params import load_config
from dagger_ros.ros.run import run_node


class SimOperatorNode(Node):
    def __init__(self, argv):
        super().__init__("sim_operator")
        self.config: SimOperatorConfig = load_config(self, SimOperatorConfig, argv)
        self.policy_running = False
        if self.config.watches == "robot":
            self.setup_person()
            return
        task = make_task(self.config.task)
        self.observation_size = task.observation_size
        low, high = task.action_limits()
        self.mapping = JoyMapping(self.config, task.action_names, low, high)
        self.operator = SimulatedOperator(self.config, make_expert(task),
                                          task.observation_names, (high - low) / 2.0)
        self.episode = None
        self.pub_joy = topics.publisher(self, topics.JOY)
        topics.subscribe(self, topics.EXPERT_OBSERVATION, self.on_observation)
        topics.subscribe(self, topics.SUPERVISOR_STATUS, self.on_status)
        self.get_logger().info(
            f"simulated operator on '{self.config.joy_preset}' pad: delay "
            f"{self.config.reaction_delay:g} s, takes over beyond "
            f"{self.config.takeover_deviation:g}, hands back below "
            f"{self.config.handback_deviation:g}")

    # -- watches: robot -----------------------------------------------------------------
    def setup_person(self) -> None:
        c = self.config
        profile = load_profile(c.profile) if c.profile else None
        if profile is None or not profile.action.max_rate:
            from dagger_ros.core.config import ConfigError

            raise ConfigError("sim_operator 'watches: robot' needs 'profile' with an "
                              "action.max_rate (the speed a full stick jogs a joint at)")
        rates = np.asarray(profile.action.max_rate, float)
        self.joints = list(profile.action.joints)
        self.mapping = JoyMapping(c, profile.action_names, -rates, rates)
        self.person = ReachPerson(c, rates)
        self.target = None
        self.up, self.last_check = False, -1.0
        self.pub_joy = topics.publisher(self, topics.JOY)
        topics.subscribe(self, topics.JOINT_STATES, self.on_joint_states)
        topics.subscribe(self, topics.TARGET, self.on_target)
        topics.subscribe(self, topics.SUPERVISOR_STATUS, self.on_status)
        topics.subscribe(self, topics.EPISODE_EVENT, self.on_episode_event)
        self.scene = self.create_client(Trigger, topics.SCENE_RESET.name)
        self.get_logger().info(
            f"simulated person at a '{c.joy_preset}' pad beside the arm: delay "
            f"{c.reaction_delay:g} s, takes over when the policy stalls, success within "
            f"{c.success_distance:g} m")

    def on_target(self, msg) -> None:
        self.target = np.array([msg.point.x, msg.point.y, msg.point.z])

    def on_episode_event(self, msg) -> None:
        try:
            event = topics.EPISODE_EVENT.read(msg)
        except RecordError as exc:
            self.get_logger().error(f"{exc}; ignored", throttle_duration_sec=1.0)
            return
        if isinstance(event, EpisodeStart):
            self.person.episode_started()
        elif isinstance(event, EpisodeEnd):
            self.person.episode_ended()

    def on_joint_states(self, msg) -> None:
        if self.target is None or not self.graph_up():
            return  # the person sees no target yet, or waits for the system to be up
        try:
            q = [msg.position[list(msg.name).index(j)] for j in self.joints]
        except (ValueError, IndexError):
            self.get_logger().error(f"{topics.JOINT_STATES.name} lacks one of "
                                    f"{', '.join(self.joints)}", throttle_duration_sec=2.0)
            return
        now = self.get_clock().now()
        gave_up = self.person.homing_given_up
        gesture = self.person.tick(now.nanoseconds / 1e9, q, self.target, self.policy_running)
        if self.person.homing_given_up > gave_up:
            self.get_logger().warning(
                f"the arm did not come home within {self.config.home_time_limit:g} s (is the "
                "supervisor's between_episodes 'operator'?); the person starts from where it "
                "is")
        if gesture.reset_scene:
            self.reset_scene()
        for event in gesture.events:
            self.get_logger().info(f"person presses '{event}'")
        joy = Joy()
        joy.header.stamp = now.to_msg()
        joy.axes, joy.buttons = self.mapping.encode(gesture.sticks * self.mapping.gain,
                                                    gesture.takeover, events=gesture.events)
        self.pub_joy.publish(joy)

    def graph_up(self) -> bool:
        """Whether every node of wait_for_nodes subscribes /dagger/observation."""
        if self.up or not self.config.wait_for_nodes:
            return True
        now = self.get_clock().now().nanoseconds / 1e9
        if now - self.last_check < 0.5:
            return False
        self.last_check = now
        names = {info.node_name for info in
                 self.get_subscriptions_info_by_topic(topics.OBSERVATION.name)}
        missing = [n for n in self.config.wait_for_nodes if n not in names]
        if missing:
            self.get_logger().info(f"person waits for {', '.join(missing)} before pressing "
                                   "start", throttle_duration_sec=5.0)
            return False
        self.up = True
        return True

    def reset_scene(self) -> None:
        t = self.get_clock().now().nanoseconds / 1e9
        if not self.scene.service_is_ready():
            self.get_logger().warning(f"{topics.SCENE_RESET.name} is not there: the person "
                                      "starts without re-placing the target",
                                      throttle_duration_sec=10.0)
            self.person.scene_reset_done(t)
            return
        future = self.scene.call_async(Trigger.Request())
        future.add_done_callback(lambda _f: self.person.scene_reset_done(
            self.get_clock().now().nanoseconds / 1e9))

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


NODE = SimOperatorNode  # what a lockstep bridge builds when it hosts this node (in_process)


def main() -> None:
    run_node("sim_operator", SimOperatorNode)


if __name__ == "__main__":
    main()
