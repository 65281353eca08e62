"""Cameras as real processes: the simulator's camera through the graph into a LeRobot video
dataset, and the observer joining a driver's images to its ticks and naming bad ones."""

import io
import threading
import time

import numpy as np
import pytest
import yaml
from sensor_msgs.msg import CompressedImage, Image, JointState
from std_msgs.msg import Float64MultiArray, String

from dagger_ros.core.recording import read_provenance
from dagger_ros.core.recording.reading import open_dataset
from dagger_ros.ros import topics
from dagger_ros.ros.watch import Listener

from .rosgraph import ROOT, start, stop, write_graph
from .test_lerobot_tools import SMALL_ACT, lerobot, losses
from .test_observer import COMMANDS, FakeArm, Q, call

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """The camera task's graph, expert driving, recorded: (dataset root, images heard)."""
    tmp_path = tmp_path_factory.mktemp("camera_graph")
    root = tmp_path / "dataset"
    config = write_graph(tmp_path / "g.yaml", {
        "/**": {"task": "reach_camera"},
        "mujoco_bridge": {"episodes": 3, "wait_for_nodes": ["recorder"],
                          "max_episode_steps": 60},
        "expert": {},
        "supervisor": {"beta_schedule": "constant", "beta0": 1.0},
        "recorder": {"dataset_root": str(root)}})
    image_topic = topics.observation_image("scene").name
    watch = Listener({image_topic: Image, "/dagger/observation": JointState})
    run = start(["dagger-ros", "run", "--config", str(config)])
    try:
        assert watch.wait_until(lambda: len(read_provenance(root)) >= 3, timeout=180)
    finally:
        out, err = stop(run)
        watch.close()
    with watch.lock:
        sent = {(m.header.stamp.sec * 10**9 + m.header.stamp.nanosec):
                np.frombuffer(bytes(m.data), np.uint8).reshape(m.height, m.width, 3)
                for m in watch.messages[image_topic]}
    return root, sent


def test_the_simulators_camera_is_recorded_as_video_frame_for_frame(recorded):
    root, sent = recorded
    prov = read_provenance(root)
    dataset = open_dataset(root, "local/dagger_ros")
    assert dataset.meta.video_keys == ["observation.images.scene"]
    assert dataset.num_frames == sum(p.frames for p in prov)
    table = dataset.hf_dataset.with_format("numpy")
    assert list(table["index"]) == list(range(dataset.num_frames))  # every frame
    # each frame's image is the one published with its observation (H.264 is lossy: close)
    stamps = np.asarray(table["stamp_ns"]).reshape(-1)
    heard = [i for i, s in enumerate(stamps) if int(s) in sent]  # a watcher may miss some
    assert len(heard) > 20
    for i in (heard[0], heard[len(heard) // 2], heard[-1]):
        decoded = (dataset[i]["observation.images.scene"].numpy().transpose(1, 2, 0) * 255)
        assert decoded.shape == (96, 96, 3)
        assert np.abs(decoded - sent[int(stamps[i])]).mean() < 6
        red = (decoded[:, :, 0] > 150) & (decoded[:, :, 1] < 100)
        assert red.sum() > 3  # the target the learner must find
    # the learner's state has no target; the expert's labels steer to it all the same
    assert tuple(dataset.meta.features["observation.state"]["shape"]) == (3,)
    assert "observation.environment_state" not in dataset.meta.features


def test_lerobot_trains_act_on_the_camera_dataset_as_it_is(recorded, tmp_path):
    """ACT reads the video feature with no edit (a ResNet-18 backbone from scratch: its
    ImageNet weights are a download), and its loss falls."""
    root, _ = recorded
    out = lerobot("lerobot-train", "--dataset.repo_id=local/dagger_ros",
                  f"--dataset.root={root}", *SMALL_ACT,
                  "--policy.pretrained_backbone_weights=null", "--policy.device=cpu",
                  "--policy.push_to_hub=false", "--wandb.enable=false", "--steps=12",
                  "--batch_size=8", "--log_freq=4", "--save_checkpoint=false",
                  "--num_workers=0", f"--output_dir={tmp_path / 'train'}", home=tmp_path)
    seen = losses(out)
    assert len(seen) == 3, out[-2000:]
    assert seen[-1] < seen[0], seen


def test_the_trainer_trains_a_lerobot_policy_that_sees_the_camera(recorded, tmp_path):
    """learner: lerobot with a camera: lerobot-train's ACT reads the video; the policy
    runtime feeds it the profile's camera; the trainer evaluates it on rendered frames."""
    from dagger_ros.core.config import from_mapping
    from dagger_ros.core.policy_runtime import PolicyRuntime
    from dagger_ros.core.rounds import TrainerConfig, evaluate_policy, retrain

    root, sent = recorded
    config = from_mapping(TrainerConfig, {
        "task": "reach_camera", "dataset_root": str(root), "repo_id": "local/dagger_ros",
        "run_dir": str(tmp_path), "learner": "lerobot", "lerobot_steps": 6,
        "lerobot_batch_size": 4, "eval_episodes": 1,
        "lerobot_args": [*SMALL_ACT[1:], "--policy.pretrained_backbone_weights=null"]})
    path, trained = retrain(config, 0)
    assert (path / "model.safetensors").is_file() and len(trained["report"]["losses"]) == 6
    inputs = yaml.safe_load((path / "config.json").read_text())["input_features"]
    assert inputs["observation.images.scene"]["shape"] == [3, 96, 96]
    runtime = PolicyRuntime(3, 3, 3, images={"scene": (96, 96, 3)})
    assert runtime.load(str(path)), runtime.last_error
    image = next(iter(sent.values()))
    action, _, uncertainty = runtime.act(np.zeros(3), episode=0, images={"scene": image})
    assert action.shape == (3,) and np.isfinite(action).all() and uncertainty is None
    # a camera frame reaches it as LeRobot's loader gave frames to lerobot-train
    import torch

    from dagger_ros.core.recording.reading import load_images, open_dataset

    item = open_dataset(root, "local/dagger_ros")[5]
    frame = load_images(root, "local/dagger_ros", ["scene"], 1)["scene"][5]  # uint8, HWC
    learner = runtime.policy
    learner.reset()
    ours, _ = learner.predict(item["observation.state"].numpy(), {"scene": frame})
    learner.reset()
    batch = {k: item[k][None] for k in ("observation.state", "observation.images.scene")}
    with torch.inference_mode():
        theirs = learner.postprocess(learner.policy.select_action(learner.preprocess(batch)))
    assert np.allclose(ours, theirs.numpy().reshape(-1), atol=1e-4), (ours, theirs)
    assert 0.0 <= evaluate_policy(config, trained["policy"])["success_rate"] <= 1.0
    blind = PolicyRuntime(3, 3, 3)  # a robot without that camera refuses it by name
    assert not blind.load(str(path)) and "observation.images.scene" in blind.last_error


def camera_profile(tmp_path, kind="sensor_msgs/Image"):
    profile = yaml.safe_load((ROOT / "config/profiles/reach_position.yaml").read_text())
    profile["images"] = [{"name": "wrist", "topic": "/wrist/image", "type": kind,
                          "width": 32, "height": 24, "max_age": 0.2}]
    path = tmp_path / "camera_arm.yaml"
    path.write_text(yaml.safe_dump(profile))
    return path


class FakeCamera:
    """A camera driver at 30 Hz: ``mode`` good, wrong_size, corrupt (CompressedImage), off."""

    def __init__(self, node, compressed=False):
        self.node, self.compressed = node, compressed
        kind = CompressedImage if compressed else Image
        self.pub = node.create_publisher(kind, "/wrist/image", 10)
        self.mode = "good"
        self.running = True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def message(self):
        from PIL import Image as PILImage

        height, width = (24, 32) if self.mode != "wrong_size" else (24, 40)
        pixels = np.full((height, width, 3), 120, np.uint8)
        if self.compressed:
            msg = CompressedImage(format="jpeg")
            buf = io.BytesIO()
            PILImage.fromarray(pixels).save(buf, format="JPEG")
            msg.data = buf.getvalue() if self.mode != "corrupt" else b"\xff\xd8 not a jpeg"
        else:
            msg = Image(height=height, width=width, encoding="rgb8", step=width * 3,
                        data=pixels.tobytes())
        msg.header.stamp = self.node.get_clock().now().to_msg()
        return msg

    def run(self):
        while self.running:
            if self.mode != "off":
                self.pub.publish(self.message())
            time.sleep(1 / 30)

    def close(self):
        self.running = False
        self.thread.join(timeout=2)


@pytest.mark.parametrize("compressed", [False, True], ids=["raw", "compressed"])
def test_the_observer_joins_a_drivers_images_and_names_bad_ones(tmp_path, compressed):
    kind = "sensor_msgs/CompressedImage" if compressed else "sensor_msgs/Image"
    config = write_graph(tmp_path / "robot.yaml", {
        "/**": {"profile": str(camera_profile(tmp_path, kind))},
        "observer": {"startup_grace": 1.0},
        "supervisor": {"stepping": "realtime", "expert_timeout": 0.2}})
    image_topic = topics.observation_image("wrist").name
    watch = Listener({"/dagger/observation": JointState, image_topic: Image,
                      "/dagger/decision": String, COMMANDS: Float64MultiArray})
    arm = FakeArm(watch.node)
    camera = FakeCamera(watch.node, compressed)
    run = start(["dagger-ros", "run", "--config", str(config)])
    try:
        observations = lambda: watch.records(topics.OBSERVATION)  # noqa: E731
        assert watch.wait_until(lambda: len(observations()) >= 20, timeout=60)
        # every observation has its image, with the same stamp, at the profile's size
        with watch.lock:
            images = {(m.header.stamp.sec * 10**9 + m.header.stamp.nanosec): m
                      for m in watch.messages[image_topic]}
        some = observations()[5:15]
        assert all(o.stamp_ns in images for o in some)
        first = images[some[0].stamp_ns]
        assert (first.width, first.height, first.encoding) == (32, 24, "rgb8")
        assert abs(np.frombuffer(bytes(first.data), np.uint8).mean() - 120) < 4
        bad = ["corrupt"] if compressed else ["wrong_size"]
        for mode in [*bad, "off"]:
            camera.mode = mode
            time.sleep(0.5)
            n = len(observations())
            time.sleep(2.2)  # past the observer's 2 s log throttle
            assert len(observations()) <= n + 1, mode  # no observation meanwhile
            camera.mode = "good"
            assert watch.wait_until(lambda n=len(observations()): len(observations()) > n + 5,
                                    timeout=10), f"no observation after {mode} ended"
        # the arm was held where it is throughout: never a zero, never a jump
        with watch.lock:
            sent = [list(m.data) for m in watch.messages[COMMANDS]]
        assert sent and all(np.allclose(c, Q) for c in sent)
    finally:
        out, err = stop(run)
        camera.close()
        arm.close()
        watch.close()
    if compressed:
        assert "compressed image on /wrist/image (format 'jpeg') does not decode" in out
    else:
        assert "image on /wrist/image is 40x24, the profile's 'wrist' is 32x24" in out
    assert "no observation: /wrist/image is" in out and "max_age 0.2 s" in out


def test_the_hardware_shaped_simulators_camera_reaches_the_dataset(tmp_path):
    """The robot graph with a camera: the simulator publishes /camera/scene/image_raw as a
    driver does, the observer joins it to its ticks, the recorder stores an operator-paced
    episode's images, one per frame."""
    root = tmp_path / "dataset"
    config = write_graph(tmp_path / "robot.yaml", {
        "/**": {"profile": "reach_position_camera", "stepping": "realtime"},
        "mujoco_bridge": {"exposes": "hardware", "task": "reach_position",
                          "controller_name": "forward_position_controller",
                          "cameras": ["scene"], "camera_rate_hz": 50.0},
        "observer": {"startup_grace": 2.0},
        "supervisor": {"expert_timeout": 0.2},
        "recorder": {"dataset_root": str(root)}})
    watch = Listener({"/dagger/observation": JointState, "/dagger/recorder/saved": String})
    run = start(["dagger-ros", "run", "--config", str(config)])
    try:
        assert watch.wait_until(lambda: len(watch.records(topics.OBSERVATION)) >= 10, 60)
        # the operator starts once the recorder listens (LeRobot takes seconds to import)
        assert watch.wait_until(lambda: "recorder" in {
            i.node_name for i in watch.node.get_subscriptions_info_by_topic(
                topics.observation_image("scene").name)}, 60)
        time.sleep(0.5)
        assert call(watch, "/dagger/episode/start").success
        time.sleep(1.0)
        assert call(watch, "/dagger/episode/failure").message == "episode 0 ended"
        saved = watch.wait_until(lambda: watch.count(topics.RECORDER_SAVED) >= 1, 30)
    finally:
        out, err = stop(run)
        watch.close()
    assert saved, out[-4000:]
    [saved] = read_provenance(root)
    dataset = open_dataset(root, "local/dagger_ros")
    assert saved.outcome == "failure" and dataset.num_frames == saved.frames >= 25
    image = dataset[saved.frames // 2]["observation.images.scene"]
    assert tuple(image.shape) == (3, 96, 96)
    assert float(image.std()) > 0.01  # a rendered scene, not a blank
