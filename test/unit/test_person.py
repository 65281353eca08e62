"""The simulated person beside the arm (ReachPerson), without ROS: against the
hardware-shaped simulator in-process, with the gamepad's jog (sticks = joint speeds) and
the supervisor's rules reduced to what matters here (whoever drives, drives; between
episodes the gamepad moves the arm freely; a hold keeps the arm where it was)."""

import numpy as np
import pytest

from dagger_ros.core.config import ConfigError
from dagger_ros.core.hardware_sim import HardwareSim
from dagger_ros.core.operator import ReachPerson, SimOperatorConfig

RATES = np.full(3, 2.0)
DT = 0.02
HOME = [0.0, 0.0, 1.2]


class Bench:
    """The arm, the person, and a minimal graph between them."""

    def __init__(self, policy=None, free_drive=True, **config):
        config = {"watches": "robot", "task": "reach_position", "reaction_delay": 0.2,
                  "operator_noise": 0.0, "home": HOME, **config}
        self.sim = HardwareSim("reach_position", "", 50.0, seed=3)
        self.person = ReachPerson(SimOperatorConfig(**config), RATES)
        self.policy = policy  # observation (q, target) -> position command, or None
        self.free_drive = free_drive
        self.t, self.running, self.held = 0.0, False, None
        self.episodes = []  # per episode: dict(mark, takeovers, human, frames, start_q)

    def run(self, episodes: int, max_ticks: int = 20_000):
        for _ in range(max_ticks):
            if len(self.episodes) >= episodes:
                return self.episodes
            self.tick()
        raise AssertionError(f"only {len(self.episodes)} episodes in {max_ticks} ticks")

    def tick(self):
        q = self.sim.joint_state()[0]
        target = self.sim.target()
        g = self.person.tick(self.t, q, target, self.policy is not None)
        if g.reset_scene:
            self.sim.reset_scene()
            self.person.scene_reset_done(self.t)
        for event in g.events:
            if event == "start" and not self.running:
                self.running = True
                self.person.episode_started()
                self.current = {"mark": None, "human": 0, "frames": 0, "start_q": q.copy()}
            elif event in ("success", "failure") and self.running:
                self.current["mark"] = event
            elif event == "end" and self.running:
                self.running = False
                self.person.episode_ended()
                self.current["takeovers"] = self.person.takeovers
                self.episodes.append(self.current)
        jog = q + g.sticks * RATES * DT
        if self.running:
            human = g.takeover or self.policy is None
            command = jog if human else self.policy(q, target)
            self.current["frames"] += 1
            self.current["human"] += int(human)
            self.held = None
        elif self.free_drive and np.any(g.sticks != 0):
            command, self.held = jog, None
        else:  # held where it was when the hold began
            self.held = q.copy() if self.held is None else self.held
            command = self.held
        self.sim.put(command)
        self.sim.tick()
        self.t += DT


def test_with_no_policy_the_person_demonstrates_each_episode_from_home():
    bench = Bench()
    episodes = bench.run(4)
    assert [e["mark"] for e in episodes] == ["success"] * 4
    assert all(e["human"] == e["frames"] > 0 for e in episodes)
    for e in episodes[1:]:  # jogged home between episodes (the first starts from rest)
        assert np.max(np.abs(e["start_q"] - HOME)) < 0.05
    assert bench.person.marks == ["success"] * 4


def test_the_person_takes_over_a_stalled_policy_and_finishes_the_reach():
    hold = {}

    def frozen(q, target):  # a policy that never moves the arm
        hold.setdefault(tuple(np.round(target, 6)), q.copy())
        return hold[tuple(np.round(target, 6))]

    episodes = Bench(policy=frozen).run(3)
    for e in episodes:
        assert e["takeovers"] >= 1 and 0 < e["human"] < e["frames"]
        assert e["mark"] == "success"  # the person's take-over reaches it


def test_a_policy_that_reaches_on_its_own_is_never_taken_over():
    person = ReachPerson(SimOperatorConfig(watches="robot", task="reach_position"), RATES)

    def teacher(q, target):  # the person's own jog, as a perfect policy would do it
        tool = person.tool(q)
        return q + person.jog(q, tool, target) * DT

    episodes = Bench(policy=teacher).run(3)
    assert [(e["mark"], e["takeovers"], e["human"]) for e in episodes] == [("success", 0, 0)] * 3


def test_how_the_person_jogs_depends_only_on_what_it_sees():
    """No hidden mode: the same arm and target give the same sticks whatever came before
    (consistent labels are what a policy can learn)."""
    bench = Bench()
    bench.run(2)
    person = bench.person
    q, target = np.array([0.3, 0.2, 1.0]), np.array([0.25, 0.1, 0.3])
    tool = person.tool(q)
    first = person.jog(q, tool, target)
    bench.run(3)  # more episodes, other states in between
    assert np.allclose(person.jog(q, person.tool(q), target), first)
    assert np.all(np.abs(first) <= RATES + 1e-9)


def test_a_held_arm_that_cannot_come_home_is_started_from_where_it_is():
    bench = Bench(free_drive=False, home_time_limit=1.0)
    episodes = bench.run(2)
    assert bench.person.homing_given_up >= 1
    assert [e["mark"] for e in episodes] == ["success", "success"]


def test_a_home_of_the_wrong_length_is_refused_naming_it():
    with pytest.raises(ConfigError, match="'home' has 2 positions, the arm has 3 joints"):
        ReachPerson(SimOperatorConfig(watches="robot", task="reach_position",
                                      home=[0.0, 0.0]), RATES)
    with pytest.raises(ConfigError, match="'home_tolerance'"):
        SimOperatorConfig(watches="robot", task="reach_position", home_tolerance=0.0).validate()
