"""The ``dagger-ros`` command: run the node graph without ``ros2 launch``, and tools.

  dagger-ros run --config config/sim_reach.yaml [--timeout S]
  dagger-ros expert-eval --task reach --episodes 100
  dagger-ros sim [--rounds N]   (the README's main job: DAgger vs BC on 'drive')
"""

from __future__ import annotations

import argparse
import os
import sys

from dagger_ros.core.config import ConfigError


def cmd_run(args) -> int:
    from dagger_ros.core.graph import launch_plan, load_graph
    from dagger_ros.launcher import run_graph
    from dagger_ros.paths import shipped_config

    config = shipped_config(args.config)
    graph = load_graph(config)  # every section validated before anything starts
    extra = []
    if args.profile:
        from dagger_ros.core.config import ConfigError
        from dagger_ros.core.profile import load_profile

        try:
            load_profile(args.profile)
        except ConfigError as exc:
            print(f"dagger-ros run: --profile: {exc}", file=sys.stderr)
            return 2
        extra = ["-p", f"profile:={args.profile}"]
    return run_graph(config, launch_plan(graph), timeout=args.timeout, extra_args=extra)


def cmd_expert_eval(args) -> int:
    from dagger_ros.core.experts import make_expert
    from dagger_ros.core.rollout import success_rate
    from dagger_ros.core.tasks import make_task

    task = make_task(args.task)
    expert = make_expert(task)
    seeds = range(args.seed, args.seed + args.episodes)
    rate, results = success_rate(task, expert.act, seeds)
    outcomes = {o: sum(r.outcome == o for r in results) for o in ("success", "failure",
                                                                  "timeout")}
    print(f"{expert.name} on '{task.name}': success {rate:.1%} over {len(results)} seeded "
          f"episodes (seeds {seeds.start}..{seeds.stop - 1}); {outcomes}")
    return 0


def cmd_sim(args) -> int:
    from dagger_ros.main_job import run

    return run(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dagger-ros", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start the nodes of a graph YAML as separate processes")
    run.add_argument("--config", required=True,
                     help="graph YAML (a path, or the name of a shipped config)")
    run.add_argument("--profile", default="",
                     help="robot profile for every node (a path, or a name in "
                          "config/profiles/), over the YAML's")
    run.add_argument("--timeout", type=float, default=0.0,
                     help="stop the graph after this many seconds (0: run until it ends)")
    run.set_defaults(func=cmd_run)
    ev = sub.add_parser("expert-eval", help="success rate of a scripted expert (no ROS)")
    ev.add_argument("--task", default="reach")
    ev.add_argument("--episodes", type=int, default=100)
    ev.add_argument("--seed", type=int, default=0)
    ev.set_defaults(func=cmd_expert_eval)
    sim = sub.add_parser("sim", help="DAgger in simulation through the ROS 2 graph, then "
                         "BC at equal labels; writes runs/<name>/")
    sim.add_argument("--task", default="drive", choices=("drive",),
                     help="task with a shipped DAgger config (config/sim_dagger_<task>.yaml)")
    sim.add_argument("--config", default="", help="another DAgger graph YAML")
    sim.add_argument("--name", default="", help="run name (default: <task>-<time>)")
    sim.add_argument("--runs", default="runs", help="folder of runs")
    sim.add_argument("--seeds", type=int, default=1,
                     help="runs side by side, each with its own episodes and randomness; "
                     "above 1 the report gives each round's mean with its 95%% interval")
    sim.add_argument("--parallel", type=int, default=os.cpu_count() or 1,
                     help="with --seeds: graphs run side by side (default: one per core)")
    sim.add_argument("--rounds", type=int, default=None)
    sim.add_argument("--episodes-per-round", type=int, default=None)
    sim.add_argument("--eval-episodes", type=int, default=None)
    sim.add_argument("--train-steps", type=int, default=None,
                     help="gradient steps per retraining (the trainer's max_steps)")
    sim.set_defaults(func=cmd_sim)
    from dagger_ros.compare import add_parser

    add_parser(sub)
    rep = sub.add_parser("robot-report", help="the round table (rounds.md) and plot "
                         "(rounds.png) of operator-paced rounds, from a run folder's "
                         "metrics.jsonl")
    rep.add_argument("run_dir", help="the trainer's run_dir, e.g. runs/robot")
    rep.set_defaults(func=cmd_robot_report)
    lab = sub.add_parser("label", help="label a dataset's queued (unlabelled) states with a "
                         "scripted expert, merged into the dataset (async gating)")
    lab.add_argument("--dataset", required=True, help="the LeRobot dataset folder")
    lab.add_argument("--repo-id", default="local/dagger_ros")
    lab.add_argument("--task", required=True, help="task whose scripted expert labels")
    lab.set_defaults(func=cmd_label)
    return parser


def cmd_robot_report(args) -> int:
    from dagger_ros.core.config import ConfigError
    from dagger_ros.core.robot_report import write_robot_report

    try:
        table = write_robot_report(args.run_dir)
    except ConfigError as exc:
        print(f"dagger-ros robot-report: {exc}", file=sys.stderr)
        return 2
    print(table)
    print(f"written: {args.run_dir}/rounds.md, {args.run_dir}/rounds.png")
    return 0


def cmd_label(args) -> int:
    from dagger_ros.core.experts import make_expert
    from dagger_ros.core.recording import DatasetError
    from dagger_ros.core.recording.labels import relabel
    from dagger_ros.core.tasks import make_task

    expert = make_expert(make_task(args.task))
    try:
        n = relabel(args.dataset, args.repo_id, expert.act, expert.name)
    except DatasetError as exc:
        print(f"dagger-ros label: {exc}", file=sys.stderr)
        return 2
    print(f"labelled {n} frames in {args.dataset} with {expert.name}")
    return 0


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        code = args.func(args)
    except ConfigError as exc:
        print(f"dagger-ros: configuration error: {exc}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        code = 130
    sys.exit(code)


if __name__ == "__main__":
    main()
