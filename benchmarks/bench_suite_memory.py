"""Peak RSS of a conformance suite run: the reference against hostile but correct candidates.

Runs, one after another in fresh processes (serial, ``kmw-dev``), from this checkout,

    python -m pytest --kmw-impl=CANDIDATE -p no:cacheprovider -p no:xdist \\
        --hypothesis-profile=kmw-dev -q [pytest args after --]

for the reference (``kmw.KEpisodeMetaworld``) and the candidates of
``tests/hostile_candidates.py``: ``FrameInInfo`` (a new 240x240x3 uint8 frame in every info),
``Prints`` (``--print-bytes``, default 1 MB, written per step, half through ``sys.stdout``, half
to file descriptor 2) and, with ``--big-info``, ``BigInfo`` (a new ``--info-bytes``, default
10 MB, array in every info). For each run it prints the
process's own peak RSS (``wait4``'s ``ru_maxrss``), its ratio to the reference's, its CPU and
wall time, the bytes it wrote to the terminal and its exit status. The goal: every ratio within
1.5.

With ``--baseline DIR`` (another checkout, e.g. ``git worktree add /tmp/kmw-before <commit>``)
every candidate also runs from there, side by side (``PYTHONPATH`` points each run at its own
tree; the candidates' module is taken from this checkout). Careful: before the bounds, one
test printing 1 MB per step took 11 GB; restrict such a baseline, e.g.
``--print-bytes 100000 -- -k "obs_4 or log_5"``.

    python benchmarks/bench_suite_memory.py [--big-info] [--baseline DIR] [--print-bytes N]
        [--info-bytes N] [-- -k "obs_4 or log_5"]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import print_footer, print_header

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = "kmw.KEpisodeMetaworld"
CANDIDATES = ("FrameInInfo", "Prints")


def run(tree: Path, impl: str, extra: list[str], sizes: dict[str, str]) -> dict[str, float]:
    """One serial suite run from ``tree``: peak RSS (MB), CPU and wall seconds, output bytes,
    exit status."""
    cmd = [sys.executable, "-m", "pytest", f"--kmw-impl={impl}", "-p", "no:cacheprovider",
           "-p", "no:xdist", "--hypothesis-profile=kmw-dev", "-q", *extra]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tree), str(ROOT / "tests")]),
               **sizes)
    env.pop("CI", None)
    with tempfile.TemporaryDirectory() as tmp, open(Path(tmp) / "out", "wb+") as out:
        env["HYPOTHESIS_STORAGE_DIRECTORY"] = tmp
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=tree, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        size = out.tell()
    return {"peak_mb": usage.ru_maxrss / 1024, "cpu": usage.ru_utime + usage.ru_stime,
            "wall": wall, "out_bytes": size, "exit": os.waitstatus_to_exitcode(status)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="another checkout to measure side by side")
    parser.add_argument("--big-info", action="store_true", help="also a large array per info")
    parser.add_argument("--print-bytes", type=int, default=1_000_000, help="printed per step")
    parser.add_argument("--info-bytes", type=int, default=10_000_000, help="BigInfo's array")
    args, extra = parser.parse_known_args()
    extra = [a for a in extra if a != "--"]
    sizes = {"KMW_HOSTILE_BYTES": str(args.print_bytes), "KMW_HOSTILE_INFO": str(args.info_bytes)}
    print_header("peak RSS of a suite run: the reference vs hostile candidates")
    print(f"printed per step: {args.print_bytes} bytes; BigInfo: {args.info_bytes} bytes; "
          f"pytest args: {extra or 'none'}")
    trees = [("this", ROOT)] + ([("baseline", args.baseline.resolve())] if args.baseline else [])
    names = [REFERENCE] + [f"hostile_candidates.{c}" for c in
                           (*CANDIDATES, *(("BigInfo",) if args.big_info else ()))]
    print("| tree | candidate | peak RSS | vs reference | CPU | wall | terminal output | exit |")
    print("|---|---|---|---|---|---|---|---|")
    for label, tree in trees:
        reference = None
        for impl in names:
            got = run(tree, impl, extra, sizes)
            reference = reference or got["peak_mb"]
            print(f"| {label} | `{impl.rsplit('.', 1)[-1]}` | {got['peak_mb']:.0f} MB | "
                  f"{got['peak_mb'] / reference:.2f}x | {got['cpu']:.1f} s | {got['wall']:.1f} s "
                  f"| {got['out_bytes'] / 1e3:.0f} KB | {got['exit']} |", flush=True)
    print()
    print_footer()


if __name__ == "__main__":
    main()
