"""`train --teacher`: the teacher's shape and what it names, its probabilities on the steps the
student's outputs name, the students trained from them and the one kept on validation people,
and the teacher's own figures on held-out people."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from edge_har.core.config import ModelConfig, TrainConfig
from edge_har.core.decoding import softmax
from edge_har.core.labels import UNLABELED
from edge_har.data.dataset import Dataset, Recording
from edge_har.data.synthetic import CLASSES, synthetic_dataset
from edge_har.model.tcn import TCN, predict_logits
from edge_har.train.cross_validation import cross_validate
from edge_har.train.distillation import TEACHER_SETTINGS, _probabilities, fit_distilled, setting_name, teacher_config
from edge_har.train.training import WindowSampler, _distillation_loss

QUICK = TrainConfig(epochs=2, steps_per_epoch=10, batch_size=16, window=128, wear="rolled", teacher=True)
SMALL = ModelConfig(num_classes=5, filters=16, kernel_size=3, blocks=3)


def test_the_teacher_is_wider_and_names_the_centre_of_what_it_sees():
    teacher = teacher_config(SMALL)
    assert teacher.blocks == SMALL.blocks + 1 and teacher.receptive_field > 2 * (SMALL.receptive_field - 1)
    assert teacher.delay_steps == (teacher.receptive_field - 1) // 2
    late = replace(SMALL, delay_steps=100)
    assert teacher_config(late).delay_steps == 100  # never nearer the newest sample than the student


def test_soft_targets_ride_with_the_labels_they_stand_beside():
    """A teacher that knows the labels exactly: every sampled soft target names the sampled label,
    windows warped in time included."""
    labels = np.repeat(np.arange(5), 40)
    x = np.stack([labels, np.zeros(200), np.zeros(200)], axis=1).astype(np.float32)
    data = Dataset([Recording("s", x, labels)], CLASSES, 50.0, "test")
    cfg = replace(QUICK, time_warp=0.3, window=32, batch_size=64)
    soft = [np.eye(5, dtype=np.float32)[labels]]
    _, ys, targets = WindowSampler(data, 9, cfg, np.random.default_rng(0), soft).batch_with_soft()
    labelled = ys != UNLABELED
    assert labelled.mean() > 0.8
    np.testing.assert_array_equal(targets[labelled].argmax(axis=-1), ys[labelled])
    assert (targets[~labelled].sum(axis=-1) == 0).all()  # before the recording starts: no target


def test_one_hot_targets_at_temperature_one_are_the_labels_loss():
    logits = torch.randn(2, 7, 5)
    labels = torch.randint(0, 5, (2, 7))
    soft = F.one_hot(labels, 5).float()
    expected = F.cross_entropy(logits.reshape(-1, 5), labels.reshape(-1))
    assert _distillation_loss(logits, soft, 1.0).item() == pytest.approx(expected.item(), rel=1e-6)


def test_the_teachers_probabilities_name_the_steps_the_student_names():
    """The student's output i names the step its delay d reaches back to; the teacher's output D - d
    steps later names the same step: that output, tempered, is output i's target (near the end,
    with the last sample held past it)."""
    teacher = TCN(teacher_config(SMALL))
    teacher.eval()
    x = synthetic_dataset(people=1, seconds_per_person=10, seed=3).recordings[0].x
    extra, temperature = 5, 2.0
    probs = _probabilities(teacher, x, extra, temperature)
    assert probs.shape == (len(x), SMALL.num_classes)
    later = softmax(predict_logits(teacher, x)[extra:] / temperature)
    np.testing.assert_allclose(probs[:-extra], later, rtol=1e-5, atol=1e-6)
    held = np.concatenate([x, np.repeat(x[-1:], extra, axis=0)])
    np.testing.assert_allclose(probs[-extra:], softmax(predict_logits(teacher, held)[-extra:] / temperature),
                               rtol=1e-5, atol=1e-6)


def test_a_student_trains_from_its_teacher_and_alone_ships():
    data = synthetic_dataset(people=3, seconds_per_person=60, seed=2)
    train, val = data.select(data.subjects[:2]), data.select(data.subjects[2:])
    result, taught = fit_distilled(train, val, SMALL, QUICK)
    assert result.model.config == SMALL and len(result.history) == QUICK.epochs
    assert np.isfinite([h.loss for h in result.history]).all()
    # one student per setting, the kept one the best on the validation people (the first of equals)
    assert list(taught.validation) == [setting_name(*s) for s in TEACHER_SETTINGS]
    best = max(taught.validation.values())
    first_best = next(s for s in TEACHER_SETTINGS if taught.validation[setting_name(*s)] == best)
    assert (taught.temperature, taught.weight) == first_best
    assert result.best_validation_accuracy == best
    assert taught.model.config == teacher_config(SMALL)
    kept = taught.applied(QUICK)
    assert (kept.teacher_temperature, kept.teacher_weight) == first_best


def test_a_cross_validation_reports_each_teachers_own_figures_on_its_held_out_people():
    data = synthetic_dataset(people=4, seconds_per_person=40, seed=5)
    report = cross_validate(data, SMALL, replace(QUICK, threads=1, val_subjects=1), "2").report
    for person in report.folds:
        teacher = person.teacher
        assert teacher is not None and 0.0 <= teacher.held_out.accuracy <= 1.0
        assert (teacher.temperature, teacher.weight) in TEACHER_SETTINGS
        assert set(teacher.validation_accuracy) == {setting_name(*s) for s in TEACHER_SETTINGS}
    # with no validation people (the default) there is nothing to choose on: the first setting alone
    unvalidated = cross_validate(data, SMALL, replace(QUICK, threads=1), "2").report
    assert all(p.teacher.validation_accuracy == {setting_name(*TEACHER_SETTINGS[0]): None} for p in unvalidated.folds)
    alone = cross_validate(data, SMALL, replace(QUICK, threads=1, teacher=False), "2").report
    assert all(person.teacher is None for person in alone.folds)
