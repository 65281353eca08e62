"""Start a graph's nodes as separate OS processes, prefix their logs, stop them cleanly.

What ``ros2 launch`` does for the shipped launch files, without needing ``launch``, from
the same plan (core/graph.py ``launch_plan``): each node runs from its own entry point
with ``--ros-args --params-file <yaml>``. The run ends when a node exits 0 (e.g. the
bridge after its configured episodes), on Ctrl-C/SIGTERM, or on ``timeout``. A node that
dies is always named; then:

- a critical node (the bridge, the supervisor: nothing commands the robot safely without
  it) or any node refusing its configuration (exit code 2) ends the run with an error;
- the policy, the expert, the recorder and the simulated operator are restarted (at most
  ``MAX_RESTARTS`` times a minute): a restarted policy takes over again, a restarted
  recorder recovers the dataset and appends; meanwhile the supervisor holds or lets the
  expert act;
- any other node (the trainer) is reported and the graph goes on without it.

The run's exit code is 1 if any node died, even if it was restarted.

Scripts that start a graph (benchmarks, tests) use :func:`start_child`, so the graph stops
when the script stops, however it stops.
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

from dagger_ros.core.graph import MAX_RESTARTS, NODES, RESTART_DELAY_S, NodePlan

STOP_GRACE_S = 10.0
CONFIG_ERROR = 2  # run_node's exit code for a refused configuration


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


def _die_with_parent(sig: int) -> None:
    """In the child before exec: get ``sig`` (a clean stop) if the parent dies, even by
    SIGKILL, so nothing outlives what started it (Linux prctl PR_SET_PDEATHSIG)."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, sig)


def _stop_with_launcher() -> None:
    _die_with_parent(signal.SIGINT)


def realtime_refusal(priority: int) -> str | None:
    """Why this process cannot start a child at SCHED_FIFO ``priority`` (None: it can)."""
    import resource

    if priority <= 0 or os.geteuid() == 0:
        return None
    soft, _hard = resource.getrlimit(resource.RLIMIT_RTPRIO)
    if soft >= priority:
        return None
    return (f"the real-time priority limit of this user is {soft} (RLIMIT_RTPRIO); allow it "
            f"in /etc/security/limits.conf (e.g. '@realtime - rtprio 98', then log in again "
            "as a member of group realtime), or run as root")


def _child_setup(priority: int):
    """What a node's process does before exec: die with the launcher, and (``priority`` >
    0) run at SCHED_FIFO, which every thread it creates then inherits."""
    def setup() -> None:
        _stop_with_launcher()
        if priority > 0:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
    return setup


def start_child(cmd: list[str], **kwargs) -> subprocess.Popen:
    """Start a graph (``dagger-ros run ...``) from a script: in its own session (so the
    script can signal the whole group), told SIGTERM if the script dies, however it dies.
    Call from the main thread (the death signal follows the starting thread)."""
    return subprocess.Popen(cmd, start_new_session=True,
                            preexec_fn=lambda: _die_with_parent(signal.SIGTERM), **kwargs)


def stop_child(proc: subprocess.Popen, timeout: float = 30.0) -> int:
    """Stop what :func:`start_child` started: SIGINT to its group, then SIGKILL."""
    for sig, grace in ((signal.SIGINT, timeout), (signal.SIGKILL, 5.0)):
        if proc.poll() is not None:
            break
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            continue
    return proc.wait()


def node_processes(launcher_pid: int) -> dict[str, int]:
    """The node processes a running ``dagger-ros run`` (pid ``launcher_pid``) started, by
    node name, read from /proc (for scripts and tests that must signal or measure one)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:  # gone meanwhile
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) != launcher_pid:
            continue
        names = {Path(part.decode(errors="replace")).name for part in cmdline[:2]}
        for name in NODES:  # the entry point, run as a script or by its interpreter
            if name in names:
                found[name] = int(entry.name)
    return found


def sigterm_as_interrupt() -> None:
    """In a script: SIGTERM raises KeyboardInterrupt like Ctrl-C, so ``finally`` blocks
    (which stop the graphs the script started) run when ``timeout`` or a CI job stops it."""
    def raise_interrupt(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, raise_interrupt)


def _pump(name: str, stream, width: int, sink) -> None:
    prefix = f"[{name}]".ljust(width + 2)
    for line in iter(stream.readline, ""):
        sink.write(f"{prefix} {line}" if line.endswith("\n") else f"{prefix} {line}\n")
        sink.flush()
    stream.close()


class Graph:
    """The running processes of one graph."""

    def __init__(self, config: Path, nodes: list[str], extra_args: list[str] | None = None,
                 sink=None, priorities: dict[str, int] | None = None):
        self.sink = sink or sys.stdout
        self.config = Path(config).resolve()
        self.nodes = list(nodes)
        self.priorities = priorities or {}
        self.extra_args = extra_args or []
        self.procs: dict[str, subprocess.Popen] = {}
        self.threads: list[threading.Thread] = []
        self.gone: set[str] = set()  # exited and reported

    def start(self) -> None:
        self.width = max(len(n) for n in self.nodes)
        for name in self.nodes:
            self.start_node(name)

    def start_node(self, name: str) -> None:
        cmd = [executable(name), "--ros-args", "--params-file", str(self.config),
               *self.extra_args]
        priority = self.priorities.get(name, 0)
        if priority and realtime_refusal(priority):
            print(f"[dagger-ros] {name} asks for real-time priority {priority}, which cannot "
                  f"be given: {realtime_refusal(priority)}; it runs at normal priority",
                  file=sys.stderr, flush=True)
            priority = 0
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, bufsize=1, start_new_session=True,
                                preexec_fn=_child_setup(priority),
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.procs[name] = proc
        t = threading.Thread(target=_pump, args=(name, proc.stdout, self.width, self.sink),
                             daemon=True)
        t.start()
        self.threads.append(t)

    def poll(self) -> tuple[str, int] | None:
        """A node that has exited (and was not reported yet), with its code, or None."""
        for name, proc in self.procs.items():
            code = proc.poll()
            if code is not None and name not in self.gone:
                self.gone.add(name)
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


def run_graph(config: Path, plan: list[NodePlan], timeout: float = 0.0,
              extra_args: list[str] | None = None, log_file: Path | None = None) -> int:
    """Run the graph until it ends; returns 0, or 1 if a node died (see the module doc).

    With ``log_file`` the nodes' output goes there instead of the terminal.
    """
    sink = open(log_file, "a") if log_file else None  # noqa: SIM115 - closed below
    nodes = [p.name for p in plan]
    critical = {p.name for p in plan if p.critical}
    respawn = {p.name for p in plan if p.respawn}
    graph = Graph(config, nodes, extra_args, sink,
                  {p.name: p.realtime_priority for p in plan if p.realtime_priority})
    stop_requested = []

    def on_signal(signum, _frame):
        stop_requested.append(signum)

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    print(f"[dagger-ros] starting {', '.join(nodes)} with {config} "
          f"(ROS_DOMAIN_ID={os.environ.get('ROS_DOMAIN_ID', '0')})", flush=True)
    code = 0
    restarts: dict[str, list[float]] = {}
    pending: dict[str, float] = {}  # node -> when to restart it
    where = f" (its log: {log_file})" if log_file else ""
    try:
        graph.start()
        deadline = time.monotonic() + timeout if timeout > 0 else None
        while True:
            now = time.monotonic()
            if stop_requested:
                print("[dagger-ros] stop requested; stopping all nodes", flush=True)
                break
            if deadline is not None and now > deadline:
                print(f"[dagger-ros] timeout of {timeout:g} s reached; stopping all nodes",
                      flush=True)
                break
            for name in [n for n, at in pending.items() if now >= at]:
                del pending[name]
                graph.gone.discard(name)
                graph.start_node(name)
            exited = graph.poll()
            if exited is not None:
                name, rc = exited
                if rc == 0:
                    print(f"[dagger-ros] node '{name}' finished; stopping the graph", flush=True)
                    break
                code = 1
                recent = [t for t in restarts.get(name, []) if now - t < 60.0]
                if name in critical or rc == CONFIG_ERROR:
                    print(f"[dagger-ros] node '{name}' died with exit code {rc}{where}; "
                          "stopping the graph", file=sys.stderr, flush=True)
                    break
                if name in respawn and len(recent) < MAX_RESTARTS:
                    restarts[name] = [*recent, now]
                    pending[name] = now + RESTART_DELAY_S
                    print(f"[dagger-ros] node '{name}' died with exit code {rc}{where}; "
                          f"restarting it ({len(recent) + 1} of {MAX_RESTARTS} a minute)",
                          file=sys.stderr, flush=True)
                else:
                    why = "it restarted too often" if name in respawn else "it is not restarted"
                    print(f"[dagger-ros] node '{name}' died with exit code {rc}{where}; the "
                          f"graph goes on without it ({why})", file=sys.stderr, flush=True)
                continue
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
