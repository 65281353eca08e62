"""The in-process loop takes the graph's own decisions: the supervisor core with its gate
(including what a gate executes instead of the chosen action, and what it labels)."""

import numpy as np

from dagger_ros.core.dagger_loop import InProcessGraph, expert_rollouts, stack
from dagger_ros.core.records import Reason, Source


def test_expert_rollouts_are_recorded_as_the_graph_decides_them():
    [episode] = expert_rollouts("reach", 1, noise=[], seed_base=5)
    reasons = {f.decision.reason for f in episode.frames}
    assert reasons == {Reason.NO_POLICY}  # no policy exists yet: the expert drives
    stamps = [f.stamp_ns for f in episode.frames]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)  # the sim clock
    assert [f.step for f in episode.frames] == list(range(len(episode.frames)))
    assert episode.seed == 5 and episode.end.steps == len(episode.frames)


def test_dart_noise_is_executed_and_the_label_stays_clean():
    graph = InProcessGraph.for_task("reach", noise=[], gating="noise", noise_initial=0.3)
    episode = graph.collect_episode(3)
    executed = np.array([f.decision.executed_action for f in episode.frames])
    label = np.array([f.decision.expert_action for f in episode.frames])
    assert {f.decision.reason for f in episode.frames} == {Reason.DART_NOISE}
    assert np.all(np.abs(executed - label).max(axis=1) > 0)  # the noise reached the robot


def test_a_gate_that_labels_only_its_queries_leaves_the_rest_unlabelled():
    from dagger_ros.core.training import TrainConfig, train_ensemble

    graph = InProcessGraph.for_task("reach", noise=[], gating="human_gated")
    demo = graph.collect_episode(0)
    obs, act = demo.labelled()
    policy, _ = train_ensemble(obs, act, np.zeros(len(obs)), graph.sim.task.observation_names,
                               graph.sim.task.action_names,
                               TrainConfig(members=2, hidden=[16], max_steps=20))
    graph.set_policy(policy, 1, "ck")
    driven = graph.collect_episode(1)  # nobody holds the take-over button
    assert {f.decision.source for f in driven.frames} == {Source.POLICY}
    assert all(f.decision.expert_action is None for f in driven.frames)
    obs_none, act_none = driven.labelled()
    assert obs_none.shape == (0, obs.shape[1]) and act_none.shape == (0, act.shape[1])
    # an episode without labels stacks with those that have some (it once broke the stack)
    stacked_obs, stacked_act, ids = stack([demo, driven])
    assert len(stacked_obs) == len(obs) and stacked_act.shape == act.shape
    assert set(ids) == {0}
