"""Start a graph's nodes as separate OS processes, prefix their logs, stop them cleanly.

What ``ros2 launch`` does for the shipped launch files, without needing ``launch``: each
node runs from its own entry point with ``--ros-args --params-file <yaml>``. The run ends
when a node exits 0 (e.g. the bridge after its configured episodes), on Ctrl-C/SIGTERM, or
on ``timeout``; a node that dies with a non-zero code ends the run with an error naming it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

STOP_GRACE_S = 10.0


def executable(name: str) -> str:
    """The node's entry point: beside the running ``dagger-ros`` script, else on PATH."""
    beside = Path(sys.argv[0]).resolve().parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"entry point '{name}' not found beside {sys.argv[0]} or on "
                                "PATH; is dagger_ros installed (./dev.sh setup)?")
    return found


def _stop_with_launcher() -> None:
    """In the child before exec: get SIGINT (a clean stop) if the launcher dies, even by
    SIGKILL, so no node outlives the `dagger-ros run` that started it (Linux prctl)."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGINT)


def _pump(name: str, stream, width: int, sink) -> None:
    prefix = f"[{name}]".ljust(width + 2)
    for line in iter(stream.readline, ""):
        sink.write(f"{prefix} {line}" if line.endswith("\n") else f"{prefix} {line}\n")
        sink.flush()
    stream.close()


class Graph:
    """The running processes of one graph."""

    def __init__(self, config: Path, nodes: list[str], extra_args: list[str] | None = None,
                 sink=None):
        self.sink = sink or sys.stdout
        self.config = Path(config).resolve()
        self.nodes = nodes
        self.extra_args = extra_args or []
        self.procs: dict[str, subprocess.Popen] = {}
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        width = max(len(n) for n in self.nodes)
        for name in self.nodes:
            cmd = [executable(name), "--ros-args", "--params-file", str(self.config),
                   *self.extra_args]
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True, bufsize=1, start_new_session=True,
                                    preexec_fn=_stop_with_launcher,
                                    env={**os.environ, "PYTHONUNBUFFERED": "1"})
            self.procs[name] = proc
            t = threading.Thread(target=_pump, args=(name, proc.stdout, width, self.sink),
                                 daemon=True)
            t.start()
            self.threads.append(t)

    def poll(self) -> tuple[str, int] | None:
        """The first node that has exited, with its code, or None."""
        for name, proc in self.procs.items():
            code = proc.poll()
            if code is not None:
                return name, code
        return None

    def stop(self) -> dict[str, int]:
        """SIGINT every running node, then SIGTERM, then SIGKILL; returns the exit codes."""
        for sig, grace in ((signal.SIGINT, STOP_GRACE_S), (signal.SIGTERM, 3.0),
                           (signal.SIGKILL, 3.0)):
            alive = [p for p in self.procs.values() if p.poll() is None]
            if not alive:
                break
            for p in alive:
                try:
                    os.killpg(p.pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and any(p.poll() is None for p in alive):
                time.sleep(0.05)
        for t in self.threads:
            t.join(timeout=2.0)
        return {n: p.returncode for n, p in self.procs.items()}


def run_graph(config: Path, nodes: list[str], timeout: float = 0.0,
              extra_args: list[str] | None = None, log_file: Path | None = None) -> int:
    """Run the graph until it ends; returns 0, or 1 naming a node that died.

    With ``log_file`` the nodes' output goes there instead of the terminal.
    """
    sink = open(log_file, "a") if log_file else None  # noqa: SIM115 - closed below
    graph = Graph(config, nodes, extra_args, sink)
    stop_requested = []

    def on_signal(signum, _frame):
        stop_requested.append(signum)

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    print(f"[dagger-ros] starting {', '.join(nodes)} with {config} "
          f"(ROS_DOMAIN_ID={os.environ.get('ROS_DOMAIN_ID', '0')})", flush=True)
    code = 0
    try:
        graph.start()
        deadline = time.monotonic() + timeout if timeout > 0 else None
        while True:
            if stop_requested:
                print("[dagger-ros] stop requested; stopping all nodes", flush=True)
                break
            if deadline is not None and time.monotonic() > deadline:
                print(f"[dagger-ros] timeout of {timeout:g} s reached; stopping all nodes",
                      flush=True)
                break
            exited = graph.poll()
            if exited is not None:
                name, rc = exited
                if rc == 0:
                    print(f"[dagger-ros] node '{name}' finished; stopping the graph", flush=True)
                else:
                    where = f" (its log: {log_file})" if log_file else ""
                    print(f"[dagger-ros] node '{name}' died with exit code {rc}{where}; stopping "
                          "the graph", file=sys.stderr, flush=True)
                    code = 1
                break
            time.sleep(0.05)
    finally:
        codes = graph.stop()
        for s, handler in old.items():
            signal.signal(s, handler)
        if sink is not None:
            sink.close()
    bad = {n: c for n, c in codes.items() if c not in (0, -signal.SIGINT, None)}
    if code == 0 and bad:
        print(f"[dagger-ros] nodes that did not stop cleanly: {bad}", file=sys.stderr)
    return code
