"""Which parameters adaptation should move, compared on the same fold models in one run:

    .venv/bin/python tools/adapt_screen.py RUN [--seconds 30] [--moves head,last,all] [--steps 150]
        [--seeds 3] [--seed 0] [--spread PIECES] [--turn-back auto|subject:index,...]

RUN is a `train --cv ... --adapt-seconds ...` run: its `folds/fold-N/` hold each fold's model and
the calibration windows of its training people. For every held-out person of every fold and
every choice of moving parameters, the fold's model is adapted on the first N seconds of each of
that person's activities and scored on the rest of their steps (as `--adapt-seconds` does). The
data, classes and rate are the run's own (config.json). Prints a table and the mean per choice.

The `adabn` column is unlabelled adaptation at its most optimistic: no labels and no fine-tuning,
but the batch-norm statistics re-estimated from the person's whole recording (every step, the
scored ones included), scored on the same steps as the others. If it does not help even so, an
honest version (from the first minutes only) cannot.

Two what-ifs, to find what holds a person back, not figures of what a wearer gets: `--spread P`
takes each activity's N seconds as P pieces spread over all of the person's steps of it rather
than the first N (do seconds that sample every recording do better?); `--turn-back` turns the
named recordings half a turn about the device's vertical axis before anything else, `auto` naming
those `tools/wear_turns.py` marks as worn turned (found from the person's labels: an oracle).
"""

from __future__ import annotations

import argparse
import copy
import json
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from edge_har.core.config import AdaptConfig, RunConfig, TrainConfig, dataclass_from_dict
from edge_har.core.features import pad_start
from edge_har.data.calibration import load_windows
from edge_har.data.dataset import at_rate, keep_classes
from edge_har.data.loading import load_data
from edge_har.data.orientation import turned_back, wear_turns
from edge_har.model.run_folder import CALIBRATION_FILE, CONFIG_FILE, Run
from edge_har.model.tcn import TCN
from edge_har.train.adaptation import MOVES, adaptation_curve, first_seconds, spread_seconds
from edge_har.train.training import evaluate


@torch.no_grad()
def renormalized(model: TCN, person) -> TCN:
    """AdaBN: the batch-norm running statistics recomputed from `person`'s recordings, unlabelled."""
    adapted = copy.deepcopy(model).eval()
    norms = [m for m in adapted.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # a cumulative average over every recording
        norm.train()
    for rec in person.recordings:
        adapted(torch.as_tensor(pad_start(rec.x, adapted.receptive_field))[None])
    return adapted.eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--moves", default=",".join(MOVES))
    parser.add_argument("--steps", type=int, default=AdaptConfig().steps)
    parser.add_argument("--seeds", type=int, default=AdaptConfig().seeds, help="fine-tunings averaged (1: one alone)")
    parser.add_argument("--seed", type=int, default=AdaptConfig().seed)
    parser.add_argument("--spread", type=int, metavar="PIECES", help="what-if: N seconds as PIECES spread pieces")
    parser.add_argument("--turn-back", metavar="KEYS", help="what-if: 'auto' or subject:index,... turned back first")
    args = parser.parse_args()
    config = RunConfig.load(args.run / CONFIG_FILE)
    data = load_data(None if config.synthetic_data else config.data_source, config.sample_rate_hz)
    data, _ = at_rate(keep_classes(data, config.classes), config.sample_rate_hz)
    if args.turn_back:
        keys = ([t.key for t in wear_turns(data) if t.turned] if args.turn_back == "auto"
                else args.turn_back.split(","))
        Console().print(f"turned back: {', '.join(keys) or 'none'}")
        data = turned_back(data, keys)
    split = partial(spread_seconds, pieces=args.spread) if args.spread else first_seconds
    moves = args.moves.split(",")
    table = Table(title=f"{args.run}: adapted on {args.seconds:g} s of each activity, accuracy on the rest")
    columns = ["unadapted", "adabn", *moves]
    for column in ["fold", "held-out person", *columns]:
        table.add_column(column)
    scores: dict[str, list[float]] = {name: [] for name in columns}
    for folder in sorted((args.run / "folds").iterdir(), key=lambda p: int(p.name.split("-")[1])):
        fold = json.loads((folder / "fold.json").read_text())
        model = Run(folder).model
        replay = load_windows(folder / CALIBRATION_FILE, model.receptive_field, model.config.input_channels)
        train_cfg = dataclass_from_dict(TrainConfig, fold["train_config"])
        for subject in fold["test_subjects"]:
            person = data.select([subject])
            _, rest = split(person, args.seconds, data.sample_rate_hz)
            row = {"adabn": evaluate(renormalized(model, person), rest).summary["accuracy"]}
            for name in moves:
                result = adaptation_curve(model, person, [args.seconds], replay, train_cfg,
                                          replace(AdaptConfig(), moves=name, steps=args.steps, seeds=args.seeds,
                                                  seed=args.seed), split=split)[0]
                row["unadapted"], row[name] = result.unadapted_accuracy, result.accuracy
            for name, value in row.items():
                scores[name].append(value)
            table.add_row(folder.name, subject, *(f"{row[name]:.4f}" for name in columns))
    table.add_row("mean", "", *(f"{np.mean(scores[name]):.4f}" for name in columns))
    table.add_row("lowest", "", *(f"{np.min(scores[name]):.4f}" for name in columns))
    Console().print(table)


if __name__ == "__main__":
    main()
