"""How long Python takes to import what `edge-har stream` runs on (the CLI and the stream loop),
its peak memory and which heavy libraries (torch, pandas, matplotlib, scipy) come along, in this
working tree and in another commit, measured in one run, interleaved.

    .venv/bin/python tools/bench_import.py --against b51a39c

Each measurement is a fresh interpreter; the figure is the median of `--repeats` rounds. Run it
on a quiet machine or a busy one, but compare only the ratio: both trees pay the same load.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEFORE_HOST_SPLIT = "b51a39c"  # the last commit whose stream imported torch
HEAVY = ("torch", "pandas", "matplotlib", "scipy")
# The stream loop's module, wherever the tree keeps it (edge_har/stream.py before the layer subpackages)
PROBE = ("import time, importlib.util; started = time.perf_counter(); import edge_har.cli; "
         "importlib.import_module('edge_har.runtime.stream' if importlib.util.find_spec('edge_har.runtime') "
         "else 'edge_har.stream'); elapsed = time.perf_counter() - started; import sys, resource, edge_har; "
         f"print(elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
         f"','.join(m for m in {HEAVY!r} if m in sys.modules) or '-', edge_har.__file__)")


def import_once(tree: Path) -> tuple[float, int, str]:
    """Seconds to import, peak memory (KiB) and which heavy libraries came along; run from `tree`,
    so its edge_har is the one loaded."""
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=tree, capture_output=True, text=True, check=True).stdout
    seconds, peak_kib, heavy, origin = out.split()
    if not Path(origin).resolve().is_relative_to(tree.resolve()):
        raise RuntimeError(f"imported {origin}, not the tree at {tree}")
    return float(seconds), int(peak_kib), heavy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--against", default=BEFORE_HOST_SPLIT, help="the commit to compare with")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        other = Path(tmp) / "other"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(other), args.against],
                       check=True)
        try:
            times: dict[str, list[float]] = {"this tree": [], args.against: []}
            memory: dict[str, list[int]] = {"this tree": [], args.against: []}
            loads = {}
            for _ in range(args.repeats):
                for name, tree in (("this tree", ROOT), (args.against, other)):
                    seconds, peak_kib, loads[name] = import_once(tree)
                    times[name].append(seconds)
                    memory[name].append(peak_kib)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(other)], check=True)
    for name, values in times.items():
        print(f"{name}: median {statistics.median(values):.3f} s, fastest {min(values):.3f} s over {args.repeats} "
              f"imports; peak memory {statistics.median(memory[name]) / 1024:.0f} MB; loaded: {loads[name]}")
    ratio = statistics.median(times[args.against]) / statistics.median(times["this tree"])
    print(f"ratio {args.against} / this tree: {ratio:.1f}x")


if __name__ == "__main__":
    main()
