"""The fp32 step engine equals the full causal pass (and so the rolling buffer) on every step."""

from __future__ import annotations

import numpy as np
import torch

from edge_har.config import ModelConfig
from edge_har.model import TCN, macs_per_step, macs_per_window, predict_logits
from edge_har.step_model import StepTCN


def test_step_engine_equals_the_full_pass_from_the_first_step():
    torch.manual_seed(0)
    model = TCN(ModelConfig(num_classes=5), mean=np.array([0.1, -0.2, 0.3]), std=np.array([1.5, 0.8, 2.0]))
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    model.eval()
    x = np.random.default_rng(1).normal(size=(600, 3)).astype(np.float32)
    full = predict_logits(model, x)
    step = StepTCN(model)
    samples = torch.from_numpy(x)
    states = step.start(samples[:1])
    outputs = []
    with torch.no_grad():
        for t in range(len(x)):
            logits, states = step(samples[t:t + 1], states)
            outputs.append(logits[0].numpy())
    assert np.abs(np.stack(outputs) - full).max() <= 1e-4


def test_a_step_costs_one_column_per_layer():
    config = ModelConfig(num_classes=5)
    assert macs_per_window(config) / macs_per_step(config) > 20
