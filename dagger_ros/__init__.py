"""dagger_ros: interactive imitation learning (DAgger and its family) for ROS 2 robots."""

import os as _os

# MuJoCo picks its OpenGL platform when it is first imported: on a machine without a
# display, offscreen cameras render only through EGL (Mesa's libEGL), so that is the
# default there; a MUJOCO_GL already set wins.
if "MUJOCO_GL" not in _os.environ and not _os.environ.get("DISPLAY"):
    _os.environ["MUJOCO_GL"] = "egl"
