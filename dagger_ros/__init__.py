"""dagger_ros: interactive imitation learning (DAgger and its family) for ROS 2 robots."""

import os as _os

# MuJoCo picks its OpenGL platform when it is first imported: on a machine without a
# display, offscreen cameras render only through EGL (Mesa's libEGL), so that is the
# default there; a MUJOCO_GL already set wins.
if "MUJOCO_GL" not in _os.environ and not _os.environ.get("DISPLAY"):
    _os.environ["MUJOCO_GL"] = "egl"

# LeRobot warns, each time it picks a default video decoder, that torchcodec is missing and
# PyAV is used: here that is by design (dev.sh removes torchcodec, which needs a system
# FFmpeg; the README says so), so that one message is dropped. Any other warning stays.
import logging as _logging  # noqa: E402


def _not_the_torchcodec_notice(record) -> bool:
    return "'torchcodec' is not available" not in record.getMessage()


_logging.getLogger("lerobot.utils.import_utils").addFilter(_not_the_torchcodec_notice)
