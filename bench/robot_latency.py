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
- missed ticks: observer ticks that never came (a gap over 1.5 periods in the stamps) and
  observations no command answered;
- each node's CPU share (CPU seconds / wall seconds, from /proc) over the measurement.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import yaml

from dagger_ros.launcher import node_processes, sigterm_as_interrupt, start_child, stop_child

os.environ.setdefault("ROS_DOMAIN_ID", str(151 - os.getpid() % 50))
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
ROOT = Path(__file__).resolve().parents[1]
NODES = ("mujoco_bridge", "observer", "expert", "policy", "supervisor", "recorder")
CONTROLLER = "/forward_position_controller/commands"


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
        "/**": {"profile": str(profile_path), "stepping": "realtime"},
        "mujoco_bridge": {"exposes": "hardware", "task": "reach_position",
                          "controller_name": "forward_position_controller",
                          "control_rate_hz": rate, "seed": 0},
        "observer": {"startup_grace": 3.0, "episode_timeout": 0.0},
        "expert": {"source": "joy", "joy_preset": "xbox"},
        "policy": {"checkpoint": str(ckpt)},
        "supervisor": {"gating": "human_gated", "label_source": "operator/bench",
                       "between_episodes": "hold", "expert_timeout": 0.5},
        "recorder": {"dataset_root": str(folder / f"dataset_{rate:g}"),
                     "repo_id": "local/bench_latency"},
    }
    path = folder / f"graph_{rate:g}.yaml"
    path.write_text(yaml.safe_dump({k: {"ros__parameters": v} for k, v in sections.items()}))
    return path


class Bench:
    """The person (gamepad, episode service) and the controller (it listens), in here."""

    def __init__(self, rate: float):
        import rclpy
        from rclpy.executors import SingleThreadedExecutor
        from sensor_msgs.msg import JointState, Joy
        from std_msgs.msg import Float64MultiArray
        from std_srvs.srv import Trigger

        from dagger_ros.ros import qos

        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node("latency_bench", context=self.context)
        self.observations: list[tuple[int, int]] = []  # (stamp ns, arrival ns)
        self.commands: list[tuple[int, int]] = []  # /dagger/command: (stamp, arrival)
        self.controller: list[int] = []  # arrivals on the controller topic
        self.measuring = False
        self.lock = threading.Lock()

        def keep(store, stamped):
            def callback(msg):
                now = time.time_ns()
                if not self.measuring:
                    return
                with self.lock:
                    if stamped:
                        s = msg.header.stamp
                        store.append((s.sec * 1_000_000_000 + s.nanosec, now))
                    else:
                        store.append(now)
            return callback

        self.node.create_subscription(JointState, "/dagger/observation",
                                      keep(self.observations, True), qos.EVERY_SAMPLE)
        self.node.create_subscription(JointState, "/dagger/command",
                                      keep(self.commands, True), qos.EVERY_SAMPLE)
        self.node.create_subscription(Float64MultiArray, CONTROLLER,
                                      keep(self.controller, False), qos.EVERY_SAMPLE)
        self.joy = self.node.create_publisher(Joy, "/joy", qos.STREAM)
        from dagger_ros.core.teleop import JoyConfig, JoyMapping

        mapping = JoyMapping(JoyConfig(joy_preset="xbox"), ["a", "b", "c"], -np.ones(3),
                             np.ones(3))
        self.axes, self.buttons = mapping.encode(np.zeros(3), False)  # deadman held

        def pad():
            msg = Joy()
            msg.header.stamp = self.node.get_clock().now().to_msg()
            msg.axes, msg.buttons = self.axes, self.buttons
            self.joy.publish(msg)

        self.node.create_timer(1.0 / rate, pad)
        self.start = self.node.create_client(Trigger, "/dagger/episode/start")
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self._spin, daemon=True)
        self.thread.start()

    def _spin(self):
        try:
            self.executor.spin()
        except Exception:  # the context was shut down
            pass

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
        self.context.try_shutdown()
        self.thread.join(timeout=2.0)


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
        bench.measuring = True
        period = 1.0 / rate
        deadline = time.monotonic() + steps * period * 1.5 + 10
        while time.monotonic() < deadline:
            with bench.lock:
                if len(bench.observations) >= steps:
                    break
            time.sleep(0.2)
        time.sleep(0.2)  # the last commands in
        bench.measuring = False
        wall = time.monotonic() - wall0
        cpu = {n: cpu_seconds(p) - cpu0[n] for n, p in pids.items()}
        if run.poll() is not None:
            raise SystemExit(f"the graph stopped: {run.stderr.read()[-2000:]}")
    finally:
        bench.close()
        stop_child(run)
    report(rate, steps, bench, cpu, wall)


def report(rate, steps, bench, cpu, wall) -> None:
    observations = sorted(bench.observations)[:steps]
    stamps = np.array([s for s, _ in observations], np.int64)
    period_ns = 1e9 / rate
    gaps = np.diff(stamps)
    never_came = int(np.sum(np.maximum(np.round(gaps / period_ns) - 1, 0)[gaps > 1.5 * period_ns]))
    # pair each controller message with the /dagger/command published beside it (the
    # supervisor publishes both for every command, the stamped one first)
    commands = sorted(bench.commands, key=lambda c: c[1])
    arrivals = np.array(sorted(bench.controller), np.int64)
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
    print(f"{rate:g} Hz: {len(stamps)} observer ticks in {wall:.1f} s; latency observation -> "
          f"controller topic p50 {np.percentile(lat, 50):.2f} ms, p99 "
          f"{np.percentile(lat, 99):.2f} ms, max {lat.max():.2f} ms ({len(lat)} commands); "
          f"missed ticks: {never_came} never came, {unanswered} unanswered")
    shares = ", ".join(f"{n} {100 * cpu[n] / wall:.1f}%" for n in NODES if n in cpu)
    print(f"{rate:g} Hz: CPU share per node (of one core): {shares}")


def main() -> None:
    sigterm_as_interrupt()  # `timeout` or a CI job stopping this script stops its graph
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=10_000, help="observer ticks per rate")
    parser.add_argument("--rates", type=float, nargs="+", default=[50.0, 100.0])
    args = parser.parse_args()
    print(f"executor: {os.environ.get('DAGGER_ROS_EXECUTOR', 'single')}; "
          f"ROS_DOMAIN_ID={os.environ['ROS_DOMAIN_ID']}; {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as folder:
        for rate in args.rates:
            measure(Path(folder), rate, args.steps)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
