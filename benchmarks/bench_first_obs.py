"""Time to first observation: cached benchmark + lazy wrapper vs Meta-World build + eager envs.

For ML10 (and ML45 with ``--ml45``), each measurement is a fresh Python process that
imports kmw and Meta-World, then times until it holds the first observation of a trial:

* cached:   ``make_benchmark(name)`` (tasks read from the task cache, warmed beforehand),
            ``KEpisodeMetaworld(bench, "train", 3)``, ``reset()``.
* baseline: ``metaworld.ML10()`` / ``ML45()``, construct every train class eagerly (what a
            wrapper that builds all envs up front does), set a task, ``reset()``.

Cached and baseline processes alternate (``--repeats`` pairs); the ratio of the medians is
reported, with and without the imports both pay (also measured). Goal: >= 20x.

    python benchmarks/bench_first_obs.py [--repeats 2] [--ml45]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from _common import median, print_footer, print_header

GOAL = 20.0

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import metaworld
from kmw import KEpisodeMetaworld
from kmw.benchmarks import make_benchmark
t1 = time.perf_counter()
mode, kind = sys.argv[1], sys.argv[2]
if mode == "cached":
    env = KEpisodeMetaworld(make_benchmark(kind.lower(), seed=0), "train", 3)
    obs, _ = env.reset(seed=0)
else:
    bench = getattr(metaworld, kind)(seed=0)
    envs = {name: cls() for name, cls in bench.train_classes.items()}
    task = bench.train_tasks[0]
    env = envs[task.env_name]
    env.set_task(task)
    obs, _ = env.reset(seed=0)
t2 = time.perf_counter()
assert obs is not None
print(json.dumps({"import_s": t1 - t0, "after_import_s": t2 - t1}))
"""


def child(mode: str, kind: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode, kind], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(kind: str, repeats: int) -> None:
    child("cached", kind)  # warm the task cache (builds it on the very first run)
    cached, base = [], []
    for _ in range(repeats):
        cached.append(child("cached", kind))
        base.append(child("baseline", kind))
    c_after = median([r["after_import_s"] for r in cached])
    b_after = median([r["after_import_s"] for r in base])
    c_total = median([r["import_s"] + r["after_import_s"] for r in cached])
    b_total = median([r["import_s"] + r["after_import_s"] for r in base])
    imports = median([r["import_s"] for r in cached + base])
    print(f"{kind} ({repeats} pairs, medians):")
    print(f"  imports (both pay them):          {imports:7.2f} s")
    print(f"  cached + lazy, after imports:     {c_after:7.2f} s")
    print(f"  metaworld.{kind}() + eager envs:  {b_after:7.2f} s")
    print(
        f"  speed-up after imports:           {b_after / c_after:7.1f}x  (goal >= {GOAL:.0f}x: "
        f"{'met' if b_after / c_after >= GOAL else 'MISSED'})"
    )
    print(
        f"  speed-up incl. imports:           {b_total / c_total:7.1f}x  "
        f"({c_total:.2f} s vs {b_total:.2f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2, help="pairs per benchmark (default 2)")
    parser.add_argument("--ml45", action="store_true", help="also ML45 (about 2 min per pair)")
    args = parser.parse_args()
    print_header("time to first observation: task cache + lazy envs vs build + eager envs")
    measure("ML10", args.repeats)
    if args.ml45:
        measure("ML45", args.repeats)
    else:
        print("ML45: skipped (pass --ml45)")


if __name__ == "__main__":
    main()
    print_footer()
