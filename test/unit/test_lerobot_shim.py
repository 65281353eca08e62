"""The guard of dagger_ros's one change to LeRobot (core/recording/lerobot_shim.py): it
fails when LeRobot's internals move, so the shim never silently stops applying."""

import inspect


def test_lerobot_still_embeds_through_the_function_the_shim_wraps():
    import lerobot.datasets.lerobot_dataset as lerobot_dataset

    assert callable(getattr(lerobot_dataset, "embed_images", None)), \
        "lerobot no longer has lerobot_dataset.embed_images: review lerobot_shim.py"
    save = lerobot_dataset.LeRobotDataset._save_episode_data
    assert "embed_images(" in inspect.getsource(save), \
        "LeRobotDataset._save_episode_data no longer calls embed_images: review the shim"


def test_embedding_shim_defers_to_lerobot_when_media_is_present(monkeypatch):
    import datasets
    import lerobot.datasets.lerobot_dataset as lerobot_dataset

    from dagger_ros.core.recording.lerobot_shim import skip_embedding_without_media

    calls = []
    monkeypatch.setattr(lerobot_dataset, "embed_images", lambda ds: calls.append(ds) or ds)
    skip_embedding_without_media()
    plain = datasets.Dataset.from_dict({"x": [1.0, 2.0]})
    assert lerobot_dataset.embed_images(plain) is plain and calls == []
    images = datasets.Dataset.from_dict({"img": [None]},
                                        features=datasets.Features({"img": datasets.Image()}))
    lerobot_dataset.embed_images(images)
    assert calls == [images]
