"""How the cameras' frames are encoded: H.264 (libx264, bundled with PyAV), and never in a
way that changes the scheduling of the thread that encodes.

LeRobot's default codec is AV1 by SVT-AV1. Measured here (SVT-AV1 3.0.0 in PyAV's wheel):
when the process may use real-time priorities (root, or a user allowed them by
RLIMIT_RTPRIO), SVT-AV1 switches the thread that starts an encoder to SCHED_FIFO 99, and its
worker threads run there too. That is above a robot's control path (SCHED_FIFO 50 in
config/robot.yaml), on a thread that was meant to yield to it (the recorder's writer runs at
nice +10); the thread keeps that priority after encoding, and so does every process it
starts afterwards (a trainer's lerobot-train). libx264 leaves scheduling alone. LeRobot
decodes H.264 with PyAV like AV1 (``vcodec`` h264 is one of its codecs), and its policies
train on it as they are.

``scheduling_kept`` puts the calling thread's scheduling back should any encoder change it
all the same, and says so.
"""

from __future__ import annotations

import contextlib
import os

VIDEO_CODEC = "h264"


def rgb_encoder():
    """LeRobot's encoder settings for a camera feature: H.264, LeRobot's other defaults.
    libav is told to print errors only (see quiet_libav)."""
    from lerobot.configs.video import RGBEncoderConfig

    quiet_libav()
    return RGBEncoderConfig(vcodec=VIDEO_CODEC)


def quiet_libav() -> None:
    """libav's own log level to errors. LeRobot restores libav's default log callback after
    each video, and libx264 then prints ~10 lines of statistics at the end of every one,
    into the recorder's log; ``av.logging.set_level`` filters only PyAV's Python callback,
    so this sets libav's level itself."""
    import av.logging

    av.logging.set_libav_level(av.logging.ERROR)


POLICIES = {os.SCHED_OTHER: "SCHED_OTHER", os.SCHED_FIFO: "SCHED_FIFO", os.SCHED_RR: "SCHED_RR",
            os.SCHED_BATCH: "SCHED_BATCH", os.SCHED_IDLE: "SCHED_IDLE"}


def _name(policy: int, priority: int) -> str:
    return f"{POLICIES.get(policy, f'policy {policy}')} {priority}"


def _scheduling() -> tuple[int, int]:
    return os.sched_getscheduler(0), os.sched_getparam(0).sched_priority


@contextlib.contextmanager
def scheduling_kept(log=print, what: str = "the video encoder"):
    """Run the body; if it changed the calling thread's scheduling policy or real-time
    priority (Linux: per thread), put them back and ``log`` what ``what`` did. A restore
    the system refuses is logged, never raised: what the body wrote stays written."""
    before = _scheduling()
    try:
        yield
    finally:
        after = _scheduling()
        if after != before:
            try:
                os.sched_setscheduler(0, before[0], os.sched_param(before[1]))
                log(f"{what} changed this thread's scheduling to {_name(*after)}; put back "
                    f"to {_name(*before)}")
            except OSError as exc:
                log(f"{what} changed this thread's scheduling to {_name(*after)}, and it "
                    f"could not be put back to {_name(*before)}: {exc.strerror}")
