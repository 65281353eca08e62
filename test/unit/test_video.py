"""Camera frames are encoded as H.264, and encoding never changes the scheduling of the
thread that runs it (SVT-AV1, LeRobot's default, raises it to SCHED_FIFO 99 as root)."""

import os
import threading

import av
import numpy as np

from dagger_ros.core.images import ImageField
from dagger_ros.core.recording import DatasetWriter, Frame
from dagger_ros.core.recording.video import scheduling_kept

from .sample_records import decision, end


def test_a_changed_scheduling_is_put_back_and_said():
    said, seen = [], []

    def body():  # in a thread of its own: the policy is per thread
        before = os.sched_getscheduler(0)
        with scheduling_kept(said.append, "the body"):
            os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))  # allowed to anyone
        seen.append((before, os.sched_getscheduler(0)))
        with scheduling_kept(said.append, "the body"):
            pass

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    assert seen == [(os.SCHED_OTHER, os.SCHED_OTHER)]
    assert said == ["the body changed this thread's scheduling to SCHED_BATCH 0; put back to "
                    "SCHED_OTHER 0"]


def test_the_recorder_writes_h264_and_leaves_its_threads_scheduling_alone(tmp_path):
    camera = ImageField("cam", 32, 32)
    said = []
    writer = DatasetWriter(tmp_path / "ds", "local/v", 50, ["a"], ["u", "v"], images=[camera],
                           log=said.append)
    before = os.sched_getscheduler(0), os.sched_getparam(0)
    frames = [Frame(s, 0, s, np.zeros(1), decision(s, label=f"0:{s}"),
                    {"cam": np.full(camera.shape, 8 * s, np.uint8)}) for s in range(20)]
    writer.write_episode(frames, end(0, 0, "success", 20), "t")
    writer.close()
    assert (os.sched_getscheduler(0), os.sched_getparam(0)) == before
    assert not [line for line in said if "scheduling" in line]  # nothing had to be put back
    [video] = (tmp_path / "ds").glob("videos/**/*.mp4")
    with av.open(str(video)) as container:
        assert container.streams.video[0].codec_context.name == "h264"


def test_the_encoder_says_nothing_but_errors(tmp_path, capfd):
    # libav's default printer on, as LeRobot leaves it after a video (PyAV's own, installed
    # at import, drops everything: a first video alone would prove nothing)
    av.logging.restore_default_callback()
    camera = ImageField("cam", 32, 32)
    writer = DatasetWriter(tmp_path / "ds", "local/v", 50, ["a"], ["u", "v"], images=[camera],
                           log=print)
    for e in range(2):
        frames = [Frame(100 * e + s, e, s, np.zeros(1), decision(100 * e + s, label=f"{e}:{s}"),
                        {"cam": np.full(camera.shape, 8 * s, np.uint8)}) for s in range(10)]
        writer.write_episode(frames, end(e, e, "success", 10), "t")
    writer.close()
    out, err = capfd.readouterr()
    assert "libx264" not in out + err and "kb/s" not in out + err, err[-500:]


def test_a_restore_the_system_refuses_is_said_never_raised(monkeypatch):
    from dagger_ros.core.recording import video

    said, seen = [], []
    changed = iter([(os.SCHED_OTHER, 0), (os.SCHED_FIFO, 99)])
    monkeypatch.setattr(video, "_scheduling", lambda: next(changed))

    def refuse(*args):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(video.os, "sched_setscheduler", refuse)
    with scheduling_kept(said.append):
        seen.append("written")
    assert seen == ["written"]
    assert said == ["the video encoder changed this thread's scheduling to SCHED_FIFO 99, and "
                    "it could not be put back to SCHED_OTHER 0: Operation not permitted"]
