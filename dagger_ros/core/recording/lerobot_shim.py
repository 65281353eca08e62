"""The one place dagger_ros reaches into LeRobot's internals, guarded by a test
(test_lerobot_shim.py) that fails when LeRobot's internals move.

LeRobot 0.6's writer keeps the current data and episode-metadata parquet files open across
episodes and closes them once, in ``finalize()`` (which then refuses to run again). The
recorder must instead close both after every episode, so that every saved episode is a
complete, readable file that the commit journal can list: :func:`close_episode_files`.
"""

from __future__ import annotations


def skip_embedding_without_media() -> None:
    """Make LeRobot's save skip ``embed_images`` when no column holds images or audio.

    LeRobot's ``DatasetWriter._save_episode_data`` runs ``embed_images`` on every episode: a
    row-by-row ``datasets.map(embed_table_storage)`` that costs ~50 ms per episode and
    changes nothing unless a feature requires storage embedding (images, audio). The shim
    returns the dataset unchanged in exactly that case and defers to LeRobot otherwise.
    """
    import lerobot.datasets.dataset_writer as dataset_writer
    from datasets.features.features import require_storage_embed

    original = dataset_writer.embed_images
    if getattr(original, "skips_without_media", False):
        return

    def embed_images(dataset):
        if not any(require_storage_embed(f) for f in dataset.features.values()):
            return dataset
        return original(dataset)

    embed_images.skips_without_media = True
    dataset_writer.embed_images = embed_images


def close_episode_files(dataset) -> None:
    """Close the data and the episode-metadata parquet files LeRobot holds open, so the
    episode just saved is complete on disk; the next save opens new files."""
    dataset.writer.close_writer()
    dataset.meta._close_writer()  # flushes the metadata buffer, then closes its file


def one_episode_per_file(dataset) -> None:
    """Every episode in its own data file and metadata flushed at each save (which LeRobot
    0.6 takes only at create, not at resume)."""
    dataset.meta._metadata_buffer_size = 1
    dataset.meta.update_chunk_settings(data_files_size_in_mb=1e-6)
