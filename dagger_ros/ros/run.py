"""``run_node``: the one way every node starts, spins and stops."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from dagger_ros.core.config import ConfigError

EXIT_CONFIG = 2


def make_executor():
    """The executor named by DAGGER_ROS_EXECUTOR: ``single`` (default) or ``events``.

    rclpy's experimental EventsExecutor is faster per hop, but with rclpy 9.1.2 (Kilted
    wheels) our lockstep graph never stepped under it (its first timer and subscription
    callbacks did not fire) and it ignored SIGINT; the SingleThreadedExecutor is the default
    until that is understood. ``events`` stays selectable for measurements.
    """
    kind = os.environ.get("DAGGER_ROS_EXECUTOR", "single")
    if kind == "events":
        from rclpy.experimental import EventsExecutor

        return EventsExecutor()
    if kind == "single":
        from rclpy.executors import SingleThreadedExecutor

        return SingleThreadedExecutor()
    raise ConfigError(f"DAGGER_ROS_EXECUTOR must be 'events' or 'single', got '{kind}'")


def run_node(name: str, factory: Callable[[list[str]], object]) -> None:
    """Init rclpy, build the node with ``factory(argv)``, spin until shutdown, clean up.

    A ConfigError (bad YAML, unknown key, wrong type, broken model) ends the process with
    exit code 2 and one line naming the culprit, not a traceback. Ctrl-C and an external
    shutdown end it cleanly with exit code 0. A node that finishes its job calls
    ``rclpy.shutdown()`` itself (or raises SystemExit with its code).
    """
    import rclpy
    from rclpy.executors import ExternalShutdownException

    rclpy.init(args=sys.argv)
    node = None
    code = 0
    try:
        node = factory(sys.argv)
        executor = make_executor()
        executor.add_node(node)
        executor.spin()
        code = getattr(node, "exit_code", 0)  # a node that ended its own job says how
    except ConfigError as exc:
        print(f"[{name}] configuration error: {exc}", file=sys.stderr, flush=True)
        code = EXIT_CONFIG
    except (KeyboardInterrupt, ExternalShutdownException):
        code = getattr(node, "exit_code", 0)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except Exception as exc:  # noqa: BLE001 - the one place that decides the exit code
        if not rclpy.ok():
            # Ctrl-C/SIGTERM shut the context down while a callback was publishing: a stop
            code = getattr(node, "exit_code", 0)
        else:
            import traceback

            traceback.print_exc()
            print(f"[{name}] stopped by an unexpected error: {type(exc).__name__}: {exc}",
                  file=sys.stderr, flush=True)
            code = 1
    finally:
        if node is not None:
            close = getattr(node, "close", None)
            if close is not None:
                close()
            node.destroy_node()
        rclpy.try_shutdown()
    sys.exit(code)
