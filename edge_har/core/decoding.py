"""Causal decoding over time: a forward filter over the TCN's per-step class probabilities.

Activities last seconds to minutes, while a per-step classifier may switch on any one step.
The filter is the forward pass of a hidden Markov model whose hidden state is the activity:
its transitions come from how long each activity lasts in the training labels (at the model
rate), so leaving an activity needs evidence that outweighs how rarely it is left. It sees no
future step, so it runs on a stream; its price is latency, measured by `change_delays`.

The network's softmax is a posterior, not a likelihood: dividing it by the training class
frequencies (the hybrid HMM rule) keeps common classes from being counted twice.

numpy only: stream, parity and firmware-side checks run it without torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from .labels import UNLABELED

DECODE_CHOICES = ("forward", "none")
DEFAULT_DECODE = "none"  # measured: no better on held-out people, and later (docs/accuracy.md)
FLOOR = 1e-6  # no class is ever impossible: a filter that rules one out can never return to it


@dataclass
class Transitions:
    """P(next activity j | activity i) per model step, and how often each activity occurs."""

    matrix: np.ndarray  # (K, K), rows sum to 1
    prior: np.ndarray  # (K,), sums to 1

    def as_dict(self) -> dict:
        return {"matrix": self.matrix.tolist(), "prior": self.prior.tolist()}

    @classmethod
    def from_dict(cls, saved: dict) -> Transitions:
        return cls(np.asarray(saved["matrix"], dtype=np.float64), np.asarray(saved["prior"], dtype=np.float64))


def transitions_from_labels(labels: list[np.ndarray], num_classes: int) -> Transitions:
    """Stay probabilities 1 - 1 / (mean run length in steps) per class, from the training labels;
    a class is left for any other alike. The order activities follow one another in a recording
    protocol (HumanActivity's is one fixed script) says nothing about a wearer's day, so it is
    not learned. Unlabelled steps end a run; a class without runs gets the typical length."""
    lengths: list[list[int]] = [[] for _ in range(num_classes)]
    counts = np.zeros(num_classes)
    for y in labels:
        for label, length in _runs(y):
            lengths[label].append(length)
            counts[label] += length
    typical = np.mean([np.mean(x) for x in lengths if x]) if any(lengths) else 1.0
    mean_length = np.array([np.mean(x) if x else typical for x in lengths])
    stay = 1.0 - 1.0 / np.maximum(mean_length, 1.0 + FLOOR)
    leave = (1.0 - stay) / max(num_classes - 1, 1)
    matrix = np.where(np.eye(num_classes, dtype=bool), stay[:, None], leave[:, None])
    prior = (counts + 1.0) / (counts + 1.0).sum()
    return Transitions(matrix, prior)


def _stretches(y: np.ndarray) -> list[tuple[int, int, int]]:
    """(label, start, end) of each stretch of one label, unlabelled stretches included."""
    edges = np.flatnonzero(np.diff(y) != 0) + 1
    starts, ends = np.concatenate([[0], edges]), np.concatenate([edges, [len(y)]])
    return [(int(y[s]), int(s), int(e)) for s, e in zip(starts, ends)] if len(y) else []


def _runs(y: np.ndarray) -> list[tuple[int, int]]:
    """(label, length) of each labelled stretch; unlabelled steps separate them."""
    return [(label, end - start) for label, start, end in _stretches(y) if label != UNLABELED]


class ForwardFilter:
    """belief_t ∝ (belief_{t-1} · A) ⊙ p_t / prior; the decoded class is its argmax. Starts
    from the prior."""

    def __init__(self, transitions: Transitions):
        self.transitions = transitions
        self.reset()

    def reset(self) -> None:
        self.belief = self.transitions.prior.copy()

    def step(self, probabilities: np.ndarray) -> int:
        evidence = np.maximum(probabilities, FLOOR) / self.transitions.prior
        belief = (self.belief @ self.transitions.matrix) * evidence
        self.belief = np.maximum(belief / belief.sum(), FLOOR)
        return int(self.belief.argmax())

    def run(self, probabilities: np.ndarray) -> np.ndarray:
        """Decoded classes of one stream, (T, K) probabilities in, from a fresh start."""
        self.reset()
        return np.array([self.step(p) for p in probabilities], dtype=np.int64)


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def change_delays(y: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Steps from each true change of activity until the prediction first names the new
    activity, within that activity's stretch; a stretch it never names counts its whole length.
    A change may cross unlabelled steps (HAPT's transitions between activities are unlabelled):
    the delay then runs from the new activity's first labelled step."""
    delays = []
    labelled = [stretch for stretch in _stretches(y) if stretch[0] != UNLABELED]
    for (before, _, _), (after, start, end) in pairwise(labelled):
        if before == after:
            continue
        named = np.flatnonzero(predicted[start:end] == after)
        delays.append(named[0] if len(named) else end - start)
    return np.array(delays, dtype=np.int64)
