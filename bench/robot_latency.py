"""Benchmark: the robot graph's observation -> command latency, measured at the topics.

  ./dev.sh run ... or, inside the environment:  python bench/robot_latency.py [--steps N]

The graph is robot.launch's (observer, expert on the gamepad, policy, supervisor, recorder)
against the hardware-shaped simulator (the position arm, reach_position profile) at 50 Hz
and at 100 Hz. This process is the person and the controller: it holds the gamepad's
deadman (so the policy drives: human-gated, never taken over), starts one episode by the
/dagger/episode/start service, and listens to /dagger/observation (stamped by the
observer's tick), /dagger/command (the supervisor's command, stamped with the observation it
answers) and the controller's command topic.

Per rate it prints, over ``--steps`` observer ticks:
- latency: the controller topic's arrival here minus the stamp of the observation the
  command answers (observer -> policy + expert -> supervisor -> controller topic), p50,
  p99 and max;
- missed ticks: observer ticks that never came (the span of stamps holds more periods than
  ticks arrived) and observations no command answered; and the ticks that came over half
  a period late (the observer's timer jitter);
- each node's CPU share (CPU seconds / wall seconds, from /proc) over the measurement.

As config/robot.yaml runs it: the control path (observer, expert, policy, supervisor) at
SCHED_FIFO 50 when this user may (root, or an rtprio limit; ``--no-realtime``: not), the
supervisor judging input delays by stamps (so every node runs rclpy's EventsExecutor).
This process measures at the same priority, and without garbage collection while it
measures, or its own scheduling and GC pauses would read as the graph's latency.
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from dagger_ros.launcher import (
    node_processes,
    realtime_refusal,
    sigterm_as_interrupt,
    start_child,
    stop_child,
)

os.environ.setdefault("ROS_DOMAIN_ID", str(151 - os.getpid() % 50))
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
ROOT = Path(__file__).resolve().parents[1]
NODES = ("mujoco_bridge", "observer", "expert", "policy", "supervisor", "recorder")
CONTROLLER = "/forward_position_controller/commands"
#: SCHED_FIFO priority of the control path (observer, expert, policy, supervisor), as
#: config/robot.yaml sets it; --no-realtime: 0
PRIORITY = 50


def checkpoint(folder: Path, profile) -> Path:
    """A policy of the profile's shape (trained briefly on made-up frames: the bench times
    the graph, not what the policy learned)."""
    from dagger_ros.core.policy_model import save_checkpoint
    from dagger_ros.core.training import TrainConfig, train_ensemble

    rng = np.random.default_rng(0)
    n = len(profile.observation_names)
    obs = rng.normal(size=(400, n))
    actions = obs[:, :3] + rng.normal(scale=0.01, size=(400, 3))
    policy, _ = train_ensemble(obs, actions, np.arange(400) // 100, profile.observation_names,
                               profile.action_names, TrainConfig(max_steps=50, threads=1),
                               relative_to=[0, 1, 2])
    return save_checkpoint(policy, folder / "checkpoints", {"name": "bench"})


def graph(folder: Path, rate: float) -> Path:
    from dagger_ros.core.profile import load_profile

    profile_yaml = yaml.safe_load((ROOT / "config" / "profiles" / "reach_position.yaml")
                                  .read_text())
    profile_yaml["control_rate_hz"] = rate
    profile_path = folder / f"reach_position_{rate:g}hz.yaml"
    profile_path.write_text(yaml.safe_dump(profile_yaml, sort_keys=False))
    ckpt = checkpoint(folder, load_profile(str(profile_path)))
    sections = {
        "/**": {"profile": str(profile_path), "stepping": "realtime",
                "realtime_priority": PRIORITY},
        "mujoco_bridge": {"exposes": "hardware", "task": "reach_position",
                          "controller_name": "forward_position_controller",
                          "control_rate_hz": rate, "seed": 0},
        "observer": {"startup_grace": 3.0, "episode_timeout": 0.0},
        "expert": {"source": "joy", "joy_preset": "xbox"},
        "policy": {"checkpoint": str(ckpt)},
        "supervisor": {"gating": "human_gated", "label_source": "operator/bench",
                       "between_episodes": "hold", "expert_timeout": 0.5,
                       "delay_source": "stamp"},  # as config/robot.yaml
        "recorder": {"dataset_root": str(folder / f"dataset_{rate:g}"),
                     "repo_id": "local/bench_latency"},
    }
    path = folder / f"graph_{rate:g}.yaml"
    path.write_text(yaml.safe_dump({k: {"ros__parameters": v} for k, v in sections.items()}))
    return path


class Bench:
    """The person (gamepad, episode service) and the controller (it listens), in here."""

    TOPICS = ("/dagger/observation", "/dagger/command", CONTROLLER)

    def __init__(self, rate: float):
        from sensor_msgs.msg import JointState, Joy
        from std_msgs.msg import Float64MultiArray
        from std_srvs.srv import Trigger

        from dagger_ros.core.teleop import JoyConfig, JoyMapping
        from dagger_ros.ros import qos
        from dagger_ros.ros.watch import Listener

        self.watch = Listener(dict(zip(self.TOPICS, (JointState, JointState,
                                                     Float64MultiArray), strict=True)))
        node = self.watch.node
        self.joy = node.create_publisher(Joy, "/joy", qos.STREAM)
        mapping = JoyMapping(JoyConfig(joy_preset="xbox"), ["a", "b", "c"], -np.ones(3),
                             np.ones(3))
        axes, buttons = mapping.encode(np.zeros(3), False)  # deadman held, sticks still

        def pad():
            msg = Joy(axes=axes, buttons=buttons)
            msg.header.stamp = node.get_clock().now().to_msg()
            self.joy.publish(msg)

        node.create_timer(1.0 / rate, pad)
        self.start = node.create_client(Trigger, "/dagger/episode/start")

    def counts(self) -> dict[str, int]:
        with self.watch.lock:
            return {t: len(self.watch.messages[t]) for t in self.TOPICS}

    def window(self, first: dict, last: dict):
        """(observations, commands, controller arrivals) between two ``counts()``:
        stamped topics as (header stamp ns, arrival ns), the controller as arrival ns."""
        w = self.watch
        with w.lock:
            def stamped(topic):
                return [(m.header.stamp.sec * 1_000_000_000 + m.header.stamp.nanosec, t)
                        for m, t in zip(w.messages[topic][first[topic]:last[topic]],
                                        w.wall_arrivals[topic][first[topic]:last[topic]],
                                        strict=True)]
            return (stamped(self.TOPICS[0]), stamped(self.TOPICS[1]),
                    w.wall_arrivals[CONTROLLER][first[CONTROLLER]:last[CONTROLLER]])

    def start_episode(self) -> None:
        from std_srvs.srv import Trigger

        if not self.start.wait_for_service(timeout_sec=60):
            raise SystemExit("/dagger/episode/start never came up")
        future = self.start.call_async(Trigger.Request())
        deadline = time.monotonic() + 10
        while not future.done() and time.monotonic() < deadline:
            time.sleep(0.05)
        if not future.done() or not future.result().success:
            raise SystemExit("the observer did not start the episode")

    def close(self):
        self.watch.close()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(folder: Path, rate: float, steps: int) -> None:
    config = graph(folder, rate)
    bench = Bench(rate)
    run = start_child(["dagger-ros", "run", "--config", str(config)],
                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        bench.start_episode()
        time.sleep(2.0)  # the first commands out, the policy warm
        pids = {n: p for n, p in node_processes(run.pid).items() if n in NODES}
        missing = set(NODES) - set(pids)
        if missing:
            raise SystemExit(f"nodes not found under the launcher: {sorted(missing)}")
        cpu0, wall0 = {n: cpu_seconds(p) for n, p in pids.items()}, time.monotonic()
        first = bench.counts()
        observations = bench.TOPICS[0]
        deadline = time.monotonic() + steps / rate * 1.5 + 10
        while (time.monotonic() < deadline
               and bench.counts()[observations] - first[observations] < steps):
            time.sleep(0.2)
        time.sleep(0.2)  # the last commands in
        measured = bench.window(first, bench.counts())
        wall = time.monotonic() - wall0
        cpu = {n: cpu_seconds(p) - cpu0[n] for n, p in pids.items()}
        if run.poll() is not None:
            raise SystemExit(f"the graph stopped: {run.stderr.read()[-2000:]}")
    finally:
        bench.close()
        stop_child(run)
    report(rate, steps, *measured, cpu, wall)


def report(rate, steps, observations, commands, controller, cpu, wall) -> None:
    observations = sorted(observations)[:steps]
    stamps = np.array([s for s, _ in observations], np.int64)
    period_ns = 1e9 / rate
    gaps = np.diff(stamps)
    # the observer's timer keeps its schedule: a late tick shortens the next gap, a tick
    # that never came leaves the count short of the span
    never_came = max(0, int(round((stamps[-1] - stamps[0]) / period_ns)) + 1 - len(stamps))
    late = int(np.sum(gaps > 1.5 * period_ns))
    # pair each controller message with the /dagger/command published beside it (the
    # supervisor publishes both for every command, the stamped one first)
    commands = sorted(commands, key=lambda c: c[1])
    arrivals = np.array(sorted(controller), np.int64)
    latencies, answered = [], set()
    if len(arrivals):
        for stamp, arrival in commands:
            if stamp < stamps[0] or stamp > stamps[-1]:
                continue
            j = int(np.searchsorted(arrivals, arrival))
            near = [k for k in (j - 1, j) if 0 <= k < len(arrivals)]
            k = min(near, key=lambda k: abs(arrivals[k] - arrival))
            if abs(arrivals[k] - arrival) < 2_000_000:  # 2 ms: the same command
                latencies.append((arrivals[k] - stamp) / 1e6)
                answered.add(stamp)
    unanswered = int(np.sum([s not in answered for s in stamps]))
    lat = np.array(latencies)
    hop = np.array([(a - s) / 1e6 for s, a in observations])  # observer tick -> here
    stamped = np.array([(a - s) / 1e6 for s, a in commands])  # -> /dagger/command here
    print(f"{rate:g} Hz: observation tick -> its arrival here p50 {np.percentile(hop, 50):.2f} "
          f"ms, p99 {np.percentile(hop, 99):.2f} ms; tick -> /dagger/command here p50 "
          f"{np.percentile(stamped, 50):.2f} ms")
    print(f"{rate:g} Hz: {len(stamps)} observer ticks in {wall:.1f} s; latency observation -> "
          f"controller topic p50 {np.percentile(lat, 50):.2f} ms, p99 "
          f"{np.percentile(lat, 99):.2f} ms, max {lat.max():.2f} ms ({len(lat)} commands); "
          f"missed ticks: {never_came} never came, {unanswered} unanswered; {late} ticks more "
          f"than half a period late (largest gap {gaps.max() / 1e6:.1f} ms)")
    shares = ", ".join(f"{n} {100 * cpu[n] / wall:.1f}%" for n in NODES if n in cpu)
    print(f"{rate:g} Hz: CPU share per node (of one core): {shares}")


def main() -> None:
    sigterm_as_interrupt()  # `timeout` or a CI job stopping this script stops its graph
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=10_000, help="observer ticks per rate")
    parser.add_argument("--rates", type=float, nargs="+", default=[50.0, 100.0])
    parser.add_argument("--no-realtime", action="store_true",
                        help="the control path at normal priority (realtime_priority 0)")
    args = parser.parse_args()
    global PRIORITY
    if args.no_realtime:
        PRIORITY = 0
    elif realtime_refusal(PRIORITY) is None:
        # this process measures at the topics: at the control path's priority, or its own
        # scheduling delays would count as latency (threads created later inherit it)
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(PRIORITY))
    else:
        print(f"no real-time priority here: {realtime_refusal(PRIORITY)}")
        PRIORITY = 0
    executor = os.environ.get("DAGGER_ROS_EXECUTOR")
    print(f"executors: {executor or 'EventsExecutor'}; "
          f"control path at SCHED_FIFO {PRIORITY or 'off'}; "
          f"ROS_DOMAIN_ID={os.environ['ROS_DOMAIN_ID']}; {os.cpu_count()} CPUs")
    # this process keeps every message it measures (tens of thousands): a garbage collection
    # over them stalls its listener 100-200 ms, which would read as graph latency
    gc.disable()
    with tempfile.TemporaryDirectory() as folder:
        for rate in args.rates:
            measure(Path(folder), rate, args.steps)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
