"""Adapting a trained model to one wearer from a few labelled seconds of them.

The network is fine-tuned on the wearer's clips while it keeps replaying the calibration
windows of its training people (every class, labelled), so that a class the wearer gave few
seconds of is not forgotten. It is fine-tuned three times from different seeds and the weights
averaged: a single fine-tuning on a few seconds varies a lot from seed to seed (docs/adaptation.md).
Normalization statistics and dropout stay as trained (the model runs in eval mode): a few
seconds are too few to re-estimate them. The run's own augmentation
is applied, so an adapted model keeps the invariances the exported one was trained to have.

`first_seconds` is the honest split behind `train --adapt-seconds`: the first N seconds of each
of a person's activities to adapt on, every other labelled step of theirs to score.
`spread_seconds` is a what-if beside it, for `tools/adapt_screen.py --spread`.
"""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
import torch
from rich.progress import Progress
from torch.nn import functional as F

from ..core.config import AdaptConfig, TrainConfig
from ..core.errors import UserError
from ..core.labels import UNLABELED
from ..core.metrics_report import AdaptedMean, AdaptedPoint, HeldOutPerson
from ..data.augmentation import augment
from ..data.calibration import WindowSet
from ..data.dataset import Dataset
from ..model.tcn import TCN
from .training import WindowSampler, evaluate

MOVES = ("head", "last", "all")


def first_seconds(person: Dataset, seconds: float, rate_hz: float) -> tuple[Dataset, Dataset]:
    """(clips, rest): the first `seconds` of each class in recording order, cut into clips of
    consecutive steps; and the recordings with those steps unlabelled, to score on."""
    take = round(seconds * rate_hz)
    taken = np.zeros(len(person.classes), dtype=np.int64)
    chosen = []
    for rec in person.recordings:
        mask = np.zeros(len(rec), dtype=bool)
        for label in range(len(person.classes)):
            steps = np.flatnonzero(rec.y == label)[:max(take - taken[label], 0)]
            mask[steps] = True
            taken[label] += len(steps)
        chosen.append(mask)
    return _split(person, chosen)


def spread_seconds(person: Dataset, seconds: float, rate_hz: float, pieces: int) -> tuple[Dataset, Dataset]:
    """(clips, rest) as `first_seconds`, but each class's `seconds` taken as `pieces` equal runs of
    its labelled steps spread evenly from its first to its last: a what-if (how seconds that
    sample all of a person's recordings would do), not what a wearer gives at the start."""
    take = round(seconds * rate_hz) // pieces
    if take < 1:
        raise UserError(f"{seconds:g} s at {rate_hz:g} Hz is fewer steps than {pieces} pieces")
    chosen = [np.zeros(len(rec), dtype=bool) for rec in person.recordings]
    for label in range(len(person.classes)):
        owner = np.concatenate([np.full((r.y == label).sum(), i) for i, r in enumerate(person.recordings)])
        step = np.concatenate([np.flatnonzero(r.y == label) for r in person.recordings])
        for start in np.linspace(0, max(len(step) - take, 0), pieces).astype(int):
            for i, j in zip(owner[start:start + take], step[start:start + take]):
                chosen[i][j] = True
    return _split(person, chosen)


def _split(person: Dataset, chosen: list[np.ndarray]) -> tuple[Dataset, Dataset]:
    """The chosen steps of each recording as clips of consecutive steps; the recordings with them unlabelled."""
    clips = [replace(rec, x=rec.x[a:b], y=rec.y[a:b]) for rec, mask in zip(person.recordings, chosen)
             for a, b in _spans(mask)]
    rest = [replace(rec, y=np.where(mask, UNLABELED, rec.y)) for rec, mask in zip(person.recordings, chosen)]
    return replace(person, recordings=clips), replace(person, recordings=rest)


def _spans(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of every run of True."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return list(zip(edges[::2], edges[1::2]))


def adapt_model(model: TCN, clips: Dataset, replay: WindowSet, train_cfg: TrainConfig, config: AdaptConfig,
                progress: Progress | None = None) -> TCN:
    """A copy of `model` fine-tuned on `clips` (one wearer) with `replay` (its training people):
    `config.seeds` fine-tunings from different seeds, their weights averaged."""
    if config.moves not in MOVES:
        raise UserError(f"adaptation moves must be one of {', '.join(MOVES)}, not {config.moves!r}")
    if config.seeds < 1:
        raise UserError(f"adaptation needs at least one seed, not {config.seeds}")
    if not clips.labelled_steps():
        raise UserError("no labelled steps of the wearer to adapt on")
    task = progress.add_task("adapting", total=config.steps * config.seeds, stats="") if progress else None

    def advance() -> None:
        if progress is not None and task is not None:
            progress.advance(task)
    tuned = [_fine_tuned(model, clips, replay, train_cfg, replace(config, seed=config.seed + i), advance)
             for i in range(config.seeds)]
    return _soup(tuned)


def _fine_tuned(model: TCN, clips: Dataset, replay: WindowSet, train_cfg: TrainConfig, config: AdaptConfig,
                advance) -> TCN:
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    adapted = copy.deepcopy(model).cpu().eval()
    moving = _moving(adapted, config.moves)
    for parameter in adapted.parameters():
        parameter.requires_grad_(any(parameter is p for p in moving))
    window = min(train_cfg.window, max(len(r) for r in clips.recordings))
    sampler = WindowSampler(clips, adapted.receptive_field, replace(train_cfg, batch_size=config.batch_size,
                                                                      window=window), rng)
    optimizer = torch.optim.Adam(moving, lr=config.lr)
    for _ in range(config.steps):
        loss = _wearer_loss(adapted, sampler) + _replay_loss(adapted, replay, train_cfg, config, rng)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(moving, train_cfg.grad_clip)
        optimizer.step()
        advance()
    for parameter in adapted.parameters():
        parameter.requires_grad_(True)
    return adapted


@torch.no_grad()
def _soup(models: list[TCN]) -> TCN:
    """The first model with every floating-point weight the mean of all the models' (they share
    their start, and batch-norm statistics stay as trained)."""
    souped = models[0]
    states = [m.state_dict() for m in models]
    souped.load_state_dict({key: torch.stack([s[key] for s in states]).mean(0) if value.is_floating_point() else value
                            for key, value in states[0].items()})
    return souped


def _moving(model: TCN, moves: str) -> list[torch.nn.Parameter]:
    if moves == "head":
        return list(model.head.parameters())
    if moves == "last":
        return [*model.blocks[-1].parameters(), *model.head.parameters()]
    return list(model.parameters())


def _wearer_loss(model: TCN, sampler: WindowSampler) -> torch.Tensor:
    x, y = sampler.batch()
    logits = model(torch.from_numpy(x))
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), torch.from_numpy(y).reshape(-1),
                           ignore_index=UNLABELED)


def _replay_loss(model: TCN, replay: WindowSet, train_cfg: TrainConfig, config: AdaptConfig,
                 rng: np.random.Generator) -> torch.Tensor:
    """Each replayed window is exactly R long: one output, at its labelled last step."""
    picks = rng.choice(len(replay.windows), size=min(config.replay_batch_size, len(replay.windows)), replace=False)
    x = augment(replay.windows[picks], train_cfg, rng)
    return F.cross_entropy(model(torch.from_numpy(x))[:, -1], torch.from_numpy(replay.labels[picks]))


def adaptation_curve(model: TCN, person: Dataset, seconds: list[float], replay: WindowSet, train_cfg: TrainConfig,
                     config: AdaptConfig, progress: Progress | None = None, split=first_seconds) -> list[AdaptedPoint]:
    """For each N in `seconds`: adapt on the first N seconds of each of the person's activities (or
    the seconds another `split` chooses) and score the rest of their steps, beside the unadapted
    model on exactly those steps."""
    if not person.sample_rate_hz:
        raise UserError("--adapt-seconds needs the data's sample rate; this data states none: give --sample-rate HZ")
    rows = []
    for n in seconds:
        clips, rest = split(person, n, person.sample_rate_hz)
        before = evaluate(model, rest).summary
        after = evaluate(adapt_model(model, clips, replay, train_cfg, config, progress), rest).summary
        rows.append(AdaptedPoint(seconds=n, accuracy=after["accuracy"], macro_f1=after["macro_f1"],
                                 unadapted_accuracy=before["accuracy"], unadapted_macro_f1=before["macro_f1"],
                                 adapted_on_steps=clips.labelled_steps(), scored_steps=after["steps"]))
    return rows


def wearer_dataset(person: Dataset, classes: list[str]) -> Dataset:
    """The wearer's recordings with their labels in the run's class order; a label the run does not
    know is refused (adaptation cannot add a class)."""
    unknown = sorted(set(person.classes) - set(classes))
    if unknown:
        raise UserError(f"the wearer's data has class(es) {unknown} the run does not know; it knows {classes}")
    index = np.array([classes.index(name) for name in person.classes], dtype=np.int64)
    recordings = [replace(r, y=np.where(r.y == UNLABELED, UNLABELED, index[np.maximum(r.y, 0)]))
                  for r in person.recordings]
    return replace(person, recordings=recordings, classes=list(classes))


def rows_summary(folds: list[HeldOutPerson]) -> list[AdaptedMean]:
    """Per N: the mean and lowest adapted accuracy over the folds, beside the unadapted mean."""
    curves = [f.adapted or [] for f in folds]
    summary = []
    for rows in zip(*curves):
        summary.append(AdaptedMean(seconds=rows[0].seconds,
                                   mean_accuracy=float(np.mean([r.accuracy for r in rows])),
                                   min_accuracy=float(np.min([r.accuracy for r in rows])),
                                   mean_macro_f1=float(np.mean([r.macro_f1 for r in rows])),
                                   unadapted_mean_accuracy=float(np.mean([r.unadapted_accuracy for r in rows]))))
    return summary

