"""drive: a differential-drive vehicle follows a closed track for one lap.

Commanded by a Twist (linear x, angular z) turned into wheel speeds as ros2's
diff_drive_controller does. Each seed draws a different track shape and start pose; leaving
the road (lateral error beyond the half width) fails the episode. A cloned driver that
drifts a little sees states its teacher never showed it: the classic DAgger case. The
observation is track-relative (lateral and heading error) plus the road's curvature ahead,
which belongs to the road and not to the vehicle: the expert's demonstrations keep the
errors near zero, so a cloned driver has never seen what to do once it drifts.
"""

from __future__ import annotations

import numpy as np

from dagger_ros.core.tasks.base import FAILURE, SUCCESS, Task

LOOKAHEADS = (0.0, 0.5, 1.0, 1.5, 2.0)  # m: where the observation reads the road's curvature


def wrap_angle(a: float) -> float:
    return float((a + np.pi) % (2 * np.pi) - np.pi)


class Track:
    """A closed, smooth polar track sampled densely, with arc-length lookups."""

    def __init__(self, rng: np.random.Generator, points: int = 720):
        theta = np.linspace(0.0, 2 * np.pi, points, endpoint=False)
        base = rng.uniform(2.6, 3.4)
        k1, k2 = rng.integers(2, 4), rng.integers(3, 6)
        a1, a2 = rng.uniform(0.08, 0.16), rng.uniform(0.03, 0.07)
        p1, p2 = rng.uniform(0, 2 * np.pi, size=2)
        radius = base * (1 + a1 * np.sin(k1 * theta + p1) + a2 * np.sin(k2 * theta + p2))
        self.xy = np.stack([radius * np.cos(theta), radius * np.sin(theta)], axis=1)
        seg = np.roll(self.xy, -1, axis=0) - self.xy
        self.seg_len = np.linalg.norm(seg, axis=1)
        self.length = float(self.seg_len.sum())
        self.s = np.concatenate([[0.0], np.cumsum(self.seg_len)[:-1]])
        self.heading = np.arctan2(seg[:, 1], seg[:, 0])
        turn = np.array([wrap_angle(a) for a in np.roll(self.heading, -1) - self.heading])
        self.curvature = turn / self.seg_len  # 1/m, left turns positive

    def closest(self, xy: np.ndarray, hint: int, window: int = 40) -> int:
        """Index of the closest track point, searched near ``hint`` (no lap jumps)."""
        n = len(self.xy)
        idx = (hint + np.arange(-window, window + 1)) % n
        d = np.linalg.norm(self.xy[idx] - xy, axis=1)
        return int(idx[int(np.argmin(d))])

    def curvature_ahead(self, index: int, distance: float, window: float = 0.3) -> float:
        """Mean curvature over ``window`` metres of arc starting ``distance`` ahead."""
        n = len(self.xy)
        s0 = (self.s[index] + distance) % self.length
        j = int(np.searchsorted(self.s, s0, side="right") - 1) % n
        count = max(1, int(round(window / np.mean(self.seg_len))))
        return float(np.mean(self.curvature[(j + np.arange(count)) % n]))


class DriveTask(Task):
    name = "drive"
    model_file = "drive.xml"
    default_max_steps = 1500  # 30 s at 50 Hz; a lap takes about 20 s at the cruise speed
    command_kind = "twist"
    action_names = ("linear.x", "angular.z")
    observation_names = (
        "lateral_error", "heading_error", "speed", "yaw_rate",
        *[f"curvature_{d:.1f}" for d in LOOKAHEADS])
    environment_names = tuple(f"curvature_{d:.1f}" for d in LOOKAHEADS)
    # the learner's sensors: lateral error +-8 cm and heading +-0.08 rad (consumer GNSS
    # without RTK), odometry small; the curvature ahead comes from the map, exact. The
    # scripted expert is a privileged teacher and sees the noise-free state.
    default_observation_noise = (0.08, 0.08, 0.02, 0.05, 0.0, 0.0, 0.0, 0.0, 0.0)
    half_width = 0.45  # m: beyond this lateral error the vehicle is off the road
    wheel_radius = 0.08  # m, as in drive.xml
    wheel_separation = 0.36  # m, as in drive.xml
    max_linear = 1.5  # m/s
    max_angular = 2.5  # rad/s

    def _check_model(self) -> None:
        self.wheel_joint_ids = self._require("joint", ("left_wheel", "right_wheel"))
        self.actuator_ids = self._require("actuator", ("left_wheel_velocity",
                                                       "right_wheel_velocity"))
        (self.chassis_id,) = self._require("body", ("chassis",))
        (self.free_joint,) = self._require("joint", ("chassis",))
        self.free_qpos = self.model.jnt_qposadr[self.free_joint]
        self.wheel_qpos = self.model.jnt_qposadr[self.wheel_joint_ids]
        self.wheel_dof = self.model.jnt_dofadr[self.wheel_joint_ids]
        self.track: Track | None = None
        self.index = 0
        self.travelled = 0.0

    def action_limits(self):
        return (np.array([-self.max_linear, -self.max_angular]),
                np.array([self.max_linear, self.max_angular]))

    def joint_names(self):
        return ["left_wheel", "right_wheel"]

    def joint_state(self):
        d = self.data
        return (d.qpos[self.wheel_qpos].copy(), d.qvel[self.wheel_dof].copy(),
                d.actuator_force[self.actuator_ids].copy())

    # -- vehicle state --------------------------------------------------------------
    def pose(self) -> tuple[np.ndarray, float]:
        """Planar position and yaw of the chassis."""
        q = self.data.qpos[self.free_qpos:self.free_qpos + 7]
        w, x, y, z = q[3:7]
        yaw = np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))
        return q[:2].copy(), float(yaw)

    def body_velocity(self) -> tuple[float, float]:
        """Forward speed and yaw rate of the chassis."""
        _, yaw = self.pose()
        v = self.data.qvel[self.model.jnt_dofadr[self.free_joint]:][:6]
        forward = v[0] * np.cos(yaw) + v[1] * np.sin(yaw)
        return float(forward), float(v[5])

    def errors(self) -> tuple[float, float]:
        """Signed lateral error (left of the track positive) and heading error."""
        pos, yaw = self.pose()
        i = self.index
        h = self.track.heading[i]
        d = pos - self.track.xy[i]
        lateral = -np.sin(h) * d[0] + np.cos(h) * d[1]
        return float(lateral), wrap_angle(yaw - h)

    # -- episode --------------------------------------------------------------------
    def _reset_state(self) -> None:
        self.track = Track(self.rng)
        self.index = 0
        self.travelled = 0.0
        start = self.track.xy[0]
        h = self.track.heading[0]
        offset = self.rng.uniform(-0.03, 0.03)
        yaw = h + self.rng.uniform(-0.03, 0.03)
        q = self.data.qpos
        q[self.free_qpos:self.free_qpos + 3] = [start[0] - np.sin(h) * offset,
                                                start[1] + np.cos(h) * offset, 0.1]
        q[self.free_qpos + 3:self.free_qpos + 7] = [np.cos(yaw / 2), 0, 0, np.sin(yaw / 2)]

    def observation(self) -> np.ndarray:
        lateral, heading = self.errors()
        speed, yaw_rate = self.body_velocity()
        ahead = [self.track.curvature_ahead(self.index, d) for d in LOOKAHEADS]
        return np.array([lateral, heading, speed, yaw_rate, *ahead])

    def _apply(self, action: np.ndarray) -> None:
        v, w = action
        half = self.wheel_separation / 2
        self.data.ctrl[self.actuator_ids] = [(v - w * half) / self.wheel_radius,
                                             (v + w * half) / self.wheel_radius]

    def _judge(self):
        pos, _ = self.pose()
        new = self.track.closest(pos, self.index)
        step = (self.track.s[new] - self.track.s[self.index]) % self.track.length
        if step > self.track.length / 2:  # moved backwards
            step -= self.track.length
        self.travelled += step
        self.index = new
        lateral, _ = self.errors()
        if abs(lateral) > self.half_width:
            return -1.0, FAILURE
        if self.data.xmat[self.chassis_id][8] < 0.5:  # tipped over
            return -1.0, FAILURE
        if self.travelled >= self.track.length:
            return 1.0, SUCCESS
        return step / self.track.length, None

    def progress(self) -> float:
        return self.travelled / self.track.length if self.track else 0.0

    def task_state(self):
        lateral, heading = self.errors()
        return {"track_error": lateral, "heading_error": heading, "progress": self.progress()}
