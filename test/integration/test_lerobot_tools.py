"""Our datasets in LeRobot's own tools, as a LeRobot user runs them: lerobot-edit-dataset
deletes, splits and merges them (in the HF_LEROBOT_HOME layout), the provenance is read back
from what they leave, and lerobot-train trains ACT and Diffusion on the results, unedited,
with a falling loss."""

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dagger_ros.core.dagger_loop import InProcessGraph
from dagger_ros.core.recording import (
    DatasetWriter,
    bc_task_text,
    read_provenance,
    task_text_for,
)
from dagger_ros.core.tasks import task_class

BIN = Path(sys.executable).parent


def lerobot(tool, *args, home):
    env = {**os.environ, "HF_LEROBOT_HOME": str(home), "HF_HUB_OFFLINE": "1",
           "WANDB_MODE": "disabled"}
    result = subprocess.run([str(BIN / tool), *args], env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, f"{tool} {args}:\n{result.stdout[-3000:]}\n" \
                                   f"{result.stderr[-3000:]}"
    return result.stdout + result.stderr


def write(root, episodes, task, rounds):
    t = task_class("drive")
    w = DatasetWriter(root, "local/x", 50, t.observation_names, t.action_names,
                      robot_type="drive", environment_names=t.environment_names)
    for i, episode in enumerate(episodes):
        frames = episode.frames
        if rounds:  # as the graph records round i, driven with checkpoint i
            frames = [dataclasses.replace(f, decision=dataclasses.replace(
                f.decision, round=i + 1, checkpoint_id=f"{i + 1:016x}")) for f in frames]
        w.write_episode(frames, episode.end, task)
    w.close()


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """$HF_LEROBOT_HOME with two of our datasets: a DAgger collection and a BC baseline."""
    home = tmp_path_factory.mktemp("lerobot_home")
    graph = InProcessGraph.for_task("drive")
    episodes = [graph.collect_episode(seed) for seed in (1, 2, 3, 4)]
    expert = episodes[0].frames[0].decision.label_source
    write(home / "local/dagger", episodes[:3], task_text_for("drive", "beta", expert), True)
    write(home / "local/bc", episodes[3:], bc_task_text("drive", expert), False)
    return home


def losses(output: str) -> list[float]:
    return [float(x) for x in re.findall(r"step:\S+ .*? loss:([0-9.]+)", output)]


def test_delete_split_and_merge_keep_the_provenance(home):
    before = read_provenance(home / "local/dagger", "local/dagger")
    assert [p.round for p in before] == [1, 2, 3]
    lerobot("lerobot-edit-dataset", "--repo_id", "local/dagger", "--new_repo_id",
            "local/dagger_del", "--operation.type", "delete_episodes",
            "--operation.episode_indices", "[0]", home=home)
    deleted = read_provenance(home / "local/dagger_del", "local/dagger_del")
    assert [(p.round, p.checkpoint_id, p.seed, p.outcome) for p in deleted] == \
        [(p.round, p.checkpoint_id, p.seed, p.outcome) for p in before[1:]]
    assert [p.episode_index for p in deleted] == [0, 1]  # renumbered by LeRobot
    assert not (home / "local/dagger_del/meta/dagger_episodes.jsonl").exists()

    lerobot("lerobot-edit-dataset", "--repo_id", "local/dagger", "--operation.type", "split",
            "--operation.splits", '{"train": [0, 2], "val": [1]}', home=home)
    train = read_provenance(home / "local/dagger_train", "local/dagger_train")
    val = read_provenance(home / "local/dagger_val", "local/dagger_val")
    assert [p.round for p in train] == [1, 3] and [p.round for p in val] == [2]
    assert val[0].label_source == before[1].label_source

    lerobot("lerobot-edit-dataset", "--new_repo_id", "local/merged", "--operation.type",
            "merge", "--operation.repo_ids", "['local/dagger', 'local/bc']", home=home)
    merged = read_provenance(home / "local/merged", "local/merged")
    assert len(merged) == 4
    assert [(p.round, p.checkpoint_id) for p in merged] == \
        [(1, f"{1:016x}"), (2, f"{2:016x}"), (3, f"{3:016x}"), (0, None)]
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    merged_set = LeRobotDataset("local/merged", root=home / "local/merged")
    tasks = sorted(str(t) for t in merged_set.meta.tasks.index)
    assert len(tasks) == 2 and any("DAgger" in t for t in tasks) and \
        any("BC baseline" in t for t in tasks)  # the two methods stay apart
    row = merged_set[len(merged_set) - 1]
    assert all(bool(np.isfinite(v.numpy()).all()) for k, v in row.items()
               if hasattr(v, "numpy") and v.dtype.is_floating_point)


SMALL_ACT = ["--policy.type=act", "--policy.dim_model=64", "--policy.n_heads=2",
             "--policy.dim_feedforward=128", "--policy.n_encoder_layers=1",
             "--policy.chunk_size=10", "--policy.n_action_steps=10",
             "--policy.optimizer_lr=1e-3"]
SMALL_DIFFUSION = ["--policy.type=diffusion", "--policy.down_dims=[32,64]",
                   "--policy.diffusion_step_embed_dim=32", "--policy.horizon=8",
                   "--policy.n_action_steps=4", "--policy.optimizer_lr=1e-3",
                   "--policy.scheduler_warmup_steps=0"]


@pytest.mark.parametrize("dataset,policy", [("local/dagger", SMALL_ACT),
                                            ("local/dagger", SMALL_DIFFUSION),
                                            ("local/merged", SMALL_ACT)])
def test_lerobot_train_learns_from_our_dataset_as_it_is(home, tmp_path, dataset, policy):
    if not (home / dataset).exists():
        pytest.skip(f"{dataset} is made by the merge test")
    out = lerobot("lerobot-train", f"--dataset.repo_id={dataset}",
                  f"--dataset.root={home / dataset}", *policy, "--policy.device=cpu",
                  "--policy.push_to_hub=false", "--wandb.enable=false", "--steps=60",
                  "--batch_size=16", "--log_freq=10", "--save_checkpoint=false",
                  "--num_workers=0", f"--output_dir={tmp_path / 'train'}", home=home)
    seen = losses(out)
    assert len(seen) == 6, out[-2000:]
    assert seen[-1] < seen[0], seen  # the loss falls


def test_lerobot_dataset_viz_renders_an_episode(home, tmp_path):
    lerobot("lerobot-dataset-viz", "--repo-id", "local/dagger", "--root",
            str(home / "local/dagger"), "--episode-index", "1", "--save", "1",
            "--output-dir", str(tmp_path), "--num-workers", "0", home=home)
    [saved] = tmp_path.glob("*.rrd")
    assert saved.stat().st_size > 10_000


def test_the_trainer_trains_then_fine_tunes_a_lerobot_policy(home, tmp_path):
    """learner: lerobot: round 0 trains a new ACT with lerobot-train, round 1 fine-tunes
    round 0's; each is a checkpoint the policy runtime loads, and the trainer evaluates."""
    from dagger_ros.core.config import from_mapping
    from dagger_ros.core.policy_runtime import PolicyRuntime
    from dagger_ros.core.rounds import TrainerConfig, evaluate_policy, retrain

    config = from_mapping(TrainerConfig, {
        "task": "drive", "dataset_root": str(home / "local/dagger"), "repo_id": "local/dagger",
        "run_dir": str(tmp_path), "learner": "lerobot", "lerobot_steps": 20,
        "lerobot_batch_size": 8, "lerobot_args": SMALL_ACT[1:], "eval_episodes": 1})
    first, trained = retrain(config, 0)
    assert first.name.startswith("round_000-") and (first / "model.safetensors").is_file()
    assert trained["report"]["fine_tuned_from"] is None
    assert trained["report"]["device"] == "cpu" and len(trained["report"]["losses"]) == 10
    second, tuned = retrain(config, 1)
    assert tuned["report"]["fine_tuned_from"] == str(first)
    runtime = PolicyRuntime(9, 2, 4)
    assert runtime.load(str(second)), runtime.last_error
    assert runtime.checkpoint_id == second.name.rsplit("-", 1)[1]
    action, _, uncertainty = runtime.act(np.zeros(9), episode=0)
    assert action.shape == (2,) and uncertainty is None
    evaluation = evaluate_policy(config, tuned["policy"])
    assert 0.0 <= evaluation["success_rate"] <= 1.0


def test_lerobot_train_is_given_only_the_labelled_frames(home, tmp_path):
    """Unqueried frames (uncertainty, budget, human or async gating) store zeros as their
    action; the trainer hands lerobot-train the labelled frames alone."""
    import shutil

    from dagger_ros.core.config import from_mapping
    from dagger_ros.core.recording import open_dataset
    from dagger_ros.core.rounds import TrainerConfig, retrain

    root = tmp_path / "dataset"
    shutil.copytree(home / "local/dagger", root)
    episode = InProcessGraph.for_task("drive").collect_episode(9)
    unqueried = [dataclasses.replace(f, decision=dataclasses.replace(
        f.decision, expert_action=None)) if (f.step // 40) % 2 else f for f in episode.frames]
    write(root, [dataclasses.replace(episode, frames=unqueried)],
          task_text_for("drive", "uncertainty", "scripted/drive_stanley"), False)
    config = from_mapping(TrainerConfig, {
        "task": "drive", "dataset_root": str(root), "repo_id": "local/x",
        "run_dir": str(tmp_path / "run"), "learner": "lerobot", "lerobot_steps": 10,
        "lerobot_batch_size": 8, "lerobot_args": SMALL_ACT[1:], "eval_episodes": 1})
    _, trained = retrain(config, 0)
    dropped = sum(1 for f in unqueried if f.decision.expert_action is None)
    made = trained["report"]["labelled_subset"]
    assert made["seconds"] >= 0
    runs = len(range(0, len(unqueried), 80))  # labelled for 40 steps, then not for 40
    assert made["dropped"] == dropped and made["episodes"] == 3 + runs
    given = open_dataset(trained["report"]["dataset"], "local/x")
    table = given.hf_dataset.with_format("numpy")
    assert (np.asarray(table["labelled"]) == 1).all()
    assert len(table) == open_dataset(root, "local/x").meta.total_frames - dropped
