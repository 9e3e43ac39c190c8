"""Fitting one TCN on random training windows, and evaluating it per time step."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from rich.progress import Progress
from torch.nn import functional as F

from ..core.config import ModelConfig, TrainConfig
from ..core.decoding import ForwardFilter, Transitions, change_delays, softmax, transitions_from_labels
from ..core.errors import UserError
from ..core.features import pad_start
from ..core.labels import UNLABELED
from ..core.metrics import confusion_matrix, summarize
from ..core.metrics_report import ChangeDelays, Delay, Epoch, Figures
from ..data.augmentation import augment
from ..data.dataset import Dataset
from ..model.tcn import TCN, predict_logits


@dataclass
class FitResult:
    model: TCN
    history: list[Epoch]
    best_epoch: int
    seconds: float
    val_subjects: list[str]
    device: str

    @property
    def best_validation_accuracy(self) -> float | None:
        return next(h.val_accuracy for h in self.history if h.epoch == self.best_epoch)


@dataclass
class Evaluation:
    summary: dict
    confusion: np.ndarray
    predictions: dict[str, list[np.ndarray]] = field(default_factory=dict)  # subject -> per recording
    decoded: Figures | None = None  # the causally decoded classes' figures, where decoded
    change_delay: ChangeDelays | None = None  # how late raw and decoded classes follow a change, where decoded


def use_threads(threads: int | None) -> None:
    """torch's intra-op threads for this job (None: torch's default). The figures depend on it."""
    if threads is not None:
        torch.set_num_threads(threads)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda was asked for, but torch sees no CUDA GPU here")
    if name not in ("cpu", "cuda"):
        raise UserError(f"--device must be auto, cpu or cuda, not {name!r}")
    return torch.device(name)


def normalization(data: Dataset, rotation_invariant: bool, magnitude: bool) -> tuple[np.ndarray, np.ndarray]:
    """Feature statistics from training data. Under random rotations the axes are interchangeable,
    so every axis gets a zero mean and one common scale (the RMS value); |a| gets its own."""
    x = np.concatenate([r.x for r in data.recordings]).astype(np.float64)
    if rotation_invariant:
        mean, std = np.zeros(x.shape[1]), np.full(x.shape[1], np.sqrt((x**2).mean()))
    else:
        mean, std = x.mean(axis=0), x.std(axis=0) + 1e-6
    if magnitude:
        length = np.linalg.norm(x, axis=1)
        mean, std = np.append(mean, length.mean()), np.append(std, length.std() + 1e-6)
    return mean, std


class WindowSampler:
    """Random training windows across subjects: R - 1 steps of context plus `window` labelled
    outputs, drawn from recordings padded by the start-of-stream rule; with `soft` (a teacher's
    per-step probabilities of each recording), those of the same steps."""

    def __init__(self, data: Dataset, receptive_field: int, cfg: TrainConfig, rng: np.random.Generator,
                 soft: list[np.ndarray] | None = None):
        self.cfg, self.rng, self.r = cfg, rng, receptive_field
        self.inputs = [pad_start(rec.x, receptive_field) for rec in data.recordings]
        self.labels = [np.concatenate([np.full(receptive_field - 1, UNLABELED), rec.y]) for rec in data.recordings]
        # No target before a recording starts: rows of zeros, which the loss leaves out
        self.soft = [np.concatenate([np.zeros((receptive_field - 1, p.shape[1]), np.float32), p]) for p in soft] \
            if soft is not None else None
        weights = np.array([(y != UNLABELED).sum() for y in self.labels], dtype=np.float64)
        self.weights = weights / weights.sum()
        self.class_weights = balanced_class_weights(data) if cfg.balanced else None

    def batch(self) -> tuple[np.ndarray, np.ndarray]:
        x, y, _ = self.batch_with_soft()
        return x, y

    def batch_with_soft(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Windows, their labels and, where the sampler has a teacher's, its probabilities."""
        picks = [self._window(i) for i in self.rng.choice(len(self.inputs), size=self.cfg.batch_size, p=self.weights)]
        xs, ys, softs = zip(*picks)
        soft = np.stack(softs) if self.soft is not None else None
        return augment(np.stack(xs), self.cfg, self.rng), np.stack(ys), soft

    def _window(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """One window, played back at a random speed (time warp: people move at their own pace)."""
        span = self.cfg.window + self.r - 1
        speed = 1 + self.cfg.time_warp * self.rng.uniform(-1, 1)
        need = int(np.ceil((span - 1) * speed)) + 1
        x, y = self.inputs[i], self.labels[i]
        soft = self.soft[i] if self.soft is not None else None
        if len(x) < need:  # a recording shorter than the window
            x = np.pad(x, ((need - len(x), 0), (0, 0)), mode="edge")
            y = np.pad(y, (need - len(y), 0), constant_values=UNLABELED)
            soft = np.pad(soft, ((need - len(soft), 0), (0, 0))) if soft is not None else None
        end = self.rng.integers(need, len(x) + 1)
        at = (end - 1) - (span - 1 - np.arange(span)) * speed
        start = int(np.floor(at[0]))
        grid = np.arange(start, end)
        warped = np.stack([np.interp(at, grid, x[start:end, c]) for c in range(x.shape[1])], axis=1)
        steps = np.rint(at[self.r - 1:]).astype(np.int64)
        return warped, y[steps], soft[steps] if soft is not None else None


def balanced_class_weights(data: Dataset) -> np.ndarray:
    """float32 per class: the labelled steps over (classes x the class's steps), so each class's
    steps weigh as much in all as any other's; a class absent from `data` weighs 0."""
    counts = np.bincount(np.concatenate([rec.y[rec.y != UNLABELED] for rec in data.recordings]),
                         minlength=len(data.classes)).astype(np.float64)
    present = counts > 0
    weights = np.zeros_like(counts)
    weights[present] = counts.sum() / (present.sum() * counts[present])
    return weights.astype(np.float32)


def fit(train: Dataset, val: Dataset, model_cfg: ModelConfig, cfg: TrainConfig,
        progress: Progress | None = None, label: str = "training", soft: list[np.ndarray] | None = None) -> FitResult:
    """Adam with gradient clipping; keeps the epoch with the best validation accuracy (with no
    validation people, the last: the cosine schedule has brought its step to zero). `soft`: a
    teacher's probabilities for every step of every training recording, learnt from beside the
    labels (distillation.py)."""
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    device = resolve_device(cfg.device)
    mean, std = normalization(train, rotation_invariant=cfg.rotate_deg > 0 or cfg.flip_axes or bool(cfg.roll_axis),
                              magnitude=model_cfg.magnitude)
    model = TCN(model_cfg, mean, std).to(device)
    sampler = WindowSampler(train, model.receptive_field, cfg, rng, soft)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, cfg.epochs * cfg.steps_per_epoch)
    task = progress.add_task(label, total=cfg.epochs * cfg.steps_per_epoch, stats="") if progress else None
    history: list[Epoch] = []
    best, best_state, started = -1.0, None, time.perf_counter()
    for epoch in range(1, cfg.epochs + 1):
        loss, acc = _train_epoch(model, sampler, optimizer, schedule, cfg, device, progress, task)
        val_acc = evaluate(model, val).summary["accuracy"] if val.recordings else None
        history.append(Epoch(epoch=epoch, loss=loss, train_accuracy=acc, val_accuracy=val_acc))
        if progress:
            stats = f"loss {loss:.3f} train {acc:.3f}" + (f" val {val_acc:.3f}" if val_acc is not None else "")
            progress.update(task, stats=stats)
            if not progress.console.is_terminal:  # a log file sees no bar: a line per epoch instead
                progress.console.print(f"{label}: epoch {epoch}/{cfg.epochs} {stats}")
        if val_acc is None:
            continue
        if val_acc > best:
            best, best_state = val_acc, copy.deepcopy(model.state_dict())
        if epoch - _best_epoch(history) >= cfg.patience:
            break
    if progress:
        progress.update(task, completed=cfg.epochs * cfg.steps_per_epoch)
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return FitResult(model.cpu(), history, _best_epoch(history), time.perf_counter() - started,
                     val.subjects, str(device))


def _best_epoch(history: list[Epoch]) -> int:
    if history[-1].val_accuracy is None:
        return history[-1].epoch
    return max(history, key=lambda h: (h.val_accuracy, -h.epoch)).epoch


def training_step(model: TCN, forward, sampler: WindowSampler, optimizer, cfg: TrainConfig,
                  device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One of fit's steps: a batch drawn and augmented, `forward` (the model, or another layout of
    it in tools/bench_train.py), the loss over labelled steps (and, with a teacher, over every
    step it has probabilities for), backward, clipping, the optimizer; (logits, labels, loss)."""
    windows, labels, soft = sampler.batch_with_soft()
    x, y = torch.from_numpy(windows).to(device), torch.from_numpy(labels).to(device)
    logits = forward(x)
    weight = torch.from_numpy(sampler.class_weights).to(device) if sampler.class_weights is not None else None
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), weight=weight, ignore_index=UNLABELED)
    if soft is not None:
        loss = (1 - cfg.teacher_weight) * loss + cfg.teacher_weight * _distillation_loss(
            logits, torch.from_numpy(soft).to(device), cfg.teacher_temperature)
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
    optimizer.step()
    return logits, y, loss


def _distillation_loss(logits: torch.Tensor, soft: torch.Tensor, temperature: float) -> torch.Tensor:
    """Cross-entropy of the student's tempered distribution against the teacher's, scaled by T^2 so
    its gradients keep their size whatever T (Hinton et al. 2015); steps without a target left out."""
    has = soft.sum(dim=-1) > 0
    log_p = F.log_softmax(logits / temperature, dim=-1)
    return -(soft * log_p).sum(dim=-1)[has].mean() * temperature**2


def _train_epoch(model, sampler, optimizer, schedule, cfg, device, progress, task) -> tuple[float, float]:
    model.train()
    losses, hits, counted = [], 0, 0
    for _ in range(cfg.steps_per_epoch):
        logits, y, loss = training_step(model, model, sampler, optimizer, cfg, device)
        schedule.step()
        labelled = y != UNLABELED
        hits += int((logits.argmax(-1) == y)[labelled].sum())
        counted += int(labelled.sum())
        losses.append(loss.item())
        if progress:
            progress.advance(task)
    return float(np.mean(losses)), hits / max(counted, 1)


def evaluate(model: TCN, data: Dataset, transitions: Transitions | None = None) -> Evaluation:
    """Per-step metrics over labelled steps, with every recording's predicted classes; with
    `transitions`, the same for the causally decoded classes, and how late each follows a change."""
    classes = model.config.num_classes
    confusion = np.zeros((classes, classes), dtype=np.int64)
    decoded_confusion = np.zeros_like(confusion)
    predictions: dict[str, list[np.ndarray]] = {}
    delays: dict[str, list[np.ndarray]] = {"raw": [], "decoded": []}
    for rec in data.recordings:
        logits = predict_logits(model, rec.x)
        pred = logits.argmax(axis=1)
        predictions.setdefault(rec.subject, []).append(pred)
        confusion += confusion_matrix(rec.y, pred, classes)
        if transitions is not None:
            decoded = ForwardFilter(transitions).run(softmax(logits))
            decoded_confusion += confusion_matrix(rec.y, decoded, classes)
            delays["raw"].append(change_delays(rec.y, pred))
            delays["decoded"].append(change_delays(rec.y, decoded))
    evaluation = Evaluation(summarize(confusion, data.classes), confusion, predictions)
    if transitions is not None:
        summary = summarize(decoded_confusion, data.classes)
        evaluation.decoded = Figures(accuracy=summary["accuracy"], macro_f1=summary["macro_f1"])
        evaluation.change_delay = ChangeDelays(
            **{name: _delay_summary(np.concatenate(found), data.sample_rate_hz) for name, found in delays.items()})
    return evaluation


def _delay_summary(delays: np.ndarray, rate_hz: float | None) -> Delay:
    """Mean and 90th percentile, in seconds (in steps where the rate is unknown)."""
    scale, unit = (1.0 / rate_hz, "s") if rate_hz else (1.0, "steps")
    if not len(delays):
        return Delay(changes=0, mean=None, p90=None, unit=unit)
    return Delay(changes=len(delays), mean=float(delays.mean() * scale), p90=float(np.percentile(delays, 90) * scale),
                 unit=unit)


def label_transitions(data: Dataset) -> Transitions:
    """The decoder's transitions, from `data`'s labels (its training people)."""
    return transitions_from_labels([rec.y for rec in data.recordings], len(data.classes))
