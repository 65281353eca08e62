"""Watch topics from inside a process: an rclpy node on its own context, spun in a thread.

Used by the integration tests, the benchmarks and the CLI to see what the graph publishes.
"""

from __future__ import annotations

import threading
import time


class Listener:
    """An rclpy node in the test process that records what arrives on topics."""

    def __init__(self, topics: dict[str, type]):
        import rclpy
        from rclpy.executors import SingleThreadedExecutor

        from dagger_ros.ros import qos

        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node("test_listener", context=self.context)
        self.messages: dict[str, list] = {t: [] for t in topics}
        self.arrivals: dict[str, list[float]] = {t: [] for t in topics}
        #: the same arrivals on the system clock (ns), to compare with header stamps
        self.wall_arrivals: dict[str, list[int]] = {t: [] for t in topics}
        self.lock = threading.Condition()
        self.decode_lock = threading.Lock()
        self.decoded: dict[str, list] = {}
        for topic, kind in topics.items():
            profile = qos.EVENTS if topic == "/episode/event" else qos.EVERY_SAMPLE
            self.node.create_subscription(kind, topic, self._keep(topic), profile)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self._spin, daemon=True)
        self.thread.start()

    def _spin(self):
        try:
            self.executor.spin()
        except Exception:  # the context was shut down
            pass

    def _keep(self, topic):
        def callback(msg):
            with self.lock:
                self.messages[topic].append(msg)
                self.arrivals[topic].append(time.monotonic())
                self.wall_arrivals[topic].append(time.time_ns())
                self.lock.notify_all()
        return callback

    def records(self, topic, since: int = 0) -> list:
        """What arrived on ``topic`` (a ros.topics.Topic), decoded into its records (each
        message decoded once, outside the lock the subscription callbacks need)."""
        with self.decode_lock:
            done = self.decoded.setdefault(topic.name, [])
            with self.lock:
                new = self.messages[topic.name][len(done):]
            done.extend(topic.read(m) for m in new)
            return done[since:]

    def count(self, topic) -> int:
        with self.lock:
            return len(self.messages[topic.name])

    def events(self) -> list:
        """The episode events heard (EpisodeStart, EpisodeEnd, EpisodesFinished)."""
        from dagger_ros.ros import topics

        return self.records(topics.EPISODE_EVENT)

    def wait_until(self, predicate, timeout: float) -> bool:
        """Wait (on arrivals, not fixed sleeps) until ``predicate()`` holds or time is up."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.lock.wait(timeout=min(left, 0.5))
        return True

    def close(self):
        self.context.try_shutdown()  # ends spin() in the thread
        self.thread.join(timeout=2.0)
        self.executor.shutdown(timeout_sec=1.0)
        self.node.destroy_node()
