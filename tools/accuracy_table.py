"""docs/accuracy.md's seed tables from `tools/cv_seeds.py` results, in one command:

    .venv/bin/python tools/accuracy_table.py BASELINE.json OTHER.json [...] [--names a,b,...]

Per file: the mean per-step accuracy and macro-F1 over held-out people, as the mean over seeds
with its spread (the standard deviation of the per-seed means), the lowest person (mean over
seeds) and the minutes one seed took. Every file after the first is also compared with the
first, person by person on the seeds both ran (same seed, same person): the mean paired gain in
accuracy and in macro-F1, how many people gained, and whether the gain exceeds the seed spread
(the larger of the two files' spreads), the project's rule for calling a change better; with
fewer than three seeds in common a change is shown but not judged.

A file whose runs had a teacher (`--teacher`) also gets a row for the teachers themselves: each
fold's teacher on the same held-out people (it never ships; it sees the samples after each step).
With `--people`, a table of each person's accuracy (mean over seeds) per file follows.

With `--curve PNG`, the files are points of a curve against their label delay (`--delay`): mean
accuracy and macro-F1 with the seed spread as error bars.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

MIN_SEEDS = 3  # a change is judged on at least this many seeds


def _load(path: Path) -> dict:
    result = json.loads(path.read_text())
    if not result["seeds"]:
        raise SystemExit(f"{path}: no seed has finished yet")
    return result


def _per_seed(result: dict, figure: str) -> np.ndarray:
    return np.array([np.mean([p[figure] for p in seed["persons"].values()]) for seed in result["seeds"].values()])


def _spread(result: dict) -> float:
    means = _per_seed(result, "accuracy")
    return float(means.std(ddof=1)) if len(means) > 1 else float("nan")


def _lowest(result: dict) -> tuple[str, float]:
    people = next(iter(result["seeds"].values()))["persons"]
    means = {p: np.mean([s["persons"][p]["accuracy"] for s in result["seeds"].values()]) for p in people}
    person = min(means, key=lambda p: means[p])
    return person, float(means[person])


def teachers(result: dict) -> dict | None:
    """The result as its folds' teachers scored (the same people and seeds), where it had them."""
    seeds = result["seeds"].values()
    if not all("teacher" in p for seed in seeds for p in seed["persons"].values()):
        return None
    return {**result, "seeds": {s: {**seed, "persons": {p: {**figures, **figures["teacher"]}
                                                        for p, figures in seed["persons"].items()}}
                                for s, seed in result["seeds"].items()}}


def people_table(names: list[str], results: list[dict]) -> list[str]:
    """Each person's accuracy, the mean over the seeds, per file."""
    people = list(next(iter(results[0]["seeds"].values()))["persons"])
    lines = ["| person | " + " | ".join(names) + " |", "| --- |" + " --- |" * len(names)]
    for person in people:
        cells = [f"{np.mean([s['persons'][person]['accuracy'] for s in r['seeds'].values()]):.3f}" for r in results]
        lines.append(f"| {person} | " + " | ".join(cells) + " |")
    return lines


def summary_row(name: str, result: dict) -> str:
    acc, f1 = _per_seed(result, "accuracy"), _per_seed(result, "macro_f1")
    person, lowest = _lowest(result)
    minutes = np.mean([s["minutes"] for s in result["seeds"].values()])
    if len(acc) > 1:
        figures = f"{acc.mean():.4f} ± {_spread(result):.4f} | {f1.mean():.4f} ± {f1.std(ddof=1):.4f}"
    else:
        figures = f"{acc.mean():.4f} (one seed) | {f1.mean():.4f}"
    return f"| {name} | {len(acc)} | {figures} | {person} {lowest:.3f} | {minutes:.0f} |"


def paired_row(name: str, base: dict, other: dict) -> str:
    seeds = sorted(set(base["seeds"]) & set(other["seeds"]))
    if not seeds:
        return f"| {name} | no seed in common | | | |"
    people = list(base["seeds"][seeds[0]]["persons"])
    gains = {figure: np.array([[other["seeds"][s]["persons"][p][figure] - base["seeds"][s]["persons"][p][figure]
                                for p in people] for s in seeds]) for figure in ("accuracy", "macro_f1")}
    per_person = gains["accuracy"].mean(axis=0)
    spread = max(_spread(base), _spread(other))
    gain = gains["accuracy"].mean()
    verdict = (f"not judged: {len(seeds)} seed(s) in common" if len(seeds) < MIN_SEEDS or np.isnan(spread)
               else "yes" if abs(gain) > spread else "no")
    return (f"| {name} | {','.join(seeds)} | {gain * 100:+.2f} pts | {gains['macro_f1'].mean() * 100:+.2f} pts | "
            f"{int((per_person > 0).sum())} of {len(people)} | {spread * 100:.2f} pts | {verdict} |")


def curve(results: list[dict], path: Path) -> None:
    """Accuracy and macro-F1 against the label delay in seconds, one point per file."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    order = sorted(results, key=lambda r: r["delay_steps"])
    delays = [r["delay_steps"] / r["sample_rate_hz"] for r in order]
    fig, ax = plt.subplots(figsize=(6, 4))
    for figure, label in (("accuracy", "accuracy"), ("macro_f1", "macro-F1")):
        means = [_per_seed(r, figure) for r in order]
        ax.errorbar(delays, [m.mean() for m in means], yerr=[m.std(ddof=1) if len(m) > 1 else 0 for m in means],
                    marker="o", capsize=3, label=label)
    ax.set_xlabel("label delay D (s)")
    ax.set_ylabel("mean over held-out people")
    ax.set_title(f"{Path(order[0]['data']).name}: {len(order[0]['classes'])} classes, {order[0]['cv']}-fold, "
                 "by subject")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", type=Path, nargs="+", help="tools/cv_seeds.py JSON files; the first is the baseline")
    parser.add_argument("--names", help="comma-separated row names (default: the file names)")
    parser.add_argument("--curve", type=Path, help="also plot the files against their label delay into this PNG")
    parser.add_argument("--people", action="store_true", help="also each person's accuracy per file")
    args = parser.parse_args()
    results = [_load(path) for path in args.results]
    names = args.names.split(",") if args.names else [path.stem for path in args.results]
    for name, result in list(zip(names, results)):
        taught_by = teachers(result)
        if taught_by:
            names.append(f"{name}: its teachers")
            results.append(taught_by)
    print("| setting | seeds | accuracy (mean ± spread over seeds) | macro-F1 | lowest person | minutes per seed |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, result in zip(names, results):
        print(summary_row(name, result))
    if len(results) > 1:
        print(f"\nAgainst {names[0]}, paired by seed and person:\n")
        print("| setting | seeds | accuracy gain | macro-F1 gain | people who gained | seed spread | gain beyond the spread |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for name, result in zip(names[1:], results[1:]):
            print(paired_row(name, results[0], result))
    if args.people:
        print()
        print("\n".join(people_table(names, results)))
    if args.curve:
        curve(results, args.curve)
        print(f"\nWritten: {args.curve}")


if __name__ == "__main__":
    main()
