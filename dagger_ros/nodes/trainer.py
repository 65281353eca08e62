"""trainer: drives DAgger's rounds: collect, retrain on everything so far, announce, evaluate.

Per round it announces the round (and the newest checkpoint) on /dagger/round, waits until
the supervisor runs that round (so the policy has loaded the checkpoint), starts each
episode through /sim/reset and waits until the recorder has saved it, then retrains from
the LeRobot dataset, writes the checkpoint atomically, evaluates the policy alone on
held-out seeds and publishes the round's figures on /dagger/metrics. It exits when the
rounds are done or the target success rate is reached.
"""

from __future__ import annotations

import threading
import time

import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.node import Node
from std_msgs.msg import String
from std_srvs.srv import Trigger

from dagger_ros.core.rounds import (
    TrainerConfig,
    append_metrics,
    checkpoint_id,
    evaluate_policy,
    retrain,
    round_row,
)
from dagger_ros.ros import convert, qos
from dagger_ros.ros.params import load_config
from dagger_ros.ros.run import run_node


class TrainerNode(Node):
    def __init__(self, argv):
        super().__init__("trainer")
        self.config: TrainerConfig = load_config(self, TrainerConfig, argv)
        self.pub_round = self.create_publisher(String, "/dagger/round", qos.EVENTS)
        self.pub_metrics = self.create_publisher(String, "/dagger/metrics", qos.EVENTS)
        self.pub_diagnostics = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.changed = threading.Condition()
        self.supervisor_round = -1
        self.saved: dict[int, dict] = {}
        self.create_subscription(String, "/dagger/supervisor/status", self.on_status, qos.EVENTS)
        self.create_subscription(String, "/dagger/recorder/saved", self.on_saved, qos.EVENTS)
        self.reset = self.create_client(Trigger, "/sim/reset")
        self.exit_code = 0
        self.worker = threading.Thread(target=self.run_rounds, daemon=True)
        self.worker.start()

    # -- callbacks (executor thread) -------------------------------------------------
    def on_status(self, msg: String) -> None:
        with self.changed:
            self.supervisor_round = max(self.supervisor_round,
                                        int(convert.json_from_msg(msg)["round"]))
            self.changed.notify_all()

    def on_saved(self, msg: String) -> None:
        record = convert.json_from_msg(msg)
        with self.changed:
            self.saved[int(record["sim_episode"])] = record
            self.changed.notify_all()

    # -- the rounds (worker thread) --------------------------------------------------
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

    def start_episode(self, deadline: float) -> int:
        """Ask the bridge for the next episode; returns its episode number."""
        if not self.reset.wait_for_service(timeout_sec=max(0.0, deadline - time.monotonic())):
            raise TimeoutError("the bridge's /sim/reset service did not appear")
        while True:
            done = threading.Event()
            future = self.reset.call_async(Trigger.Request())
            future.add_done_callback(lambda _f, done=done: done.set())
            if not done.wait(timeout=max(0.1, deadline - time.monotonic())):
                raise TimeoutError("/sim/reset did not answer")
            response = future.result()
            if response.success:
                return int(response.message.split()[1])  # "episode N seed S"
            if time.monotonic() > deadline:
                raise TimeoutError(f"/sim/reset kept refusing: {response.message}")
            time.sleep(0.1)  # e.g. the graph is not listening yet

    def run_rounds(self) -> None:
        cfg = self.config
        checkpoint = None
        try:
            for r in range(cfg.rounds):
                self.pub_round.publish(convert.json_msg({
                    "round": r, "checkpoint_path": str(checkpoint[0]) if checkpoint else None,
                    "checkpoint_id": checkpoint[1] if checkpoint else None}))
                self.wait_for(lambda r=r: self.supervisor_round >= r, 60.0,
                              f"the supervisor to run round {r}")
                deadline = time.monotonic() + cfg.round_timeout
                for _ in range(cfg.episodes_in(r)):
                    episode = self.start_episode(deadline)
                    self.wait_for(lambda e=episode: e in self.saved,
                                  max(1.0, deadline - time.monotonic()),
                                  f"the recorder to save episode {episode}")
                path, trained = retrain(cfg, r)
                checkpoint = (path, checkpoint_id(path))
                evaluation = evaluate_policy(cfg, trained["policy"])
                with self.changed:  # written by the executor thread
                    saved = list(self.saved.values())
                row = round_row(r, saved, path, trained["report"], evaluation)
                append_metrics(cfg.run_dir, row)
                self.pub_metrics.publish(convert.json_msg(row))
                self.pub_diagnostics.publish(diagnostics(self, row))
                self.get_logger().info(
                    f"round {r}: beta {row['beta']:.3f}, {row['labels']} labels, evaluation "
                    f"success {evaluation['success_rate']:.0%}, checkpoint {row['checkpoint_id']}")
                if cfg.stop_at_target and evaluation["success_rate"] >= cfg.target_success:
                    self.get_logger().info(f"target success {cfg.target_success:.0%} reached")
                    break
            # let the last checkpoint reach the policy before the graph stops
            self.pub_round.publish(convert.json_msg({
                "round": cfg.rounds, "checkpoint_path": str(checkpoint[0]),
                "checkpoint_id": checkpoint[1], "final": True}))
            self.pub_metrics.publish(convert.json_msg({"finished": True}))
        except InterruptedError:  # Ctrl-C or the graph stopping: not an error
            return
        except Exception as exc:  # reported, and the process exits non-zero
            self.get_logger().error(f"rounds stopped: {type(exc).__name__}: {exc}")
            self.exit_code = 1
        time.sleep(0.5)  # the last messages out before the node goes
        rclpy.try_shutdown(context=self.context)


def diagnostics(node: Node, row: dict):
    """The round's figures as standard ROS diagnostics (rqt_robot_monitor shows them)."""
    keys = ("round", "labels", "success_rate", "intervention_rate", "interventions",
            "handoffs", "operator_time_s", "autonomous_share", "checkpoint_id")
    status = DiagnosticStatus(level=DiagnosticStatus.OK, name="dagger_ros: round",
                              hardware_id="dagger_ros", message=f"round {row['round']} done",
                              values=[KeyValue(key=k, value=str(row.get(k))) for k in keys])
    array = DiagnosticArray(status=[status])
    array.header.stamp = node.get_clock().now().to_msg()
    return array


def main() -> None:
    run_node("trainer", TrainerNode)


if __name__ == "__main__":
    main()
