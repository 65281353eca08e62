"""Benchmark: lockstep steps per second and peak memory of the full DAgger graph.

  ./dev.sh shell, then: python bench/dagger_graph.py [--episodes 3] [--beta 0.5]

Five node processes (bridge, expert, policy with a real checkpoint, supervisor, recorder)
on the drive task in lockstep. This script plays the trainer's part once (it announces
round 1 with the checkpoint), takes steps/s from the bridge's own episode timing (so it
adds no subscriber of its own to the observation stream), samples the resident memory of
every node process, and checks that the recorder saved every step.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import yaml

os.environ.setdefault("ROS_DOMAIN_ID", str(151 - os.getpid() % 50))
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"


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


def main() -> None:
    import psutil
    from std_msgs.msg import String

    from dagger_ros.core.records import RoundAnnouncement
    from dagger_ros.launcher import sigterm_as_interrupt, start_child, stop_child
    from dagger_ros.ros import topics
    from dagger_ros.ros.watch import Listener

    sigterm_as_interrupt()  # `timeout` or a CI job stopping this script stops its graph

    parser = argparse.ArgumentParser()
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--beta", type=float, default=0.5)
    parser.add_argument("--task", default="drive", choices=("drive", "reach"))
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="dagger_bench_"))
    checkpoint = make_checkpoint(tmp / "checkpoints", args.task)
    graph = {
        "/**": {"ros__parameters": {"task": args.task, "stepping": "lockstep"}},
        "mujoco_bridge": {"ros__parameters": {"wait_for_nodes": ["policy", "recorder"]}},
        "expert": {"ros__parameters": {}},
        "policy": {"ros__parameters": {}},
        "supervisor": {"ros__parameters": {"beta_schedule": "constant", "beta0": args.beta}},
        "recorder": {"ros__parameters": {"dataset_root": str(tmp / "dataset")}},
    }
    config = tmp / "graph.yaml"
    config.write_text(yaml.safe_dump(graph))
    watch = Listener({"/episode/event": String, "/dagger/recorder/saved": String,
                      "/dagger/supervisor/status": String})
    announce = topics.publisher(watch.node, topics.ROUND)
    announce.publish(topics.ROUND.message(RoundAnnouncement(1, str(checkpoint), "bench")))
    run = start_child(["dagger-ros", "run", "--config", str(config)],
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = {"total": 0, "per_node": {}, "cpu": {}}
    done = threading.Event()

    def sample():
        parent = psutil.Process(run.pid)
        while not done.is_set():
            try:
                procs = parent.children(recursive=True)
                rss = {}
                for p in procs:
                    try:
                        name = Path(p.cmdline()[1] if "python" in p.cmdline()[0]
                                    else p.cmdline()[0]).name
                        rss[name] = rss.get(name, 0) + p.memory_info().rss
                        times = p.cpu_times()
                        peak["cpu"][name] = times.user + times.system
                    except (psutil.NoSuchProcess, IndexError):
                        pass
                if sum(rss.values()) > peak["total"]:
                    peak["total"], peak["per_node"] = sum(rss.values()), rss
            except psutil.NoSuchProcess:
                break
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        # the graph runs episodes back to back; stop it once the recorder saved enough
        ok = watch.wait_until(
            lambda: len(watch.messages["/dagger/recorder/saved"]) >= args.episodes, 600)
    finally:
        stop_child(run, timeout=60)
        done.set()
        sampler.join()
    if not ok:
        raise SystemExit("the recorder did not save the episodes in time")
    saved = watch.records(topics.RECORDER_SAVED)[:args.episodes]
    ends = [e for e in watch.events() if e.EVENT == "end"][:args.episodes]
    status = watch.records(topics.SUPERVISOR_STATUS)
    print(f"executor: {os.environ.get('DAGGER_ROS_EXECUTOR', 'single')}; {os.cpu_count()} CPUs; "
          f"supervisor beta {status[-1].beta if status else '?'}, policy "
          f"{status[-1].checkpoint_id if status else '?'}")
    rates = [e.steps / e.wall_s for e in ends]
    print(f"full graph lockstep (bridge, expert, policy, supervisor, recorder; {args.task}): "
          f"{sum(e.steps for e in ends)} steps in {len(ends)} episodes; "
          f"{sum(e.steps for e in ends) / sum(e.wall_s for e in ends):.0f} steps/s "
          f"(per episode: {', '.join(f'{r:.0f}' for r in rates)})")
    print(f"recorder saved {sum(s.frames for s in saved)} frames of "
          f"{sum(e.steps for e in ends)} steps; policy acted in "
          f"{sum(s.policy_frames for s in saved)} of them")
    per = ", ".join(f"{k} {v / 2**20:.0f}" for k, v in sorted(peak["per_node"].items()))
    print(f"peak resident memory of the graph: {peak['total'] / 2**20:.0f} MiB ({per} MiB)")
    cpu = ", ".join(f"{k} {v:.1f}" for k, v in sorted(peak["cpu"].items()) if v > 0.05)
    print(f"CPU seconds per node over the run, start-up included: {cpu}")
    watch.close()


if __name__ == "__main__":
    main()
