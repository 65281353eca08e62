"""Helpers for integration tests: start real node processes, watch real topics."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def write_graph(path: Path, sections: dict) -> Path:
    """A graph YAML with ``ros__parameters`` per node."""
    path.write_text(yaml.safe_dump({n: {"ros__parameters": p} for n, p in sections.items()}))
    return path


STARTED: list[subprocess.Popen] = []  # reaped after every test, pass or fail (conftest)


def start(cmd: list[str], **kwargs) -> subprocess.Popen:
    """A process in its own session, output captured as text."""
    exe = shutil.which(cmd[0]) or cmd[0]
    proc = subprocess.Popen([exe, *cmd[1:]], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True, cwd=ROOT, **kwargs)
    STARTED.append(proc)
    return proc


def reap_all() -> None:
    """Kill the whole process group of every process a test started and left running."""
    while STARTED:
        proc = STARTED.pop()
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.communicate()


def stop(proc: subprocess.Popen, sig=signal.SIGINT, timeout: float = 20.0) -> tuple[str, str]:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        return proc.communicate()



from dagger_ros.ros.watch import Listener  # noqa: E402,F401  (re-exported for tests)
