"""`dagger-ros compare`: the gating family side by side on one task, through the real graph,
over several seeds.

Each method runs ``--seeds`` times (the graph of five node processes, or six with the
simulated operator, with the bridge hosting expert, policy and supervisor), for the same
rounds and episodes per round, from the same expert demonstrations in round 0
(``--first-round-episodes``), evaluated on the same held-out seeds. Graphs run
``--parallel`` at a time, each on a ROS domain of its own. Seed s collects its own
episodes and draws, trains and operates with its own randomness (experiment.seed_overrides).
BC is fitted, per seed, at the label counts that seed's beta run reached.

Writes runs/<name>/<method>/seed_<s>/ (each a full run folder), bc/seed_<s>/,
comparison.png (mean success against mean expert labels, with the 95% interval of the
mean as a band), comparison.json (every seed's rows and the aggregates) and
comparison.md, including each method's success at an equal label budget (the smallest
mean final label count among the methods) and the intervention rate per round.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from dagger_ros import experiment
from dagger_ros.core.seeds import across_seeds, fmt_ci, success_at, success_at_budget

#: method -> (shipped config, {node: parameter overrides})
METHODS = {
    "DAgger (beta)": ("sim_dagger_drive", {}),
    "SafeDAgger": ("sim_dagger_drive", {"supervisor": {"gating": "safe",
                                                       "safe_threshold": 0.3}}),
    "uncertainty-gated": ("sim_dagger_drive", {"supervisor": {
        "gating": "uncertainty", "target_intervention_rate": 0.2}}),
    "HG-DAgger (sim operator)": ("sim_hg_dagger_drive", {}),
    # IWR / Sirius weighting: take-over frames x3, the 10 frames before a take-over dropped
    "HG-DAgger + IWR weights": ("sim_hg_dagger_drive", {"trainer": {
        "intervention_weight": 3.0, "pre_intervention_steps": 10,
        "pre_intervention_weight": 0.0}}),
}
BETA = "DAgger (beta)"

__all__ = ["METHODS", "compare", "success_at", "trend"]


class GraphFailed(RuntimeError):
    """One run's graph ended with an error (a node died, see its log)."""


def folder_name(method: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in method.lower()).strip("_")


def trend(rates: list) -> str:
    """'23% -> 5% (-78%)': round 1's intervention rate against the last round's."""
    first, last = rates[1] if len(rates) > 1 else None, rates[-1]
    if first is None or last is None:
        return "-"
    change = f" ({100 * (last - first) / first:+.0f}%)" if first else ""
    return f"{100 * first:.0f}% -> {100 * last:.0f}%{change}"


def run_methods(args) -> dict[str, list[list[dict]]]:
    """Every method's rows, one list per seed; the graphs not yet run run side by side."""
    out = Path(args.out)
    runs: dict[str, list[experiment.Run]] = {}
    todo = []
    for method, (config, overrides) in METHODS.items():
        runs[method], fresh = experiment.prepare_seeds(
            config, out / folder_name(method), args.seeds, nodes=overrides,
            trainer={"rounds": args.rounds, "episodes_per_round": args.episodes_per_round,
                     "eval_episodes": args.eval_episodes,
                     "stop_at_target": False,  # every method runs all rounds
                     "first_round_episodes": args.first_round_episodes,
                     "threads": experiment.threads_per_run(args.parallel)},
            reuse=args.reuse, rounds=args.rounds)
        todo += fresh
        for run in runs[method]:
            if run not in fresh:
                print(f"[compare] {method}, {run.dir.name}: reusing {run.dir}", flush=True)
    names = {run.dir: f"{m}, seed {run.dir.name.split('_')[-1]}"
             for m, rs in runs.items() for run in rs}
    start = time.monotonic()
    codes = experiment.run_side_by_side(
        todo, args.parallel, report=lambda line: print(f"[compare] {line}", flush=True))
    failed = [run for run in todo if codes.get(run.dir) != 0]
    if failed:
        raise GraphFailed("; ".join(f"{names[r.dir]}: the graph failed, see {r.log_file}"
                                    for r in failed))
    if todo:
        print(f"[compare] {len(todo)} graphs in {time.monotonic() - start:.0f} s "
              f"({args.parallel} at a time)", flush=True)
    return {method: [experiment.read_rows(run) for run in rs] for method, rs in runs.items()}


def compare(args) -> int:
    from dagger_ros.core.report import plot_comparison

    out = Path(args.out) / (args.name or f"compare-{time.strftime('%Y%m%d-%H%M%S')}")
    args.out = str(out)
    start = time.monotonic()
    try:
        curves = run_methods(args)
    except GraphFailed as exc:
        print(f"dagger-ros compare: {exc}; the runs already finished are kept (--reuse "
              "resumes)", file=sys.stderr)
        return 1
    print(f"[compare] BC at the label counts of each beta seed, {args.parallel} at a time",
          flush=True)
    beta_runs = [experiment.Run(Path(args.out) / folder_name(BETA) / f"seed_{s}",
                                Path(args.out) / folder_name(BETA) / f"seed_{s}" /
                                "graph.yaml", {}) for s in range(args.seeds)]
    bc_runs, expert_rate = experiment.baselines_side_by_side(
        beta_runs, Path(args.out) / "bc", args.parallel,
        report=lambda line: print(f"[compare] {line}", flush=True))
    aggregated = {m: across_seeds(runs) for m, runs in curves.items()}
    bc = across_seeds(bc_runs)
    budget = min(rows[-1]["labels"] for rows in aggregated.values())
    plot_comparison(aggregated, bc, expert_rate, budget, out / "comparison.png",
                    f"drive: success vs expert labels, {args.seeds} seeds a method (mean, "
                    f"95% interval), {args.rounds} rounds x {args.episodes_per_round} "
                    f"episodes ({args.first_round_episodes} in round 0), "
                    f"{args.eval_episodes} evaluation seeds")
    table = []
    for method, runs in {**curves, "BC": bc_runs}.items():
        agg = aggregated.get(method, bc)
        at = success_at_budget(runs, budget)
        table.append({"method": method, "seeds": len(runs),
                      "final_labels": agg[-1]["labels"],
                      "final_labels_range": [agg[-1]["labels_min"], agg[-1]["labels_max"]],
                      "final_success": agg[-1]["success_rate"],
                      "final_success_ci95": agg[-1]["success_ci95"],
                      "final_success_range": [agg[-1]["success_min"], agg[-1]["success_max"]],
                      "success_at_budget": at,
                      "intervention_rate": [r["intervention_rate"] for r in agg]})
    minutes = (time.monotonic() - start) / 60
    summary = {"budget": budget, "expert_success": expert_rate, "seeds": args.seeds,
               "eval_episodes": args.eval_episodes, "minutes": round(minutes, 1),
               "methods": table, "aggregated": aggregated, "bc_aggregated": bc,
               "per_seed": curves, "bc_per_seed": bc_runs}
    (out / "comparison.json").write_text(json.dumps(summary, indent=2))
    lines = [f"# Comparison on 'drive', {args.seeds} seeds a method", "",
             f"Mean over seeds [the 95% interval of the mean, Student's t], and the range. "
             f"Equal label budget: {budget:.0f} labels (the smallest mean final count). "
             f"Expert success {expert_rate:.0%} on the same {args.eval_episodes} held-out "
             f"seeds. {minutes:.0f} min on {os.cpu_count()} cores, {args.parallel} graphs at "
             "a time.", "",
             "| method | success at the budget | final labels (range) | final success "
             "(range) | intervention rate per round (mean) |", "|---|---|---|---|---|"]
    for row in table:
        at = row["success_at_budget"]
        within = (f" ({at['seeds_within']} of {row['seeds']} seeds within it)"
                  if at["seeds_within"] < row["seeds"] else "")
        low, high = row["final_labels_range"]
        s_low, s_high = row["final_success_range"]
        rates = ", ".join("-" if r is None else f"{100 * r:.0f}%"
                          for r in row["intervention_rate"])
        lines.append(f"| {row['method']} | {fmt_ci(at['mean'], at['ci95'])}{within} | "
                     f"{row['final_labels']:,.0f} ({low:,}-{high:,}) | "
                     f"{fmt_ci(row['final_success'], row['final_success_ci95'])} "
                     f"({100 * s_low:.0f}-{100 * s_high:.0f}%) | "
                     f"{rates if row['method'] != 'BC' else '-'} |")
    lines += ["", "Intervention rate, round 1 to the last round (HG-DAgger: the operator's "
              "share of control; the uncertainty gate: the expert's share of decisions, "
              "target 20%):", ""]
    lines += [f"- {row['method']}: {trend(row['intervention_rate'])}" for row in table
              if any(r is not None for r in row["intervention_rate"])]
    (out / "comparison.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines[4:]))
    print(f"\nplot: {out / 'comparison.png'}\ntable: {out / 'comparison.md'}")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("compare", help="BC, DAgger, SafeDAgger, uncertainty-gated and "
                       "HG-DAgger on the drive task over several seeds, one plot")
    p.add_argument("--seeds", type=int, default=3, help="runs per method")
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--episodes-per-round", type=int, default=3)
    p.add_argument("--first-round-episodes", type=int, default=1,
                   help="expert demonstrations in round 0, the same for every method")
    p.add_argument("--eval-episodes", type=int, default=50)
    p.add_argument("--parallel", type=int, default=max(1, (os.cpu_count() or 2)),
                   help="graphs run side by side (default: one per core)")
    p.add_argument("--name", default="")
    p.add_argument("--out", default="runs")
    p.add_argument("--reuse", action="store_true", help="keep the runs already finished in "
                   "runs/<name>/ (resume a comparison, or re-run one method after deleting "
                   "its folder)")
    p.set_defaults(func=lambda a: compare(a))


if __name__ == "__main__":
    sys.exit("use: dagger-ros compare")
