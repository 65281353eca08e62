"""The trainer's round loop without ROS: announce, collect, retrain, evaluate, stop."""

import dataclasses
from pathlib import Path

import pytest

from dagger_ros.core.config import from_mapping
from dagger_ros.core.records import Outcome, SavedEpisode
from dagger_ros.core.rounds import TrainerConfig, gate_summary, read_metrics, run_rounds


class Ports:
    """The graph, as the loop sees it: every call is logged."""

    def __init__(self):
        self.calls, self.saved_episodes, self.next_episode = [], [], 0

    def announce(self, announcement):
        self.calls.append(("announce", announcement.round, announcement.checkpoint_id,
                           announcement.final))

    def wait_for_supervisor(self, round_index, timeout):
        self.calls.append(("supervisor", round_index))

    def start_episode(self, deadline):
        episode, self.next_episode = self.next_episode, self.next_episode + 1
        self.calls.append(("start", episode))
        return episode

    def wait_saved(self, episode, timeout):
        self.saved_episodes.append(SavedEpisode(
            episode_index=episode, sim_episode=episode, seed=episode, outcome=Outcome.SUCCESS,
            frames=10, round=self.round(), checkpoint_id=None, label_source="s",
            gating="beta", beta=0.5, expert_frames=10, policy_frames=0, hold_frames=0,
            unlabelled_frames=0, interventions=0, intervention_frames=0, handoffs=0,
            first_stamp_ns=0, last_stamp_ns=9 * 20_000_000))

    def round(self):
        return max([c[1] for c in self.calls if c[0] == "supervisor"], default=0)

    def saved(self):
        return list(self.saved_episodes)

    def publish(self, row):
        self.calls.append(("metrics", row.round, row.labels))

    def log(self, line):
        self.calls.append(("log", line))


def fake_retrain(config, round_index):
    path = Path(config.run_dir) / "checkpoints" / f"round_{round_index:03d}-id{round_index}"
    return path, {"policy": round_index, "report": {"seconds": 0.0}}


def config(tmp_path, **values):
    return from_mapping(TrainerConfig, {"run_dir": str(tmp_path), "task": "drive", **values})


def test_rounds_announce_collect_retrain_and_announce_the_last_checkpoint(tmp_path):
    ports = Ports()
    rates = iter([0.2, 0.6, 0.8])
    rows = run_rounds(config(tmp_path, rounds=3, episodes_per_round=2,
                             first_round_episodes=1, stop_at_target=False), ports,
                      retrain=fake_retrain,
                      evaluate=lambda c, p: {"success_rate": next(rates), "mean_return": 0.0,
                                             "eval_episodes": 2})
    plan = [c for c in ports.calls if c[0] != "log"]
    assert plan == [
        ("announce", 0, None, False), ("supervisor", 0), ("start", 0), ("metrics", 0, 10),
        ("announce", 1, "id0", False), ("supervisor", 1), ("start", 1), ("start", 2),
        ("metrics", 1, 30),
        ("announce", 2, "id1", False), ("supervisor", 2), ("start", 3), ("start", 4),
        ("metrics", 2, 50),
        ("announce", 3, "id2", True)]  # the last checkpoint reaches the policy too
    assert [row.round for row in read_metrics(tmp_path / "metrics.jsonl")] == [0, 1, 2]
    assert [row.success_rate for row in rows] == [0.2, 0.6, 0.8]


def test_the_round_log_gives_each_gate_in_its_own_terms():
    def episode(round_index, gating, policy, took):
        return SavedEpisode(
            episode_index=0, sim_episode=0, seed=0, outcome=Outcome.SUCCESS, frames=20,
            round=round_index, checkpoint_id=None, label_source="s", gating=gating,
            beta=0.5, expert_frames=took, policy_frames=policy, hold_frames=0,
            unlabelled_frames=0, interventions=1, intervention_frames=took, handoffs=2,
            first_stamp_ns=0, last_stamp_ns=19 * 20_000_000)

    assert gate_summary([episode(1, "beta", 10, 10)], 1) == "beta 0.500"
    # an uncertainty gate's beta is unused: the expert's share of the policy's time instead
    saved = [episode(0, "uncertainty", 0, 0), episode(1, "uncertainty", 15, 5),
             episode(1, "uncertainty", 17, 3)]
    assert gate_summary(saved, 1) == "uncertainty gate, intervention rate 20%"
    assert gate_summary(saved, 0) == ("uncertainty gate, no policy drove (the expert's "
                                      "episodes)")
    assert gate_summary(saved, 2) == "no episodes"


def test_the_round_loop_logs_the_gate_and_a_refused_warm_start(tmp_path):
    ports = Ports()
    beta_saved = ports.wait_saved

    def uncertainty_saved(episode, timeout):  # the policy drove 18 steps, the expert 2
        beta_saved(episode, timeout)
        ports.saved_episodes[-1] = dataclasses.replace(
            ports.saved_episodes[-1], gating="uncertainty", policy_frames=18,
            intervention_frames=2, interventions=1)

    ports.wait_saved = uncertainty_saved

    def refused(config, round_index):
        path, trained = fake_retrain(config, round_index)
        trained["report"]["start"] = "fresh: warm start refused, observation 'a' lies far"
        return path, trained

    run_rounds(config(tmp_path, rounds=1, episodes_per_round=1, first_round_episodes=1,
                      stop_at_target=False), ports, retrain=refused,
               evaluate=lambda c, p: {"success_rate": 0.5, "mean_return": 0.0,
                                      "eval_episodes": 2})
    said = [c[1] for c in ports.calls if c[0] == "log"]
    assert "round 0: warm start refused, observation 'a' lies far; trained from scratch" in said
    assert any(line.startswith("round 0: uncertainty gate, intervention rate 10%, 10 labels")
               for line in said), said


def test_rounds_stop_once_the_target_is_reached(tmp_path):
    ports = Ports()
    rows = run_rounds(config(tmp_path, rounds=10, target_success=0.9), ports,
                      retrain=fake_retrain,
                      evaluate=lambda c, p: {"success_rate": 0.95, "mean_return": 0.0,
                                             "eval_episodes": 2})
    assert len(rows) == 1
    assert ("log", "target success 90% reached") in ports.calls
    assert ports.calls[-1] == ("announce", 10, "id0", True)


def test_a_round_that_never_completes_is_an_error_naming_what_it_waited_for(tmp_path):
    class Stuck(Ports):
        def wait_saved(self, episode, timeout):
            raise TimeoutError(f"timed out after {timeout:g} s waiting for the recorder to "
                               f"save episode {episode}")

    with pytest.raises(TimeoutError, match="the recorder to save episode 0"):
        run_rounds(config(tmp_path, rounds=2), Stuck(), retrain=fake_retrain)
