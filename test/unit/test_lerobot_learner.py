"""A LeRobot policy as the learner: the policy runtime loads a LeRobot pretrained folder and
answers with LeRobot's processors and action queue; a folder that does not fit the robot is
refused naming it; a gate that needs an uncertainty refuses a policy that has none."""

import re

import numpy as np
import pytest

from dagger_ros.core.config import from_mapping
from dagger_ros.core.lerobot_policy import LeRobotLearner, is_lerobot_folder
from dagger_ros.core.policy_model import CheckpointError
from dagger_ros.core.policy_runtime import PolicyRuntime
from dagger_ros.core.records import PolicyStatus
from dagger_ros.core.supervisor import Supervisor, SupervisorConfig

STATE, ENV, ACT = 4, 5, 2  # the drive task's split


def features(state, env, action):
    from lerobot.configs.types import FeatureType, PolicyFeature

    inputs = {"observation.state": PolicyFeature(FeatureType.STATE, (state,))}
    if env:
        inputs["observation.environment_state"] = PolicyFeature(FeatureType.ENV, (env,))
    return {"input_features": inputs,
            "output_features": {"action": PolicyFeature(FeatureType.ACTION, (action,))}}


def save_policy(folder, policy_class, config):
    """An (untrained) LeRobot policy saved as LeRobot saves one, with its processors."""
    import torch
    from lerobot.policies.factory import make_pre_post_processors

    stats = {k: {"mean": torch.zeros(f.shape), "std": torch.ones(f.shape),
                 "min": -torch.ones(f.shape), "max": torch.ones(f.shape)}
             for k, f in {**config.input_features, **config.output_features}.items()}
    torch.manual_seed(0)
    policy_class(config).save_pretrained(folder)
    pre, post = make_pre_post_processors(config, dataset_stats=stats)
    pre.save_pretrained(folder)
    post.save_pretrained(folder)
    return folder


def save_act(folder, state=STATE, env=ENV, action=ACT, chunk=4):
    from lerobot.policies.act.configuration_act import ACTConfig
    from lerobot.policies.act.modeling_act import ACTPolicy

    return save_policy(folder, ACTPolicy, ACTConfig(
        **features(state, env, action), dim_model=32, n_heads=2, dim_feedforward=64,
        n_encoder_layers=1, chunk_size=chunk, n_action_steps=chunk, device="cpu",
        push_to_hub=False))


def save_diffusion(folder, state=STATE, env=ENV, action=ACT):
    from lerobot.policies.diffusion.configuration_diffusion import DiffusionConfig
    from lerobot.policies.diffusion.modeling_diffusion import DiffusionPolicy

    return save_policy(folder, DiffusionPolicy, DiffusionConfig(
        **features(state, env, action), n_obs_steps=2, horizon=8, n_action_steps=4,
        down_dims=(16, 32), diffusion_step_embed_dim=16, n_groups=4,
        noise_scheduler_type="DDIM", num_inference_steps=4, device="cpu",
        push_to_hub=False))


@pytest.fixture(scope="module")
def act_folder(tmp_path_factory):
    return save_act(tmp_path_factory.mktemp("act") / "pretrained_model")


@pytest.fixture(scope="module")
def diffusion_folder(tmp_path_factory):
    return save_diffusion(tmp_path_factory.mktemp("diffusion") / "pretrained_model")


def test_the_runtime_runs_a_lerobot_policy_from_its_folder(act_folder):
    assert is_lerobot_folder(act_folder)
    runtime = PolicyRuntime(STATE + ENV, ACT, STATE)
    assert runtime.load(str(act_folder)), runtime.last_error
    status = runtime.status()
    assert status.kind == "lerobot/act" and status.uncertainty is False
    assert len(status.checkpoint_id) == 16
    obs = np.linspace(-1, 1, STATE + ENV)
    answers = [runtime.act(obs, episode=0) for _ in range(5)]
    for action, spread, uncertainty in answers:
        assert action.shape == (ACT,) and np.all(np.isfinite(action))
        assert uncertainty is None and not spread.any()
    # the action queue: one chunk of 4 actions serves 4 observations, then a new one
    policy = runtime.policy.policy
    assert len(policy._action_queue) == 3
    runtime.act(obs, episode=1)  # a new episode starts with an empty queue, refilled
    assert len(policy._action_queue) == 3


def test_a_stochastic_policy_sampled_several_times_gives_its_spread(diffusion_folder):
    runtime = PolicyRuntime(STATE + ENV, ACT, STATE, lerobot_samples=6)
    assert runtime.load(str(diffusion_folder)), runtime.last_error
    status = runtime.status()
    assert status.kind == "lerobot/diffusion" and status.uncertainty is True
    obs = np.linspace(-1, 1, STATE + ENV)
    action, spread, uncertainty = runtime.act(obs, episode=0)
    assert action.shape == spread.shape == (ACT,) and spread.all()
    assert uncertainty is not None and uncertainty > 0
    # the executed action is one sample, continued through its chunk (queue of 4 steps)
    policy = runtime.policy.policy
    assert len(policy._queues["action"]) == 3
    assert policy._queues["action"][0].shape == (6, ACT)  # every sample's chunk goes on
    runtime.act(obs, episode=0)
    assert len(policy._queues["action"]) == 2
    # sampled once, the same policy gives none
    once = PolicyRuntime(STATE + ENV, ACT, STATE, lerobot_samples=1)
    assert once.load(str(diffusion_folder)) and once.status().uncertainty is False
    assert once.act(obs, episode=0)[2] is None


def test_a_deterministic_policy_gives_no_uncertainty_however_often_sampled(act_folder):
    runtime = PolicyRuntime(STATE + ENV, ACT, STATE, lerobot_samples=4)
    assert runtime.load(str(act_folder)), runtime.last_error
    assert runtime.status().uncertainty is False  # ACT's samples are all alike
    action, spread, uncertainty = runtime.act(np.zeros(STATE + ENV), episode=0)
    assert uncertainty is None and not spread.any()


@pytest.mark.parametrize("sizes,culprit", [
    ((STATE + 1, ENV, ACT), "observation.state has 4 elements, the profile 5"),
    ((STATE, 0, ACT), "it reads observation.environment_state, which the profile does not"),
    ((STATE, ENV, ACT + 1), "its action has 2 elements, the profile 3"),
])
def test_a_lerobot_folder_that_does_not_fit_the_robot_is_refused(act_folder, sizes, culprit):
    state, env, action = sizes
    with pytest.raises(CheckpointError, match=culprit) as err:
        LeRobotLearner(act_folder, state, env, action)
    assert str(act_folder) in str(err.value)
    runtime = PolicyRuntime(state + env, action, state)
    assert not runtime.load(str(act_folder)) and culprit in runtime.last_error
    assert runtime.policy is None  # nothing runs; a last good policy would be kept


def test_a_gate_that_needs_uncertainty_refuses_a_policy_without_one():
    def supervisor(gating):
        config = from_mapping(SupervisorConfig, {"task": "drive", "gating": gating})
        return Supervisor(config, np.full(ACT, -1.0), np.full(ACT, 1.0), "scripted/x")

    status = PolicyStatus(1, "00000000000000ab", "/x", None, uncertainty=False,
                          kind="lerobot/act")
    gated = supervisor("uncertainty")
    applied = gated.on_policy_status(status)
    assert applied.round == 1 and applied.checkpoint_id is None and not gated.policy_active
    assert "gating 'uncertainty' needs the policy's uncertainty" in gated.refused
    assert "lerobot/act" in gated.refused and "00000000000000ab" in gated.refused
    assert "lerobot_samples > 1" in gated.refused  # and says how to get one
    mixed = supervisor("beta")
    assert mixed.on_policy_status(status).checkpoint_id == "00000000000000ab"
    assert mixed.policy_active and mixed.refused is None
    sampled = supervisor("uncertainty")  # a Diffusion policy sampled several times
    status = PolicyStatus(1, "00000000000000cd", "/y", None, uncertainty=True,
                          kind="lerobot/diffusion")
    assert sampled.on_policy_status(status).checkpoint_id == "00000000000000cd"
    assert sampled.policy_active and sampled.refused is None


@pytest.fixture(scope="module")
def act_camera_folder(tmp_path_factory):
    """ACT reading one 32x32 camera beside the state (no ImageNet weights: offline)."""
    from lerobot.configs.types import FeatureType, PolicyFeature
    from lerobot.policies.act.configuration_act import ACTConfig
    from lerobot.policies.act.modeling_act import ACTPolicy

    shapes = features(STATE, 0, ACT)
    shapes["input_features"]["observation.images.cam"] = PolicyFeature(FeatureType.VISUAL,
                                                                        (3, 32, 32))
    return save_policy(tmp_path_factory.mktemp("act_cam") / "pretrained_model", ACTPolicy,
                       ACTConfig(**shapes, dim_model=32, n_heads=2, dim_feedforward=64,
                                 n_encoder_layers=1, chunk_size=1, n_action_steps=1,
                                 pretrained_backbone_weights=None, device="cpu",
                                 push_to_hub=False))


def test_a_lerobot_policy_sees_the_profiles_camera(act_camera_folder):
    runtime = PolicyRuntime(STATE, ACT, STATE, images={"cam": (32, 32, 3)})
    assert runtime.load(str(act_camera_folder)), runtime.last_error
    assert runtime.status().kind == "lerobot/act"
    dark, bright = np.zeros((32, 32, 3), np.uint8), np.full((32, 32, 3), 255, np.uint8)
    seen = [runtime.act(np.zeros(STATE), episode=e, images={"cam": image})[0]
            for e, image in enumerate((dark, bright, dark))]
    assert np.allclose(seen[0], seen[2], atol=1e-5)  # the same scene, the same answer
    assert not np.allclose(seen[0], seen[1], atol=1e-4)  # the image reaches the policy
    with pytest.raises(ValueError, match="camera 'cam'"):
        runtime.act(np.zeros(STATE), episode=9, images={})


@pytest.mark.parametrize("images,culprit", [
    ({"cam": (64, 64, 3)}, r"observation.images.cam is \(3, 32, 32\), the profile's camera "
                           r"gives \(3, 64, 64\)"),
    ({}, "it reads observation.images.cam, which the profile does not give"),
    ({"cam": (32, 32, 3), "wrist": (32, 32, 3)}, "it does not read camera 'wrist'"),
])
def test_a_lerobot_policy_for_other_cameras_is_refused(act_camera_folder, images, culprit):
    runtime = PolicyRuntime(STATE, ACT, STATE, images=images)
    assert not runtime.load(str(act_camera_folder))
    assert re.search(culprit, runtime.last_error), runtime.last_error
    assert str(act_camera_folder) in runtime.last_error
