"""Message <-> record conversions, and the stamp that names an observation.

Learner-facing vectors (observations, action proposals, commands, task state) travel as
sensor_msgs/JointState used as a stamped, named vector: ``name`` holds the element names,
``position`` the values, ``header.stamp`` the identity of the observation the vector
belongs to or answers (unique in a run), and ``header.frame_id`` holds
``"<episode>:<step>"`` for people reading the topic. In core that is a
:class:`~dagger_ros.core.records.StampedVector`.
"""

from __future__ import annotations

import time

import numpy as np
from builtin_interfaces.msg import Time
from geometry_msgs.msg import Twist
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Float64MultiArray

from dagger_ros.core.records import StampedVector


def stamp_to_ns(stamp: Time) -> int:
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def ns_to_stamp(ns: int) -> Time:
    return Time(sec=int(ns // 1_000_000_000), nanosec=int(ns % 1_000_000_000))


def _floats(values) -> list[float]:
    if isinstance(values, np.ndarray):
        return values.astype(float).tolist()
    return [float(v) for v in values]


def joint_state(vector: StampedVector) -> JointState:
    """The JointState carrying a stamped vector."""
    msg = JointState()
    msg.header.stamp = ns_to_stamp(vector.stamp_ns)
    msg.header.frame_id = vector.frame
    msg.name = list(vector.names)
    msg.position = _floats(vector.position)
    if len(vector.velocity):
        msg.velocity = _floats(vector.velocity)
    if len(vector.effort):
        msg.effort = _floats(vector.effort)
    return msg


def stamped_vector(msg: JointState) -> StampedVector:
    """The stamped vector a JointState carries (values stay array-like, unconverted)."""
    return StampedVector(stamp_to_ns(msg.header.stamp), msg.header.frame_id, msg.name,
                         msg.position, msg.velocity, msg.effort)


def image(pixels: np.ndarray, stamp_ns: int, frame: str) -> Image:
    """An RGB uint8 image (height x width x 3) as a sensor_msgs/Image, rgb8."""
    msg = Image()
    msg.header.stamp = ns_to_stamp(stamp_ns)
    msg.header.frame_id = frame
    msg.height, msg.width = int(pixels.shape[0]), int(pixels.shape[1])
    msg.encoding, msg.is_bigendian, msg.step = "rgb8", 0, int(pixels.shape[1]) * 3
    msg.data = np.ascontiguousarray(pixels, np.uint8).tobytes()
    return msg


def float_array(values) -> Float64MultiArray:
    return Float64MultiArray(data=_floats(values))


def twist(values) -> Twist:
    msg = Twist()
    msg.linear.x, msg.angular.z = float(values[0]), float(values[1])
    return msg


def twist_to_array(msg: Twist) -> np.ndarray:
    return np.array([msg.linear.x, msg.angular.z])


def command_interface(command_kind: str, controller: str) -> tuple[type, str, object, object]:
    """(message type, topic, encode, decode) of a robot's command interface.

    ``joint_velocity``: std_msgs/Float64MultiArray on /<controller>/commands, as a
    ros2_control forward command controller takes; ``twist``: geometry_msgs/Twist on /cmd_vel.
    """
    if command_kind == "twist":
        return Twist, "/cmd_vel", twist, twist_to_array
    return (Float64MultiArray, f"/{controller}/commands", float_array,
            lambda m: np.asarray(m.data, dtype=float))


def command_encoder(action, clock=None):
    """(message type, encode) for a profile's command interface (core ActionSpec):
    Float64MultiArray for a ros2_control forward controller, a single-point
    JointTrajectory, or a Twist / TwistStamped (stamped with ``clock``'s now)."""
    if action.interface in ("velocity", "position"):
        return Float64MultiArray, float_array
    if action.interface == "trajectory":
        from builtin_interfaces.msg import Duration
        from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

        secs = action.trajectory_time
        reach = Duration(sec=int(secs), nanosec=int(round((secs % 1) * 1e9)))

        def trajectory(values):
            msg = JointTrajectory(joint_names=list(action.joints))
            msg.points = [JointTrajectoryPoint(positions=_floats(values), time_from_start=reach)]
            return msg
        return JointTrajectory, trajectory

    def fill(twist, values):
        for name, value in zip(action.names, values, strict=True):
            part, axis = name.split(".")
            setattr(getattr(twist, part), axis, float(value))
        return twist

    if action.interface == "twist":
        return Twist, lambda values: fill(Twist(), values)
    from geometry_msgs.msg import TwistStamped

    def stamped(values):
        msg = TwistStamped()
        msg.header.frame_id = action.frame_id
        if clock is not None:
            msg.header.stamp = clock.now().to_msg()
        fill(msg.twist, values)
        return msg
    return TwistStamped, stamped


def delay_s(info) -> float:
    """Seconds between a message's publication (its source timestamp) and now (``info``:
    the MessageInfo rclpy passes a two-argument callback); 0 when the
    middleware does not give a source timestamp."""
    source = info.get("source_timestamp", 0) if info else 0
    return max(0.0, (time.time_ns() - source) / 1e9) if source else 0.0
