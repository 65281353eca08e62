"""Figures over seeds: means with the 95% interval of the mean, ranges, equal budgets."""

import math

import pytest

from dagger_ros.core.seeds import across_seeds, fmt_ci, mean_ci, success_at_budget, t975


def test_interval_is_students_t_over_the_seeds():
    mean, half = mean_ci([0.7, 0.8, 0.9])
    assert mean == pytest.approx(0.8)
    assert half == pytest.approx(4.303 * 0.1 / math.sqrt(3))  # std 0.1, 2 dof
    assert mean_ci([0.5]) == (0.5, 0.0) and math.isnan(mean_ci([None])[0])
    assert t975(1) == 12.706 and t975(12) == 2.228 and t975(100) == 1.96


def test_rounds_are_aggregated_over_the_seeds_that_reached_them():
    runs = [[{"round": 0, "labels": 100, "success_rate": 0.0, "intervention_rate": None},
             {"round": 1, "labels": 300, "success_rate": 0.5, "intervention_rate": 0.4}],
            [{"round": 0, "labels": 120, "success_rate": 0.1, "intervention_rate": None},
             {"round": 1, "labels": 340, "success_rate": 0.7, "intervention_rate": 0.2},
             {"round": 2, "labels": 500, "success_rate": 0.9, "intervention_rate": 0.1}]]
    rows = across_seeds(runs)
    assert len(rows) == 2  # round 2 only one seed reached
    assert (rows[1]["labels"], rows[1]["labels_min"], rows[1]["labels_max"]) == (320, 300, 340)
    assert rows[1]["success_rate"] == pytest.approx(0.6)
    assert (rows[1]["success_min"], rows[1]["success_max"]) == (0.5, 0.7)
    assert rows[1]["intervention_rate"] == pytest.approx(0.3)
    assert rows[0]["intervention_rate"] is None


def test_success_at_a_budget_counts_only_seeds_within_it():
    runs = [[{"labels": 100, "success_rate": 0.2}, {"labels": 300, "success_rate": 0.6}],
            [{"labels": 250, "success_rate": 0.4}]]
    at = success_at_budget(runs, 200)
    assert at["per_seed"] == [0.2, None] and at["seeds_within"] == 1 and at["mean"] == 0.2
    assert fmt_ci(0.85, 0.12) == "85% [73-97]" and fmt_ci(0.5, 0.0) == "50%"
    assert fmt_ci(0.17, 2.12) == "17% [0-100]"  # two seeds: t = 12.7
