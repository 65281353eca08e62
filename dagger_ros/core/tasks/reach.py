"""reach: a 3-joint arm moves its end effector to a randomly placed target.

Commanded like a ros2_control forward velocity controller (one velocity per joint).
The target is drawn as the forward kinematics of a random reachable configuration, so
every seeded episode is solvable.
"""

from __future__ import annotations

import numpy as np

from dagger_ros.core.tasks.base import FAILURE, SUCCESS, Task

JOINTS = ("base_yaw", "shoulder_pitch", "elbow_pitch")


class ReachTask(Task):
    name = "reach"
    model_file = "reach.xml"
    default_max_steps = 150  # 3 s at 50 Hz
    command_kind = "joint_velocity"
    actuator_suffix = "velocity"  # the MJCF actuators are <joint>_velocity
    action_names = tuple(f"{j}.velocity" for j in JOINTS)
    observation_names = (
        tuple(f"{j}.position" for j in JOINTS) + tuple(f"{j}.velocity" for j in JOINTS)
        + ("target.x", "target.y", "target.z", "error.x", "error.y", "error.z"))
    environment_names = ("target.x", "target.y", "target.z", "error.x", "error.y", "error.z")
    success_distance = 0.03  # m
    floor_clearance = 0.02  # m: the end effector lower than this has hit the floor

    def _check_model(self) -> None:
        self.joint_ids = self._require("joint", JOINTS)
        self.actuator_ids = self._require("actuator", tuple(f"{j}_{self.actuator_suffix}"
                                                            for j in JOINTS))
        (self.site_id,) = self._require("site", ("end_effector",))
        (target_body,) = self._require("body", ("target",))
        self.mocap_id = int(self.model.body_mocapid[target_body])
        self.qpos_adr = self.model.jnt_qposadr[self.joint_ids]
        self.dof_adr = self.model.jnt_dofadr[self.joint_ids]
        self.ranges = self.model.jnt_range[self.joint_ids].copy()
        self._jacp = np.zeros((3, self.model.nv))

    def action_limits(self):
        ctrl = self.model.actuator_ctrlrange[self.actuator_ids]
        return ctrl[:, 0].copy(), ctrl[:, 1].copy()

    def joint_names(self):
        return list(JOINTS)

    def joint_state(self):
        d = self.data
        return (d.qpos[self.qpos_adr].copy(), d.qvel[self.dof_adr].copy(),
                d.actuator_force[self.actuator_ids].copy())

    # -- geometry -------------------------------------------------------------------
    def end_effector(self) -> np.ndarray:
        return self.data.site_xpos[self.site_id].copy()

    def target(self) -> np.ndarray:
        return self.data.mocap_pos[self.mocap_id].copy()

    def jacobian(self) -> np.ndarray:
        """3 x n_joints positional Jacobian of the end effector."""
        self._mj.mj_jacSite(self.model, self.data, self._jacp, None, self.site_id)
        return self._jacp[:, self.dof_adr].copy()

    #: base yaw range (rad) the targets and starts are drawn in
    yaw_range = 2.5

    def _sample_configuration(self) -> np.ndarray:
        # inside the joint ranges, away from the stretched (singular) and fully folded elbow
        return np.array([self.rng.uniform(-self.yaw_range, self.yaw_range),
                         self.rng.uniform(-0.9, 1.2),
                         self.rng.uniform(0.7, 2.0) * self.rng.choice([-1.0, 1.0])])

    def _draw_goal(self) -> np.ndarray:
        """A target: the end effector position of a random configuration, well above the
        floor (so it is reachable). Leaves qpos at that configuration."""
        d = self.data
        for _ in range(100):
            d.qpos[self.qpos_adr] = self._sample_configuration()
            self._mj.mj_kinematics(self.model, d)
            goal = d.site_xpos[self.site_id].copy()
            if goal[2] > 0.12:
                break
        return goal

    def _reset_state(self) -> None:
        d = self.data
        goal = self._draw_goal()
        d.mocap_pos[self.mocap_id] = goal
        # start: another random configuration, at least 15 cm from the target
        for _ in range(100):
            d.qpos[self.qpos_adr] = self._sample_configuration()
            self._mj.mj_kinematics(self.model, d)
            start = d.site_xpos[self.site_id]
            if start[2] > 0.12 and np.linalg.norm(start - goal) > 0.15:
                break
        d.qvel[:] = 0.0

    def place_target(self, seed: int) -> None:
        """A person resetting the scene by hand: a new target (drawn with ``seed``), at
        least 15 cm from where the end effector is; the arm stays where it is."""
        rng, self.rng = self.rng, np.random.default_rng(seed)
        d = self.data
        q, qvel = d.qpos.copy(), d.qvel.copy()
        here = self.end_effector()
        for _ in range(100):
            goal = self._draw_goal()
            if np.linalg.norm(goal - here) > 0.15:
                break
        d.qpos[:], d.qvel[:] = q, qvel
        d.mocap_pos[self.mocap_id] = goal
        self._mj.mj_forward(self.model, d)
        self.rng = rng

    def observation(self) -> np.ndarray:
        d = self.data
        target = self.target()
        return np.concatenate([d.qpos[self.qpos_adr], d.qvel[self.dof_adr], target,
                               target - self.end_effector()])

    def _apply(self, action: np.ndarray) -> None:
        self.data.ctrl[self.actuator_ids] = action

    def distance(self) -> float:
        return float(np.linalg.norm(self.target() - self.end_effector()))

    def _judge(self):
        dist = self.distance()
        if self.end_effector()[2] < self.floor_clearance:
            return -1.0, FAILURE
        if dist < self.success_distance:
            return 1.0, SUCCESS
        return -dist * self.control_dt, None

    def task_state(self):
        t = self.target()
        return {"target.x": t[0], "target.y": t[1], "target.z": t[2],
                "distance": self.distance(), "progress": self.step_count / self.max_episode_steps}


class ReachPositionTask(ReachTask):
    """reach under a forward position controller: the command is each joint's target
    angle (a servo in the MJCF tracks it), as a ros2_control forward_position_controller
    takes it."""

    name = "reach_position"
    model_file = "reach_position.xml"
    command_kind = "joint_position"
    actuator_suffix = "position"
    action_names = tuple(f"{j}.position" for j in JOINTS)

    #: targets in front of the arm's home (base yaw 0), each reached one way: facing it,
    #: elbow up, as a work cell's are. A target the arm could reach in two ways would have
    #: the teacher choose between them by where the arm happens to be, and a policy that
    #: learns from such labels averages the two ways into a stall between them.
    yaw_range = 1.2

    def _sample_configuration(self) -> np.ndarray:
        return np.array([self.rng.uniform(-self.yaw_range, self.yaw_range),
                         self.rng.uniform(-0.6, 1.0), self.rng.uniform(0.7, 2.0)])

    def _reset_state(self) -> None:
        super()._reset_state()
        self.data.ctrl[self.actuator_ids] = self.data.qpos[self.qpos_adr]  # holds the start


class ReachCameraTask(ReachTask):
    """reach seen through a camera: the target is not in the learner's observation, which
    holds only the arm's joint positions; a fixed camera above the work area (``scene``,
    96x96) shows the arm and the target, a red ball. A policy that ignores the image cannot
    know where to go. The scripted expert stays privileged: its topic carries the target.

    No joint velocities for the learner: the expert's motion points at the target, so from
    the second step on they told a policy where the target was, and one trained on them
    followed its own motion and never learnt to find the target in the image (it missed by
    23 cm at an episode's first frame, 5 cm later)."""

    name = "reach_camera"
    model_file = "reach_camera.xml"
    cameras = ("scene",)
    observation_names = ReachTask.observation_names[:3]
    environment_names = ()
    #: targets lie on a table (0.2 m high) in front of the arm, 0.2-0.5 m from its axis:
    #: a camera looking down then shows everything about where one is; the arm starts
    #: elbow up, facing the front, as the position arm does (one way to reach each target)
    table_height = 0.2
    yaw_range = 1.0

    def _sample_configuration(self) -> np.ndarray:
        return np.array([self.rng.uniform(-self.yaw_range, self.yaw_range),
                         self.rng.uniform(-0.6, 1.0), self.rng.uniform(0.7, 2.0)])

    def _draw_goal(self) -> np.ndarray:
        radius = self.rng.uniform(0.2, 0.5)
        azimuth = self.rng.uniform(-self.yaw_range, self.yaw_range)
        return np.array([radius * np.cos(azimuth), radius * np.sin(azimuth),
                         self.table_height])

    @property
    def privileged_names(self) -> tuple[str, ...]:
        return ReachTask.observation_names

    def learner_view(self, privileged: np.ndarray) -> np.ndarray:
        return privileged[:3]
