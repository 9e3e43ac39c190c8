"""Typed configuration saved beside every run (no module globals)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Literal

from .errors import UserError

Norm = Literal["batch", "layer"]

# The share of steps on which an int8 model must say what fp32 says. Parity streams whole
# recordings (tens of thousands of steps), so it holds them to 0.995. Export checks the last step
# of the held-out windows, 300 of them on TFLite-Micro, where one disagreement is 0.33 points and
# 0.995 would fail on two: its gate is 0.99, and parity on a held-out person is the finer check.
PARITY_MIN_AGREEMENT = 0.995
EXPORT_MIN_AGREEMENT = 0.99

# The label delay a model trains with unless told (`train --delay`), where the data's rate is known:
# one second, the lag at which a label still reads as "now" to a person watching it (about a second
# keeps a flow of thought unbroken: Miller 1968, Card et al. 1991), which is also at most half
# the default receptive field at any rate up to 60 Hz, so most of what it sees stays before the
# step it names. A principle, not a figure tuned on held-out people: docs/accuracy.md measures
# the whole curve.
DEFAULT_DELAY_S = 1.0

# The memory's time constant unless told (`train --memory`), where the data's rate is known: ten
# seconds, chosen before any measurement as several receptive fields (2.4 s at 50 Hz) and longer
# than a posture change takes (2-5 s), so the posture before the change is still held after it,
# yet short against the minutes a posture lasts, so an old one fades (issue 36; docs/accuracy.md).
DEFAULT_MEMORY_S = 10.0


@dataclass
class ModelConfig:
    """Shape of the causal TCN (DESIGN.md section 2)."""

    num_classes: int
    in_channels: int = 3
    filters: int = 32
    kernel_size: int = 5
    blocks: int = 4
    dropout: float = 0.1
    norm: Norm = "batch"
    magnitude: bool = False  # add |a| as an input channel, computed inside the model
    # The output at step t names step t - delay_steps (`--delay`): a fixed lag that lets the model see
    # what follows each step; the network is the same, only what its output is held to moves.
    delay_steps: int = 0
    # A memory of where gravity sat (`--memory`): the axes' causal exponential average with this time
    # constant, in seconds of the model's rate, as three more input readings (features.Memory); 0: none
    memory_s: float = 0.0

    @property
    def input_channels(self) -> int:
        """Readings per sample the model takes: the sensor axes, then their memory when it has one."""
        return self.in_channels * (2 if self.memory_s else 1)

    @property
    def feature_channels(self) -> int:
        """Channels the first convolution sees: the model's readings, plus |a| when `magnitude`."""
        return self.input_channels + int(self.magnitude)

    @property
    def receptive_field(self) -> int:
        """Two dilated convs per block, dilation doubling per block."""
        return 2 * (self.kernel_size - 1) * (2**self.blocks - 1) + 1


@dataclass
class TrainConfig:
    """How one model is fitted."""

    epochs: int = 40
    steps_per_epoch: int = 60
    batch_size: int = 32
    window: int = 256  # labelled outputs per training window (R - 1 steps of context come on top)
    lr: float = 3e-3
    weight_decay: float = 1e-4
    grad_clip: float = 1.0
    patience: int = 15
    # Augmentation: people wear devices differently and move with their own strength. `wear`
    # names how the device sits (wear.py): "auto" chooses, a name sets the three flags below,
    # and None means those flags were set by hand.
    wear: str | None = "auto"
    roll_axis: str | None = "y"  # any-angle turn about this device axis: a device rolled around a limb
    flip_axes: bool = True  # half-turns about the device axes: face in or out, top up or down
    rotate_deg: float = 20.0  # then a random tilt about any axis, up to this angle
    scale_jitter: float = 0.05  # random gain per window: 1 +- this (gravity fixes the true scale)
    time_warp: float = 0.0  # random playback speed per window: 1 +- this
    # People held out of training to keep the epoch (and the teacher's setting) on. None by default:
    # every person trains and the last epoch is kept, the cosine schedule having brought its step to
    # zero. With few people each one learnt from is worth more than one watched: on HumanActivity's
    # six (leave-one-out) the fifth training person gained 0.85 points beyond the seed spread, on 5 of
    # 6 people; on hapt-dev's 15 it lost nothing (docs/accuracy.md).
    val_subjects: int = 0
    # A teacher that sees both ways (train/distillation.py): the student also learns from its per-step
    # probabilities at this temperature, with this weight against the labels, on every step (the
    # unlabelled ones too). Off by default until it wins on held-out people (docs/accuracy.md).
    teacher: bool = False
    teacher_weight: float = 0.5
    teacher_temperature: float = 2.0
    # Each labelled step weighs in the loss by the inverse of its class's share of the training steps,
    # so every class counts as much as macro-F1 counts it (sklearn's "balanced"): the rare, short
    # classes (postural transitions) against the long ones. Off by default: on hapt-dev it cost accuracy
    # (docs/accuracy.md).
    balanced: bool = False
    seed: int = 0
    device: str = "auto"
    # torch's intra-op threads for each training (None: torch's default, the machine's cores). The
    # figures depend on it (float sums in another order), not on which worker trains or when.
    threads: int | None = None


@dataclass
class AdaptConfig:
    """How a model is fine-tuned to one wearer (saved in the adapted run's metrics)."""

    steps: int = 150
    batch_size: int = 16  # windows of the wearer per step
    replay_batch_size: int = 32  # calibration windows of the training people per step
    lr: float = 1e-3
    moves: str = "all"  # which parameters move: the head, the last block and the head, or all
    # Fine-tunings from seeds seed, seed + 1, ..., whose weights are averaged (a model soup): one
    # fine-tuning on a few seconds is a lottery (one seed left a held-out person at 0.72, docs/adaptation.md).
    seeds: int = 3
    seed: int = 0


@dataclass
class RunConfig:
    """Everything a run was made from; written to `config.json` in the run directory."""

    model: ModelConfig
    train: TrainConfig
    data_source: str
    synthetic_data: bool
    classes: list[str]
    sample_rate_hz: float | None
    cv: str | None = None
    rf: str | None = None
    cv_folds: list[str] | None = None  # only the folds holding out these subjects were run
    input_units: str | None = None  # g, m/s2 or counts (units.py); None in runs made before units were recorded
    extra: dict = field(default_factory=dict)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, path: Path) -> RunConfig:
        """A run's config.json; missing or damaged, one line naming it and the fix."""
        try:
            raw = json.loads(path.read_text())
            raw["model"] = model_config_from_dict(raw["model"])
            raw["train"] = dataclass_from_dict(TrainConfig, raw["train"])
            return cls(**raw)
        except FileNotFoundError:
            problem = "missing"
        except (OSError, ValueError, KeyError, TypeError) as err:  # JSONDecodeError is a ValueError
            problem = f"not a readable run config ({type(err).__name__}: {str(err).splitlines()[0][:100]})"
        raise UserError(f"{path}: {problem}; the run is incomplete: train it again with `edge-har train`")


def model_config_from_dict(raw: dict) -> ModelConfig:
    """Runs saved before the magnitude channel existed have none."""
    return dataclass_from_dict(ModelConfig, {"magnitude": False, **raw})


def dataclass_from_dict(cls, raw: dict):
    """Build a dataclass from a dict, ignoring keys that a newer version may have added."""
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in raw.items() if k in names})
