"""Cameras without ROS: what a profile says of an image, decoding what camera drivers
publish, and rendering a simulator's cameras.

An image input is ``observation.images.<name>`` in the dataset: height x width x 3, uint8,
RGB. A driver's sensor_msgs/Image (rgb8, bgr8, rgba8, bgra8, mono8) or
sensor_msgs/CompressedImage (jpeg, png) is decoded to that; an image of another size or
encoding, or a CompressedImage that does not decode, is an :class:`ImageError` naming the
topic and what was expected. Messages are read by attribute (an rclpy message or a test's
stand-in), so nothing here imports a message package.
"""

from __future__ import annotations

import dataclasses
import io

import numpy as np

IMAGE_TYPES = ("sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage")
#: raw encodings taken, with their channel count
RAW_ENCODINGS = {"rgb8": 3, "bgr8": 3, "rgba8": 4, "bgra8": 4, "mono8": 1}


class ImageError(ValueError):
    """An image that is not what the profile says (size, encoding, a corrupt payload)."""


@dataclasses.dataclass(frozen=True)
class ImageField:
    """One camera of the observation: ``observation.images.<name>``."""

    name: str
    width: int
    height: int
    topic: str = ""  # "" for a simulator's own camera
    type: str = ""  # sensor_msgs/msg/Image or sensor_msgs/msg/CompressedImage
    max_age: float = 0.0

    @property
    def key(self) -> str:
        return f"observation.images.{self.name}"

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.height, self.width, 3)

    @property
    def compressed(self) -> bool:
        return self.type.endswith("CompressedImage")


def decode_raw(msg, spec: ImageField, topic: str) -> np.ndarray:
    """A sensor_msgs/Image as height x width x 3 RGB uint8, or ImageError."""
    encoding = str(msg.encoding).lower()
    if encoding not in RAW_ENCODINGS:
        raise ImageError(f"image on {topic} has encoding '{msg.encoding}'; taken: "
                         f"{', '.join(RAW_ENCODINGS)}")
    if (int(msg.width), int(msg.height)) != (spec.width, spec.height):
        raise ImageError(f"image on {topic} is {msg.width}x{msg.height}, the profile's "
                         f"'{spec.name}' is {spec.width}x{spec.height} (width x height)")
    channels = RAW_ENCODINGS[encoding]
    row = spec.width * channels
    step = int(msg.step) or row
    data = np.frombuffer(bytes(msg.data), np.uint8)
    if step < row:
        raise ImageError(f"image on {topic} has step {step} bytes per row, less than "
                         f"{spec.width} pixels x {channels} channels ({row})")
    if data.size < step * spec.height:
        raise ImageError(f"image on {topic} carries {data.size} bytes, too few for "
                         f"{spec.width}x{spec.height} {encoding} (step {step})")
    pixels = data[:step * spec.height].reshape(spec.height, step)[:, :row]
    pixels = pixels.reshape(spec.height, spec.width, channels)
    if encoding == "mono8":
        return np.repeat(pixels, 3, axis=2)
    if encoding.startswith("bgr"):
        pixels = pixels[:, :, 2::-1]
    return np.ascontiguousarray(pixels[:, :, :3])


def decode_compressed(msg, spec: ImageField, topic: str) -> np.ndarray:
    """A sensor_msgs/CompressedImage (jpeg or png) as height x width x 3 RGB uint8."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(bytes(msg.data))) as image:
            pixels = np.asarray(image.convert("RGB"))
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ImageError(f"compressed image on {topic} (format '{msg.format}') does not "
                         f"decode: {exc}") from None
    if pixels.shape != spec.shape:
        raise ImageError(f"image on {topic} is {pixels.shape[1]}x{pixels.shape[0]}, the "
                         f"profile's '{spec.name}' is {spec.width}x{spec.height} "
                         "(width x height)")
    return pixels


def decode(msg, spec: ImageField, topic: str) -> np.ndarray:
    return decode_compressed(msg, spec, topic) if spec.compressed else \
        decode_raw(msg, spec, topic)


def check_pixels(pixels: np.ndarray, spec: ImageField, where: str) -> np.ndarray:
    """An RGB image of the spec's shape (as the observer and the bridge publish them)."""
    pixels = np.asarray(pixels)
    if pixels.shape != spec.shape or pixels.dtype != np.uint8:
        raise ImageError(f"{where}: image is {pixels.dtype} {pixels.shape}, expected uint8 "
                         f"{spec.shape} for '{spec.name}'")
    return pixels


class SimCameras:
    """Renders a MuJoCo model's named cameras offscreen (EGL on a headless machine: see
    dagger_ros/__init__.py), each at its field's size."""

    def __init__(self, model, fields: list[ImageField], cameras: dict[str, str]):
        import mujoco

        self._mj = mujoco
        self.fields = list(fields)
        self.camera_ids = {}
        for f in self.fields:
            camera = cameras.get(f.name, f.name)
            cid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, camera)
            if cid < 0:
                raise ValueError(f"the MJCF model has no camera '{camera}' for image "
                                 f"'{f.name}'")
            self.camera_ids[f.name] = cid
        self.renderers = {}
        try:
            for f in self.fields:
                self.renderers[f.name] = mujoco.Renderer(model, f.height, f.width)
        except Exception as exc:  # mujoco.FatalError, or GL libraries missing
            raise RuntimeError(
                f"offscreen rendering failed ({type(exc).__name__}: {exc}); on a machine "
                "without a display MuJoCo renders with EGL: install Mesa's EGL "
                "(apt-get install libegl1 libgl1-mesa-dri) and keep MUJOCO_GL=egl "
                "(dagger_ros sets it when unset and there is no DISPLAY)") from None

    def render(self, data) -> dict[str, np.ndarray]:
        out = {}
        for f in self.fields:
            renderer = self.renderers[f.name]
            renderer.update_scene(data, camera=self.camera_ids[f.name])
            out[f.name] = renderer.render().copy()
        return out

    def close(self) -> None:
        for renderer in self.renderers.values():
            renderer.close()
        self.renderers = {}


class ImageJoin:
    """Observations waiting for their cameras' images, joined by stamp (a policy answers an
    observation once it has every camera's image of it). Either may come first; what never
    completes is dropped (beyond ``keep`` entries, oldest first, or once a newer one
    completes: they arrive in order) and counted:
    ``dropped_observations`` (no image came for them) apart from ``dropped_images`` (no
    observation came for them)."""

    def __init__(self, cameras, keep: int = 100):
        self.cameras = tuple(cameras)
        self.keep = keep
        self.images: dict[int, dict] = {}
        self.waiting: dict[int, object] = {}
        self.dropped_observations = 0
        self.dropped_images = 0
        #: the cameras whose image the last dropped observation never got
        self.last_missing: list[str] = []

    def add_observation(self, stamp_ns: int, observation) -> tuple | None:
        self.waiting[stamp_ns] = observation
        self._drop_observations(sorted(self.waiting)[:-self.keep])
        return self._complete(stamp_ns)

    def add_image(self, name: str, stamp_ns: int, pixels) -> tuple | None:
        self.images.setdefault(stamp_ns, {})[name] = pixels
        self.dropped_images += self._prune(self.images)
        return self._complete(stamp_ns)

    def missing(self, stamp_ns: int) -> list[str]:
        """The cameras whose image of ``stamp_ns`` has not come."""
        return [c for c in self.cameras if c not in self.images.get(stamp_ns, {})]

    def _drop_observations(self, stamps) -> None:
        for stamp in sorted(stamps):
            self.last_missing = self.missing(stamp)
            del self.waiting[stamp]
            self.dropped_observations += 1

    def _prune(self, table: dict) -> int:
        """Entries beyond ``keep`` dropped, oldest first: how many."""
        old = sorted(table)[:-self.keep] if len(table) > self.keep else []
        for stamp in old:
            del table[stamp]
        return len(old)

    def _complete(self, stamp: int) -> tuple | None:
        """(observation, {camera: pixels}) once both are there; older entries are dropped
        (they will never complete: images and observations arrive in order)."""
        if stamp not in self.waiting or self.missing(stamp):
            return None
        observation, images = self.waiting.pop(stamp), self.images.pop(stamp)
        self._drop_observations([s for s in self.waiting if s < stamp])
        older = [s for s in self.images if s < stamp]
        for old in older:
            del self.images[old]
        self.dropped_images += len(older)
        return observation, images
