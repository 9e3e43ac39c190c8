"""The TCN: receptive field by perturbation, the start-of-stream rule, and the R ladder maths."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from edge_har.core.config import ModelConfig, TrainConfig, model_config_from_dict
from edge_har.core.errors import UserError
from edge_har.core.features import Memory, memory_keep, pad_start, with_magnitude, with_memory
from edge_har.data.augmentation import augment
from edge_har.model.tcn import TCN, config_for_receptive_field, count_params, predict_logits


def _random_model(config: ModelConfig, seed: int = 0) -> TCN:
    torch.manual_seed(seed)
    c = config.feature_channels
    model = TCN(config, mean=np.array([0.1, -0.2, 0.3, 1.2])[:c], std=np.array([2.0, 1.5, 0.5, 0.7])[:c])
    for module in model.modules():  # non-trivial normalization statistics
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    return model.eval()


@pytest.mark.parametrize("kernel_size, blocks, norm", [(2, 1, "batch"), (3, 3, "batch"), (5, 4, "layer"), (3, 2, "layer")])
def test_receptive_field_matches_a_one_sample_perturbation(kernel_size, blocks, norm):
    config = ModelConfig(num_classes=4, kernel_size=kernel_size, blocks=blocks, filters=8, norm=norm)
    model = _random_model(config)
    r = 2 * (kernel_size - 1) * (2**blocks - 1) + 1
    assert model.receptive_field == config.receptive_field == r
    x = np.random.default_rng(1).normal(size=(3 * r, 3)).astype(np.float32)
    i = r  # a sample away from both ends
    bumped = x.copy()
    bumped[i] += 5.0
    changed = np.abs(predict_logits(model, bumped) - predict_logits(model, x)).max(axis=1) > 1e-6
    assert np.flatnonzero(changed).tolist() == list(range(i, i + r))


def test_one_output_per_input_step_and_the_start_rule():
    config = ModelConfig(num_classes=3, kernel_size=3, blocks=2, filters=8)
    model = _random_model(config)
    r = model.receptive_field
    x = np.random.default_rng(2).normal(size=(50, 3)).astype(np.float32)
    logits = predict_logits(model, x)
    assert logits.shape == (50, 3)
    # step t sees the R samples ending at t, the first sample repeated before the start
    for t in (0, 5, r - 1, 49):
        window = pad_start(x, r)[t:t + r]
        with torch.no_grad():
            single = model(torch.from_numpy(window)[None])[0, -1].numpy()
        np.testing.assert_allclose(single, logits[t], atol=1e-5)


def test_chunked_prediction_equals_one_pass():
    model = _random_model(ModelConfig(num_classes=5, kernel_size=3, blocks=3, filters=8))
    x = np.random.default_rng(3).normal(size=(1000, 3)).astype(np.float32)
    np.testing.assert_allclose(predict_logits(model, x, chunk=97), predict_logits(model, x), atol=1e-5)


def test_default_model_is_compact():
    model = TCN(ModelConfig(num_classes=5))
    assert model.receptive_field == 121
    assert 30_000 < count_params(model) < 45_000


@pytest.mark.parametrize("r, expected", [(121, (5, 4)), (61, (3, 4)), (13, (3, 2)), (3, (2, 1))])
def test_config_for_receptive_field(r, expected):
    kernel_size, blocks = config_for_receptive_field(r)
    assert (kernel_size, blocks) == expected
    assert ModelConfig(1, kernel_size=kernel_size, blocks=blocks).receptive_field == r


@pytest.mark.parametrize("r", [0, 4, 120])
def test_impossible_receptive_field_is_refused(r):
    with pytest.raises(UserError, match="odd"):
        config_for_receptive_field(r)


@pytest.mark.parametrize("magnitude", [True, False])
def test_magnitude_is_one_more_channel_and_turns_with_nothing(magnitude):
    config = ModelConfig(num_classes=4, kernel_size=3, blocks=2, filters=8, magnitude=magnitude)
    model = _random_model(config)
    assert model.blocks[0].units[0][0].in_channels == 3 + magnitude
    x = torch.randn(2, 5, 3)
    features = model.features(x)
    assert features.shape == (2, 5, 3 + magnitude)
    if magnitude:
        turned = x[..., [1, 2, 0]] * torch.tensor([1.0, -1.0, -1.0])  # a rotation of the sensor frame
        assert torch.allclose(model.features(turned)[..., 3], features[..., 3])
        assert np.allclose(with_magnitude(x.numpy()), features.numpy(), atol=1e-5)


def test_runs_saved_before_the_magnitude_channel_load_without_it():
    assert model_config_from_dict({"num_classes": 5}).magnitude is False
    assert model_config_from_dict({"num_classes": 5, "magnitude": True}).magnitude is True



def test_the_memory_channels_start_at_the_first_reading_and_forget_in_their_time_constant():
    """features.with_memory: the start-of-stream rule (a steady stream is its own average from the
    first step) and an exponential average (a step change is 1 - 1/e of the way after `seconds`)."""
    steady = np.tile(np.array([[0.1, -0.2, 0.98]], dtype=np.float32), (50, 1))
    assert np.allclose(with_memory(steady, memory_keep(10.0, 50.0))[:, 3:], steady)
    change = np.concatenate([np.zeros((10, 3)), np.ones((1000, 3))]).astype(np.float32)
    average = with_memory(change, memory_keep(5.0, 10.0))[:, 3]
    assert average[9] == 0 and abs(average[9 + 50] - (1 - np.exp(-1))) < 1e-3


def test_the_streaming_memory_is_the_offline_one_bit_for_bit():
    """What a stream computes one reading at a time (and the C engine, in double) is what training
    and parity compute over a whole recording: the same products and sums, so the same floats."""
    x = np.random.default_rng(3).normal(size=(3000, 3)).astype(np.float32)
    x[100] = [np.nan, np.inf, 2.0]  # not finite: reads as 0 in the memory
    x[200] = [1.0, -np.inf, 3e38]
    keep = memory_keep(10.0, 50.0)
    memory = Memory(keep)
    memory.start(x[0])
    streamed = np.stack([memory.step(reading) for reading in x])
    assert np.array_equal(streamed, with_memory(x, keep)) and np.isfinite(streamed[:, 3:]).all()


def test_augmentation_turns_the_memory_channels_with_the_axes():
    """Every group of three channels takes the window's one rotation and gain, as the average of
    turned readings is the turned average."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 20, 3)).astype(np.float32)
    turned = augment(np.concatenate([x, x], axis=2), TrainConfig(rotate_deg=40.0, flip_axes=True), rng)
    assert np.allclose(turned[..., :3], turned[..., 3:]) and not np.allclose(turned[..., :3], x)
