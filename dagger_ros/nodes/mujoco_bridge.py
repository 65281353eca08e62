"""mujoco_bridge: a simulated robot with a ros2_control-shaped interface.

Publishes /joint_states, /dagger/observation (stamped vector), /task/state, /task/target
(reach), /episode/event (JSON in std_msgs/String) and /clock; serves /sim/reset
(std_srvs/Trigger). Commands: in realtime, the robot's own interface,
/<controller_name>/commands (Float64MultiArray, reach) or /cmd_vel (Twist, drive); in
lockstep, /dagger/command, the same command stamped with the observation it answers (so a
late answer or a hold published while idle can never step the wrong observation).
See BridgeConfig for the parameters.

``exposes: hardware`` is the hardware-shaped simulator (core/hardware_sim.py): in real
time it publishes only /joint_states at the control rate, the tool pose
(/tcp_pose_broadcaster/pose), the target (/target) and where it is from the tool
(/target_offset, as a detector that sees both reports it), and listens on the controller's
command topic; nothing of DAgger (no observation, no episodes, no /sim/reset, no /clock).
Its one extra, /hardware_sim/reset_scene, is the simulated person's hands re-placing the
target.
"""

from __future__ import annotations

import importlib
import time

from geometry_msgs.msg import PointStamped, PoseStamped
from rclpy.duration import Duration
from rclpy.node import Node
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import JointState

from dagger_ros.core.bridge import BridgeConfig, CommandSlot, SimBridge
from dagger_ros.core.hardware_sim import HardwareSim
from dagger_ros.core.images import ImageField, SimCameras
from dagger_ros.core.records import (
    Command,
    Observation,
    Outcome,
    RecordError,
    ResetReply,
    StampedVector,
)
from dagger_ros.ros import convert, topics
from dagger_ros.ros.params import load_config
from dagger_ros.ros.run import run_node


class MujocoBridge(Node):
    def __init__(self, argv):
        super().__init__("mujoco_bridge")
        self.config: BridgeConfig = load_config(self, BridgeConfig, argv)
        if self.config.exposes == "hardware":
            self.setup_hardware()
            return
        self.sim = SimBridge(self.config)
        task = self.sim.task
        kind, self.command_topic, _, self.decode = convert.command_interface(
            task.command_kind, self.config.controller_name)
        self.pub_obs = topics.publisher(self, topics.OBSERVATION)
        self.pub_true = topics.publisher(self, topics.EXPERT_OBSERVATION)
        # the task's cameras: an image per observation, each on its own topic
        self.cameras = self.make_cameras(task, [ImageField(n, *task.camera_size)
                                                for n in task.cameras])
        self.pub_images = {name: topics.publisher(self, topics.observation_image(
            name, task.camera_size[0] * task.camera_size[1] * 3)) for name in task.cameras}
        self.pub_joints = topics.publisher(self, topics.JOINT_STATES)
        self.pub_state = topics.publisher(self, topics.TASK_STATE)
        self.pub_target = topics.publisher(self, topics.TASK_TARGET)
        self.pub_event = topics.publisher(self, topics.EPISODE_EVENT)
        self.pub_clock = topics.publisher(self, topics.CLOCK)
        topics.service(self, topics.SIM_RESET, self.on_reset)
        topics.subscribe(self, topics.OPERATOR_EVENT, self.on_operator_event)
        self.lockstep = self.config.stepping == "lockstep"
        if self.lockstep:  # a command answers the observation whose stamp it carries
            self.command_topic = topics.COMMAND.name
            topics.subscribe(self, topics.COMMAND, self.on_stamped_command)
        else:  # the robot's own interface, as a ros2_control controller takes it
            self.create_subscription(kind, self.command_topic, self.on_command,
                                     topics.COMMAND.qos)
        self.waiting = False  # lockstep: an observation awaits its command
        self.last_sent = 0.0
        self.slot = CommandSlot(self.config.command_timeout)
        self.create_timer(0.05, self.start_when_ready)
        if self.lockstep:
            self.create_timer(self.config.republish_period / 2, self.republish)
        else:
            self.create_timer(1.0 / self.config.control_rate_hz, self.on_tick)
        self.get_logger().info(
            f"task '{task.name}' ({self.config.stepping}, {self.config.control_rate_hz:g} Hz), "
            f"commands on {self.command_topic}, model {task.model_path}")

    # -- exposes: hardware -----------------------------------------------------------
    def setup_hardware(self) -> None:
        c = self.config
        self.hardware = HardwareSim(c.task, c.model_file, c.control_rate_hz, c.seed,
                                    c.command_limits)
        kind, self.command_topic, _, self.decode = convert.command_interface(
            self.hardware.task.command_kind, c.controller_name)
        self.pub_joints = topics.publisher(self, topics.JOINT_STATES)
        self.pub_tool = topics.publisher(self, topics.TOOL_POSE)
        self.pub_target = topics.publisher(self, topics.TARGET)
        self.pub_offset = topics.publisher(self, topics.TARGET_OFFSET)
        self.create_subscription(kind, self.command_topic, self.on_hardware_command,
                                 topics.COMMAND.qos)
        topics.service(self, topics.SCENE_RESET, self.on_scene_reset)
        self.create_timer(1.0 / c.control_rate_hz, self.on_hardware_tick)
        self.cameras = self.make_cameras(self.hardware.task, [
            ImageField(n, c.camera_width, c.camera_height) for n in c.cameras])
        self.pub_images = {n: topics.publisher(self, topics.camera_image(n)) for n in c.cameras}
        if c.cameras:
            self.create_timer(1.0 / c.camera_rate_hz, self.on_camera_tick)
        self.get_logger().info(
            f"hardware-shaped '{c.task}' arm at {c.control_rate_hz:g} Hz: /joint_states, "
            f"{topics.TOOL_POSE.name}, {topics.TARGET.name}, {topics.TARGET_OFFSET.name}; "
            f"commands on "
            f"{self.command_topic}; model {self.hardware.task.model_path}")

    def make_cameras(self, task, fields) -> SimCameras | None:
        if not fields:
            return None
        try:
            return SimCameras(task.model, fields, {})
        except ValueError as exc:
            from dagger_ros.core.config import ConfigError

            raise ConfigError(f"'cameras': {exc} ({task.model_path})") from None

    def publish_images(self, data, stamp_ns: int, frame: str) -> None:
        for name, pixels in self.cameras.render(data).items():
            self.pub_images[name].publish(convert.image(pixels, stamp_ns, frame))

    def on_camera_tick(self) -> None:
        """A camera driver: the newest rendered frame, stamped when it was taken."""
        self.publish_images(self.hardware.task.data, self.get_clock().now().nanoseconds,
                            "camera")

    def on_hardware_command(self, msg) -> None:
        try:
            self.hardware.put(self.decode(msg))
        except ValueError as exc:  # the controller refuses it and keeps the last command
            self.get_logger().error(f"rejected command on {self.command_topic}: {exc}",
                                    throttle_duration_sec=1.0)

    def on_hardware_tick(self) -> None:
        hw = self.hardware
        hw.tick()
        stamp = self.get_clock().now().to_msg()
        joints = JointState(name=hw.joint_names())
        joints.header.stamp = stamp
        position, velocity, effort = hw.joint_state()
        joints.position, joints.velocity, joints.effort = (
            position.tolist(), velocity.tolist(), effort.tolist())
        self.pub_joints.publish(joints)
        tool = PoseStamped()
        tool.header.stamp, tool.header.frame_id = stamp, "base_link"
        tool.pose.position.x, tool.pose.position.y, tool.pose.position.z = (
            float(v) for v in hw.tool_position())
        tool.pose.orientation.w = 1.0
        self.pub_tool.publish(tool)
        target = PointStamped()
        target.header.stamp, target.header.frame_id = stamp, "base_link"
        target.point.x, target.point.y, target.point.z = (float(v) for v in hw.target())
        self.pub_target.publish(target)
        offset = PointStamped()
        offset.header.stamp, offset.header.frame_id = stamp, "base_link"
        offset.point.x, offset.point.y, offset.point.z = (
            float(v) for v in hw.target() - hw.tool_position())
        self.pub_offset.publish(offset)

    def on_scene_reset(self, request, response):
        seed = self.hardware.reset_scene()
        response.success, response.message = True, f"target re-placed (scene seed {seed})"
        self.get_logger().info(response.message)
        return response

    def start_when_ready(self) -> None:
        """Begin episode 0 once the configured subscribers listen (or a reset asked).

        Without auto_reset, every episode, the first included, waits for /sim/reset."""
        if self.sim.episode >= 0 or not self.config.auto_reset:
            return
        if self.not_listening() is None:
            self.begin_episode()

    def not_listening(self) -> str | None:
        """Why an episode may not start yet (who is not listening), or None."""
        listening = self.pub_obs.get_subscription_count()
        observation = topics.OBSERVATION.name
        if listening < self.config.wait_for_subscribers:
            return (f"waiting for {self.config.wait_for_subscribers} subscribers of "
                    f"{observation}, {listening} so far")
        if self.config.wait_for_nodes:
            infos = self.get_subscriptions_info_by_topic(observation)
            missing = [n for n in self.config.wait_for_nodes
                       if n not in {info.node_name for info in infos}]
            if missing:
                return f"waiting for {', '.join(missing)} to subscribe {observation}"
            # discovered is not matched: a reliable sample written before this writer has
            # matched a reader never reaches it (the recorder missed an episode's first
            # frame that way once the graph ran ~900 steps/s)
            if listening < len(infos):
                return (f"waiting for {observation}'s {len(infos)} subscribers to match, "
                        f"{listening} so far")
        if self.config.wait_for_expert and self.pub_true.get_subscription_count() == 0:
            return ("waiting for the expert to listen on "
                    f"{topics.EXPERT_OBSERVATION.name}")
        return None

    # -- episodes -------------------------------------------------------------------
    def begin_episode(self) -> None:
        try:
            self.observation = self.sim.start_episode()
        except StopIteration:
            self.announce(self.sim.finished_event())
            self.get_logger().info(f"all {self.config.episodes} episodes done; exiting")
            self.deliver_events()
            raise SystemExit(0) from None
        self.announce(self.sim.start_event())
        self.episode_started = time.monotonic()
        self.publish_state()

    def deliver_events(self, timeout: float = 2.0) -> None:
        """Before exiting: let the episode events reach their readers. A reader still being
        matched gets the latched history once it is; then wait for acknowledgements."""
        deadline = time.monotonic() + timeout
        while (self.pub_event.get_subscription_count() < min(1, self.pub_obs.
                                                             get_subscription_count())
               and time.monotonic() < deadline):
            time.sleep(0.02)
        self.pub_event.wait_for_all_acked(Duration(seconds=max(0.0, deadline - time.monotonic())))

    def announce(self, event) -> None:
        self.pub_event.publish(topics.EPISODE_EVENT.message(event))

    def publish_state(self) -> None:
        sim, task = self.sim, self.sim.task
        stamp = convert.ns_to_stamp(sim.clock_ns)
        # topics nobody listens to are skipped: each costs a serialisation per step
        if self.pub_clock.get_subscription_count():
            self.pub_clock.publish(Clock(clock=stamp))
        if self.pub_joints.get_subscription_count():
            joints = JointState(name=task.joint_names())
            joints.header.stamp = stamp
            position, velocity, effort = task.joint_state()
            joints.position, joints.velocity, joints.effort = (
                position.tolist(), velocity.tolist(), effort.tolist())
            self.pub_joints.publish(joints)
        if self.pub_state.get_subscription_count() or self.pub_target.get_subscription_count():
            self.publish_task_state(stamp)
        # the privileged (noise-free) vector first, so a scripted expert has it in time
        self.pub_true.publish(topics.EXPERT_OBSERVATION.message(
            Observation(sim.clock_ns, sim.label, task.true_observation()).encode(
                task.privileged_names)))
        if self.cameras is not None:  # before the observation, which completes the set
            self.publish_images(task.data, sim.clock_ns, sim.label)
        self.pub_obs.publish(topics.OBSERVATION.message(
            Observation(sim.clock_ns, sim.label, self.observation).encode(
                task.observation_names)))
        self.waiting = self.lockstep
        self.last_sent = time.monotonic()

    def publish_task_state(self, stamp) -> None:
        sim = self.sim
        state = sim.task.task_state()
        self.pub_state.publish(topics.TASK_STATE.message(
            StampedVector(sim.clock_ns, sim.label, list(state), list(state.values()))))
        if "target.x" in state:
            target = PointStamped()
            target.header.stamp, target.header.frame_id = stamp, "world"
            target.point.x, target.point.y, target.point.z = (
                state["target.x"], state["target.y"], state["target.z"])
            self.pub_target.publish(target)

    def advance(self, command) -> None:
        end = self.sim.step(command)
        self.observation = self.sim.last_observation
        if end is None:
            self.publish_state()
            return
        end.wall_s = round(time.monotonic() - self.episode_started, 4)
        self.announce(end)
        self.get_logger().info(f"episode {end.episode} (seed {end.seed}): {end.outcome} after "
                               f"{end.steps} steps, return {end.episode_return:.3f}")
        if self.config.auto_reset:
            self.begin_episode()
        else:
            self.waiting = False

    # -- callbacks ------------------------------------------------------------------
    def on_stamped_command(self, msg) -> None:
        """lockstep: the command for the waiting observation (same stamp) steps physics;
        any other (a late answer, a hold published while idle) is ignored."""
        if not self.waiting or convert.stamp_to_ns(msg.header.stamp) != self.sim.clock_ns:
            return
        try:
            command = Command.decode(topics.COMMAND.read(msg), self.sim.task.action_size,
                                     self.command_topic)
            command = self.sim.clamp(command.values)
        except (RecordError, ValueError) as exc:
            self.get_logger().error(f"rejected command on {self.command_topic}: {exc}",
                                    throttle_duration_sec=1.0)
            return
        self.waiting = False
        self.advance(command)

    def on_command(self, msg) -> None:
        """realtime: the newest command, applied at the next tick if still fresh."""
        try:
            self.slot.put(self.sim.clamp(self.decode(msg)), time.monotonic())
        except ValueError as exc:
            self.get_logger().error(f"rejected command on {self.command_topic}: {exc}",
                                    throttle_duration_sec=1.0)

    def on_tick(self) -> None:
        if not self.sim.running:
            return
        command = self.slot.take(time.monotonic())
        self.advance(self.sim.stale_fallback() if command is None else command)

    def republish(self) -> None:
        if self.waiting and time.monotonic() - self.last_sent > self.config.republish_period:
            self.publish_state()

    def on_reset(self, request, response):
        waiting = self.not_listening()
        if waiting is not None:
            response.success, response.message = False, waiting
            return response
        self.end_running(Outcome.ABORTED)
        try:
            self.begin_episode()
        except SystemExit:
            response.success, response.message = False, "all configured episodes are done"
            return response
        response.success = True
        response.message = ResetReply(self.sim.episode, self.sim.task.seed).encode()
        return response

    def end_running(self, outcome: Outcome) -> None:
        """End the episode in progress now (a reset, or the operator's end button)."""
        end = self.sim.end_running(outcome)
        if end is not None:
            self.waiting = False
            self.announce(end)
            self.get_logger().info(f"episode {end.episode} ended: {end.outcome}")

    def on_operator_event(self, msg) -> None:
        """The gamepad's episode buttons (see core EpisodeButtons); a malformed event is
        logged, naming the topic, and ignored."""
        try:
            event = topics.OPERATOR_EVENT.read(msg).event
        except RecordError as exc:
            self.get_logger().error(f"ignored: {exc}", throttle_duration_sec=1.0)
            return
        if event.value in ("success", "failure"):
            self.get_logger().info(f"operator marked episode {self.sim.episode} {event}")
        end, begin = self.sim.operator_event(event)
        if end is not None:
            self.waiting = False
            self.announce(end)
            self.get_logger().info(f"operator ended episode {end.episode}: {end.outcome}")
        if begin:
            self.begin_episode()


def with_hosted_nodes(argv) -> list[Node]:
    """The bridge, and the nodes it runs in its own process (``in_process``, lockstep)."""
    bridge = MujocoBridge(argv)
    hosted = [importlib.import_module(f"dagger_ros.nodes.{name}").NODE(argv)
              for name in bridge.config.in_process]
    if hosted:
        bridge.get_logger().info(f"running {', '.join(bridge.config.in_process)} in this "
                                 "process")
    return [bridge, *hosted]


def main() -> None:
    run_node("mujoco_bridge", with_hosted_nodes)


if __name__ == "__main__":
    main()
