"""`dagger-ros compare` without running graphs: its figures and its failure message."""

from pathlib import Path

import pytest

from dagger_ros import compare
from dagger_ros.cli import build_parser


def test_trend_reads_round_one_against_the_last_round():
    assert compare.trend([None, 0.4, 0.3, 0.1]) == "40% -> 10% (-75%)"
    assert compare.trend([None, 0.0, 0.0]) == "0% -> 0%"
    assert compare.trend([None]) == "-" and compare.trend([None, None, None]) == "-"


def test_success_at_budget_is_the_last_round_within_it():
    rows = [{"labels": 1000, "success_rate": 0.1}, {"labels": 2000, "success_rate": 0.5},
            {"labels": 3000, "success_rate": 0.9}]
    assert compare.success_at(rows, 2500) == 0.5
    assert compare.success_at(rows, 3000) == 0.9
    assert compare.success_at(rows, 500) is None


def test_every_method_config_and_override_names_real_nodes_and_keys():
    from dagger_ros.core.graph import NODE_CONFIGS, load_graph

    for method, (config, overrides) in compare.METHODS.items():
        graph = load_graph(Path(__file__).parents[2] / "config" / f"{config}.yaml")
        for node, values in overrides.items():
            assert node in graph, f"{method}: {config} has no '{node}'"
            fields = NODE_CONFIGS[node].__dataclass_fields__
            assert set(values) <= set(fields), f"{method}: unknown keys for {node}"


def metrics_row(labels, success, rate=None):
    from dagger_ros.core.records import RoundMetrics

    return RoundMetrics(round=0, beta=1.0, episodes=1, labels=labels, collected_success=1.0,
                        policy_frames=0, intervention_rate=rate, interventions=0, handoffs=0,
                        operator_time_s=0.0, autonomous_share=0.0, checkpoint="x",
                        checkpoint_id="id", train={}, success_rate=success, mean_return=0.5,
                        eval_episodes=2)


def test_a_failed_graph_is_named_with_its_seed_and_finished_runs_are_kept(tmp_path,
                                                                          monkeypatch, capsys):
    started = []

    def run_side_by_side(runs, parallel, report=print):
        started.extend(runs)
        return {run.dir: (1 if run.dir.parent.name == "safedagger"
                          and run.dir.name == "seed_1" else 0) for run in runs}

    monkeypatch.setattr(compare.experiment, "run_side_by_side", run_side_by_side)
    args = build_parser().parse_args(["compare", "--out", str(tmp_path), "--name", "c",
                                      "--seeds", "2"])
    assert (args.first_round_episodes, args.episodes_per_round, args.eval_episodes) == \
        (1, 3, 50)
    assert compare.compare(args) == 1
    err = capsys.readouterr().err
    assert "SafeDAgger, seed 1: the graph failed, see " in err and "graph.log" in err
    assert "--reuse resumes" in err
    assert len(started) == 2 * len(compare.METHODS)  # every run was prepared and started
    # each seed collects its own episodes; evaluation seeds are shared
    import yaml

    graphs = [yaml.safe_load((r.dir / "graph.yaml").read_text().split("\n", 1)[1])
              for r in started[:2]]
    assert [g["mujoco_bridge"]["ros__parameters"]["seed"] for g in graphs] == [0, 1000]
    assert [g["trainer"]["ros__parameters"]["seed"] for g in graphs] == [0, 1]
    assert all(g["trainer"]["ros__parameters"]["eval_episodes"] == 50 for g in graphs)


def test_reuse_keeps_finished_runs_and_reruns_unfinished_ones(tmp_path, monkeypatch):
    args = build_parser().parse_args(["compare", "--out", str(tmp_path / "c"), "--seeds",
                                      "2", "--rounds", "1", "--reuse"])
    for method in compare.METHODS:
        folder = tmp_path / "c" / compare.folder_name(method) / "seed_0"
        folder.mkdir(parents=True)
        (folder / "metrics.jsonl").write_text(metrics_row(5, 1.0).encode() + "\n")
    started = []

    def run_side_by_side(runs, parallel, report=print):
        for run in runs:  # as if the graph ran its round
            (run.dir / "metrics.jsonl").write_text(metrics_row(7, 0.5).encode() + "\n")
        started.extend(runs)
        return {run.dir: 0 for run in runs}

    monkeypatch.setattr(compare.experiment, "run_side_by_side", run_side_by_side)
    curves = compare.run_methods(args)
    assert {r.dir.name for r in started} == {"seed_1"}  # seed 0 of every method was kept
    assert [[row["labels"] for row in rows] for rows in curves["SafeDAgger"]] == [[5], [7]]


def test_seed_overrides_keep_the_methods_own_and_skip_absent_nodes():
    from dagger_ros.experiment import seed_overrides

    beta = seed_overrides("sim_dagger_drive", 2, {"supervisor": {"gating": "safe"}})
    assert beta == {"supervisor": {"seed": 2, "gating": "safe"},
                    "mujoco_bridge": {"seed": 2000}, "trainer": {"seed": 2}}
    assert seed_overrides("sim_hg_dagger_drive", 1)["sim_operator"] == {"seed": 1}


@pytest.mark.parametrize("method", list(compare.METHODS))
def test_folder_names_are_plain(method):
    assert compare.folder_name(method).replace("_", "").isalnum()
