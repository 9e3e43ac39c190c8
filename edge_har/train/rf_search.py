"""Choosing the smallest receptive field R that still does the job.

R is what a device must buffer and compute, so `--rf auto` walks a ladder of TCN shapes from
small R upward, cross-validates each one that fits the budget, and keeps the smallest R whose
accuracy is within a tolerance of the best rung (and meets the target, when one is given).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from rich.progress import Progress

from ..core.config import ModelConfig, TrainConfig
from ..core.metrics_report import CrossValidation, Rung
from ..core.workers import HERE, Workers
from ..data.dataset import Dataset
from ..model.tcn import TCN, count_params, macs_per_step
from .cross_validation import cross_validate_shapes
from .training import Evaluation

# (kernel size, blocks): R = 13, 29, 61, 121, 249 with two convs per block.
DEFAULT_LADDER = [(3, 2), (3, 3), (3, 4), (5, 4), (5, 5)]


@dataclass
class Budget:
    tolerance: float = 0.005  # accuracy points as a fraction: 0.005 is half a point
    target_accuracy: float | None = None
    max_params: int | None = None
    max_macs: int | None = None

    def over(self, params: int, macs: int) -> str | None:
        if self.max_params is not None and params > self.max_params:
            return f"{params} params > --max-params {self.max_params}"
        if self.max_macs is not None and macs > self.max_macs:
            return f"{macs} MACs per step > --max-macs {self.max_macs}"
        return None


@dataclass
class SearchResult:
    ladder: list[Rung]
    chosen: ModelConfig | None
    cv: CrossValidation | None  # the chosen rung's cross-validation report
    pooled: Evaluation | None
    reason: str


def search_receptive_field(data: Dataset, base: ModelConfig, cfg: TrainConfig, cv: str, budget: Budget,
                           progress: Progress | None = None,
                           ladder: list[tuple[int, int]] = DEFAULT_LADDER,
                           only: list[str] | None = None, workers: Workers = HERE) -> SearchResult:
    """Every fold of every rung within the budget is one job on `workers` (a rung's figures decide
    nothing before the whole ladder is in)."""
    rows: list[Rung] = []
    shapes: list[ModelConfig] = []
    for kernel_size, blocks in sorted(ladder, key=lambda kb: replace(base, kernel_size=kb[0], blocks=kb[1]).receptive_field):
        config = replace(base, kernel_size=kernel_size, blocks=blocks)
        params, macs = count_params(TCN(config)), macs_per_step(config)
        rows.append(Rung(receptive_field=config.receptive_field, kernel_size=kernel_size, blocks=blocks,
                         filters=config.filters, params=params, macs_per_step=macs, accuracy=None,
                         min_fold_accuracy=None, skipped=budget.over(params, macs) or _shorter_than_delay(config)))
        if not rows[-1].skipped:
            shapes.append(config)
    results: dict[int, tuple[ModelConfig, CrossValidation, Evaluation]] = {}
    for config, done in zip(shapes, cross_validate_shapes(data, shapes, cfg, cv, progress, only, workers=workers)):
        rung = next(r for r in rows if r.receptive_field == config.receptive_field)
        report = done.report
        rung.accuracy, rung.min_fold_accuracy, rung.macro_f1 = report.mean_accuracy, report.min_accuracy, report.mean_macro_f1
        results[config.receptive_field] = (config, report, done.pooled)
    return _choose(rows, results, budget)


def _shorter_than_delay(config: ModelConfig) -> str | None:
    """A rung whose window does not reach back to the step the label delay names."""
    if config.delay_steps > config.receptive_field - 1:
        return f"R - 1 = {config.receptive_field - 1} steps, shorter than the label delay of {config.delay_steps}"
    return None


def _choose(rows: list[Rung], results: dict[int, tuple[ModelConfig, CrossValidation, Evaluation]],
            budget: Budget) -> SearchResult:
    tried = [(r, r.accuracy) for r in rows if r.accuracy is not None]
    if not tried:
        return SearchResult(rows, None, None, None, "every rung of the ladder is over the budget")
    best = max(accuracy for _, accuracy in tried)
    floor = best - budget.tolerance
    if budget.target_accuracy is not None:
        floor = max(floor, budget.target_accuracy)
    good = [r for r, accuracy in tried if accuracy >= floor]
    if not good:
        return SearchResult(rows, None, None, None,
                            f"no rung reaches the target accuracy {budget.target_accuracy} (best {best:.4f})")
    pick = min(good, key=lambda r: r.receptive_field)
    for r in rows:
        r.chosen = r is pick
    config, report, pooled = results[pick.receptive_field]
    reason = (f"smallest R within {budget.tolerance * 100:g} points of the best ({best:.4f})"
              + (f" and at least the target {budget.target_accuracy}" if budget.target_accuracy is not None else ""))
    return SearchResult(rows, config, report, pooled, reason)
