"""The kill matrix's two ways of running the suite on one candidate, side by side: CPU and wall.

For each named candidate (default: the reference, a correct variant in another style, and two
mutants), ``--repeats`` rounds of, in alternation: the suite in this process
(``tests.kill_matrix.run_in_process``: what the thin and whole-suite matrices run) and the same
suite as a ``pytest --kmw-impl`` subprocess (``run_candidate``), both under ``--profile``. The
in-process run's CPU is this process's own (user + system); the subprocess's, its own (and
that of the processes it waited for), as ``run_candidate`` measures it.
Every in-process run happens in one long-lived process, after the others, so a cost that grew
with the number of runs (state left behind by earlier runs) would show as in-process runs
getting dearer round after round. Usage::

    python benchmarks/bench_inprocess.py [--repeats 2] [--profile kmw-dev] [NAME ...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from _common import print_footer, print_header

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import kill_matrix as km  # noqa: E402

DEFAULT = ("reference", "state_machine", "attempt_past_max_length", "reward_clipped")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=list(DEFAULT))
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--profile", default="kmw-dev")
    args = parser.parse_args()
    by_name = {c.name: c for c in km.candidates()}
    unknown = [n for n in args.names if n not in by_name]
    if unknown:
        parser.error(f"unknown candidates {unknown}; known: {sorted(by_name)}")
    print_header("the suite in-process vs as a subprocess, per candidate")
    print("| candidate | in-process CPU (wall) | subprocess CPU (wall) | in-process / subprocess CPU |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.names:
            cand = by_name[name]
            inproc, sub = [], []
            for _ in range(args.repeats):
                run = km.run_in_process(cand, args.profile)
                inproc.append((run.cpu_seconds, run.seconds))
                run = km.run_candidate(cand, args.profile, workdir=Path(tmp))
                sub.append((run.cpu_seconds, run.seconds))
            cells = [" ".join(f"{c:.2f} s ({w:.1f} s)" for c, w in runs) for runs in (inproc, sub)]
            ratio = statistics.median(c for c, _ in inproc) / statistics.median(c for c, _ in sub)
            print(f"| {name} | {cells[0]} | {cells[1]} | {ratio:.2f} |", flush=True)
    print_footer()


if __name__ == "__main__":
    main()
