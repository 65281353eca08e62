"""Benchmark: recording one 96x96 camera at 50 Hz, and what the control loop loses meanwhile.

  ./dev.sh shell, then: python bench/camera_recorder.py [--episodes 100] [--write-episodes 20]
                                                      [--no-realtime]

1. The graph in real time at 50 Hz (bridge with the reach_camera task rendering its camera
   at every tick, expert, supervisor, recorder, one process each), for ``--episodes``
   episodes, then the same graph without the recorder. It prints frames stepped and frames
   saved (every one must be: the video frames are counted at each save), episodes saved,
   the control loop's tick intervals as a separate process hears /dagger/observation
   (median, p99, max; a late tick is what the loop lost), the supervisor's holds for a late
   input, and each process's CPU share, with and without the recorder. The control path
   (bridge, expert, supervisor) runs at SCHED_FIFO 50 as on a robot (config/robot.yaml;
   the simulator as the robot's driver), and this process listens at the same priority,
   when this user may (root, or an rtprio limit); ``--no-realtime``: all at normal
   priority. The recorder always runs at normal priority, its encoder at nice +10.
2. The writer alone: ``--write-episodes`` episodes of 150 rendered frames through
   DatasetWriter (add_frame, save, H.264 encoding, commit), in frames written per second.
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

os.environ.setdefault("ROS_DOMAIN_ID", str(201 - os.getpid() % 30))
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ.setdefault("SVT_LOG", "1")  # (should an SVT-AV1 encoder run after all)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


#: SCHED_FIFO priority of the control path, as config/robot.yaml sets it
PRIORITY = 50


def run_graph(folder: Path, episodes: int, record: bool, priority: int) -> dict:
    from sensor_msgs.msg import JointState
    from std_msgs.msg import String

    from dagger_ros.launcher import node_processes, start_child, stop_child
    from dagger_ros.ros import topics
    from dagger_ros.ros.watch import Listener

    folder.mkdir(parents=True)
    graph = {
        "/**": {"ros__parameters": {"task": "reach_camera", "stepping": "realtime",
                                    "realtime_priority": priority}},
        "mujoco_bridge": {"ros__parameters": {
            "episodes": episodes, "wait_for_nodes": ["recorder"] if record else [],
            "max_episode_steps": 100}},
        "expert": {"ros__parameters": {}},
        "supervisor": {"ros__parameters": {"beta_schedule": "constant", "beta0": 1.0}},
    }
    if record:
        graph["recorder"] = {"ros__parameters": {"dataset_root": str(folder / "dataset")}}
    config = folder / "graph.yaml"
    config.write_text(yaml.safe_dump(graph))
    if priority:  # the listener's threads inherit it: its own delays are not the graph's
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
    watch = Listener({"/episode/event": String, "/dagger/recorder/saved": String,
                      "/dagger/decision": String})
    arrivals: list[float] = []  # when each observation reached a separate process
    watch.node.create_subscription(JointState, topics.OBSERVATION.name,
                                   lambda _: arrivals.append(time.monotonic()),
                                   topics.OBSERVATION.qos)
    os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))  # the graph sets its own
    run = start_child(["dagger-ros", "run", "--config", str(config)],
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    gc.disable()
    try:
        def ended() -> int:
            return sum(1 for e in watch.events() if e.EVENT == "end")

        if not watch.wait_until(lambda: ended() >= 1, 120):
            raise SystemExit("the graph did not start")
        cpu0 = {n: cpu_seconds(p) for n, p in node_processes(run.pid).items()}
        t0 = time.monotonic()
        if not watch.wait_until(lambda: ended() >= episodes, 60 + episodes * 5):
            raise SystemExit("the graph did not finish its episodes in time")
        wall = time.monotonic() - t0
        cpu1 = {n: cpu_seconds(p) for n, p in node_processes(run.pid).items()}
        if record:
            watch.wait_until(lambda: watch.count(topics.RECORDER_SAVED) >= episodes, 120)
    finally:
        gc.enable()
        stop_child(run, timeout=60)
        watch.close()
    ends = [e for e in watch.events() if e.EVENT == "end"][:episodes]
    decisions = watch.records(topics.DECISION)
    saved = watch.records(topics.RECORDER_SAVED)
    return {"steps": sum(e.steps for e in ends), "saved": sum(s.frames for s in saved),
            "episodes_saved": len(saved), "arrivals": np.array(arrivals),
            # holds for a late input in the first episode (start-up: the nodes still
            # discovering each other; the bridge does not wait for them without a
            # recorder) and in the episodes after it, which the CPU shares cover too
            "late_holds": [sum(1 for d in decisions if d.reason in ("stale_input",
                                                                     "expert_timeout")
                               and (d.frame.split(":")[0] == "0") == first)
                           for first in (True, False)],
            "cpu": {n: (cpu1[n] - cpu0[n]) / wall for n in cpu1}}


def tick_figures(arrivals: np.ndarray, period_ms: float) -> str:
    """Intervals between consecutive observations as another process receives them; a
    late or skipped tick shows as a longer interval."""
    gaps = np.diff(arrivals) * 1e3
    gaps = gaps[gaps < 1000]  # before the first and after the last episode
    late = int(np.sum(gaps > 1.5 * period_ms))
    return (f"interval median {np.median(gaps):.2f} ms, p99 {np.percentile(gaps, 99):.2f} ms, "
            f"max {gaps.max():.2f} ms, ticks later than 1.5 periods: {late} of {len(gaps)}")


def writer_throughput(folder: Path, episodes: int) -> str:
    from dagger_ros.core.images import SimCameras
    from dagger_ros.core.profile import task_profile
    from dagger_ros.core.recording import DatasetWriter, Frame
    from dagger_ros.core.records import DecisionRecord, EpisodeEnd, Outcome, Reason, Source
    from dagger_ros.core.tasks import make_task

    profile = task_profile("reach_camera")
    task = make_task("reach_camera")
    cameras = SimCameras(task.model, list(profile.images), {})
    writer = DatasetWriter(folder, "local/bench", 50, profile.observation_names,
                           profile.action_names, images=profile.images, log=lambda m: None)
    rng = np.random.default_rng(0)
    episodes_frames = []
    for e in range(episodes):
        task.reset(e)
        frames = []
        for s in range(150):
            stamp = e * 10_000 + s
            decision = DecisionRecord(
                stamp_ns=stamp, frame=f"{e}:{s}", source=Source.EXPERT, reason=Reason.BETA_DRAW,
                value=None, threshold=None, beta=1.0, round=0, checkpoint_id=None,
                gating="beta", label_source="scripted/reach_ik", uncertainty=None,
                expert_action=[0.1, 0.2, 0.3], intervention=False, policy_action=None,
                executed_action=[0.1, 0.2, 0.3], clamped=False, sent=True, stale=None)
            task.run(rng.uniform(-1, 1, 3))
            frames.append(Frame(stamp, e, s, task.learner_view(task.observation()), decision,
                                cameras.render(task.data)))
        episodes_frames.append(frames)
    start = time.perf_counter()
    for e, frames in enumerate(episodes_frames):
        writer.write_episode(frames, EpisodeEnd(e, e, Outcome.SUCCESS, 150), "bench")
    seconds = time.perf_counter() - start
    writer.close()
    n = episodes * 150
    return (f"{n / seconds:.0f} frames/s written ({episodes} episodes of 150 frames in "
            f"{seconds:.1f} s, {seconds / episodes:.2f} s per episode: add_frame, save, H.264 "
            "encoding, commit)")


def main() -> None:
    from dagger_ros.launcher import realtime_refusal, sigterm_as_interrupt

    sigterm_as_interrupt()
    parser = argparse.ArgumentParser()
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--write-episodes", type=int, default=20)
    parser.add_argument("--no-realtime", action="store_true",
                        help="the control path at normal priority (realtime_priority 0)")
    args = parser.parse_args()
    priority = 0 if args.no_realtime else PRIORITY
    refusal = realtime_refusal(priority)
    if priority and not refusal:
        try:  # root without CAP_SYS_NICE (a default container) passes the rlimit check
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
            os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
        except PermissionError as exc:
            refusal = f"SCHED_FIFO refused ({exc})"
    if refusal:
        print(f"control path at normal priority: {refusal}", flush=True)
        priority = 0
    tmp = Path(tempfile.mkdtemp(prefix="dagger_camera_bench_"))
    print(f"{os.cpu_count()} CPUs; reach_camera, one 96x96 camera, real time at 50 Hz, "
          f"{args.episodes} episodes; control path (bridge, expert, supervisor) "
          + (f"at SCHED_FIFO {priority}" if priority else "at normal priority"), flush=True)
    for record in (True, False):
        r = run_graph(tmp / ("with" if record else "without"), args.episodes, record, priority)
        what = "with the recorder" if record else "without the recorder"
        print(f"{what}: {r['steps']} frames stepped" + (
            f", {r['saved']} saved in {r['episodes_saved']} episodes (dropped: "
            f"{r['steps'] - r['saved']})" if record else ""), flush=True)
        print(f"  control loop: {tick_figures(r['arrivals'], 20.0)}; holds for a late "
              f"input: {r['late_holds'][1]} after the first episode "
              f"({r['late_holds'][0]} in it)", flush=True)
        print("  CPU share of one core: " + ", ".join(
            f"{n} {100 * c:.0f}%" for n, c in sorted(r["cpu"].items())), flush=True)
    print("writer alone: " + writer_throughput(tmp / "writer", args.write_episodes),
          flush=True)


if __name__ == "__main__":
    main()
