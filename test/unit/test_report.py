"""Reports name what ran: the method after its gate, with only the parameters and columns
that apply to it."""

import pytest

from dagger_ros.core.config import from_mapping
from dagger_ros.core.report import describe_method, ensemble_name, round_table, write_report
from dagger_ros.core.rounds import TrainerConfig
from dagger_ros.core.supervisor import SupervisorConfig

ROW = {"round": 2, "beta": 0.25, "episodes": 6, "labels": 1234, "success_rate": 0.85,
       "mean_return": 1.5, "intervention_rate": 0.12, "handoffs": 7,
       "train": {"seconds": 3.2}}


def method(gating, learner="ensemble", **gate):
    supervisor = from_mapping(SupervisorConfig, {"task": "drive", "gating": gating, **gate})
    trainer = from_mapping(TrainerConfig, {"task": "drive", "learner": learner})
    return describe_method(supervisor, trainer)


@pytest.mark.parametrize("gating,name,beta,column", [
    ("beta", "DAgger", True, "expert"),
    ("safe", "SafeDAgger", False, "interv"),
    ("uncertainty", "uncertainty-gated DAgger", False, "interv"),
    ("human_gated", "HG-DAgger", False, "operator"),
    ("noise", "DART", False, None),
    ("budget", "budget-gated DAgger", False, "queried"),
    ("async", "DAgger, labels later", False, None),
])
def test_each_gate_names_its_method_and_its_columns(gating, name, beta, column):
    gate = {"label_budget": 100} if gating == "budget" else {}
    m = method(gating, **gate)
    assert (m.name, m.shows_beta, m.intervention) == (name, beta, column)
    head, row = round_table(m)
    assert ("beta" in head.split()) == beta
    assert ("0.250" in row(ROW)) == beta  # no beta column where beta means nothing
    assert len(row(ROW)) == len(head)  # the columns line up
    assert ("12%" in row(ROW)) == (column is not None)


def test_the_learner_and_bcs_ensemble_are_named_for_the_profile():
    def trainer(**values):
        return from_mapping(TrainerConfig, {"task": "reach_camera", **values})

    gating = from_mapping(SupervisorConfig, {"task": "reach_camera"})
    assert ensemble_name(trainer()) == "vision ensemble (CNN)"
    assert ensemble_name(trainer(task="drive")) == "ensemble MLP"
    assert describe_method(gating, trainer()).learner == "vision ensemble (CNN)"
    assert describe_method(gating, trainer(learner="lerobot")).learner == "LeRobot act"


def test_hg_dagger_report_says_hg_dagger_and_shows_no_beta(tmp_path):
    m = method("human_gated", learner="lerobot")
    assert m.title == "HG-DAgger (the operator's take-over button; LeRobot act learner)"
    summary = {"expert_success": 1.0, "dagger_final_success": 0.85, "bc_final_success": 0.1,
               "final_labels": 1234, "round_reaching_95pct_of_expert": None,
               "min_gap_after_reaching": None}
    write_report(tmp_path / "report.md", "drive", [ROW], [{"success_rate": 0.1}], summary,
                 {}, m)
    text = (tmp_path / "report.md").read_text()
    assert text.startswith("# HG-DAgger run: task 'drive'")
    assert "| round | episodes | expert labels | HG-DAgger success |" in text
    assert "beta" not in text and "DAgger success" not in text.replace("HG-DAgger", "")


def test_the_main_job_over_seeds_reports_means_intervals_and_ranges(tmp_path, monkeypatch):
    from dagger_ros import experiment, main_job
    from dagger_ros.cli import build_parser
    from dagger_ros.core.records import RoundMetrics

    def fake_row(round_index, labels, success):
        return RoundMetrics(round=round_index, beta=0.5, episodes=1, labels=labels,
                            collected_success=1.0, policy_frames=0, intervention_rate=0.25,
                            interventions=0, handoffs=0, operator_time_s=0.0,
                            autonomous_share=0.0, checkpoint="x", checkpoint_id="id",
                            train={"seconds": 1.0}, success_rate=success, mean_return=0.5,
                            eval_episodes=50)

    def run_side_by_side(runs, parallel, report=print):
        for k, run in enumerate(runs):  # seed k reaches 60% + 10k% in round 1
            rows = [fake_row(0, 1000 + k, 0.0), fake_row(1, 2000 + 100 * k, 0.6 + 0.1 * k)]
            (run.dir / "metrics.jsonl").write_text("".join(r.encode() + "\n" for r in rows))
        return {run.dir: 0 for run in runs}

    def baselines(runs, out, parallel, report=None):
        return [[{"labels": 1000, "success_rate": 0.0}, {"labels": 2000, "success_rate": 0.1}]
                for _ in runs], 1.0

    monkeypatch.setattr(experiment, "run_side_by_side", run_side_by_side)
    monkeypatch.setattr(experiment, "baselines_side_by_side", baselines)
    args = build_parser().parse_args(["sim", "--seeds", "3", "--runs", str(tmp_path),
                                      "--name", "s", "--eval-episodes", "50"])
    assert main_job.run(args) == 0
    report = (tmp_path / "s" / "report.md").read_text()
    assert "# DAgger run: task 'drive', 3 seeds" in report
    assert "| 1 | 2,100 (2,000-2,200) | 70% [45-95] (60-80%) | 10% | 25% |" in report
    assert (tmp_path / "s" / "learning_curve.png").stat().st_size > 10_000
    assert sorted(p.name for p in (tmp_path / "s").glob("seed_*")) == \
        ["seed_0", "seed_1", "seed_2"]
