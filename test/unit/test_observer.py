"""The observer without ROS: observations from robot topics by header stamp and max age,
and episodes paced by the operator."""

import math
from types import SimpleNamespace as Msg

import numpy as np
import pytest

from dagger_ros.core.config import ConfigError
from dagger_ros.core.observer import (
    ObservationBuilder,
    OperatorEpisodes,
    ProfileMismatch,
)
from dagger_ros.core.profile import load_profile
from dagger_ros.core.records import EpisodeEnd, EpisodeStart, OperatorEventKind

JOINTS = ["base_yaw", "shoulder_pitch", "elbow_pitch"]
S = 1_000_000_000


def header(t_ns):
    return Msg(stamp=Msg(sec=t_ns // S, nanosec=t_ns % S))


def joint_states(t_ns, names=JOINTS, position=(0.1, 0.2, 0.3), velocity=(1.0, 2.0, 3.0)):
    return Msg(header=header(t_ns), name=list(names), position=list(position),
               velocity=list(velocity), effort=[])


def target(t_ns, x=0.3, y=0.0, z=0.2):
    return Msg(header=header(t_ns), point=Msg(x=x, y=y, z=z))


def tool(t_ns, x=0.2, y=0.0, z=0.3):
    return Msg(header=header(t_ns), pose=Msg(position=Msg(x=x, y=y, z=z)))


def offset(t_ns, x=0.1, y=0.0, z=-0.1):
    return Msg(header=header(t_ns), point=Msg(x=x, y=y, z=z))


TOOL = "/tcp_pose_broadcaster/pose"
OFFSET = "/target_offset"


def builder():
    return ObservationBuilder(load_profile("reach_position"))


def test_observation_is_built_from_the_newest_messages_in_profile_order():
    b = builder()
    b.message("/joint_states", joint_states(10 * S, names=["elbow_pitch", "base_yaw",
                                                           "shoulder_pitch"],
                                            position=(0.3, 0.1, 0.2), velocity=(3, 1, 2)))
    b.message(TOOL, tool(10 * S))
    b.message("/target", target(10 * S))
    b.message(OFFSET, offset(10 * S))
    values, why = b.build(10 * S + 50_000_000)
    assert why is None
    # joints by name, then the tool, then the target and its offset (environment)
    assert np.allclose(values, [0.1, 0.2, 0.3, 0.2, 0.0, 0.3, 0.3, 0.0, 0.2, 0.1, 0.0, -0.1])


def test_missing_stale_and_non_finite_inputs_mean_no_observation_naming_the_topic():
    b = builder()
    assert b.build(S) == (None, "no message on /joint_states yet")
    b.message("/joint_states", joint_states(10 * S))
    assert b.never_heard() == [TOOL, "/target", OFFSET]
    b.message(TOOL, tool(10 * S))
    b.message(OFFSET, offset(10 * S))
    b.message("/target", target(9 * S))
    values, why = b.build(10 * S)
    assert values is None and why == "/target is 1.000 s old (max_age 0.5 s)"
    b.message("/target", target(10 * S))
    b.message("/joint_states", joint_states(10 * S, position=(0.1, math.nan, 0.3)))
    values, why = b.build(10 * S)
    assert values is None and why == "/joint_states carries NaN/Inf in shoulder_pitch.position"


def test_a_joint_or_field_the_topic_lacks_stops_at_the_first_message_listing_what_is_there():
    b = builder()
    with pytest.raises(ProfileMismatch, match="/joint_states has no joint 'elbow_pitch' .*"
                       "its joints: base_yaw, shoulder_pitch, wrist"):
        b.message("/joint_states", joint_states(S, names=["base_yaw", "shoulder_pitch",
                                                          "wrist"]))
    with pytest.raises(ProfileMismatch, match="geometry_msgs/msg/PointStamped on /target has "
                       "no 'point.x'.*its fields: header, position"):
        b.message("/target", Msg(header=header(S), position=Msg(x=0, y=0, z=0)))


def test_a_simulator_profile_cannot_be_observed():
    with pytest.raises(ConfigError, match="describes a simulator's own observation"):
        ObservationBuilder(load_profile("drive"))


def test_episodes_follow_the_operator_buttons():
    e = OperatorEpisodes("reach", session="s1")
    assert e.observation_label(S) == ("-1:0", [])  # between episodes
    [start] = e.press(OperatorEventKind.START, 2 * S)
    assert isinstance(start, EpisodeStart) and (start.episode, start.session) == (0, "s1")
    assert [e.observation_label(t * S)[0] for t in (3, 4, 5)] == ["0:0", "0:1", "0:2"]
    assert e.press(OperatorEventKind.SUCCESS, 6 * S) == []  # a mark, not an end
    [end] = e.press(OperatorEventKind.END, 7 * S)
    assert isinstance(end, EpisodeEnd)
    assert (end.episode, end.outcome, end.steps, end.wall_s) == (0, "success", 3, 5.0)
    assert e.observation_label(8 * S)[0] == "-1:1"
    e.press(OperatorEventKind.START, 9 * S)
    e.observation_label(9 * S)
    restart = e.press(OperatorEventKind.START, 10 * S)  # start again: abort and begin anew
    assert [(type(r).__name__, r.episode) for r in restart] == [("EpisodeEnd", 1),
                                                                 ("EpisodeStart", 2)]
    assert restart[0].outcome == "aborted"


def test_an_episode_longer_than_its_timeout_ends_as_timeout():
    e = OperatorEpisodes("reach", episode_timeout_s=2.0)
    e.press(OperatorEventKind.START, 0)
    assert e.observation_label(S)[1] == []
    label, [end] = e.observation_label(2 * S)
    assert end.outcome == "timeout" and end.steps == 1 and label == "-1:0"
