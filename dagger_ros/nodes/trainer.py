"""trainer: drives DAgger's rounds: collect, retrain on everything so far, announce, evaluate.

Per round it announces the round (and the newest checkpoint) on /dagger/round, waits until
the supervisor runs that round (so the policy has loaded the checkpoint), starts each
episode through /sim/reset and waits until the recorder has saved it, then retrains from
the LeRobot dataset, writes the checkpoint atomically, evaluates the policy alone on
held-out seeds and publishes the round's figures on /dagger/metrics. It exits when the
rounds are done or the target success rate is reached. The loop is core/rounds.py's
``run_rounds``; this node gives it the graph (``RoundPorts``).

With ``episodes_from: operator`` (a robot) it starts no episode: it counts the operator's
(from the recorder's saved records), retrains in a background process while the robot
keeps collecting with the previous policy, and announces the new round between episodes
(/episode/event tells when none runs), so the policy hot-swaps between two episodes.
"""

from __future__ import annotations

import threading
import time

import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.node import Node
from std_srvs.srv import Trigger

from dagger_ros.core.records import (
    EpisodeEnd,
    EpisodeStart,
    MetricsFinished,
    RecordError,
    ResetReply,
    RoundAnnouncement,
    RoundMetrics,
    SavedEpisode,
)
from dagger_ros.core.rounds import TrainerConfig, counted, run_rounds
from dagger_ros.ros import topics
from dagger_ros.ros.params import load_config
from dagger_ros.ros.run import run_node


class TrainerNode(Node):
    #: its rounds thread waits on service futures the executor completes: rclpy's Python
    #: executor is the one that does so by design (see ros/run.py)
    preferred_executor = "single"

    def __init__(self, argv):
        super().__init__("trainer")
        self.config: TrainerConfig = load_config(self, TrainerConfig, argv)
        self.pub_round = topics.publisher(self, topics.ROUND)
        self.pub_metrics = topics.publisher(self, topics.METRICS)
        self.pub_diagnostics = topics.publisher(self, topics.DIAGNOSTICS)
        self.changed = threading.Condition()
        self.supervisor_round = -1
        #: (session, episode) -> its record: a restarted episode source numbers anew
        self.saved_by_episode: dict[tuple[str, int], SavedEpisode] = {}
        self.running_episode: tuple[str, int] | None = None  # the one running now
        topics.subscribe(self, topics.SUPERVISOR_STATUS, self.on_status)
        topics.subscribe(self, topics.RECORDER_SAVED, self.on_saved)
        topics.subscribe(self, topics.EPISODE_EVENT, self.on_episode_event)
        self.reset = topics.client(self, topics.SIM_RESET)
        self.exit_code = 0
        self.worker = threading.Thread(target=self.run, daemon=True)
        self.worker.start()

    # -- callbacks (executor thread) -------------------------------------------------
    def on_status(self, msg) -> None:
        try:
            status = topics.SUPERVISOR_STATUS.read(msg)
        except RecordError as exc:
            self.get_logger().error(f"{exc}; ignored")
            return
        with self.changed:
            self.supervisor_round = max(self.supervisor_round, status.round)
            self.changed.notify_all()

    def on_saved(self, msg) -> None:
        try:
            record = topics.RECORDER_SAVED.read(msg)
        except RecordError as exc:
            self.get_logger().error(f"{exc}; ignored")
            return
        with self.changed:
            self.saved_by_episode[(record.session, record.sim_episode)] = record
            self.changed.notify_all()

    def on_episode_event(self, msg) -> None:
        try:
            event = topics.EPISODE_EVENT.read(msg)
        except RecordError as exc:
            self.get_logger().error(f"{exc}; ignored", throttle_duration_sec=1.0)
            return
        with self.changed:
            if isinstance(event, EpisodeStart):
                self.running_episode = (event.session, event.episode)
            elif isinstance(event, EpisodeEnd) and self.running_episode == (event.session,
                                                                            event.episode):
                self.running_episode = None
            self.changed.notify_all()

    # -- RoundPorts (worker thread) --------------------------------------------------
    def wait_for(self, predicate, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        with self.changed:
            while not predicate():
                left = deadline - time.monotonic()
                if not rclpy.ok(context=self.context):
                    raise InterruptedError("shutting down")
                if left <= 0:
                    raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
                self.changed.wait(min(left, 0.5))

    def announce(self, announcement: RoundAnnouncement) -> None:
        self.pub_round.publish(topics.ROUND.message(announcement))

    def wait_for_supervisor(self, round_index: int, timeout: float) -> None:
        self.wait_for(lambda: self.supervisor_round >= round_index, timeout,
                      f"the supervisor to run round {round_index}")

    def start_episode(self, deadline: float) -> int:
        """Ask the bridge for the next episode; returns its episode number."""
        where = topics.SIM_RESET.name
        if not self.reset.wait_for_service(timeout_sec=max(0.0, deadline - time.monotonic())):
            raise TimeoutError(f"the bridge's {where} service did not appear")
        while True:
            done = threading.Event()
            future = self.reset.call_async(Trigger.Request())
            future.add_done_callback(lambda _f, done=done: done.set())
            if not done.wait(timeout=max(0.1, deadline - time.monotonic())):
                raise TimeoutError(f"{where} did not answer")
            response = future.result()
            if response.success:
                return ResetReply.decode(response.message, where).episode
            if time.monotonic() > deadline:
                raise TimeoutError(f"{where} kept refusing: {response.message}")
            time.sleep(0.1)  # e.g. the graph is not listening yet

    def wait_saved(self, episode: int, timeout: float) -> None:
        self.wait_for(lambda: any(e == episode for _, e in self.saved_by_episode), timeout,
                      f"the recorder to save episode {episode}")

    def wait_episodes(self, round_index: int, count: int, timeout: float) -> None:
        self.wait_for(lambda: len(counted(list(self.saved_by_episode.values()), round_index))
                      >= count, timeout,
                      f"the operator's {count} episodes of round {round_index}")

    def wait_between_episodes(self, timeout: float) -> None:
        self.wait_for(lambda: self.running_episode is None, timeout,
                      "the running episode to end")

    def alive(self) -> bool:
        return rclpy.ok(context=self.context)

    def saved(self) -> list[SavedEpisode]:
        with self.changed:  # written by the executor thread
            return list(self.saved_by_episode.values())

    def publish(self, row: RoundMetrics) -> None:
        self.pub_metrics.publish(topics.METRICS.message(row))
        self.pub_diagnostics.publish(diagnostics(self, row))

    def log(self, line: str) -> None:
        self.get_logger().info(line)

    def run(self) -> None:
        try:
            run_rounds(self.config, self)
            self.pub_metrics.publish(topics.METRICS.message(MetricsFinished()))
        except InterruptedError:  # Ctrl-C or the graph stopping: not an error
            return
        except Exception as exc:  # reported, and the process exits non-zero
            self.get_logger().error(f"rounds stopped: {type(exc).__name__}: {exc}")
            self.exit_code = 1
        time.sleep(0.5)  # the last messages out before the node goes
        rclpy.try_shutdown(context=self.context)


def diagnostics(node: Node, row: RoundMetrics):
    """The round's figures as standard ROS diagnostics (rqt_robot_monitor shows them)."""
    keys = ("round", "labels", "success_rate", "intervention_rate", "interventions",
            "handoffs", "operator_time_s", "autonomous_share", "checkpoint_id")
    status = DiagnosticStatus(level=DiagnosticStatus.OK, name="dagger_ros: round",
                              hardware_id="dagger_ros", message=f"round {row.round} done",
                              values=[KeyValue(key=k, value=str(getattr(row, k))) for k in keys])
    array = DiagnosticArray(status=[status])
    array.header.stamp = node.get_clock().now().to_msg()
    return array


def main() -> None:
    run_node("trainer", TrainerNode)


if __name__ == "__main__":
    main()
