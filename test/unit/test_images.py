"""Cameras without ROS: decoding what drivers publish, the profile's images, the observer
joining an image to its tick, the recorder's frames waiting for every camera, and the
simulator's camera task."""

import io
import types

import numpy as np
import pytest

from dagger_ros.core.config import ConfigError
from dagger_ros.core.images import ImageError, ImageField, SimCameras, decode
from dagger_ros.core.observer import ObservationBuilder
from dagger_ros.core.profile import profile_from_mapping, task_profile
from dagger_ros.core.recording.join import FrameJoiner
from dagger_ros.core.tasks import make_task

from .sample_records import decision

RAW = ImageField("front", 4, 3, "/cam/image_raw", "sensor_msgs/msg/Image", 0.2)
JPEG = ImageField("front", 16, 8, "/cam/compressed", "sensor_msgs/msg/CompressedImage", 0.2)


def stamp(ns):
    return types.SimpleNamespace(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


def raw(pixels, encoding="rgb8", ns=0, pad=0):
    h, w = pixels.shape[:2]
    rows = [np.concatenate([r.reshape(-1), np.zeros(pad, np.uint8)]) for r in pixels]
    return types.SimpleNamespace(header=types.SimpleNamespace(stamp=stamp(ns)), height=h,
                                 width=w, encoding=encoding,
                                 step=w * (pixels.shape[2] if pixels.ndim == 3 else 1) + pad,
                                 data=np.concatenate(rows).tobytes())


def compressed(data, ns=0, fmt="jpeg"):
    return types.SimpleNamespace(header=types.SimpleNamespace(stamp=stamp(ns)), format=fmt,
                                 data=data)


def test_raw_encodings_decode_to_rgb():
    rgb = np.arange(4 * 3 * 3, dtype=np.uint8).reshape(3, 4, 3)
    assert np.array_equal(decode(raw(rgb), RAW, RAW.topic), rgb)
    assert np.array_equal(decode(raw(rgb[:, :, ::-1].copy(), "bgr8"), RAW, RAW.topic), rgb)
    rgba = np.concatenate([rgb, np.full((3, 4, 1), 255, np.uint8)], axis=2)
    assert np.array_equal(decode(raw(rgba, "rgba8"), RAW, RAW.topic), rgb)
    mono = rgb[:, :, 0].copy()
    assert np.array_equal(decode(raw(mono, "mono8"), RAW, RAW.topic)[:, :, 2], mono)
    # rows padded beyond width*channels (step), as some drivers send them
    assert np.array_equal(decode(raw(rgb, pad=4), RAW, RAW.topic), rgb)


def test_wrong_size_encoding_or_payload_is_named():
    with pytest.raises(ImageError, match=r"/cam/image_raw is 5x3, the profile's 'front' is 4x3"):
        decode(raw(np.zeros((3, 5, 3), np.uint8)), RAW, RAW.topic)
    with pytest.raises(ImageError, match=r"/cam/image_raw has encoding '16UC1'"):
        decode(raw(np.zeros((3, 4, 3), np.uint8), "16UC1"), RAW, RAW.topic)
    short = raw(np.zeros((3, 4, 3), np.uint8))
    short.data = short.data[:10]
    with pytest.raises(ImageError, match="carries 10 bytes"):
        decode(short, RAW, RAW.topic)


def test_compressed_images_decode_and_corrupt_ones_are_named():
    from PIL import Image

    pixels = np.zeros((8, 16, 3), np.uint8)
    pixels[:, :8, 0] = 255
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    assert np.array_equal(decode(compressed(buf.getvalue(), fmt="png"), JPEG, JPEG.topic),
                          pixels)
    with pytest.raises(ImageError, match=r"compressed image on /cam/compressed .* does not "
                                         "decode"):
        decode(compressed(b"\xff\xd8\xff garbage"), JPEG, JPEG.topic)
    small = io.BytesIO()
    Image.fromarray(pixels[:4]).save(small, format="JPEG")
    with pytest.raises(ImageError, match="is 16x4"):
        decode(compressed(small.getvalue()), JPEG, JPEG.topic)


PROFILE = {
    "robot": "arm", "control_rate_hz": 50.0,
    "observation": [{"topic": "/joint_states", "type": "sensor_msgs/JointState",
                     "field": "position", "joints": ["j1"], "max_age": 0.1}],
    "images": [{"name": "wrist", "topic": "/wrist/image_raw", "type": "sensor_msgs/Image",
                "width": 8, "height": 8, "max_age": 0.1}],
    "action": {"interface": "velocity", "topic": "/c/commands", "joints": ["j1"],
               "min": [-1.0], "max": [1.0]},
}


def test_profile_images_are_validated_by_name():
    profile = profile_from_mapping(PROFILE, "p.yaml")
    assert profile.images[0].key == "observation.images.wrist"
    assert profile.images[0].shape == (8, 8, 3)
    for change, message in [({"type": "sensor_msgs/PointCloud2"}, "must be sensor_msgs/Image"),
                            ({"width": 2}, "'width' must be 8-4096"),
                            ({"name": "a.b"}, "'name' must be a plain name"),
                            ({"fps": 3}, "unknown key 'fps' \\(in images\\[0\\]")]:
        data = {**PROFILE, "images": [{**PROFILE["images"][0], **change}]}
        with pytest.raises(ConfigError, match=message):
            profile_from_mapping(data, "p.yaml")


def test_warm_start_is_for_a_profile_with_cameras():
    from dagger_ros.core.config import from_mapping
    from dagger_ros.core.rounds import TrainerConfig

    assert from_mapping(TrainerConfig, {"task": "reach_camera", "warm_start": True}).warm_start
    with pytest.raises(ConfigError, match="'warm_start' is for the vision ensemble"):
        from_mapping(TrainerConfig, {"task": "reach", "warm_start": True})


def test_a_lockstep_bridge_refuses_a_realtime_priority():
    from dagger_ros.core.bridge import BridgeConfig
    from dagger_ros.core.config import from_mapping

    assert from_mapping(BridgeConfig, {"stepping": "realtime",
                                       "realtime_priority": 50}).realtime_priority == 50
    with pytest.raises(ConfigError, match="'realtime_priority' is for real-time stepping"):
        from_mapping(BridgeConfig, {"stepping": "lockstep", "realtime_priority": 50})


def test_the_observer_joins_images_by_stamp_and_names_a_stopped_or_bad_camera():
    builder = ObservationBuilder(profile_from_mapping(PROFILE, "p.yaml"))
    assert builder.never_heard() == ["/joint_states", "/wrist/image_raw"]
    assert builder.build_images(0) == (None, "no image on /wrist/image_raw yet")
    good = np.full((8, 8, 3), 9, np.uint8)
    assert builder.image("/wrist/image_raw", raw(good, ns=1_000_000_000)) is None
    images, why = builder.build_images(1_050_000_000)
    assert why is None and np.array_equal(images["wrist"], good)
    # the camera stops: too old
    images, why = builder.build_images(1_200_000_000)
    assert images is None and "/wrist/image_raw is 0.200 s old (max_age 0.1 s)" in why
    # a bad image stands for the camera until a good one comes
    why = builder.image("/wrist/image_raw", raw(np.zeros((4, 8, 3), np.uint8), ns=2 * 10**9))
    assert "is 8x4" in why
    assert builder.build_images(2 * 10**9) == (None, why)
    builder.image("/wrist/image_raw", raw(good, ns=3 * 10**9))
    assert builder.build_images(3 * 10**9)[1] is None


def test_a_frame_waits_for_every_camera():
    joiner = FrameJoiner(cameras=["a", "b"])
    assert joiner.add_observation(5, "0:0", np.zeros(2)) is None
    assert joiner.add_decision(decision(5, label="0:0")) is None
    assert joiner.add_image("a", 5, np.zeros((8, 8, 3), np.uint8)) is None
    frame = joiner.add_image("b", 5, np.ones((8, 8, 3), np.uint8))
    assert frame is not None and sorted(frame.images) == ["a", "b"]
    assert joiner.add_image("a", 5, np.zeros((8, 8, 3), np.uint8)) is None  # joined once
    assert 5 not in joiner.images  # ... and not kept
    joiner.add_image("a", 3, np.zeros((8, 8, 3), np.uint8))
    joiner.forget_before(5)
    assert 3 not in joiner.images


def test_camera_task_hides_the_target_from_the_learner_and_renders_it():
    task = make_task("reach_camera")
    obs = task.reset(4)
    assert obs.shape == (3,) and "target.x" not in task.observation_names
    assert task.true_observation().shape == (len(task.privileged_names),)
    assert np.allclose(task.true_observation()[6:9], task.target())
    profile = task_profile("reach_camera")
    assert [i.key for i in profile.images] == ["observation.images.scene"]
    cameras = SimCameras(task.model, list(profile.images), {})
    try:
        image = cameras.render(task.data)["scene"]
        assert image.shape == (96, 96, 3) and image.dtype == np.uint8
        red = (image[:, :, 0] > 180) & (image[:, :, 1] < 80)
        assert red.sum() > 3  # the target ball is in view
        # moving the target moves the red blob: the image carries where it is
        before = np.argwhere(red).mean(axis=0)
        task.data.mocap_pos[task.mocap_id] += np.array([-0.1, 0.0, 0.0])  # stays in view
        task._mj.mj_forward(task.model, task.data)
        image = cameras.render(task.data)["scene"]
        after = np.argwhere((image[:, :, 0] > 180) & (image[:, :, 1] < 80)).mean(axis=0)
        assert abs(after[1] - before[1]) > 5  # x in the world is columns in the image
    finally:
        cameras.close()


def test_the_policy_answers_an_observation_once_every_camera_has_its_image():
    from dagger_ros.core.images import ImageJoin

    join = ImageJoin(["a", "b"], keep=3)
    pixels = np.zeros((8, 8, 3), np.uint8)
    assert join.add_image("a", 10, pixels) is None  # images usually come first
    assert join.add_observation(10, "obs10") is None
    assert join.missing(10) == ["b"]
    observation, images = join.add_image("b", 10, pixels)
    assert observation == "obs10" and sorted(images) == ["a", "b"]
    assert join.add_image("a", 10, pixels) is None  # answered once
    # an observation whose images never come is dropped beyond keep, and counted
    for stamp in (20, 30, 40, 50):
        join.add_observation(stamp, f"obs{stamp}")
    assert join.dropped_observations == 1 and sorted(join.waiting) == [30, 40, 50]
    assert join.dropped_images == 0
    join.add_image("a", 50, pixels)
    assert join.add_image("b", 50, pixels) == ("obs50", {"a": pixels, "b": pixels})
    assert join.waiting == {} and 10 not in join.images  # older ones never complete...
    assert join.dropped_observations == 3  # ... and are counted: 30 and 40 never answered
    assert join.last_missing == ["a", "b"]
    assert join.dropped_images == 1  # the second image of 10, whose answer had gone
    # a camera that skips every other frame: each completion drops the one before it
    for stamp in (51, 52, 53, 54):
        join.add_image("a", stamp, pixels)
        join.add_observation(stamp, f"obs{stamp}")
        if stamp % 2 == 0:
            join.add_image("b", stamp, pixels)
    assert join.dropped_observations == 5 and join.last_missing == ["b"]
    assert join.dropped_images == 3  # camera a's images of 51 and 53
    # images whose observation never comes (e.g. between episodes) are counted apart
    for stamp in (60, 70, 80, 90):
        join.add_image("a", stamp, pixels)
    assert join.dropped_images == 4 and join.dropped_observations == 5
