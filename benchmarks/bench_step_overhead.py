"""Wrapper overhead per step: ``KEpisodeMetaworld.step`` vs the bare Meta-World env's ``step``.

Both step the same pre-drawn actions on ML1 reach-v3 (same task, 500-step attempts: the bare env
is reset when it truncates, the wrapper soft-resets itself at the same points). They run in
alternating blocks of ``--block`` steps (which one goes first alternates too), so drift in
machine load hits both alike; each pair of blocks gives one ratio (wrapper time / bare time)
and the median ratio is reported, for wall-clock time and for this process's CPU time (the
latter is less disturbed by other processes on a shared machine).
Goal: median ratio <= 1.05.

    python benchmarks/bench_step_overhead.py [--blocks 120] [--block 250]
"""

from __future__ import annotations

import argparse
import gc
import time
from types import SimpleNamespace

import numpy as np
from _common import median, print_footer, print_header, spread

from kmw import KEpisodeMetaworld
from kmw.benchmarks import make_benchmark

TASK = "reach-v3"
GOAL = 1.05


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=120, help="pairs of blocks (default 120)")
    parser.add_argument("--block", type=int, default=250, help="steps per block (default 250)")
    args = parser.parse_args()
    print_header("step overhead: KEpisodeMetaworld vs bare Meta-World env")

    bench = make_benchmark(TASK, seed=0)
    task = bench.train_tasks[0]
    bare = bench.train_classes[TASK]()
    bare.set_task(task)
    bare.reset(seed=0)

    one_task = SimpleNamespace(  # the same benchmark restricted to that task, so both run it
        train_classes=bench.train_classes,
        test_classes=bench.test_classes,
        train_tasks=[task],
        test_tasks=[task],
    )
    wrapped = KEpisodeMetaworld(one_task, "train", k_episodes=10**9, max_episode_length=500)
    wrapped.reset(seed=0)

    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, size=(args.block, 4)).astype(np.float32)

    def run_bare() -> tuple[float, float]:
        t0, c0 = time.perf_counter(), time.process_time()
        for a in actions:
            _, _, term, trunc, _ = bare.step(a)
            if term or trunc:
                bare.reset()
        return time.perf_counter() - t0, time.process_time() - c0

    def run_wrapped() -> tuple[float, float]:
        t0, c0 = time.perf_counter(), time.process_time()
        for a in actions:
            _, _, term, trunc, _ = wrapped.step(a)
            if term or trunc:
                wrapped.reset()
        return time.perf_counter() - t0, time.process_time() - c0

    run_bare(), run_wrapped()  # warm up
    wall_ratios, cpu_ratios, bare_us, wrapped_us, bare_cpu, wrapped_cpu = [], [], [], [], [], []
    gc.disable()
    try:
        for i in range(args.blocks):
            if i % 2 == 0:  # alternate which goes first, too
                b, w = run_bare(), run_wrapped()
            else:
                w, b = run_wrapped(), run_bare()
            wall_ratios.append(w[0] / b[0])
            cpu_ratios.append(w[1] / b[1])
            bare_us.append(1e6 * b[0] / args.block)
            wrapped_us.append(1e6 * w[0] / args.block)
            bare_cpu.append(1e6 * b[1] / args.block)
            wrapped_cpu.append(1e6 * w[1] / args.block)
    finally:
        gc.enable()

    print(f"blocks: {args.blocks} pairs x {args.block} steps, task {TASK}, random actions")
    print("per step, median [min, max] over blocks:")
    print(f"  bare env, wall:   {spread(bare_us)} us    cpu: {spread(bare_cpu)} us")
    print(f"  wrapper, wall:    {spread(wrapped_us)} us    cpu: {spread(wrapped_cpu)} us")
    print(
        f"  overhead (median difference): wall {median(wrapped_us) - median(bare_us):.1f} us, "
        f"cpu {median(wrapped_cpu) - median(bare_cpu):.1f} us"
    )
    print(f"ratio wrapper/bare, wall: {spread(wall_ratios)}")
    print(f"ratio wrapper/bare, cpu:  {spread(cpu_ratios)}")
    for label, ratios in (("wall", wall_ratios), ("cpu", cpu_ratios)):
        ratio = median(ratios)
        verdict = "met" if ratio <= GOAL else f"MISSED by {100 * (ratio - GOAL):.1f} points"
        print(f"median {label} ratio {ratio:.3f}, goal <= {GOAL}: {verdict}")


if __name__ == "__main__":
    main()
    print_footer()
