"""The effect the project exists for, on a reduced budget: at the same number of expert
labels, DAgger's policy drives the track while behaviour cloning's does not."""

from dagger_ros.core.config import from_mapping
from dagger_ros.core.dagger_loop import InProcessGraph, expert_success, run_bc, run_dagger
from dagger_ros.core.experts import make_expert
from dagger_ros.core.tasks import make_task
from dagger_ros.core.training import TrainConfig


def test_dagger_beats_bc_at_equal_labels():
    task = make_task("drive")
    expert = make_expert(task)
    train = from_mapping(TrainConfig, {"max_steps": 800, "members": 3, "hidden": [128, 128]})
    # the supervisor's own decision code, as the graph runs it
    graph = InProcessGraph.for_task("drive", gating="beta", beta_schedule="exponential",
                                    beta0=1.0, beta_decay=0.5)
    dagger = run_dagger(graph, train, rounds=6, episodes_per_round=1, eval_episodes=10)
    bc = run_bc(task, train, [dagger[-1]["labels"]], eval_episodes=10)
    assert expert_success(task, expert, 10) == 1.0
    assert dagger[0]["beta"] == 1.0 and dagger[-1]["beta"] == 0.5 ** 5
    assert dagger[-1]["success_rate"] >= 0.8, dagger
    assert dagger[-1]["success_rate"] - bc[0]["success_rate"] >= 0.3, (dagger, bc)
