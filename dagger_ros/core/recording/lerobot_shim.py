"""The one place dagger_ros reaches into LeRobot's internals, guarded by a test
(test_lerobot_shim.py) that fails when LeRobot's internals move.

LeRobot 0.6's writer keeps the current data and episode-metadata parquet files open across
episodes and closes them once, in ``finalize()`` (which then refuses to run again). The
recorder must instead close both after every episode, so that every saved episode is a
complete, readable file that the commit journal can list: :func:`close_episode_files`.

LeRobot 0.6 gives a 1-frame episode integer statistics for an integer column and a longer
one float statistics; its loader casts every file's statistics to one type, and a 64-bit
id (a checkpoint, a robot's stamp in ns) has no exact double, so one 1-frame episode among
others made the whole dataset unreadable: :func:`float_stats_for_single_frames`.
"""

from __future__ import annotations

import numpy as np


def patch_lerobot() -> None:
    """Both changes to LeRobot's save (each applied once per process)."""
    skip_embedding_without_media()
    float_stats_for_single_frames()


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


def float_stats_for_single_frames() -> None:
    """Make LeRobot's save give a 1-frame episode float64 statistics, as it gives every
    longer episode (its running statistics are float64; for fewer than 2 frames it takes
    numpy's min and max, which keep int64). ``count`` stays an integer, as LeRobot writes
    it for every episode."""
    import lerobot.datasets.dataset_writer as dataset_writer

    original = dataset_writer.compute_episode_stats
    if getattr(original, "floats_single_frames", False):
        return

    def compute_episode_stats(episode_data, features, *args, **kwargs):
        stats = original(episode_data, features, *args, **kwargs)
        for per_stat in stats.values():
            for name, value in per_stat.items():
                if name != "count" and np.issubdtype(np.asarray(value).dtype, np.integer):
                    per_stat[name] = np.asarray(value, np.float64)
        return stats

    compute_episode_stats.floats_single_frames = True
    dataset_writer.compute_episode_stats = compute_episode_stats


def close_episode_files(dataset) -> None:
    """Close the data and the episode-metadata parquet files LeRobot holds open, so the
    episode just saved is complete on disk; the next save opens new files."""
    dataset.writer.close_writer()
    dataset.meta._close_writer()  # flushes the metadata buffer, then closes its file


def one_episode_per_file(dataset) -> None:
    """Every episode in its own data file and video files (a file written once and never
    rewritten, which the commit journal can list; LeRobot would otherwise re-encode the
    previous episodes' video file to append each new one), and metadata flushed at each
    save (which LeRobot 0.6 takes only at create, not at resume)."""
    dataset.meta._metadata_buffer_size = 1
    dataset.meta.update_chunk_settings(data_files_size_in_mb=1e-6, video_files_size_in_mb=1e-6)
