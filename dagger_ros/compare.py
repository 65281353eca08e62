"""`dagger-ros compare`: the gating family side by side on one task, through the real graph.

Each method runs the six-node graph (seven with the simulated operator) for the same
rounds, episodes per round and evaluation seeds, and starts from the same expert
demonstrations in round 0 (``--first-round-episodes``); BC is fitted at the label counts the
beta run reached. Writes runs/<name>/<method>/ (each a full run folder),
comparison.png (success against expert labels, all methods), comparison.json and a table
in comparison.md, including each method's success at an equal label budget (the smallest
final label count among the methods) and the per-round intervention figures.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from dagger_ros import experiment

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


class GraphFailed(RuntimeError):
    """One method's graph ended with an error (a node died, see its log)."""


def folder_name(method: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in method.lower()).strip("_")


def run_method(args, method: str, config: str, overrides: dict) -> list[dict]:
    """One method's full run (or its rows, with --reuse, if it ran already)."""
    folder = Path(args.out) / folder_name(method)
    if args.reuse and (folder / "metrics.jsonl").exists():  # ran already: keep its rows
        rows = experiment.read_rows(experiment.Run(folder, folder / "graph.yaml", {}))
        print(f"[compare] {method}: reusing {folder} ({len(rows)} rounds)", flush=True)
        return rows
    run = experiment.prepare_run(
        config, args.out, folder_name(method), nodes=overrides,
        trainer={"rounds": args.rounds, "episodes_per_round": args.episodes_per_round,
                 "eval_episodes": args.eval_episodes,
                 "stop_at_target": False,  # every method runs all rounds
                 "first_round_episodes": args.first_round_episodes})  # from the same demos
    print(f"[compare] {method}: {run.dir}", flush=True)
    start = time.monotonic()
    if experiment.run_graph(run) != 0:
        raise GraphFailed(f"{method}: the graph failed; see {run.log_file}")
    rows = experiment.read_rows(run)
    print(f"[compare] {method}: {len(rows)} rounds in {time.monotonic() - start:.0f} s; "
          f"final success {rows[-1]['success_rate']:.0%} at {rows[-1]['labels']} labels",
          flush=True)
    return rows


def success_at(rows: list[dict], budget: int) -> float | None:
    """Success of the last round whose labels fit in the budget."""
    fit = [r for r in rows if r["labels"] <= budget]
    return fit[-1]["success_rate"] if fit else None


def trend(rates: list) -> str:
    """'23% -> 5% (-78%)': round 1's intervention rate against the last round's."""
    first, last = rates[1] if len(rates) > 1 else None, rates[-1]
    if first is None or last is None:
        return "-"
    change = f" ({100 * (last - first) / first:+.0f}%)" if first else ""
    return f"{100 * first:.0f}% -> {100 * last:.0f}%{change}"


def compare(args) -> int:
    from dagger_ros.core.graph import load_graph
    from dagger_ros.core.report import plot_comparison

    out = Path(args.out) / (args.name or f"compare-{time.strftime('%Y%m%d-%H%M%S')}")
    args.out = str(out)
    try:
        curves = {m: run_method(args, m, cfg, ov) for m, (cfg, ov) in METHODS.items()}
    except GraphFailed as exc:
        print(f"dagger-ros compare: {exc}; the methods already run are kept (--reuse "
              "resumes)", file=sys.stderr)
        return 1
    trainer = load_graph(out / folder_name("DAgger (beta)") / "graph.yaml")["trainer"]
    labels = [r["labels"] for r in curves["DAgger (beta)"]]
    print(f"[compare] BC at {labels} labels", flush=True)
    bc, expert_rate = experiment.baseline(trainer, labels, out)
    budget = min(rows[-1]["labels"] for rows in curves.values())
    plot_comparison(curves, bc, expert_rate, budget, out / "comparison.png",
                    f"{trainer.task}: success vs expert labels, {args.rounds} rounds x "
                    f"{args.episodes_per_round} episodes "
                    f"({args.first_round_episodes} in round 0)")
    table = []
    for method, rows in {**curves, "BC": bc}.items():
        table.append({"method": method, "final_labels": rows[-1]["labels"],
                      "final_success": rows[-1]["success_rate"],
                      "success_at_budget": success_at(rows, budget),
                      "intervention_rate": [r.get("intervention_rate") for r in rows]})
    summary = {"budget": budget, "expert_success": expert_rate, "methods": table,
               "rounds": {m: rows for m, rows in curves.items()}, "bc": bc}
    (out / "comparison.json").write_text(json.dumps(summary, indent=2))
    lines = [f"# Comparison on '{trainer.task}'", "",
             f"Equal label budget: {budget} labels (the smallest final count). Expert success "
             f"{expert_rate:.0%} on the same {trainer.eval_episodes} held-out seeds.", "",
             "| method | success at the budget | final labels | final success | "
             "intervention rate per round |", "|---|---|---|---|---|"]
    for row in table:
        rates = ", ".join("-" if r is None else f"{100 * r:.0f}%"
                          for r in row["intervention_rate"])
        at = row["success_at_budget"]
        lines.append(f"| {row['method']} | {'-' if at is None else f'{100 * at:.0f}%'} | "
                     f"{row['final_labels']} | {100 * row['final_success']:.0f}% | "
                     f"{rates if row['method'] != 'BC' else '-'} |")
    lines += ["", "Intervention rate, round 1 to the last round (HG-DAgger: the operator's "
              "share of control):", ""]
    lines += [f"- {row['method']}: {trend(row['intervention_rate'])}" for row in table
              if any(r is not None for r in row["intervention_rate"])]
    (out / "comparison.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines[4:]))
    print(f"\nplot: {out / 'comparison.png'}\ntable: {out / 'comparison.md'}")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("compare", help="BC, DAgger, SafeDAgger, uncertainty-gated and "
                       "HG-DAgger on the drive task, one plot")
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--episodes-per-round", type=int, default=3)
    p.add_argument("--first-round-episodes", type=int, default=1,
                   help="expert demonstrations in round 0, the same for every method")
    p.add_argument("--eval-episodes", type=int, default=20)
    p.add_argument("--name", default="")
    p.add_argument("--out", default="runs")
    p.add_argument("--reuse", action="store_true", help="keep the methods already run in "
                   "runs/<name>/ (resume a comparison, or re-run one method after deleting "
                   "its folder)")
    p.set_defaults(func=lambda a: compare(a))


if __name__ == "__main__":
    sys.exit("use: dagger-ros compare")
