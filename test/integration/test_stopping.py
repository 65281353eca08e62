"""Stops are clean whatever stops what: a node never ignores SIGTERM (whichever executor
spins it), and a script that starts a graph takes the graph with it when it is stopped,
by SIGTERM (``timeout``, a CI job) or even by SIGKILL."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from .rosgraph import start, write_graph

pytestmark = pytest.mark.integration


def wait_for_line(proc, text: str, timeout: float = 60.0) -> str:
    """Read the process's stdout until a line holds ``text``."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                break
            continue
        seen.append(line)
        if text in line:
            return line
    raise AssertionError(f"no line with {text!r} within {timeout:g} s; saw:\n{''.join(seen)}")


@pytest.mark.parametrize("executor", ["single", "events"])
def test_a_node_stops_on_sigterm_whatever_its_executor(tmp_path, executor):
    config = write_graph(tmp_path / "e.yaml", {"expert": {"task": "reach"}})
    proc = subprocess.Popen(["expert", "--ros-args", "--params-file", str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "DAGGER_ROS_EXECUTOR": executor,
                                 "PYTHONUNBUFFERED": "1"}, start_new_session=True)
    try:
        wait_for_line(proc, "expert 'scripted/reach_ik'")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()


SCRIPT = textwrap.dedent("""
    import sys, time
    from dagger_ros.launcher import sigterm_as_interrupt, start_child, stop_child
    sigterm_as_interrupt()
    run = start_child(["dagger-ros", "run", "--config", sys.argv[1]])
    print("graph", run.pid, flush=True)
    try:
        time.sleep(600)
    finally:
        stop_child(run)
""")


def graph_processes(pid: int) -> list[psutil.Process]:
    """The launcher and its node processes (in their own session, under the script)."""
    launcher = psutil.Process(pid)
    return [launcher, *launcher.children(recursive=True)]


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_a_script_stopped_takes_its_graph_with_it(tmp_path, how):
    """The fault found by hand: `timeout 120 python bench/dagger_graph.py` left the
    launcher and its nodes running."""
    config = write_graph(tmp_path / "g.yaml", {
        "mujoco_bridge": {"task": "reach", "stepping": "lockstep", "episodes": 0},
        "expert": {"task": "reach", "drive_robot": True}})
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    proc = start([sys.executable, str(script), str(config)])
    line = proc.stdout.readline()
    assert line.startswith("graph "), line + proc.stderr.read()
    deadline = time.monotonic() + 60
    while len(graph_processes(int(line.split()[1]))) < 3 and time.monotonic() < deadline:
        time.sleep(0.2)  # the launcher, the bridge and the expert
    processes = graph_processes(int(line.split()[1]))
    assert len(processes) >= 3, [p.cmdline() for p in processes]
    proc.send_signal(how)
    proc.wait(timeout=30)
    gone, alive = psutil.wait_procs(processes, timeout=30)
    assert not alive, f"still running after the script was stopped: {alive}"
