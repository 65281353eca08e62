"""Each scripted expert alone solves seeded episodes of its task (the 100-episode figure
comes from `dagger-ros expert-eval`; here a smaller sample keeps the suite quick)."""

import pytest

from dagger_ros.core.experts import StampedAnswerer, make_expert
from dagger_ros.core.rollout import success_rate
from dagger_ros.core.tasks import make_task


@pytest.mark.parametrize("name, episodes", [("reach", 40), ("drive", 12)])
def test_expert_success_rate(name, episodes):
    task = make_task(name)
    rate, results = success_rate(task, make_expert(task).act, range(1000, 1000 + episodes))
    assert rate >= 0.95, [r for r in results if r.outcome != "success"]


def test_zero_policy_does_not_solve_reach():
    # guards the test above: the task is not solved by doing nothing
    task = make_task("reach")
    rate, _ = success_rate(task, lambda obs: obs[:3] * 0.0, range(10))
    assert rate == 0.0


def test_answerer_answers_each_stamp_once():
    task = make_task("reach")
    answerer = StampedAnswerer(make_expert(task))
    obs = task.reset(0)
    assert answerer.answer(20_000_000, obs) is not None
    assert answerer.answer(20_000_000, obs) is None  # a re-sent observation
    assert answerer.answer(40_000_000, obs) is not None
