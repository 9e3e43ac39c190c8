"""Rate conversion: the streaming resampler is the offline one, causal and delayed by what it says;
both keep what the model needs (low frequencies, gravity) and filter out what would alias."""

from __future__ import annotations

import numpy as np
import pytest

from edge_har.core.resample import StreamResampler, ratio, resample, resample_labels


def _stream(x: np.ndarray, from_hz: float, to_hz: float, burst: int = 1) -> tuple[np.ndarray, StreamResampler]:
    converter = StreamResampler(from_hz, to_hz, x.shape[1])
    converter.reset(x[0])
    return np.concatenate([converter.push(x[i:i + burst])[0] for i in range(0, len(x), burst)]), converter


@pytest.mark.parametrize("from_hz, to_hz", [(104, 50), (25, 50), (100, 50), (52, 50), (12.5, 50)])
def test_the_stream_is_the_offline_result_delayed(from_hz, to_hz):
    rng = np.random.default_rng(0)
    x = np.cumsum(rng.normal(size=(int(20 * from_hz), 3)), axis=0).astype(np.float32)
    offline = resample(x, from_hz, to_hz)
    streamed, converter = _stream(x, from_hz, to_hz)
    lag = round(converter.delay_s * to_hz)
    assert lag == pytest.approx(converter.delay_s * to_hz)  # these ratios delay by whole output steps
    interior = slice(2 * lag, len(streamed) - 2 * lag)
    assert np.abs(streamed[interior] - offline[interior.start - lag:interior.stop - lag]).max() < 1e-3 * np.abs(x).max()
    assert abs(len(streamed) - len(offline)) <= 1


@pytest.mark.parametrize("from_hz, to_hz", [(104, 50), (25, 50)])
def test_bursts_give_what_single_samples_give(from_hz, to_hz):
    x = np.random.default_rng(1).normal(size=(3000, 3)).astype(np.float32)
    one_by_one = _stream(x, from_hz, to_hz)[0]
    for burst in (7, 64, 3000):
        assert np.allclose(_stream(x, from_hz, to_hz, burst)[0], one_by_one, atol=1e-5)


def test_each_output_names_the_input_that_completed_it():
    converter = StreamResampler(25, 50)
    outputs, completed_by = converter.push(np.zeros((5, 3), dtype=np.float32))
    assert len(outputs) == 10 and completed_by.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    outputs, completed_by = StreamResampler(104, 50).push(np.zeros((104, 3), dtype=np.float32))
    assert len(outputs) == 50 and completed_by[-1] <= 103 and np.all(np.diff(completed_by) >= 2)


@pytest.mark.parametrize("from_hz, to_hz", [(104, 50), (25, 50)])
def test_what_the_model_needs_passes_and_what_would_alias_does_not(from_hz, to_hz):
    t = np.arange(int(30 * from_hz)) / from_hz
    slow = np.stack([np.sin(2 * np.pi * 2.0 * t), np.full_like(t, 1.0), np.zeros_like(t)], axis=1)  # 2 Hz gait, gravity
    streamed, converter = _stream(slow.astype(np.float32), from_hz, to_hz)
    tail = streamed[len(streamed) // 2:]
    assert np.abs(tail[:, 0]).max() == pytest.approx(1.0, abs=0.02)
    assert np.allclose(tail[:, 1], 1.0, atol=1e-3)
    if from_hz > to_hz:  # a tone above the model's Nyquist frequency must not fold back into it
        fast = np.sin(2 * np.pi * 0.45 * from_hz * t)[:, None].repeat(3, axis=1).astype(np.float32)
        assert np.abs(_stream(fast, from_hz, to_hz)[0][len(streamed) // 2:]).max() < 0.02


def test_a_stream_starts_without_a_ramp():
    streamed, _ = _stream(np.full((200, 3), [0.1, -0.2, 0.98], dtype=np.float32), 104, 50)
    assert np.allclose(streamed, [0.1, -0.2, 0.98], atol=1e-4)


def test_labels_follow_the_nearest_step():
    y = np.repeat(np.arange(4), 26)  # four 0.25 s segments at 104 Hz
    converted = resample_labels(y, 104, 50, 50)
    assert converted.tolist() == np.repeat(np.arange(4), [13, 12, 13, 12]).tolist()


def test_rates_become_small_integer_ratios():
    assert ratio(104, 50) == (25, 52) and ratio(12.5, 50) == (4, 1) and ratio(50, 50) == (1, 1)
