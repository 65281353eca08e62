"""The one place dagger_ros changes LeRobot's behaviour, guarded by a test
(test_recording.py::test_shim_*) that fails when LeRobot's internals move."""

from __future__ import annotations


def skip_embedding_without_media() -> None:
    """Make LeRobot's save skip ``embed_images`` when no column holds images or audio.

    lerobot 0.4.4's ``_save_episode_data`` runs ``embed_images`` on every episode: a
    row-by-row ``datasets.map(embed_table_storage)`` that costs ~150 ms per 300 frames and
    changes nothing unless a feature requires storage embedding (images, audio). The shim
    returns the dataset unchanged in exactly that case and defers to LeRobot otherwise.
    """
    import lerobot.datasets.lerobot_dataset as lerobot_dataset
    from datasets.features.features import require_storage_embed

    original = lerobot_dataset.embed_images
    if getattr(original, "skips_without_media", False):
        return

    def embed_images(dataset):
        if not any(require_storage_embed(f) for f in dataset.features.values()):
            return dataset
        return original(dataset)

    embed_images.skips_without_media = True
    lerobot_dataset.embed_images = embed_images

