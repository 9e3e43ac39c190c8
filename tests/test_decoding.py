"""The causal decoder: transitions from label durations, a forward filter, change delays."""

from __future__ import annotations

import numpy as np
import pytest

from edge_har.core.decoding import ForwardFilter, Transitions, change_delays, transitions_from_labels
from edge_har.core.labels import UNLABELED


def _labels(*runs: tuple[int, int]) -> np.ndarray:
    return np.concatenate([np.full(length, label) for label, length in runs])


def test_transitions_stay_for_the_mean_run_length_and_leave_for_any_other_class_alike():
    labels = [_labels((0, 100), (1, 50), (0, 300)), _labels((2, 20), (UNLABELED, 5), (1, 150))]
    t = transitions_from_labels(labels, 3)
    assert t.matrix.sum(axis=1) == pytest.approx(np.ones(3))
    assert np.diag(t.matrix) == pytest.approx([1 - 1 / 200, 1 - 1 / 100, 1 - 1 / 20])
    assert t.matrix[1, 0] == t.matrix[1, 2]  # the labels' order of activities is not learned
    assert t.prior == pytest.approx(np.array([401, 201, 21]) / 623)
    assert Transitions.from_dict(t.as_dict()).matrix == pytest.approx(t.matrix)


def _probabilities(classes: np.ndarray, confidence: float, k: int = 3) -> np.ndarray:
    p = np.full((len(classes), k), (1 - confidence) / (k - 1))
    p[np.arange(len(classes)), classes] = confidence
    return p


def test_the_filter_ignores_one_step_flicker_and_follows_a_sustained_change():
    truth = _labels((0, 400), (1, 400))
    raw = truth.copy()
    raw[[50, 51, 120, 300]] = 2  # one- and two-step switches inside a long activity
    t = transitions_from_labels([_labels((0, 400), (1, 400), (2, 400))] * 3, 3)
    decoded = ForwardFilter(t).run(_probabilities(raw, 0.9))
    assert (decoded[:400] == 0).all()
    assert list(change_delays(truth, raw)) == [0] and 0 < change_delays(truth, decoded)[0] <= 10
    assert (decoded[410:] == 1).all()


def test_change_delays_count_steps_until_the_new_activity_is_named():
    truth = _labels((0, 10), (1, 10), (UNLABELED, 5), (2, 10), (0, 10))
    predicted = truth.copy()
    predicted[10:13] = 0  # 1 named 3 steps late
    predicted[35:45] = 2  # 0 never named: its whole stretch
    assert list(change_delays(truth, predicted)) == [3, 0, 10]  # a change across unlabelled steps counts too


def test_the_filter_restarts_from_the_prior():
    t = transitions_from_labels([_labels((0, 100), (1, 100))], 2)
    f = ForwardFilter(t)
    f.run(_probabilities(np.ones(50, dtype=int), 0.99, 2))
    assert f.belief.argmax() == 1
    f.reset()
    assert f.belief == pytest.approx(t.prior)
