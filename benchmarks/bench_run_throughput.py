"""``kmw run`` throughput with 1 and 2 processes: steps per second and scaling efficiency.

Runs ``python -m kmw run reach-v3 --policy random`` with ``--num-envs 1`` and ``--num-envs 2``
in alternating fresh processes (``--repeats`` pairs) and reads the steps/s each run reports
in its ``--json`` file (stepping time only: start-up and the benchmark load are excluded).
Scaling efficiency = (steps/s with 2) / (2 x steps/s with 1); 1.0 is perfect.

    python benchmarks/bench_run_throughput.py [--repeats 3] [--trials 4] [--k 2] [--length 500]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

from _common import median, print_footer, print_header, spread


def run(num_envs: int, args: argparse.Namespace, out: str) -> float:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "kmw",
            "run",
            args.benchmark,
            "--policy",
            args.policy,
            "--trials",
            str(args.trials),
            "--k",
            str(args.k),
            "--max-episode-length",
            str(args.length),
            "--num-envs",
            str(num_envs),
            "--no-progress",
            "--json",
            out,
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    with open(out) as f:
        return float(json.load(f)["steps_per_second"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="pairs of runs (default 3)")
    parser.add_argument("--benchmark", default="reach-v3")
    parser.add_argument("--policy", default="random")
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--k", type=int, default=2)
    parser.add_argument("--length", type=int, default=500)
    args = parser.parse_args()
    print_header("kmw run throughput: 1 vs 2 processes")
    one, two, eff = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "run.json")
        run(1, args, out)  # warm the task cache
        for _ in range(args.repeats):
            a, b = run(1, args, out), run(2, args, out)
            one.append(a)
            two.append(b)
            eff.append(b / (2 * a))
    print(
        f"{args.benchmark}, policy {args.policy}, {args.trials} trials x {args.k} attempts x "
        f"{args.length} steps, {args.repeats} pairs (median [min, max]):"
    )
    print(f"  1 process:   {spread(one)} steps/s")
    print(f"  2 processes: {spread(two)} steps/s")
    print(f"  speed-up 2 vs 1:       {median(two) / median(one):.3f}x")
    print(f"  scaling efficiency:    {spread(eff)}  (1.0 = perfect)")


if __name__ == "__main__":
    main()
    print_footer()
