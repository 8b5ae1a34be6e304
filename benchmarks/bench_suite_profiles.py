"""The conformance suite's run time per profile, serial, against a baseline checkout side by side.

For each profile, runs (alternating, ``--repeats`` pairs, fresh processes)

    python -m pytest --kmw-impl=kmw.KEpisodeMetaworld -p no:cacheprovider -p no:xdist \\
        --hypothesis-profile=PROFILE -q

once from this checkout and once from ``--baseline`` (another checkout of the project, e.g. a
``git worktree`` of an older commit; ``PYTHONPATH`` points each run at its own tree), and prints
the median wall time and CPU time (the run's own user + system seconds, less sensitive to a busy
machine than wall time) of each, and their ratio. Without ``--baseline`` only this checkout is
timed.

    git worktree add /tmp/kmw-before <commit>
    python benchmarks/bench_suite_profiles.py --baseline /tmp/kmw-before [--repeats 2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import median, print_footer, print_header

ROOT = Path(__file__).resolve().parent.parent
PROFILES = ("kmw-dev", "kmw-ci")


def timed(tree: Path, profile: str) -> tuple[float, float, str]:
    """``(wall s, CPU s, last line)`` of one serial suite run from ``tree``."""
    cmd = [sys.executable, "-m", "pytest", "--kmw-impl=kmw.KEpisodeMetaworld",
           "-p", "no:cacheprovider", "-p", "no:xdist", f"--hypothesis-profile={profile}", "-q"]
    env = dict(os.environ, PYTHONPATH=str(tree))
    env.pop("CI", None)
    with tempfile.TemporaryDirectory() as tmp:
        env["HYPOTHESIS_STORAGE_DIRECTORY"] = tmp
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=tree, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        out, _ = proc.communicate()
    wall = time.perf_counter() - start
    cpu = _children_cpu()
    last = (out.strip().splitlines() or ["(no output)"])[-1]
    return wall, cpu, last


_last_children = 0.0


def _children_cpu() -> float:
    """CPU seconds of the child processes reaped since the previous call."""
    global _last_children
    r = os.times()
    total = r.children_user + r.children_system
    delta, _last_children = total - _last_children, total
    return delta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="another checkout to time side by side")
    parser.add_argument("--repeats", type=int, default=1, help="pairs of runs (default 1)")
    parser.add_argument("--profiles", nargs="+", default=list(PROFILES))
    args = parser.parse_args()
    print_header("conformance suite per profile, serial: this checkout vs a baseline")
    _children_cpu()
    trees = [("this", ROOT)] + ([("baseline", args.baseline.resolve())] if args.baseline else [])
    for profile in args.profiles:
        got: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in trees}
        for _ in range(args.repeats):
            for name, tree in trees:
                wall, cpu, last = timed(tree, profile)
                got[name].append((wall, cpu))
                print(f"  {profile:8s} {name:8s} wall {wall:6.1f} s  CPU {cpu:6.1f} s  {last}")
        summary = {name: (median([w for w, _ in v]), median([c for _, c in v]))
                   for name, v in got.items()}
        line = f"{profile}: this {summary['this'][0]:.1f} s wall, {summary['this'][1]:.1f} s CPU"
        if "baseline" in summary:
            b = summary["baseline"]
            line += (f"; baseline {b[0]:.1f} s wall, {b[1]:.1f} s CPU; this/baseline "
                     f"{summary['this'][0] / b[0]:.2f}x wall, {summary['this'][1] / b[1]:.2f}x CPU")
        print(line)


if __name__ == "__main__":
    main()
    print_footer()
