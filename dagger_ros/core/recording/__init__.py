"""Recording: frames joined by the observation they answer, episodes written with LeRobot.

One module per concern:

- :mod:`.schema`: the dataset's features, one row per frame, each episode's provenance;
- :mod:`.join`: observations and decisions joined by stamp, frames assembled into episodes;
- :mod:`.lerobot_shim`: the one reach into LeRobot's internals, with its guard test;
- :mod:`.journal`: the commit journal that makes a kill at any moment harmless;
- :mod:`.writer`: the crash-safe writer (LeRobot's API, one closed, committed episode at a time);
- :mod:`.reading`: reading a dataset back through LeRobotDataset;
- :mod:`.recorder`: the recorder node's logic (config, retries, the interrupted episode);
- :mod:`.labels`: labels that arrive later, merged into the dataset in place.
"""

from dagger_ros.core.recording.join import EpisodeAssembler, Frame, FrameJoiner
from dagger_ros.core.recording.reading import (
    DatasetError,
    learner_observation,
    load_frames,
    load_training_data,
    open_dataset,
    read_provenance,
)
from dagger_ros.core.recording.recorder import RecorderConfig, RecorderCore
from dagger_ros.core.recording.schema import (
    CODES_FILE,
    PROVENANCE_FILE,
    Layout,
    bc_task_text,
    episode_provenance,
    provenance_from_columns,
    task_text_for,
)
from dagger_ros.core.recording.writer import DatasetWriteError, DatasetWriter

__all__ = ["CODES_FILE", "PROVENANCE_FILE", "DatasetError", "DatasetWriteError",
           "DatasetWriter", "EpisodeAssembler", "Frame", "FrameJoiner", "RecorderConfig",
           "Layout", "RecorderCore", "bc_task_text", "episode_provenance",
           "learner_observation", "load_frames", "load_training_data", "open_dataset",
           "provenance_from_columns", "read_provenance", "task_text_for"]
