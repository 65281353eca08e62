"""Every topic and service of the graph: its name, message type, QoS and record.

Nodes create their publishers and subscriptions from these, never from string literals,
so a name or a QoS lives in one place. JSON topics name their record class
(dagger_ros.core.records): :meth:`Topic.message` encodes a record into the message and
:meth:`Topic.read` decodes one, raising RecordError naming the topic on anything unknown.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import PointStamped, PoseStamped
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Image, JointState, Joy
from std_msgs.msg import Bool, String
from std_srvs.srv import SetBool, Trigger

from dagger_ros.core import records
from dagger_ros.ros import convert, qos


@dataclasses.dataclass(frozen=True)
class Topic:
    name: str
    type: type
    qos: Any
    #: JSON topics: the record class (or a decode function) behind the String
    record: Any = None
    #: the writer's QoS where it differs from the readers' (a deeper history)
    writer_qos: Any = None

    def message(self, record) -> Any:
        """The message carrying ``record`` (a JSON record, or a StampedVector)."""
        if isinstance(record, records.StampedVector):
            return convert.joint_state(record)
        return String(data=record.encode())

    def read(self, msg) -> Any:
        """The record a message carries (JSON topics), or its StampedVector (vectors)."""
        if self.type is JointState:
            return convert.stamped_vector(msg)
        decode = self.record.decode if hasattr(self.record, "decode") else self.record
        return decode(msg.data, self.name)


@dataclasses.dataclass(frozen=True)
class Service:
    name: str
    type: type


# -- the learner's data path ---------------------------------------------------------------
OBSERVATION = Topic("/dagger/observation", JointState, qos.STREAM,
                    writer_qos=qos.STREAM_WRITER)
EXPERT_OBSERVATION = Topic("/dagger/expert_observation", JointState, qos.STREAM,
                           writer_qos=qos.STREAM_WRITER)
EXPERT_ACTION = Topic("/dagger/expert/action", JointState, qos.STREAM,
                      writer_qos=qos.STREAM_WRITER)
POLICY_ACTION = Topic("/dagger/policy/action", JointState, qos.STREAM,
                      writer_qos=qos.STREAM_WRITER)
#: the command for one observation, stamped with it (the lockstep simulator pairs by it)
COMMAND = Topic("/dagger/command", JointState, qos.STREAM,
                writer_qos=qos.STREAM_WRITER)
DECISION = Topic("/dagger/decision", String, qos.LATCHED_STREAM, records.DecisionRecord)


def observation_image(name: str, frame_bytes: int = 96 * 96 * 3) -> Topic:
    """/dagger/observation/image/<name>: camera ``name``'s image of an observation (rgb8,
    the observation's stamp and frame label), published just before the observation;
    latched as deep as the images' size allows (qos.latched_images)."""
    return Topic(f"/dagger/observation/image/{name}", Image, qos.latched_images(frame_bytes))


def camera_image(name: str) -> Topic:
    """What a camera driver publishes, as the hardware-shaped simulator does."""
    return Topic(f"/camera/{name}/image_raw", Image, qos.SENSOR)


# -- episodes, rounds and what each node runs ----------------------------------------------
EPISODE_EVENT = Topic("/episode/event", String, qos.EVENTS, records.decode_episode_event)
#: volatile: a late joiner must never replay an old "start" or "end"
OPERATOR_EVENT = Topic("/dagger/operator/event", String, qos.STREAM, records.OperatorEvent)
ROUND = Topic("/dagger/round", String, qos.EVENTS, records.RoundAnnouncement)
POLICY_STATUS = Topic("/dagger/policy/status", String, qos.EVENTS, records.PolicyStatus)
SUPERVISOR_STATUS = Topic("/dagger/supervisor/status", String, qos.EVENTS,
                          records.SupervisorStatus)
RECORDER_SAVED = Topic("/dagger/recorder/saved", String, qos.EVENTS, records.SavedEpisode)
METRICS = Topic("/dagger/metrics", String, qos.EVENTS, records.decode_metrics)
DIAGNOSTICS = Topic("/diagnostics", DiagnosticArray, 10)
# -- safety ---------------------------------------------------------------------------------
ESTOP = Topic("/dagger/estop", Bool, qos.STREAM)
ESTOP_STATE = Topic("/dagger/estop/state", Bool, qos.EVENTS)
ESTOP_SERVICE = Service("/dagger/estop", SetBool)
# -- the robot and the simulator -------------------------------------------------------------
JOY = Topic("/joy", Joy, qos.STREAM)
JOINT_STATES = Topic("/joint_states", JointState, qos.STREAM)
TASK_STATE = Topic("/task/state", JointState, qos.STREAM)
TASK_TARGET = Topic("/task/target", PointStamped, qos.STREAM)
CLOCK = Topic("/clock", Clock, qos.CLOCK)
SIM_RESET = Service("/sim/reset", Trigger)
# -- what the hardware-shaped simulator exposes besides /joint_states: a robot's sensors ------
TOOL_POSE = Topic("/tcp_pose_broadcaster/pose", PoseStamped, qos.STREAM)  # as UR's broadcaster
TARGET = Topic("/target", PointStamped, qos.STREAM)  # as a perception node would give it
#: where the target is from the tool (base axes), as a detector that sees both reports it
TARGET_OFFSET = Topic("/target_offset", PointStamped, qos.STREAM)
#: the simulated person re-places the target (a person resetting the scene by hand)
SCENE_RESET = Service("/hardware_sim/reset_scene", Trigger)
#: episodes for scripts, beside the gamepad's buttons (the observer serves them)
EPISODE_SERVICES = {kind: Service(f"/dagger/episode/{kind}", Trigger)
                    for kind in ("start", "end", "success", "failure")}


def publisher(node, topic: Topic, profile=None):
    return node.create_publisher(topic.type, topic.name, profile or topic.writer_qos or topic.qos)


def subscribe(node, topic: Topic, callback: Callable, profile=None):
    return node.create_subscription(topic.type, topic.name, callback, profile or topic.qos)


def service(node, srv: Service, callback: Callable):
    return node.create_service(srv.type, srv.name, callback)


def client(node, srv: Service):
    return node.create_client(srv.type, srv.name)
