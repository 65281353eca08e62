"""Benchmark: lockstep steps per second, CPU per node and peak memory of the full DAgger graph.

  ./dev.sh shell, then: python bench/dagger_graph.py [--runs 3] [--episodes 6] [--layout ...]

The graph: bridge, expert, policy with a real checkpoint, supervisor, recorder, on the
drive task in lockstep, as the shipped sim configs run it. This script plays the
trainer's part once (it announces round 1 with the checkpoint), takes steps/s from the
bridge's own episode timing (so it adds no subscriber of its own to the observation
stream), and checks that the recorder saved every step. Layouts (``--layout``, default
all three):

- ``processes``: one process per node, rclpy's default (Python) executor;
- ``processes-events``: one process per node, rclpy's EventsExecutor;
- ``in-process``: the bridge hosts expert, policy and supervisor (``in_process``), one
  EventsExecutor; the recorder in its own process (what the sim configs run).

Per layout it prints steps/s over ``--runs`` runs (median and range) and each node
process's CPU seconds per 1,000 steps, measured between the end of the first episode
and the end of the last (start-up excluded), median over the runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import yaml

os.environ.setdefault("ROS_DOMAIN_ID", str(151 - os.getpid() % 50))
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"

LAYOUTS = {  # name -> (DAGGER_ROS_EXECUTOR, the bridge's in_process)
    "processes": ("single", []),
    "processes-events": ("events", []),
    "in-process": (None, ["expert", "policy", "supervisor"]),
}


def make_checkpoint(folder: Path, task_name: str) -> Path:
    """A policy trained briefly on expert data, so the policy node does real inference."""
    from dagger_ros.core.config import from_mapping
    from dagger_ros.core.dagger_loop import expert_rollouts, stack
    from dagger_ros.core.policy_model import save_checkpoint
    from dagger_ros.core.tasks import make_task
    from dagger_ros.core.training import TrainConfig, train_ensemble

    task = make_task(task_name)
    obs, act, ids = stack(expert_rollouts(task_name, 1000))
    policy, _ = train_ensemble(obs, act, ids, task.observation_names, task.action_names,
                               from_mapping(TrainConfig, {"max_steps": 200}))
    return save_checkpoint(policy, folder, {"name": "bench"})


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_run(tmp: Path, checkpoint: Path, args, executor: str | None,
            in_process: list[str], index: int) -> dict:
    import psutil
    from std_msgs.msg import String

    from dagger_ros.core.records import RoundAnnouncement
    from dagger_ros.launcher import node_processes, start_child, stop_child
    from dagger_ros.ros import topics
    from dagger_ros.ros.watch import Listener

    folder = tmp / f"run_{index}"
    folder.mkdir()
    graph = {
        "/**": {"ros__parameters": {"task": args.task, "stepping": "lockstep"}},
        "mujoco_bridge": {"ros__parameters": {"wait_for_nodes": ["policy", "recorder"],
                                              "in_process": in_process}},
        "expert": {"ros__parameters": {}},
        "policy": {"ros__parameters": {}},
        "supervisor": {"ros__parameters": {"beta_schedule": "constant", "beta0": args.beta}},
        "recorder": {"ros__parameters": {"dataset_root": str(folder / "dataset")}},
    }
    config = folder / "graph.yaml"
    config.write_text(yaml.safe_dump(graph))
    env = dict(os.environ)
    env.pop("DAGGER_ROS_EXECUTOR", None)
    if executor:
        env["DAGGER_ROS_EXECUTOR"] = executor
    watch = Listener({"/episode/event": String, "/dagger/recorder/saved": String,
                      "/dagger/supervisor/status": String})
    announce = topics.publisher(watch.node, topics.ROUND)
    announce.publish(topics.ROUND.message(RoundAnnouncement(1, str(checkpoint), "bench")))
    run = start_child(["dagger-ros", "run", "--config", str(config)], env=env,
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = {"total": 0, "per_node": {}}
    done = threading.Event()

    def sample_memory():
        while not done.is_set():
            try:
                rss = {}
                for name, pid in node_processes(run.pid).items():
                    try:
                        rss[name] = psutil.Process(pid).memory_info().rss
                    except psutil.NoSuchProcess:
                        pass
                if sum(rss.values()) > peak["total"]:
                    peak["total"], peak["per_node"] = sum(rss.values()), rss
            except OSError:
                pass
            time.sleep(0.2)

    sampler = threading.Thread(target=sample_memory, daemon=True)
    sampler.start()
    cpu_at: list[dict[str, float]] = []
    try:
        def ended() -> int:
            return sum(1 for e in watch.events() if e.EVENT == "end")

        for want in (1, args.episodes):  # CPU at the first episode's end and the last's
            if not watch.wait_until(lambda w=want: ended() >= w, 600):
                raise SystemExit("the graph did not finish its episodes in time")
            cpu_at.append({n: cpu_seconds(p) for n, p in node_processes(run.pid).items()})
        watch.wait_until(lambda: watch.count(topics.RECORDER_SAVED) >= args.episodes, 60)
    finally:
        stop_child(run, timeout=60)
        done.set()
        sampler.join()
        watch.close()
    saved = watch.records(topics.RECORDER_SAVED)[:args.episodes]
    ends = [e for e in watch.events() if e.EVENT == "end"][:args.episodes]
    steps = sum(e.steps for e in ends)
    later = sum(e.steps for e in ends[1:])  # steps between the two CPU samples
    cpu = {n: 1000 * (cpu_at[1][n] - cpu_at[0][n]) / max(later, 1) for n in cpu_at[1]}
    return {"steps_per_s": steps / sum(e.wall_s for e in ends), "steps": steps,
            "saved": sum(s.frames for s in saved), "cpu_per_1000": cpu,
            "peak_mib": peak["total"] / 2**20}


def main() -> None:
    from dagger_ros.launcher import sigterm_as_interrupt

    sigterm_as_interrupt()  # `timeout` or a CI job stopping this script stops its graph
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--episodes", type=int, default=6)
    parser.add_argument("--beta", type=float, default=0.5)
    parser.add_argument("--task", default="drive", choices=("drive", "reach"))
    parser.add_argument("--layout", action="append", choices=tuple(LAYOUTS),
                        help="layouts to measure (default: all)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="dagger_bench_"))
    checkpoint = make_checkpoint(tmp / "checkpoints", args.task)
    print(f"{os.cpu_count()} CPUs; {args.task}, lockstep, beta {args.beta}, {args.episodes} "
          f"episodes a run, {args.runs} runs a layout; CPU s per 1,000 steps after the "
          "first episode", flush=True)
    for layout in args.layout or tuple(LAYOUTS):
        executor, in_process = LAYOUTS[layout]
        results = [one_run(tmp, checkpoint, args, executor, in_process,
                           len(list(tmp.glob("run_*")))) for _ in range(args.runs)]
        rates = [r["steps_per_s"] for r in results]
        lost = [r["steps"] - r["saved"] for r in results]
        nodes = sorted(results[0]["cpu_per_1000"])
        cpu = ", ".join(f"{n} {statistics.median(r['cpu_per_1000'][n] for r in results):.2f}"
                        for n in nodes)
        print(f"{layout:>16}: {statistics.median(rates):.0f} steps/s (range "
              f"{min(rates):.0f}-{max(rates):.0f}; runs {', '.join(f'{r:.0f}' for r in rates)});"
              f" frames not saved: {sum(lost)} of {sum(r['steps'] for r in results)}; peak "
              f"memory {max(r['peak_mib'] for r in results):.0f} MiB", flush=True)
        print(f"{'':>16}  CPU s per 1,000 steps: {cpu}", flush=True)


if __name__ == "__main__":
    main()
