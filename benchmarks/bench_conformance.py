"""Wall time of the conformance suite against the reference wrapper: serial vs ``-n 2``.

Runs, in fresh processes from the repository root and alternating (``--repeats`` pairs),

    pytest --kmw-impl=kmw.KEpisodeMetaworld -p no:cacheprovider --hypothesis-profile=kmw-ci [-n 2]

and reports the median wall time of each and their ratio. Exits with a message (status 0) if
``conformance/suite/`` does not exist yet. Extra arguments after ``--`` go to pytest.

    python benchmarks/bench_conformance.py [--repeats 1] [-- --kmw-backend=metaworld]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from _common import median, print_footer, print_header

ROOT = Path(__file__).resolve().parent.parent
BASE = [
    "-m",
    "pytest",
    "--kmw-impl=kmw.KEpisodeMetaworld",
    "-p",
    "no:cacheprovider",
    "--hypothesis-profile=kmw-ci",
    "-q",
]


def timed(extra: list[str]) -> tuple[float, int]:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, *BASE, *extra],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - t0
    tail = proc.stdout.strip().splitlines()[-1:] or ["(no output)"]
    print(
        f"  {'-n 2' if '-n' in extra else 'serial'}: {elapsed:7.1f} s, exit {proc.returncode}: "
        f"{tail[0]}"
    )
    return elapsed, proc.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1, help="pairs of runs (default 1)")
    args, pytest_extra = parser.parse_known_args()
    pytest_extra = [a for a in pytest_extra if a != "--"]
    print_header("conformance suite wall time: serial vs -n 2")
    if not (ROOT / "conformance" / "suite").is_dir():
        print("conformance/suite/ does not exist yet: nothing to measure")
        return
    serial, parallel = [], []
    for _ in range(args.repeats):
        serial.append(timed(pytest_extra)[0])
        parallel.append(timed([*pytest_extra, "-n", "2"])[0])
    s, p = median(serial), median(parallel)
    print(
        f"serial {s:.1f} s, -n 2 {p:.1f} s: speed-up {s / p:.2f}x, "
        f"efficiency {s / (2 * p):.2f} (1.0 = perfect on 2 workers)"
    )


if __name__ == "__main__":
    main()
    print_footer()
