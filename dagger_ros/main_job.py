"""``dagger-ros sim``: DAgger in simulation through the ROS 2 graph, then BC at equal labels.

runs/<name>/ receives: graph.yaml (the exact configuration), dataset/ (the LeRobot dataset
DAgger collected), checkpoints/, metrics.jsonl (one row per round), bc_dataset/ and
bc_metrics.json (the baseline), learning_curve.png, summary.json, report.md, logs/.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

from dagger_ros import experiment


def trainer_overrides(args) -> dict:
    return {"rounds": args.rounds, "episodes_per_round": args.episodes_per_round,
            "eval_episodes": args.eval_episodes, "max_steps": args.train_steps}


def run_seeds(args) -> int:
    """The main job over several seeds: the graphs side by side, BC per seed, the mean
    learning curves with their 95% intervals."""
    from dagger_ros.core.report import (
        describe_method,
        plot_comparison,
        write_json,
        write_seed_report,
    )
    from dagger_ros.core.seeds import across_seeds

    out = Path(args.runs) / (args.name or experiment.default_name(args.task))
    config = args.config or f"sim_dagger_{args.task}"
    runs, todo = experiment.prepare_seeds(
        config, out, args.seeds,
        trainer={**trainer_overrides(args), "threads": experiment.threads_per_run(args.parallel)})
    trainer = runs[0].trainer
    method = describe_method(runs[0].graph["supervisor"], trainer)
    print(f"dagger-ros sim: {method.title}; task '{trainer.task}', {args.seeds} seeds side "
          f"by side ({args.parallel} at a time), {trainer.rounds} rounds x "
          f"{trainer.episodes_per_round} episodes, evaluation on {trainer.eval_episodes} "
          f"held-out seeds; output in {out}/ (each seed's node logs: seed_<s>/logs/)",
          flush=True)
    start = time.monotonic()
    codes = experiment.run_side_by_side(todo, args.parallel,
                                        report=lambda line: print(f"  {line}", flush=True))
    failed = [run for run in todo if codes.get(run.dir) != 0]
    if failed:
        print("dagger-ros sim: " + "; ".join(f"{r.dir.name}: the graph failed, see "
                                             f"{r.log_file}" for r in failed),
              file=sys.stderr)
        return 1
    rows = [experiment.read_rows(run) for run in runs]
    print(f"  graphs done in {time.monotonic() - start:.0f} s; BC per seed...", flush=True)
    bc_runs, expert_rate = experiment.baselines_side_by_side(
        runs, out / "bc", args.parallel, report=lambda line: print(f"  {line}", flush=True))
    agg, bc = across_seeds(rows), across_seeds(bc_runs)
    plot = out / "learning_curve.png"
    plot_comparison({method.name: agg}, bc, expert_rate, None, plot,
                    f"{trainer.task}: success vs expert labels, {method.title}; mean of "
                    f"{args.seeds} seeds with the 95% interval of the mean; "
                    f"{trainer.eval_episodes} evaluation seeds")
    write_json(out / "summary.json", {"method": method.title, "seeds": args.seeds,
                                      "expert_success": expert_rate, "rounds": agg,
                                      "bc": bc, "per_seed": rows, "bc_per_seed": bc_runs,
                                      "minutes": round((time.monotonic() - start) / 60, 1)})
    table = write_seed_report(out / "report.md", trainer.task, method, agg, bc, expert_rate,
                              args.seeds, trainer.eval_episodes,
                              {"runs": out, "learning curve": plot,
                               "summary": out / "summary.json"})
    print("\n" + "\n".join(table))
    print(f"\nreport: {out / 'report.md'}\nplot:   {plot}")
    return 0


def run(args) -> int:
    from sensor_msgs.msg import JointState  # noqa: F401  (rclpy import before the watcher)
    from std_msgs.msg import String
    from tqdm import tqdm

    from dagger_ros.core.records import RoundMetrics
    from dagger_ros.core.report import describe_method, round_table
    from dagger_ros.ros import topics
    from dagger_ros.ros.watch import Listener

    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    if args.seeds > 1:
        return run_seeds(args)
    run = experiment.prepare_run(
        args.config or f"sim_dagger_{args.task}", args.runs,
        args.name or experiment.default_name(args.task), trainer=trainer_overrides(args))
    run_dir, trainer = run.dir, run.trainer
    method = describe_method(run.graph["supervisor"], trainer)
    head, table_row = round_table(method)
    total = trainer.total_episodes()
    first = (f" ({trainer.first_round_episodes} in round 0)"
             if trainer.first_round_episodes else "")
    print(f"dagger-ros sim: {method.title}; task '{trainer.task}', {trainer.rounds} rounds x "
          f"{trainer.episodes_per_round} episodes{first}, evaluation on {trainer.eval_episodes} "
          f"held-out seeds; output in {run_dir}/ (node logs: {run_dir}/logs/graph.log)")
    metrics, saved_topic = topics.METRICS.name, topics.RECORDER_SAVED.name
    watch = Listener({metrics: String, saved_topic: String})
    rows: list[dict] = []
    bar = tqdm(total=total, desc=f"{method.name} episodes", unit="ep", file=sys.stdout,
               dynamic_ncols=True)
    stop = threading.Event()

    def follow():
        seen_rows = seen_saved = 0
        tqdm.write(head)
        while not stop.is_set():
            watch.wait_until(
                lambda r=seen_rows, s=seen_saved: len(watch.messages[metrics]) > r
                or len(watch.messages[saved_topic]) > s, 0.5)
            saved = watch.messages[saved_topic]
            if len(saved) > seen_saved:
                bar.update(len(saved) - seen_saved)
                seen_saved = len(saved)
            for msg in watch.messages[metrics][seen_rows:]:
                row = topics.METRICS.read(msg)
                seen_rows += 1
                if isinstance(row, RoundMetrics):
                    rows.append(row.as_dict())
                    tqdm.write(table_row(rows[-1]))
                    bar.set_postfix(round=row.round, success=f"{row.success_rate:.0%}")

    follower = threading.Thread(target=follow, daemon=True)
    follower.start()
    code = experiment.run_graph(run)
    time.sleep(0.5)
    stop.set()
    follower.join(timeout=2)
    bar.total = bar.n  # the trainer may stop early at its target success rate
    bar.refresh()
    bar.close()
    watch.close()
    if code != 0:
        print(f"dagger-ros sim: the graph failed; see {run_dir}/logs/graph.log", file=sys.stderr)
        return code
    rows = experiment.read_rows(run)
    if not rows:
        print(f"dagger-ros sim: stopped before round 0 was trained; nothing to report (the "
              f"dataset so far is in {run_dir}/dataset)", file=sys.stderr)
        return 1
    return baseline_and_report(run_dir, trainer, rows, method)


def baseline_and_report(run_dir: Path, trainer, rows: list[dict], method) -> int:
    from tqdm import tqdm

    from dagger_ros.core.report import (
        ensemble_name,
        plot_learning_curve,
        summarize,
        write_json,
        write_report,
    )

    labels = [r["labels"] for r in rows]
    bar = tqdm(total=len(labels), desc="BC baseline", unit="fit", file=sys.stdout)
    bc, expert_rate = experiment.baseline(trainer, labels, run_dir,
                                          progress=lambda _row: bar.update(1))
    bar.close()
    write_json(run_dir / "bc_metrics.json", bc)
    plot = run_dir / "learning_curve.png"
    bc_learner = f"; BC: {ensemble_name(trainer)}" if trainer.learner == "lerobot" else ""
    plot_learning_curve(rows, bc, expert_rate, plot,
                        f"{trainer.task}: success vs expert labels, {method.title}"
                        f"{bc_learner}; eval on held-out seeds", method.name)
    summary = summarize(rows, bc, expert_rate)
    write_json(run_dir / "summary.json", summary)
    files = {"dataset (LeRobot)": run_dir / "dataset", "checkpoints": run_dir / "checkpoints",
             "metrics": run_dir / "metrics.jsonl", "BC metrics": run_dir / "bc_metrics.json",
             "learning curve": plot, "node logs": run_dir / "logs" / "graph.log"}
    write_report(run_dir / "report.md", trainer.task, rows, bc, summary, files, method)
    name = method.name
    print()
    print(f"{'round':>5} {'labels':>7} {name:>{max(7, len(name))}} {'BC':>5}")
    for d, b in zip(rows, bc, strict=True):
        print(f"{d['round']:>5} {d['labels']:>7} "
              f"{100 * d['success_rate']:>{max(7, len(name)) - 1}.0f}% "
              f"{100 * b['success_rate']:>4.0f}%")
    reached = summary["round_reaching_95pct_of_expert"]
    print(f"\nexpert success {expert_rate:.0%}; {name} reached 95% of it "
          + (f"in round {reached}" if reached is not None else "in no round")
          + f"; final {name} {summary['dagger_final_success']:.0%} vs BC "
          f"{summary['bc_final_success']:.0%} at {summary['final_labels']} labels")
    print(f"report: {run_dir / 'report.md'}\nplot:   {plot}")
    return 0
