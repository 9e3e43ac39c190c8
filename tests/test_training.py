"""Training on small synthetic data: it learns, validation never touches the test subject,
unlabelled steps stay out of the loss, and cross-validation reports every held-out subject."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from edge_har.core.config import ModelConfig, TrainConfig
from edge_har.core.errors import UserError
from edge_har.core.labels import UNLABELED
from edge_har.core.metrics_report import Rung
from edge_har.data.synthetic import CLASSES, synthetic_dataset
from edge_har.model.tcn import TCN
from edge_har.train.cross_validation import cross_validate, split_validation
from edge_har.train.rf_search import Budget, _choose
from edge_har.train.training import WindowSampler, balanced_class_weights, fit, training_step

SMALL_MODEL = ModelConfig(num_classes=5, filters=16, kernel_size=3, blocks=3)
QUICK = TrainConfig(epochs=10, steps_per_epoch=30, batch_size=16, window=128, patience=10)


@pytest.fixture(scope="module")
def small_data():
    return synthetic_dataset(people=4, seconds_per_person=120, seed=1)


def test_synthetic_data_is_plausible_and_repeatable():
    a, b = synthetic_dataset(people=3, seed=5), synthetic_dataset(people=3, seed=5)
    assert a.synthetic and a.classes == CLASSES and a.sample_rate_hz == 50
    for ra, rb in zip(a.recordings, b.recordings):
        np.testing.assert_array_equal(ra.x, rb.x)
    rec = a.recordings[0]
    magnitude = np.linalg.norm(rec.x, axis=1)
    still = np.isin(rec.y, [CLASSES.index("Sitting"), CLASSES.index("Standing")])
    assert abs(np.median(magnitude[still]) - 1.0) < 0.1  # gravity alone: 1 g
    running, walking = (rec.y == CLASSES.index("Running")), (rec.y == CLASSES.index("Walking"))
    assert magnitude[running].std() > 2 * magnitude[walking].std() > 4 * magnitude[still].std()
    steps = magnitude[walking] - magnitude[walking].mean()
    spectrum = np.abs(np.fft.rfft(steps))
    peak_hz = np.fft.rfftfreq(len(steps), 1 / 50)[spectrum.argmax()]
    assert 1.4 < peak_hz < 2.3  # the step frequency of a walking person
    gravity_sitting = [r.x[r.y == CLASSES.index("Sitting")].mean(axis=0) for r in a.recordings]
    assert np.linalg.norm(gravity_sitting[0] - gravity_sitting[1]) > 0.2  # people wear it differently


def test_fit_learns_and_keeps_the_best_epoch(small_data):
    result = fit(small_data.select(["sim1", "sim2", "sim3"]), small_data.select(["sim4"]), SMALL_MODEL, QUICK)
    best = max(h.val_accuracy for h in result.history)
    assert best > 0.6  # chance is 0.2
    assert result.history[result.best_epoch - 1].val_accuracy == best
    assert result.val_subjects == ["sim4"]


def test_without_validation_people_fit_runs_every_epoch_and_keeps_the_last(small_data):
    """No one to stop early on: every epoch runs (patience 1 would stop a validated one at the
    second) and the model is the last epoch's, its learning rate brought to zero."""
    cfg = replace(QUICK, epochs=3, steps_per_epoch=5, patience=1)
    result = fit(small_data.select(["sim1", "sim2"]), small_data.select([]), SMALL_MODEL, cfg)
    assert [h.epoch for h in result.history] == [1, 2, 3] and result.best_epoch == 3
    assert all(h.val_accuracy is None for h in result.history) and result.val_subjects == []
    assert split_validation(["a", "b", "c"], ["a"], 0) == (["b", "c"], [])


def test_training_is_repeatable_for_a_seed(small_data):
    cfg = replace(QUICK, epochs=2, steps_per_epoch=5)
    runs = [fit(small_data.select(["sim1"]), small_data.select(["sim2"]), SMALL_MODEL, cfg) for _ in range(2)]
    assert runs[0].history == runs[1].history


def test_unlabelled_steps_never_reach_the_loss(small_data):
    masked = small_data.select(["sim1"])
    rec = masked.recordings[0]
    rec.y = np.where(rec.y == CLASSES.index("Running"), UNLABELED, rec.y)
    sampler = WindowSampler(masked, 7, replace(QUICK, rotate_deg=90), np.random.default_rng(0))
    x, y = sampler.batch()
    assert x.shape == (QUICK.batch_size, QUICK.window + 6, 3) and y.shape == (QUICK.batch_size, QUICK.window)
    assert CLASSES.index("Running") not in y


@pytest.mark.parametrize("test", [["a"], ["c"], ["e"], ["b", "c"]])
def test_validation_is_never_a_test_subject(test):
    train, val = split_validation(list("abcde"), test, 1)
    assert not set(val) & set(test) and not set(train) & set(test) and not set(train) & set(val)
    assert sorted(train + val + test) == list("abcde")


def test_too_few_subjects_for_validation():
    with pytest.raises(UserError, match="too few"):
        split_validation(["a", "b"], ["a"], 1)
    with pytest.raises(UserError, match="too few"):  # no validation person, but the wear trials need one to judge on
        split_validation(["a", "b"], ["a"], 0)


def test_cross_validation_reports_each_held_out_subject(small_data):
    cfg = replace(QUICK, epochs=3, steps_per_epoch=10)
    done = cross_validate(small_data, SMALL_MODEL, cfg, "2")
    report, pooled = done.report, done.pooled
    assert [f.test_subject for f in report.folds] == ["sim1", "sim2", "sim3", "sim4"]
    assert [f.fold for f in report.folds] == [1, 1, 2, 2]
    for fold in report.folds:
        assert 0 <= fold.accuracy <= 1 and fold.test_subject not in fold.val_subjects
    assert report.mean_accuracy == pytest.approx(np.mean([f.accuracy for f in report.folds]))
    assert pooled.confusion.sum() == small_data.labelled_steps()
    for fold in report.folds:  # raw and causally decoded, every fold
        assert fold.decoded and 0 <= fold.decoded.accuracy <= 1 and 0 <= fold.decoded.macro_f1 <= 1
        delays = fold.change_delay
        assert delays and delays.raw.changes == delays.decoded.changes > 0 and delays.raw.unit == "s"
    assert report.change_delay_mean_over_folds.unit == "s"
    assert report.decoded_mean_accuracy == pytest.approx(np.mean([f.decoded.accuracy for f in report.folds]))


def _rung(r, accuracy):
    return Rung(receptive_field=r, kernel_size=3, blocks=2, filters=16, params=r * 10, macs_per_step=r,
                accuracy=accuracy, min_fold_accuracy=accuracy)


def test_rf_choice_takes_the_smallest_r_within_tolerance():
    rows = [_rung(13, 0.90), _rung(29, 0.951), _rung(61, 0.955), _rung(121, 0.954)]
    results = {r.receptive_field: (r.receptive_field, None, None) for r in rows}
    assert _choose(rows, results, Budget(tolerance=0.005)).chosen == 29
    assert _choose(rows, results, Budget(tolerance=0.06)).chosen == 13
    assert _choose(rows, results, Budget(tolerance=0.06, target_accuracy=0.952)).chosen == 61
    missed = _choose(rows, results, Budget(target_accuracy=0.99))
    assert missed.chosen is None and "target" in missed.reason


def test_rf_budget_skips_rungs():
    budget = Budget(max_params=500)
    assert budget.over(400, 10) is None
    assert "max-params" in budget.over(600, 10)
    assert "max-macs" in Budget(max_macs=5).over(1, 6)


def test_time_warped_windows_keep_labels_aligned():
    from edge_har.data.dataset import Dataset, Recording

    labels = np.repeat(np.arange(5), 40)  # blocks of 40 steps per class
    x = np.stack([labels, np.zeros(200), np.zeros(200)], axis=1).astype(np.float32)
    data = Dataset([Recording("s", x, labels)], CLASSES, 50.0, "test")
    cfg = replace(QUICK, time_warp=0.3, rotate_deg=0, roll_axis=None, flip_axes=False, scale_jitter=0,
                  window=32, batch_size=64)
    xs, ys = WindowSampler(data, 9, cfg, np.random.default_rng(0)).batch()
    outputs = xs[:, 8:, 0]  # inputs at the labelled output steps
    labelled = ys != UNLABELED
    assert labelled.mean() > 0.8
    # away from a class boundary the input under each label is that label's value
    steady = labelled & (np.abs(outputs - np.rint(outputs)) < 1e-6)
    assert steady.mean() > 0.5
    np.testing.assert_array_equal(np.rint(outputs[steady]), ys[steady])


def test_wear_auto_breaks_a_tie_towards_the_wear_that_covers_more():
    from edge_har.train.wear import TIE, most_general_of_the_best

    assert most_general_of_the_best({"rolled": 0.987, "fixed": 0.989, "any": 0.942}) == "rolled"
    assert most_general_of_the_best({"rolled": 0.660, "fixed": 0.872, "any": 0.601}) == "fixed"
    assert most_general_of_the_best({"rolled": 0.90, "fixed": 0.90 + 2 * TIE, "any": 0.90}) == "fixed"
    assert most_general_of_the_best({"rolled": 0.90, "fixed": 0.80, "any": 0.90 - TIE / 2}) == "any"


def test_balanced_weights_make_every_class_weigh_alike_in_all():
    data = synthetic_dataset(people=3, seconds_per_person=120, seed=0)
    rec = data.recordings[0]
    rec.y[: len(rec.y) // 3] = UNLABELED  # unlabelled steps count for no class
    weights = balanced_class_weights(data)
    labels = np.concatenate([r.y[r.y != UNLABELED] for r in data.recordings])
    totals = weights * np.bincount(labels, minlength=len(data.classes))
    assert np.allclose(totals, totals.mean()) and totals.sum() == pytest.approx(len(labels))
    for r in data.recordings:  # a class with no steps at all weighs nothing
        r.y[r.y == 0] = UNLABELED
    assert balanced_class_weights(data)[0] == 0 and np.all(balanced_class_weights(data)[1:] > 0)


def test_a_balanced_training_step_weighs_its_loss_by_class():
    """fit's step with --balanced: the loss is the class-weighted cross-entropy of the batch it drew."""
    data = synthetic_dataset(people=3, seconds_per_person=120, seed=1)
    cfg = TrainConfig(batch_size=4, window=64, wear="rolled", balanced=True)
    torch.manual_seed(0)
    model = TCN(ModelConfig(len(data.classes), blocks=2, kernel_size=3, filters=8)).train()
    weights = torch.from_numpy(balanced_class_weights(data))
    windows, labels, _ = WindowSampler(data, model.receptive_field, cfg, np.random.default_rng(0)).batch_with_soft()
    torch.manual_seed(1)  # the same dropout in both forward passes
    logits = model(torch.from_numpy(windows))
    flat = logits.reshape(-1, logits.shape[-1]), torch.from_numpy(labels).reshape(-1)
    weighted = F.cross_entropy(*flat, weight=weights, ignore_index=UNLABELED)
    assert not torch.isclose(weighted, F.cross_entropy(*flat, ignore_index=UNLABELED))  # the weights matter here
    torch.manual_seed(1)
    sampler = WindowSampler(data, model.receptive_field, cfg, np.random.default_rng(0))
    _, _, loss = training_step(model, model, sampler, torch.optim.Adam(model.parameters()), cfg, torch.device("cpu"))
    assert loss.item() == pytest.approx(weighted.item(), rel=1e-6)
