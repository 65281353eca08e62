"""Typed records: every record that crosses a topic round-trips, and anything unknown is
an error naming the topic and the value, never a silent default."""

import numpy as np
import pytest

from dagger_ros.core import records as r
from dagger_ros.core.records import RecordError

from .sample_records import decision

TOPIC = "/dagger/test"

SAMPLES = [
    decision(100, "policy", 2, label="3:4", value=0.4, threshold=0.5),
    r.EpisodeStart(episode=1, seed=7, task="drive", stamp_ns=20, session="abc"),
    r.EpisodeEnd(episode=1, seed=7, outcome=r.Outcome.SUCCESS, steps=3, episode_return=0.5,
                 session="abc", wall_s=0.1),
    r.EpisodesFinished(episodes=4, session="abc"),
    r.OperatorEvent(event=r.OperatorEventKind.FAILURE, stamp_ns=5),
    r.RoundAnnouncement(round=2, checkpoint_path="/c/x", checkpoint_id="x"),
    r.PolicyStatus(round=2, checkpoint_id="x", checkpoint_path="/c/x", error=None),
    r.SupervisorStatus(round=2, beta=0.25, checkpoint_id=None),
    r.SavedEpisode(episode_index=0, sim_episode=1, seed=7, outcome=r.Outcome.INTERRUPTED,
                   frames=3, round=1, checkpoint_id="x", label_source="s", gating="beta",
                   beta=0.5, expert_frames=1, policy_frames=2, hold_frames=0,
                   unlabelled_frames=0, interventions=0, intervention_frames=0, handoffs=1,
                   first_stamp_ns=0, last_stamp_ns=40, session="abc"),
    r.MetricsFinished(),
]


@pytest.mark.parametrize("record", SAMPLES, ids=lambda x: type(x).__name__)
def test_every_json_record_round_trips(record):
    text = record.encode()
    if isinstance(record, (r.EpisodeStart, r.EpisodeEnd, r.EpisodesFinished)):
        assert r.decode_episode_event(text, TOPIC) == record
    elif isinstance(record, r.MetricsFinished):
        assert r.decode_metrics(text, TOPIC) == record
    else:
        assert type(record).decode(text, TOPIC) == record


def test_codes_never_change_meaning():
    # what datasets already on disk store: append-only
    assert r.Source.code_table() == {"expert": 0, "policy": 1, "hold": 2}
    assert list(r.Reason.code_table().items())[:18] == [
        ("no_policy", 0), ("beta_draw", 1), ("policy_timeout", 2),
        ("invalid_policy_action", 3), ("estop", 4), ("expert_timeout", 5),
        ("stale_input", 6), ("no_label", 7), ("discrepancy", 8), ("handback", 9),
        ("uncertainty", 10), ("warming_up", 11), ("operator_takeover", 12),
        ("autonomous", 13), ("dart_noise", 14), ("budget_query", 15),
        ("budget_exhausted", 16), ("async_queued", 17)]
    assert r.Reason.from_code(12) is r.Reason.OPERATOR_TAKEOVER
    with pytest.raises(RecordError, match="unknown Reason code 99"):
        r.Reason.from_code(99)


@pytest.mark.parametrize("change, message", [
    ({"reason": "guess"}, "'reason' = 'guess' is not a known Reason"),
    ({"source": "robot"}, "'source' = 'robot' is not a known Source"),
    ({"round": "1"}, "'round' = '1' is not an integer"),
    ({"round": True}, "'round' = True is not an integer"),
    ({"expert_action": [1.0, "x"]}, r"'expert_action\[1\]' = 'x' is not a number"),
    ({"sent": 1}, "'sent' = 1 is not true or false"),
    ({"extra": 1}, r"unknown key\(s\) \['extra'\] for a DecisionRecord"),
])
def test_decoding_a_bad_decision_names_the_topic_key_and_value(change, message):
    data = {**decision(1).as_dict(), **change}
    with pytest.raises(RecordError, match=f"message on {TOPIC}.*{message}"):
        r.DecisionRecord.from_dict(data, TOPIC)


def test_missing_keys_and_non_json_are_named():
    data = decision(1).as_dict()
    del data["beta"]
    with pytest.raises(RecordError, match=f"message on {TOPIC} lacks 'beta'"):
        r.DecisionRecord.from_dict(data, TOPIC)
    with pytest.raises(RecordError, match=f"message on {TOPIC} is not JSON"):
        r.DecisionRecord.decode("{not json", TOPIC)
    with pytest.raises(RecordError, match="'event' = 'paused' is not one of start, end"):
        r.decode_episode_event('{"event": "paused"}', TOPIC)
    with pytest.raises(RecordError, match="'outcome' = 'won' is not a known Outcome"):
        r.decode_episode_event('{"event": "end", "episode": 0, "seed": 0, "outcome": "won", '
                               '"steps": 1}', TOPIC)


def test_frame_labels_and_the_reset_reply_are_parsed_in_one_place():
    assert r.frame_label(3, 17) == "3:17" and r.parse_frame("3:17", TOPIC) == (3, 17)
    for bad in ("", "3", "a:b", "3:"):
        with pytest.raises(RecordError, match=f"{TOPIC}: frame '{bad}' is not"):
            r.parse_frame(bad, TOPIC)
    reply = r.ResetReply(episode=4, seed=9)
    assert r.ResetReply.decode(reply.encode(), "/sim/reset") == reply
    with pytest.raises(RecordError, match="reply of /sim/reset is not 'episode N seed S'"):
        r.ResetReply.decode("episode four", "/sim/reset")


def test_expert_answer_wire_rules_live_in_one_place():
    names = ["u", "v"]
    labelled = r.ExpertAnswer(5, "0:1", np.array([0.1, 0.2]), takeover=True)
    back = r.ExpertAnswer.decode(labelled.encode(names), 2, TOPIC)
    assert back.takeover and np.allclose(back.action, [0.1, 0.2])
    silent = r.ExpertAnswer.decode(r.ExpertAnswer(5, "0:1", None).encode(names), 2, TOPIC)
    assert silent.action is None and not silent.takeover  # empty position: no label
    with pytest.raises(RecordError, match=f"message on {TOPIC} has 3 values, expected 2"):
        r.ExpertAnswer.decode(r.StampedVector(5, "0:1", names, [1, 2, 3]), 2, TOPIC)


def test_policy_answer_carries_spread_and_uncertainty():
    answer = r.PolicyAnswer(5, "0:1", np.array([0.1, 0.2]), np.array([0.01, 0.02]), 0.3)
    back = r.PolicyAnswer.decode(answer.encode(["u", "v"]), 2, TOPIC)
    assert np.allclose(back.spread, [0.01, 0.02]) and back.uncertainty == 0.3
    with pytest.raises(RecordError, match="has 1 spread values"):
        r.PolicyAnswer.decode(r.StampedVector(5, "0:1", [], [1, 2], [1]), 2, TOPIC)
    # a NaN spread says nothing: unknown uncertainty, which gates treat as high
    assert r.PolicyAnswer.decode(r.StampedVector(5, "0:1", [], [1, 2], [], [np.nan]), 2,
                                 TOPIC).uncertainty is None
