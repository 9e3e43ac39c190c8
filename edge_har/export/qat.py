"""Quantization-aware fine-tuning (`edge-har export --qat`): new weights for the int8 models.

The folded model is fine-tuned with int8 weights and activations simulated in its forward
pass (PT2E's QAT flow, with the quantizer that export's int8 TFLite uses), distilled from the
run's fp32 model on augmented calibration windows: Hinton's softened targets (KL divergence at
temperature 4), which carry fp32's whole ranking of the classes rather than its top one alone.
The run's fp32 model is not touched: it stays what every int8 model is judged against. Each
int8 path then quantizes the tuned weights with its own calibration, as it would the run's.

Measured (docs/int8-int16.md): it does not close int8's gap where fp32's top two logits lie closer than one
int8 step (int16 activations do), which is why `export` uses it only on request.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch
from rich.progress import Progress

from ..core.config import TrainConfig
from ..core.native import quiet_native_output
from ..data.augmentation import augment
from ..data.calibration import WindowSet
from ..model.folding import WindowModel, folded_tcn, tflite_input
from ..model.tcn import TCN
from .quantize import integer_quantizer


@dataclass
class QatConfig:
    steps: int = 400  # about half a minute for the default model on one CPU core
    batch_size: int = 64
    lr: float = 1e-4  # a nudge: the weights start where fp32 training left them
    temperature: float = 4.0  # softens both distributions, so that near-ties teach as much as clear calls
    seed: int = 0


def quantization_aware_tcn(model: TCN, calibration: WindowSet, train: TrainConfig, config: QatConfig,
                           progress: Progress | None = None) -> TCN:
    """A folded copy of `model` fine-tuned so that int8 keeps its classes."""
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    teacher = WindowModel(folded_tcn(model), features_inside=False).eval()
    student = folded_tcn(model)
    simulated = _simulated_int8(WindowModel(student, features_inside=False), model, calibration.windows[:2])
    optimizer = torch.optim.Adam(simulated.parameters(), lr=config.lr)
    with torch.no_grad():  # observers see the calibration ranges before the first update
        simulated(torch.from_numpy(tflite_input(model, calibration.windows)))
    task = progress.add_task("quantization-aware fine-tuning", total=config.steps) if progress else None
    for _ in range(config.steps):
        picks = rng.integers(0, len(calibration.windows), size=config.batch_size)
        x = torch.from_numpy(tflite_input(model, augment(calibration.windows[picks], train, rng)))
        with torch.no_grad():
            target = teacher(x)
        loss = _distillation_loss(simulated(x), target, config.temperature)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if progress:
            progress.advance(task)
    return _tuned_copy(student, simulated)


def _distillation_loss(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """KL(teacher || student) on softened logits, scaled by T^2 to keep its gradients' size."""
    log_student = torch.log_softmax(student / temperature, dim=1)
    soft_teacher = torch.softmax(teacher / temperature, dim=1)
    return torch.nn.functional.kl_div(log_student, soft_teacher, reduction="batchmean") * temperature**2


def _simulated_int8(window_model: WindowModel, model: TCN, example: np.ndarray) -> torch.fx.GraphModule:
    """The window model with int8 fake quantization, as litert-torch's quantizer places it. Its QAT
    annotation (for conv + batch norm pairs) is switched off: batch norm is folded already."""
    from litert_torch.quantize import pt2e_quantizer
    from torchao.quantization.pt2e.quantize_pt2e import prepare_qat_pt2e


    quantizer = integer_quantizer("int8")
    qat_config = pt2e_quantizer.get_symmetric_quantization_config(is_per_channel=True, is_qat=True)
    quantizer.set_global(dataclasses.replace(qat_config, is_qat=False))
    inputs = torch.from_numpy(tflite_input(model, example))
    with quiet_native_output():
        graph = torch.export.export(window_model, (inputs,),
                                    dynamic_shapes=({0: torch.export.Dim("batch")},)).module()
        return prepare_qat_pt2e(graph, quantizer)


def _tuned_copy(student: TCN, simulated: torch.fx.GraphModule) -> TCN:
    """`student` with the fine-tuned weights (the graph's parameters keep the module paths)."""
    tuned = simulated.state_dict()
    state = {name: tuned.get(f"tcn.{name}", value) for name, value in student.state_dict().items()}
    student.load_state_dict(state)
    return student.eval()
