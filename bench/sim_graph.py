"""Benchmark: the bridge + expert graph through ROS 2, as separate processes.

  ./dev.sh run ... or, inside the environment:  python bench/sim_graph.py

Prints (1) lockstep steps per second (drive task: long episodes, few resets) and
(2) realtime-mode timing at 100 Hz: the interval between consecutive /joint_states as
received by a separate process (so it includes the cross-process hop), its median, standard
deviation and worst deviations from the 10 ms period.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from dagger_ros.launcher import sigterm_as_interrupt, start_child, stop_child

os.environ.setdefault("ROS_DOMAIN_ID", str(101 - os.getpid() % 50))
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"


def graph_file(folder: Path, bridge: dict, expert: dict | None) -> Path:
    sections = {"mujoco_bridge": {"ros__parameters": bridge}}
    if expert is not None:
        sections["expert"] = {"ros__parameters": expert}
    path = folder / "bench.yaml"
    path.write_text(yaml.safe_dump(sections))
    return path


def lockstep(folder: Path, episodes: int) -> None:
    from sensor_msgs.msg import JointState
    from std_msgs.msg import String

    from dagger_ros.ros.watch import Listener

    watch = Listener({"/dagger/observation": JointState, "/episode/event": String})
    config = graph_file(folder, {"task": "drive", "episodes": episodes, "seed": 0,
                                 "wait_for_subscribers": 1},
                        {"task": "drive", "drive_robot": True})
    run = start_child(["dagger-ros", "run", "--config", str(config)],
                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _, err = run.communicate(timeout=600)
    finally:
        stop_child(run)
    if run.returncode != 0:
        sys.exit(f"graph failed: {err[-2000:]}")
    watch.wait_until(lambda: any(e.EVENT == "finished" for e in watch.events()), 10)
    times = np.array(watch.arrivals["/dagger/observation"])
    ends = [e for e in watch.events() if e.EVENT == "end"]
    steps = sum(e.steps for e in ends)
    rate = (len(times) - 1) / (times[-1] - times[0])
    print(f"lockstep (bridge + expert, drive): {steps} steps in {len(ends)} episodes; "
          f"{rate:.0f} steps/s through ROS ({1e6 / rate:.0f} us per step: observation -> "
          f"expert -> command -> physics); outcomes "
          f"{sorted({e.outcome.value for e in ends})}")
    watch.close()


def realtime(folder: Path, seconds: float) -> None:
    from sensor_msgs.msg import JointState

    from dagger_ros.ros.watch import Listener

    watch = Listener({"/joint_states": JointState})
    config = graph_file(folder, {"task": "reach", "stepping": "realtime",
                                 "control_rate_hz": 100.0, "wait_for_subscribers": 0,
                                 "max_episode_steps": 100000},
                        {"task": "reach", "drive_robot": True})
    run = start_child(["dagger-ros", "run", "--config", str(config)],
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not watch.wait_until(lambda: len(watch.arrivals["/joint_states"]) > 0, 30):
            raise SystemExit("no /joint_states arrived from the realtime bridge")
        time.sleep(seconds)
    finally:
        stop_child(run)
    t = np.array(watch.arrivals["/joint_states"][50:])  # skip start-up
    gaps = np.diff(t) * 1e3
    dev = np.abs(gaps - 10.0)
    rate = len(gaps) / (t[-1] - t[0])
    print(f"realtime 100 Hz (bridge + expert, reach): {len(gaps)} intervals, {rate:.1f} Hz; "
          f"interval median {np.median(gaps):.2f} ms, std {gaps.std():.2f} ms; |deviation| "
          f"p50 {np.percentile(dev, 50):.2f} ms, p99 {np.percentile(dev, 99):.2f} ms, "
          f"max {dev.max():.2f} ms")
    watch.close()


def main() -> None:
    sigterm_as_interrupt()  # `timeout` or a CI job stopping this script stops its graphs
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    print(f"executor: {os.environ.get('DAGGER_ROS_EXECUTOR', 'single')}; "
          f"ROS_DOMAIN_ID={os.environ['ROS_DOMAIN_ID']}; {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as folder:
        lockstep(Path(folder), args.episodes)
        realtime(Path(folder), args.seconds)


if __name__ == "__main__":
    main()
