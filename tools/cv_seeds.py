"""Cross-validation figures over several seeds, per held-out person, with no final model (the part
of `edge-har train --cv` an accuracy comparison needs):

    .venv/bin/python tools/cv_seeds.py --data ../shared/data/hapt-dev --cv 3 --seeds 0,1,2 \
        --out results/hapt12-default.json [--delay 1 --wear fixed --classes A,B ...]

Each seed's folds are trained as `edge-har train --cv` trains them (the same options mean the same
thing; `--threads 1` by default, so two of these side by side fill a 2-core machine). The JSON is
rewritten after every seed, so an interrupted run keeps the seeds it finished; a seed already in
the file is not run again. `tools/accuracy_table.py` turns such files into the tables of
docs/accuracy.md.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

from rich.console import Console

from edge_har.core.config import ModelConfig, TrainConfig
from edge_har.core.console import job_progress
from edge_har.train.cross_validation import cross_validate
from edge_har.train.train_command import TrainOptions, prepared
from edge_har.train.wear import dressed


def _options(args: argparse.Namespace) -> TrainOptions:
    train = TrainConfig(epochs=args.epochs, threads=args.threads, time_warp=args.time_warp, teacher=args.teacher,
                        balanced=args.balanced, val_subjects=args.val_subjects)
    if args.wear != "auto":
        train = dressed(train, args.wear)
    return TrainOptions(data=args.data, classes=args.classes.split(",") if args.classes else None,
                        sample_rate_hz=args.sample_rate, delay_s=args.delay, memory_s=args.memory, train=train,
                        model=ModelConfig(0, magnitude=args.magnitude))


def _seed_figures(outcome, seconds: float) -> dict:
    report = outcome.report
    return {"mean_accuracy": report.mean_accuracy, "mean_macro_f1": report.mean_macro_f1,
            "min_accuracy": report.min_accuracy, "minutes": round(seconds / 60, 2),
            "persons": {f.test_subject: {"accuracy": f.accuracy, "macro_f1": f.macro_f1, "steps": f.steps,
                                         "per_class_accuracy": f.per_class_accuracy, "best_epoch": f.best_epoch,
                                         "wear": f.wear.chosen, **_teacher_figures(f)}
                        for f in report.folds}}


def _teacher_figures(person) -> dict:
    """With --teacher: the teacher's own figures on the person and the setting the student was kept at."""
    if person.teacher is None:
        return {}
    t = person.teacher
    return {"teacher": {"accuracy": t.held_out.accuracy, "macro_f1": t.held_out.macro_f1,
                        "temperature": t.temperature, "weight": t.weight,
                        "validation_accuracy": t.validation_accuracy}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--cv", default="3", help="loso or a number of subject-wise folds (default 3)")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--out", type=Path, required=True, help="the JSON file to write (seeds in it are kept)")
    parser.add_argument("--classes", help="as `edge-har train --classes`")
    parser.add_argument("--wear", default="auto", help="as `edge-har train --wear` (default auto)")
    parser.add_argument("--delay", type=float, help="as `edge-har train --delay` (seconds; default as train's)")
    parser.add_argument("--sample-rate", type=float, help="as `edge-har train --sample-rate`")
    parser.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    parser.add_argument("--time-warp", type=float, default=TrainConfig.time_warp)
    parser.add_argument("--magnitude", action="store_true")
    parser.add_argument("--teacher", action="store_true", help="as `edge-har train --teacher`")
    parser.add_argument("--balanced", action="store_true", help="as `edge-har train --balanced`")
    parser.add_argument("--memory", type=float, help="as `edge-har train --memory` (seconds; default as train's)")
    parser.add_argument("--val-subjects", type=int, default=TrainConfig.val_subjects,
                        help="validation people per fold (0: none; each model keeps its last epoch)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    console = Console()
    opts = _options(args)
    data, model_cfg, _ = prepared(opts, console)
    done = json.loads(args.out.read_text()) if args.out.is_file() else {
        "command": "tools/cv_seeds.py " + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()
                                                   if v is not None and v is not False and k not in ("out", "seeds")),
        "data": data.source, "classes": data.classes, "cv": args.cv, "delay_steps": model_cfg.delay_steps,
        "memory_s": model_cfg.memory_s,
        "sample_rate_hz": data.sample_rate_hz, "seeds": {}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for seed in (int(s) for s in args.seeds.split(",")):
        if str(seed) in done["seeds"]:
            continue
        started = time.perf_counter()
        with job_progress(console) as progress:
            outcome = cross_validate(data, model_cfg, replace(opts.train, seed=seed), args.cv, progress)
        done["seeds"][str(seed)] = _seed_figures(outcome, time.perf_counter() - started)
        partial = args.out.with_suffix(".partial")
        partial.write_text(json.dumps(done, indent=1))
        partial.replace(args.out)
        console.print(f"seed {seed}: mean accuracy {outcome.report.mean_accuracy:.4f}, "
                      f"macro-F1 {outcome.report.mean_macro_f1:.4f} -> {args.out}")


if __name__ == "__main__":
    main()
