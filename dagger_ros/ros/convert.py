"""Message <-> ndarray conversions, and the stamp that names an observation.

Learner-facing vectors (observations, action proposals, task state) travel as
sensor_msgs/JointState used as a stamped, named vector: ``name`` holds the element names,
``position`` the values, ``header.stamp`` the identity of the observation the vector
belongs to or answers (the simulation time at which it was taken; unique in a run), and
``header.frame_id`` holds ``"<episode>:<step>"`` for people reading the topic.
"""

from __future__ import annotations

import numpy as np
from builtin_interfaces.msg import Time
from geometry_msgs.msg import Twist
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray


def stamp_to_ns(stamp: Time) -> int:
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def ns_to_stamp(ns: int) -> Time:
    return Time(sec=int(ns // 1_000_000_000), nanosec=int(ns % 1_000_000_000))


def vector_msg(names, values, stamp_ns: int, label: str = "") -> JointState:
    msg = JointState()
    msg.header.stamp = ns_to_stamp(stamp_ns)
    msg.header.frame_id = label
    msg.name = list(names)
    msg.position = [float(v) for v in values]
    return msg


class VectorSizeError(ValueError):
    """A vector message with the wrong number of elements."""


def vector_from_msg(msg: JointState, expected: int, topic: str) -> np.ndarray:
    """The values of a stamped vector; a wrong length raises VectorSizeError naming topic."""
    values = np.asarray(msg.position, dtype=float)
    if values.shape[0] != expected:
        raise VectorSizeError(f"message on {topic} has {values.shape[0]} values, expected "
                              f"{expected} (frame {msg.header.frame_id or '?'})")
    return values


def float_array(values) -> Float64MultiArray:
    return Float64MultiArray(data=[float(v) for v in values])


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


#: the command for one observation, stamped with that observation's stamp (the lockstep
#: simulator pairs commands with observations by it; the robot's own topic carries no stamp)
STAMPED_COMMAND_TOPIC = "/dagger/command"


def delay_s(info) -> float:
    """Seconds between a message's publication (its source timestamp) and now (``info``:
    the MessageInfo rclpy passes a two-argument callback); 0 when the
    middleware does not give a source timestamp."""
    import time

    source = info.get("source_timestamp", 0) if info else 0
    return max(0.0, (time.time_ns() - source) / 1e9) if source else 0.0


def json_msg(payload: dict):
    """A std_msgs/String carrying one JSON object (events, decisions, statuses)."""
    import json

    from std_msgs.msg import String

    return String(data=json.dumps(payload))


def json_from_msg(msg) -> dict:
    import json

    return json.loads(msg.data)
