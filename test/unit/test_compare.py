"""`dagger-ros compare` without running graphs: its figures and its failure message."""

import argparse
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


def test_a_failed_graph_is_named_and_the_methods_already_run_are_kept(tmp_path, monkeypatch,
                                                                      capsys):
    ran = []

    def run_method(args, method, config, overrides):
        if len(ran) == 1:
            raise compare.GraphFailed(f"{method}: the graph failed; see x/logs/graph.log")
        ran.append(method)
        return [{"round": 0, "labels": 10, "success_rate": 0.0}]

    monkeypatch.setattr(compare, "run_method", run_method)
    args = build_parser().parse_args(["compare", "--out", str(tmp_path), "--name", "c"])
    assert args.first_round_episodes == 1 and args.episodes_per_round == 3
    assert compare.compare(args) == 1
    err = capsys.readouterr().err
    assert "dagger-ros compare: SafeDAgger: the graph failed; see x/logs/graph.log" in err
    assert "--reuse resumes" in err and ran == ["DAgger (beta)"]


def test_reuse_keeps_a_finished_method(tmp_path):
    from dagger_ros.core.records import RoundMetrics

    folder = tmp_path / "c" / compare.folder_name("SafeDAgger")
    folder.mkdir(parents=True)
    row = RoundMetrics(round=0, beta=1.0, episodes=1, labels=5, collected_success=1.0,
                       policy_frames=0, intervention_rate=None, interventions=0, handoffs=0,
                       operator_time_s=0.0, autonomous_share=0.0, checkpoint="x",
                       checkpoint_id="id", train={}, success_rate=1.0, mean_return=0.5,
                       eval_episodes=2)
    (folder / "metrics.jsonl").write_text(row.encode() + "\n")
    args = argparse.Namespace(out=str(tmp_path / "c"), reuse=True)
    rows = compare.run_method(args, "SafeDAgger", "sim_dagger_drive", {})
    assert rows == [row.as_dict()]
    assert (rows[0]["labels"], rows[0]["success_rate"]) == (5, 1.0)


@pytest.mark.parametrize("method", list(compare.METHODS))
def test_folder_names_are_plain(method):
    assert compare.folder_name(method).replace("_", "").isalnum()
