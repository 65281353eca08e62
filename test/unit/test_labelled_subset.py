"""What lerobot-train is given: only frames with an expert label, each run of consecutive
labelled frames an episode of its own, every column copied as recorded."""

import numpy as np
import pytest

from dagger_ros.core.recording import DatasetWriter, Frame, open_dataset, read_provenance
from dagger_ros.core.recording.subset import labelled_runs, write_labelled_subset

from .sample_records import CHECKPOINT, decision, end

OBS, ACT = ["a", "b", "c"], ["u", "v"]


@pytest.mark.parametrize("episodes,labelled,runs", [
    ([0, 0, 0, 0], [1, 1, 1, 1], [[0, 1, 2, 3]]),
    ([0, 0, 0, 0], [1, 0, 1, 1], [[0], [2, 3]]),
    ([0, 0, 1, 1], [1, 1, 1, 1], [[0, 1], [2, 3]]),  # an episode boundary ends a run
    ([0, 0, 1, 1], [0, 0, 0, 0], []),
    ([0, 1, 1, 1], [0, 1, 0, 1], [[1], [3]]),
])
def test_runs_of_labelled_frames(episodes, labelled, runs):
    assert [list(r) for r in labelled_runs(np.array(episodes), np.array(labelled))] == runs


def frames(episode, base, labels):
    """Frames whose expert action is step-valued where labelled, absent elsewhere."""
    out = []
    for s, has in enumerate(labels):
        record = decision(base + s, "policy", 2, expert_action=[s, -s] if has else None,
                          reason="uncertainty", gating="uncertainty",
                          label=f"{episode}:{s}")
        out.append(Frame(base + s, episode, s, np.full(3, float(s)), record))
    return out


def write(root, episodes):
    writer = DatasetWriter(root, "local/t", 50, OBS, ACT, environment_names=["c"])
    for e, labels in enumerate(episodes):
        writer.write_episode(frames(e, 100 * e, labels), end(e, e, "success", len(labels)),
                             "t: DAgger")
    writer.close()


def test_only_labelled_frames_reach_the_subset_split_at_every_gap(tmp_path):
    write(tmp_path / "ds", [[1, 1, 0, 0, 1, 1, 1], [0, 1, 1]])  # seeds 0 and 1
    made = write_labelled_subset(tmp_path / "ds", "local/t", tmp_path / "subset")
    assert {k: made[k] for k in ("frames", "episodes", "dropped")} == \
        {"frames": 7, "episodes": 3, "dropped": 3}
    subset = open_dataset(tmp_path / "subset", "local/t")
    table = subset.hf_dataset.with_format("numpy")
    actions = np.stack(table["action"])
    assert actions.tolist() == [[0, 0], [1, -1], [4, -4], [5, -5], [6, -6], [1, -1], [2, -2]]
    assert np.asarray(table["episode_index"]).tolist() == [0, 0, 1, 1, 1, 2, 2]
    assert np.asarray(table["frame_index"]).tolist() == [0, 1, 0, 1, 2, 0, 1]
    assert (np.asarray(table["labelled"]) == 1).all()
    env = np.stack(table["observation.environment_state"]).reshape(-1)
    assert env.tolist() == [0, 1, 4, 5, 6, 1, 2]  # each frame's own observation
    assert [str(t) for t in subset.meta.tasks.index] == ["t: DAgger"]
    # the provenance columns travel with the frames
    assert [(p.round, p.seed, p.sim_episode, p.outcome.value, p.checkpoint_id) for p in
            read_provenance(tmp_path / "subset", "local/t")] == \
        [(2, 0, 0, "success", CHECKPOINT)] * 2 + [(2, 1, 1, "success", CHECKPOINT)]
    # rebuilt in place the next round, with what was added since
    write(tmp_path / "ds", [[1, 0, 1]])
    assert write_labelled_subset(tmp_path / "ds", "local/t", tmp_path / "subset")["frames"] == 9
    assert not list(tmp_path.glob(".subset*"))  # no staging folder left behind


def test_single_labelled_frames_among_longer_runs_load_in_lerobot(tmp_path):
    # a budget gate's lone labels are 1-frame runs; LeRobot's loader must take them beside
    # longer ones, with checkpoints whose 64-bit ids have no exact double
    write(tmp_path / "ds", [[1, 1, 1, 0, 1, 0, 1, 1, 0, 1]])
    write_labelled_subset(tmp_path / "ds", "local/t", tmp_path / "subset")
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    subset = LeRobotDataset("local/t", root=tmp_path / "subset")  # loads every file
    assert subset.meta.total_episodes == 4 and len(subset) == 7
    assert subset[len(subset) - 1]["action"].tolist() == [9.0, -9.0]


def test_a_fully_labelled_dataset_is_trained_on_as_it_is(tmp_path):
    write(tmp_path / "ds", [[1, 1, 1]])
    (tmp_path / "subset").mkdir()  # a subset from an earlier round is removed
    assert write_labelled_subset(tmp_path / "ds", "local/t", tmp_path / "subset") is None
    assert not (tmp_path / "subset").exists()


def test_a_dataset_with_no_label_at_all_is_named(tmp_path):
    write(tmp_path / "ds", [[0, 0, 0]])
    with pytest.raises(ValueError, match="no frame has an expert label"):
        write_labelled_subset(tmp_path / "ds", "local/t", tmp_path / "subset")


def test_a_cameras_frames_travel_with_their_labels(tmp_path):
    from dagger_ros.core.images import ImageField
    from dagger_ros.core.recording.reading import load_images

    camera = ImageField("cam", 32, 32)
    writer = DatasetWriter(tmp_path / "ds", "local/t", 50, OBS, ACT, environment_names=["c"],
                           images=[camera])
    for e, labels in enumerate([[1, 1, 0, 0, 1, 1], [0, 1, 1]]):
        steps = frames(e, 100 * e, labels)
        for f in steps:  # each frame's image a grey level of its own
            f.images = {"cam": np.full(camera.shape, 20 + 30 * f.step + 100 * e, np.uint8)}
        writer.write_episode(steps, end(e, e, "success", len(labels)), "t: DAgger")
    writer.close()
    assert write_labelled_subset(tmp_path / "ds", "local/t", tmp_path / "subset")["frames"] == 6
    levels = load_images(tmp_path / "subset", "local/t", ["cam"])["cam"].reshape(6, -1).mean(1)
    expected = [20, 50, 140, 170, 150, 180]  # episode 0 steps 0, 1, 4, 5; episode 1 steps 1, 2
    assert np.abs(levels - expected).max() < 4, levels  # video coding moves a level a little
    subset = open_dataset(tmp_path / "subset", "local/t")  # and LeRobot decodes it too
    assert subset.meta.video_keys == ["observation.images.cam"]
    assert abs(float(subset[3]["observation.images.cam"].mean()) * 255 - 170) < 4
