"""The round table and plot of operator-paced rounds, from metrics.jsonl alone."""

import pytest

from dagger_ros.core.config import ConfigError
from dagger_ros.core.records import RoundMetrics
from dagger_ros.core.robot_report import table_rows, write_robot_report
from dagger_ros.core.rounds import append_metrics


def row(r, success, intervention, evaluated_by="operator"):
    return RoundMetrics(
        round=r, beta=0.0, episodes=20 * (r + 1), labels=1000 + 100 * r,
        collected_success=1.0, policy_frames=0 if r == 0 else 900,
        intervention_rate=intervention, interventions=3 * r, handoffs=6 * r,
        operator_time_s=2.5 * r, autonomous_share=None, checkpoint=f"ck/round_{r}-id{r}",
        checkpoint_id=f"id{r}", train={"seconds": 30.0}, success_rate=success,
        mean_return=None, eval_episodes=20, evaluated_by=evaluated_by)


def test_each_round_names_the_policy_that_drove_it_and_its_figures(tmp_path):
    rows = [row(0, 0.0, None), row(1, 0.55, 0.2), row(2, 0.9, 0.05)]
    for r in rows:
        append_metrics(tmp_path, r)
    table = table_rows(rows)
    assert [t[1] for t in table] == ["operator", "id0", "id1"]  # round r: trained after r-1
    assert [t[3] for t in table] == ["-", "55%", "90%"]  # no own success without a policy
    assert [t[4] for t in table] == ["-", "20%", "5%"]
    text = write_robot_report(tmp_path)
    assert "| 2 | id1 | 20 | 90% | 5% |" in text
    assert (tmp_path / "rounds.md").read_text().startswith("# HG-DAgger rounds")
    assert (tmp_path / "rounds.png").stat().st_size > 10_000


def test_nothing_to_report_or_a_simulation_is_refused_naming_the_file(tmp_path):
    with pytest.raises(ConfigError, match="metrics.jsonl: no such file"):
        write_robot_report(tmp_path)
    append_metrics(tmp_path, row(0, 0.8, 0.1, evaluated_by="simulator"))
    with pytest.raises(ConfigError, match="is a simulation's"):
        write_robot_report(tmp_path)
