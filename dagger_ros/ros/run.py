"""``run_node``: the one way every node starts, spins and stops.

A stop is always clean, whatever the executor: rclpy's own signal handlers are not
installed; SIGINT and SIGTERM are handled here. The executor spins in short slices so the
main thread sees the stop within ``SPIN_SLICE_S``; and a watcher thread, woken by the
signal itself (``signal.set_wakeup_fd``, which works while the main thread is blocked in C
code), ends the process after ``STOP_GRACE_S`` if the main thread does not: it runs the
node's ``close`` (a recorder saves its episode in progress) and exits. So no node ever
ignores SIGTERM, and Ctrl-C on a hung node still stops it.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
import time
from collections.abc import Callable

from dagger_ros.core.config import ConfigError

EXIT_CONFIG = 2
SPIN_SLICE_S = 0.1  # longest the main thread takes to notice a stop
STOP_GRACE_S = 5.0  # after a signal: how long the main thread has to stop by itself
CLEANUP_GRACE_S = 60.0  # ...and to finish its clean-up once it began (a recorder's save)


def executor_kind(default: str = "single") -> str:
    """The executor DAGGER_ROS_EXECUTOR names: ``single`` or ``events`` (unset: ``default``)."""
    return os.environ.get("DAGGER_ROS_EXECUTOR", default)


def make_executor(default: str = "single"):
    """The executor named by DAGGER_ROS_EXECUTOR: ``single`` or ``events``; unset, the
    ``default`` the process's nodes prefer (see ``preferred_executor``).

    rclpy's Python executor rebuilds its wait set from every entity of every node at each
    wait and dispatches in Python; the EventsExecutor dispatches in C++. Measured on the
    lockstep graph here (bench/dagger_graph.py): 224 steps/s with the Python executor in
    every process, 481 with the EventsExecutor; with the bridge hosting expert, policy
    and supervisor, 254 with the Python executor and 753 with the EventsExecutor.

    rclpy's EventsExecutor (rclpy 9.1.2) cannot run a subscription whose callback takes the
    MessageInfo: spin_once raises ``SystemError: null argument to internal routine``
    (reproduced with one node publishing to itself). That was the lockstep graph's "hang":
    the supervisor died at its first observation and the graph waited for it."""
    kind = executor_kind(default)
    if kind == "events":
        from rclpy.experimental import EventsExecutor

        return EventsExecutor()
    if kind == "single":
        from rclpy.executors import SingleThreadedExecutor

        return SingleThreadedExecutor()
    raise ConfigError(f"DAGGER_ROS_EXECUTOR must be 'events' or 'single', got '{kind}'")


class StopSignals:
    """SIGINT/SIGTERM -> ``requested``; a watcher thread enforces the stop if the main
    thread is stuck (see the module doc)."""

    def __init__(self, name: str):
        self.name = name
        # a plain flag: a signal handler must take no lock (it may interrupt the very
        # thread that holds it, and then waits for itself for ever)
        self.requested = False
        self.closing = threading.Event()  # the node's close() runs (a recorder's save)
        self.done = threading.Event()  # the main thread finished its clean-up
        self.close: Callable[[], None] | None = None
        self.code = 0
        self._read, write = os.pipe()
        os.set_blocking(write, False)
        self._old = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT,
                                                                    signal.SIGTERM)}
        self._old_fd = signal.set_wakeup_fd(write, warn_on_full_buffer=False)
        threading.Thread(target=self._watch, name="stop-watcher", daemon=True).start()

    def _on_signal(self, signum, _frame) -> None:  # main thread, between bytecodes
        self.requested = True

    def _watch(self) -> None:
        while True:
            try:
                data = os.read(self._read, 64)
            except OSError:
                return
            if not data:
                return
            self.requested = True
            if self.done.wait(STOP_GRACE_S):
                return
            deadline = time.monotonic() + CLEANUP_GRACE_S
            while self.closing.is_set() and time.monotonic() < deadline:
                self.done.wait(0.1)  # saving what it holds is progress: let it finish
            if self.done.wait(STOP_GRACE_S if not self.closing.is_set() else 0.0):
                return
            self._say(f"did not stop within {STOP_GRACE_S:g} s of the signal; exiting now")
            close, self.close = self.close, None
            if close is not None:
                try:
                    close()
                except Exception as exc:  # noqa: BLE001 - the process ends regardless
                    self._say(f"clean-up failed: {exc}")
            os._exit(self.code or 0)

    def _say(self, text: str) -> None:
        try:  # stderr may be a pipe whose reader is gone (the launcher was killed)
            print(f"[{self.name}] {text}", file=sys.stderr, flush=True)
        except (OSError, ValueError):
            pass

    def restore(self) -> None:
        self.done.set()
        signal.set_wakeup_fd(self._old_fd)
        for s, handler in self._old.items():
            signal.signal(s, handler)


def run_node(name: str, factory: Callable[[list[str]], object]) -> None:
    """Init rclpy, build the node with ``factory(argv)`` (or several: a list), spin until
    shutdown, clean up.

    A ConfigError (bad YAML, unknown key, wrong type, broken model) ends the process with
    exit code 2 and one line naming the culprit, not a traceback. Ctrl-C, SIGTERM and an
    external shutdown end it cleanly with exit code 0. A node that finishes its job calls
    ``rclpy.try_shutdown()`` itself (or raises SystemExit with its code).
    """
    import rclpy
    from rclpy.executors import ExternalShutdownException
    from rclpy.signals import SignalHandlerOptions

    rclpy.init(args=sys.argv, signal_handler_options=SignalHandlerOptions.NO)
    stop = StopSignals(name)
    nodes: list = []
    code = 0
    try:
        built = factory(sys.argv)
        nodes = list(built) if isinstance(built, list | tuple) else [built]
        stop.close = _close_all(nodes)
        executor = make_executor(preferred_executor(nodes))
        # start-up's objects (imports, models) into the permanent generation: a full
        # garbage collection then walks only what the node made since, not hundreds of
        # thousands of objects (a pause in the middle of a control tick)
        gc.collect()
        gc.freeze()
        for each in nodes:
            executor.add_node(each)
        while rclpy.ok() and not stop.requested:
            executor.spin_once(timeout_sec=SPIN_SLICE_S)
        drain_until = time.monotonic() + 0.5  # what already arrived is handled (recorded)
        while rclpy.ok() and time.monotonic() < drain_until:
            executor.spin_once(timeout_sec=0.0)
        code = _exit_code(nodes)  # a node that ended its own job says how
    except ConfigError as exc:
        print(f"[{name}] configuration error: {exc}", file=sys.stderr, flush=True)
        code = EXIT_CONFIG
    except (KeyboardInterrupt, ExternalShutdownException):
        code = _exit_code(nodes)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except Exception as exc:  # noqa: BLE001 - the one place that decides the exit code
        if not rclpy.ok() or stop.requested:
            # a stop shut the context down while a callback was publishing: a stop
            code = _exit_code(nodes)
        else:
            import traceback

            traceback.print_exc()
            print(f"[{name}] stopped by an unexpected error: {type(exc).__name__}: {exc}",
                  file=sys.stderr, flush=True)
            code = 1
    finally:
        stop.code = code
        close, stop.close = stop.close, None  # the watcher must not run it a second time
        if close is not None:
            stop.closing.set()
            try:
                close()
            finally:
                stop.closing.clear()
        for each in nodes:
            each.destroy_node()
        rclpy.try_shutdown()
        stop.restore()
    sys.exit(code)


def preferred_executor(nodes: list) -> str:
    """``events`` unless a node of the process needs rclpy's Python executor: one that
    says so with a ``preferred_executor`` attribute of ``single`` (a supervisor judging
    input delays by MessageInfo, the trainer, which waits on service futures from a thread
    of its own)."""
    kinds = {getattr(n, "preferred_executor", "events") for n in nodes}
    return "single" if "single" in kinds else "events"


def _close_all(nodes: list) -> Callable[[], None] | None:
    """One clean-up for a process's nodes (a recorder saves what it holds)."""
    closes = [n.close for n in nodes if callable(getattr(n, "close", None))]
    if not closes:
        return None

    def close() -> None:
        for each in closes:
            each()

    return close


def _exit_code(nodes: list) -> int:
    """The first non-zero exit code a node of the process set for itself, else 0."""
    return next((c for c in (getattr(n, "exit_code", 0) for n in nodes) if c), 0)
