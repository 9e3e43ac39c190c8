"""A stream session: decoded items from a board in, one prediction per model-rate step out.

It knows nothing about ports. Board samples become model steps through `board.BoardInput`
(scale, units, rate). The first sample of a stream stands for everything before it (the
start-of-stream rule of every engine). Lost samples (a counter gap) are filled by holding the
last reading so the model keeps real time; a counter that goes backwards starts a new stream.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from ..core.decoding import ForwardFilter, softmax
from ..core.errors import UserError
from ..core.features import Memory
from ..link.board import BoardInput, Step
from ..link.frames import SYNTHETIC_DECLARATION, Info, Sample
from .export_folder import Exported


@dataclass(frozen=True)
class StepRecord:
    """One model step of a stream: what the log writes, the live view shows and `on_step` gets.
    Classes are indices into the export's classes; `true` is None on unlabelled steps, `fp32`
    without the fp32 comparison, `device` where the board sends no class of its own, and the
    decoded classes where the export decodes nothing. With a label delay (`train --delay`) the
    classes name step `names_step`, that many steps back, and `true` is that step's label."""

    step: int
    stream: int  # which stream of the session (a board reset starts the next)
    seq: int | None  # the board's counter (None for text lines)
    t: float | None  # seconds into the stream (None where no rate is known)
    x: float
    y: float
    z: float
    true: int | None
    int8: int
    fp32: int | None
    device: int | None
    probabilities: np.ndarray  # int8's, over the classes
    int8_decoded: int | None = None
    fp32_decoded: int | None = None
    names_step: int | None = None  # the step the classes name: `step` less the delay (None before the stream reaches it)

    @property
    def shown(self) -> int:
        """The class a user sees: after the causal filter where the export has one."""
        return self.int8 if self.int8_decoded is None else self.int8_decoded


LARGEST_GAPS = 10  # gaps the summary lists, largest first; `gap_count` counts them all


@dataclass
class StreamStats:
    samples: int = 0  # board samples received
    steps: int = 0  # model-rate steps predicted (the samples themselves, unless rates are converted)
    lost_samples: int = 0
    bad_frames: int = 0
    skipped_bytes: int = 0
    bad_samples: int = 0  # decoded readings that are not finite numbers in the model's units
    bad_info: int = 0  # board declarations that could not be used (a damaged rate, scale or units)
    data_errors: int = 0  # reads whose data could not be processed at all (counted, never fatal)
    resets: int = 0
    reconnects: int = 0
    agreements: int = 0
    labelled: int = 0
    int8_correct: int = 0
    fp32_correct: int = 0
    decoded_agreements: int = 0
    int8_decoded_correct: int = 0
    fp32_decoded_correct: int = 0
    decoding: str = "none"
    device_steps: int = 0  # steps whose frame carried the board's own class (protocol version 2)
    device_fp32_agreements: int = 0
    device_int8_agreements: int = 0
    device_labelled: int = 0
    device_correct: int = 0
    gap_count: int = 0
    _largest_gaps: list[tuple[int, int, dict]] = field(default_factory=list)  # a min-heap of the largest

    def add_gap(self, gap: dict) -> None:
        """Count a gap; keep only the LARGEST_GAPS largest (the log has every one)."""
        self.gap_count += 1
        entry = (gap["lost"], -self.gap_count, gap)  # ties: the earlier gap stays
        if len(self._largest_gaps) < LARGEST_GAPS:
            heapq.heappush(self._largest_gaps, entry)
        else:
            heapq.heappushpop(self._largest_gaps, entry)

    @property
    def largest_gaps(self) -> list[dict]:
        return [gap for _, _, gap in sorted(self._largest_gaps, reverse=True)]

    def as_dict(self, seconds: float) -> dict:
        summary = {k: v for k, v in asdict(self).items() if not k.startswith("_")}
        summary.update({
            "seconds": round(seconds, 3),
            "samples_per_second": self.samples / seconds if seconds > 0 else 0.0,
            "int8_fp32_agreement": self.agreements / self.steps if self.steps else None,
            "int8_accuracy": self.int8_correct / self.labelled if self.labelled else None,
            "fp32_accuracy": self.fp32_correct / self.labelled if self.labelled else None,
            **(self._decoded() if self.decoding != "none" else {}),
            **(self._device() if self.device_steps else {}),
            "largest_gaps": self.largest_gaps,
            "largest_gaps_kept": LARGEST_GAPS,
        })
        return summary

    def _decoded(self) -> dict:
        return {"decoded_int8_fp32_agreement": self.decoded_agreements / self.steps if self.steps else None,
                "decoded_int8_accuracy": self.int8_decoded_correct / self.labelled if self.labelled else None,
                "decoded_fp32_accuracy": self.fp32_decoded_correct / self.labelled if self.labelled else None}


    def _device(self) -> dict:
        """The board's own model (its class in each frame) against the host's fp32 and int8."""
        return {"device_fp32_agreement": self.device_fp32_agreements / self.device_steps,
                "device_int8_agreement": self.device_int8_agreements / self.device_steps,
                "device_accuracy": self.device_correct / self.device_labelled if self.device_labelled else None}


class StreamSession:
    """Turns decoded items into per-step predictions with an int8 engine and, optionally, an fp32
    one (engines.py) for comparison; `on_step` gets each step's record."""

    def __init__(self, export: Exported, int8, fp32, on_step: Callable[[StepRecord], None],
                 rate_hz: float | None = None, scale: float | None = None, units: str | None = None,
                 on_event: Callable[[str], None] = lambda event: None):
        """`rate_hz`, `scale` and `units` describe the board until it declares its own; `on_event`
        hears of every gap, reset and damaged reading (the log keeps them; the summary counts)."""
        self.export, self.on_event = export, on_event
        self.classes, self.receptive_field = export.classes, export.receptive_field
        self.int8, self.fp32, self.on_step = int8, fp32, on_step
        self.engines = [e for e in (int8, fp32) if e is not None]
        self.last_xyz: np.ndarray | None = None
        self.pending: list[tuple] = []  # (seq, reading, label) of board samples not yet converted
        self.board = BoardInput(export.sample_rate_hz, export.input_units, rate_hz, units, scale)
        self.board_classes: list[str] | None = None
        self.board_synthetic = False
        self.stats = StreamStats()
        transitions = export.transitions()
        # One causal filter per engine, over its own probabilities (decoding.py); none: raw classes only
        self.decoders = {name: ForwardFilter(transitions) for name, engine in (("int8", int8), ("fp32", fp32))
                         if engine is not None} if transitions is not None else {}
        self.stats.decoding = "forward" if self.decoders else "none"
        self.last_seq: int | None = None
        self.stream_index = -1
        # (label, step number) of the model steps the delay reaches back over, newest last: an output
        # names the oldest. Steps held through a gap are there too, unlabelled and unnumbered.
        self.recent: deque[tuple[int | None, int | None]] = deque(maxlen=export.label_delay_steps + 1)
        self.latest: StepRecord | None = None
        # A model with a memory reads the axes, then their average (features.Memory), every engine alike
        self.memory = Memory(export.memory_keep) if export.memory_keep else None

    def handle(self, items: list[Sample | Info]) -> None:
        """Items in the order they arrived. Board samples wait in `pending` and go through the rate
        converter together, once per read (or before anything that must see them done)."""
        for item in items:
            if isinstance(item, Info):
                self._flush()
                self._declare(item.fields)
                continue
            if self.stats.samples == 0:
                self._check_model_fits_the_board()
            reading = self.board.reading(item.xyz)
            if reading is None:  # a value the model cannot take: damage, like a bad CRC
                self.stats.bad_samples += 1
                self.on_event(f"bad sample (seq {item.seq}): {item.xyz} is not a finite reading in the model's units")
                continue
            self._track_sequence(item.seq, reading)
            self.stats.samples += 1
            self.pending.append((item.seq, reading, item.label, item.device_class))
            self.last_xyz = reading
        self._flush()

    def _flush(self) -> None:
        if not self.pending:
            return
        seqs, readings, labels, devices = zip(*self.pending)
        self.pending = []
        first = self.board.inputs
        steps = self.board.steps(np.stack(readings), list(labels))
        for step, after in zip(steps, [*steps[1:], None]):
            # a board's class is that of the newest step its sample completes (PROTOCOL.md)
            newest = after is None or after.sample != step.sample
            self._predict(seqs[step.sample - first], step, devices[step.sample - first] if newest else None)

    def _declare(self, fields: dict[str, str]) -> None:
        unusable = self.board.declare(fields)
        if unusable:
            self.stats.bad_info += 1
            self.on_event(f"board info ignored: {', '.join(unusable)}")
        if fields.get("classes"):
            self.board_classes = fields["classes"].split(",")
        key, value = SYNTHETIC_DECLARATION
        if key in fields:  # an info that says nothing of its data (only a rate, say) changes nothing
            self.board_synthetic = fields[key] == value

    def _check_model_fits_the_board(self) -> None:
        if self.export.synthetic_data and not self.board_synthetic:
            raise UserError(f"{self.export.run_folder} was trained on the built-in SYNTHETIC data, and this board "
                            "sends real readings: its predictions would mean nothing. Record your own activities "
                            "(`edge-har record`) and train on them (`edge-har train --data FOLDER`)")

    def _track_sequence(self, seq: int | None, xyz: np.ndarray) -> None:
        """Start a stream, fill lost samples by holding the last reading, or restart after a reboot."""
        if self.last_seq is None or (seq is not None and seq < self.last_seq and self.last_seq - seq < 32768):
            self._flush()
            if self.last_seq is not None:
                self.stats.resets += 1
                self.on_event(f"board reset: counter {self.last_seq} -> {seq}; a new stream starts")
            self.stream_index += 1
            self.recent.clear()
            self.board.start(xyz)
            first = self.memory.start(xyz) if self.memory else xyz
            for engine in self.engines:
                engine.reset(first)
            for decoder in self.decoders.values():
                decoder.reset()
        elif seq is not None:
            lost = (seq - self.last_seq - 1) & 0xFFFF
            if lost:
                self._flush()
                self.stats.lost_samples += lost
                self.stats.add_gap({"after_seq": self.last_seq, "lost": lost, "at_step": self.stats.steps})
                self.on_event(f"lost {lost} sample(s) after seq {self.last_seq}")
                self._hold_through(lost)
        self.last_seq = seq if seq is not None else (self.last_seq or 0) + 1

    def _hold_through(self, lost: int) -> None:
        """Keep real time across lost samples: the last reading, held, goes through the rate
        converter; the engines take the last R model steps of it (older ones leave no trace)."""
        assert self.last_xyz is not None, "a gap is seen only after a first reading"
        held = [self._readings(step.values) for step in self.board.steps(np.tile(self.last_xyz, (lost, 1)),
                                                                             [None] * lost)]
        self.recent.extend([(None, None)] * len(held))
        for sample in held[-self.receptive_field:]:
            for engine in self.engines:
                engine.skip(sample)

    def _readings(self, values: np.ndarray) -> np.ndarray:
        """What the model reads at a step: the axes, then their memory in a model with one."""
        return self.memory.step(values) if self.memory else values

    def _predict(self, seq: int | None, step: Step, device: int | None = None) -> None:
        sample = self._readings(step.values)
        probs = softmax(self.int8.predict(sample))
        fp32_probs = softmax(self.fp32.predict(sample)) if self.fp32 else None
        int8_class = int(probs.argmax())
        fp32_class = int(fp32_probs.argmax()) if fp32_probs is not None else None
        true, names_step = self._named_step(self._true_class(step.label))
        stats = self.stats
        stats.steps += 1
        stats.agreements += int(fp32_class == int8_class) if fp32_class is not None else 0
        if true is not None:
            stats.labelled += 1
            stats.int8_correct += int(int8_class == true)
            stats.fp32_correct += int(fp32_class == true) if fp32_class is not None else 0
        x, y, z = step.values.tolist()
        self.latest = StepRecord(stats.steps - 1, self.stream_index, seq, None if step.t is None else round(step.t, 4),
                                 x, y, z, true, int8_class, fp32_class, device, probs,
                                 *self._decode(probs, fp32_probs, true), names_step=names_step)
        if device is not None:
            self._count_device(device, int8_class, fp32_class, true)
        self.on_step(self.latest)

    def _count_device(self, device: int, int8: int, fp32: int | None, true: int | None) -> None:
        stats = self.stats
        stats.device_steps += 1
        stats.device_int8_agreements += int(device == int8)
        stats.device_fp32_agreements += int(device == fp32) if fp32 is not None else 0
        if true is not None:
            stats.device_labelled += 1
            stats.device_correct += int(device == true)

    def _decode(self, probs: np.ndarray, fp32_probs: np.ndarray | None,
                true: int | None) -> tuple[int | None, int | None]:
        """Each engine's class after its causal filter (int8's, fp32's), counted like the raw ones."""
        if not self.decoders:
            return None, None
        int8 = self.decoders["int8"].step(probs)
        fp32 = self.decoders["fp32"].step(fp32_probs) if fp32_probs is not None else None
        stats = self.stats
        stats.decoded_agreements += int(fp32 == int8) if fp32 is not None else 0
        if true is not None:
            stats.int8_decoded_correct += int(int8 == true)
            stats.fp32_decoded_correct += int(fp32 == true) if fp32 is not None else 0
        return int8, fp32

    def _named_step(self, true_now: int | None) -> tuple[int | None, int | None]:
        """The label of the step this output names (the delay back) and that step's number; None for
        both while the stream is younger than the delay, or where it names a step held through a gap."""
        self.recent.append((true_now, self.stats.steps))
        if len(self.recent) < (self.recent.maxlen or 1):
            return None, None
        return self.recent[0]

    def _true_class(self, label: int | str | None) -> int | None:
        if label is None:
            return None
        name = label if isinstance(label, str) else (
            self.board_classes[label] if self.board_classes and label < len(self.board_classes) else None)
        return self.classes.index(name) if name in self.classes else None
