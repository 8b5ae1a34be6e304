"""``kmw.evaluate``'s own cost per step: evaluate (1 env, random policy) vs stepping Meta-World by hand.

Three loops step ML1 reach-v3 with uniform random actions, side by side in this process, in
alternating rounds (which goes first rotates), so that drift in machine load hits all alike:

* **raw**: the bare Meta-World env (one task set), ``env.step(rng.uniform(low, high))``, reset
  when it truncates at 500 steps: the loop a person writes by hand;
* **wrapper**: ``kmw.KEpisodeMetaworld`` stepped the same way (reset when its trial ends);
* **evaluate**: ``kmw.evaluate("random", "reach-v3", num_envs=1, ...)``, whose steps/s counts
  stepping only (``Results.steps / Results.seconds``: after the env is built, before the
  figures are computed).

Each round runs ``--trials`` trials of ``--k`` attempts of 500 steps in every loop, so all
three step the same number of times. Reported: steps/s of each (median [min, max] over the
rounds) and, per round, the ratio of each loop's steps/s to raw's; the median ratio is the
figure. Goal (issue 19, item 7): evaluate / raw >= 0.95.

    python benchmarks/bench_eval_overhead.py [--rounds 15] [--trials 2] [--k 2]
"""

from __future__ import annotations

import argparse
import gc
import time

import numpy as np
from _common import median, print_footer, print_header, spread

import kmw
from kmw.benchmarks import make_benchmark

TASK = "reach-v3"
L = 500
GOAL = 0.95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="rounds of the three loops (default 15)")
    parser.add_argument("--trials", type=int, default=2, help="trials per loop and round (default 2)")
    parser.add_argument("--k", type=int, default=2, help="attempts per trial (default 2)")
    args = parser.parse_args()
    print_header("kmw.evaluate overhead: evaluate (1 env, random) vs raw Meta-World vs wrapper")

    bench = make_benchmark(TASK, seed=0)
    raw = bench.test_classes[TASK]()
    raw.set_task(bench.test_tasks[0])
    raw.reset()
    wrapped = kmw.KEpisodeMetaworld(bench, "test", args.k, L)
    wrapped.reset(seed=0)
    space = raw.action_space
    low, high = np.asarray(space.low, np.float64), np.asarray(space.high, np.float64)
    rng = np.random.default_rng(0)
    steps = args.trials * args.k * L

    def run_raw() -> float:
        t0 = time.perf_counter()
        for _ in range(steps):
            _, _, term, trunc, _ = raw.step(rng.uniform(low, high).astype(space.dtype))
            if term or trunc:
                raw.reset()
        return steps / (time.perf_counter() - t0)

    def run_wrapper() -> float:
        t0 = time.perf_counter()
        for _ in range(steps):
            _, _, term, trunc, _ = wrapped.step(rng.uniform(low, high).astype(space.dtype))
            if term or trunc:
                wrapped.reset()
        return steps / (time.perf_counter() - t0)

    def run_evaluate() -> float:
        res = kmw.evaluate("random", TASK, k_episodes=args.k, trials=args.trials, num_envs=1,
                           max_episode_length=L, seed=int(rng.integers(1000)))
        assert res.steps == steps, (res.steps, steps)
        return res.steps_per_second

    loops = {"raw": run_raw, "wrapper": run_wrapper, "evaluate": run_evaluate}
    for fn in loops.values():  # warm up (imports, the env's first steps)
        fn()
    rates: dict[str, list[float]] = {name: [] for name in loops}
    names = list(loops)
    for r in range(args.rounds):
        order = names[r % 3:] + names[:r % 3]
        gc.collect()
        for name in order:
            rates[name].append(loops[name]())
    print(f"{TASK}, random actions, {args.rounds} rounds of {steps} steps per loop "
          f"({args.trials} trials x {args.k} attempts x {L} steps), median [min, max]:")
    print()
    print("| loop | steps/s | ratio to raw (per round) |")
    print("|---|---|---|")
    ratios = {}
    for name in names:
        ratios[name] = [a / b for a, b in zip(rates[name], rates["raw"])]
        print(f"| {name} | {spread(rates[name])} | {spread(ratios[name])} |")
    print()
    got = median(ratios["evaluate"])
    verdict = "met" if got >= GOAL else f"MISSED by {100 * (GOAL - got):.1f} points"
    print(f"median evaluate/raw ratio {got:.3f}, goal >= {GOAL}: {verdict}")


if __name__ == "__main__":
    main()
    print_footer()
