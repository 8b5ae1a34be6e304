"""``kmw.evaluate``'s own cost per step: evaluate (1 env, random policy) vs stepping Meta-World by hand.

Three loops step ML1 reach-v3 with uniform random actions, side by side in this process, in
alternating rounds (which goes first rotates), so that drift in machine load hits all alike:

* **raw**: the bare Meta-World env (one task set), ``env.step(rng.uniform(low, high))``, reset
  when it truncates at 500 steps: the loop a person writes by hand;
* **wrapper**: ``kmw.KEpisodeMetaworld`` stepped the same way (reset when its trial ends);
* **evaluate**: ``kmw.evaluate("random", "reach-v3", num_envs=1, ...)``'s rollout loop, the
  part its ``Results.seconds`` times (``kmw.rollout.run_trials`` on the envs ``evaluate``
  builds, with its driver; the benchmark load and env construction before it are not timed).

Each round runs ``--trials`` trials of ``--k`` attempts of 500 steps in every loop, so all
three step the same number of times. Reported, for wall-clock and for this process's CPU time
(less disturbed by other jobs on a shared machine): steps/s of each (median [min, max] over the
rounds) and, per round, the ratio of each loop's steps/s to raw's; the median ratio is the
figure. Goal (issue 19, item 7): evaluate / raw >= 0.95.

Second part, free of MuJoCo's cost and much less of the machine's load: the same layers over a
*stub* env (a Meta-World-shaped class whose ``step`` returns a fixed observation), each timed in
CPU microseconds per step (the minimum of 7 repetitions of ``--stub-steps`` steps): what the
wrapper, ``kmw.vector.TrialInfo``, the in-process env adapter and the whole loop with a driver
each add per step.

    python benchmarks/bench_eval_overhead.py [--rounds 15] [--trials 2] [--k 2] [--stub-steps 20000]
"""

from __future__ import annotations

import argparse
import gc
import time
from types import SimpleNamespace

import gymnasium as gym
import numpy as np
from _common import median, print_footer, print_header, spread

import kmw
from kmw.agents import resolve_agent
from kmw.benchmarks import make_benchmark
from kmw.evaluation import Evaluation
from kmw.rollout import run_trials
from kmw.vector import EnvFactory, InProcessEnvs, TrialInfo, make_envs

TASK = "reach-v3"
L = 500
GOAL = 0.95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="rounds of the three loops (default 15)")
    parser.add_argument("--trials", type=int, default=2, help="trials per loop and round (default 2)")
    parser.add_argument("--k", type=int, default=2, help="attempts per trial (default 2)")
    parser.add_argument("--stub-steps", type=int, default=20000, help="steps per stub timing (default 20000)")
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

    def timed(loop) -> tuple[float, float]:
        t0, c0 = time.perf_counter(), time.process_time()
        loop()
        return steps / (time.perf_counter() - t0), steps / (time.process_time() - c0)

    def raw_loop() -> None:
        for _ in range(steps):
            _, _, term, trunc, _ = raw.step(rng.uniform(low, high).astype(space.dtype))
            if term or trunc:
                raw.reset()

    def wrapper_loop() -> None:
        for _ in range(steps):
            _, _, term, trunc, _ = wrapped.step(rng.uniform(low, high).astype(space.dtype))
            if term or trunc:
                wrapped.reset()

    def run_evaluate() -> tuple[float, float]:
        ev = Evaluation(
            "random",
            TASK,
            k_episodes=args.k,
            trials=args.trials,
            num_envs=1,
            max_episode_length=L,
            seed=int(rng.integers(1000)),
        )
        envs = make_envs(ev.factories)
        try:
            out = timed(lambda: run_trials(envs, ev.driver, trials=ev.trials, k=ev.k, seed=ev.seed))
        finally:
            envs.close()
        return out

    loops = {"raw": lambda: timed(raw_loop), "wrapper": lambda: timed(wrapper_loop), "evaluate": run_evaluate}
    for fn in loops.values():  # warm up (imports, the env's first steps)
        fn()
    wall: dict[str, list[float]] = {name: [] for name in loops}
    cpu: dict[str, list[float]] = {name: [] for name in loops}
    names = list(loops)
    for r in range(args.rounds):
        order = names[r % 3 :] + names[: r % 3]
        gc.collect()
        for name in order:
            w, c = loops[name]()
            wall[name].append(w)
            cpu[name].append(c)
    print(
        f"{TASK}, random actions, {args.rounds} rounds of {steps} steps per loop "
        f"({args.trials} trials x {args.k} attempts x {L} steps), median [min, max]:"
    )
    print()
    print("| loop | steps/s (wall) | ratio to raw (wall) | steps/s (CPU) | ratio to raw (CPU) |")
    print("|---|---|---|---|---|")
    got = {}
    for name in names:
        rw = [a / b for a, b in zip(wall[name], wall["raw"])]
        rc = [a / b for a, b in zip(cpu[name], cpu["raw"])]
        got[name] = (median(rw), median(rc))
        print(f"| {name} | {spread(wall[name])} | {spread(rw)} | {spread(cpu[name])} | {spread(rc)} |")
    print()
    for label, value in (("wall", got["evaluate"][0]), ("CPU", got["evaluate"][1])):
        verdict = "met" if value >= GOAL else f"MISSED by {100 * (GOAL - value):.1f} points"
        print(f"median evaluate/raw ratio ({label}) {value:.3f}, goal >= {GOAL}: {verdict}")
    to_wrapper = [median([a / b for a, b in zip(d["evaluate"], d["wrapper"])]) for d in (wall, cpu)]
    print(f"median evaluate/wrapper ratio: wall {to_wrapper[0]:.3f}, CPU {to_wrapper[1]:.3f}")
    print()
    stub_layers(args.stub_steps)


class Stub:
    """A Meta-World-shaped env with no physics: ``step`` returns a fixed observation and a
    Meta-World-sized ``info``; truncates at 500 steps."""

    max_path_length = 500
    observation_space = gym.spaces.Box(-1, 1, (39,), np.float32)
    action_space = gym.spaces.Box(-1, 1, (4,), np.float32)
    INFO = dict.fromkeys(
        (
            "success",
            "near_object",
            "grasp_success",
            "grasp_reward",
            "in_place_reward",
            "obj_to_target",
            "unscaled_reward",
        ),
        0.0,
    )

    def __init__(self) -> None:
        self.obs, self.t = np.zeros(39), 0

    def set_task(self, task: object) -> None:
        pass

    def reset(self, seed: int | None = None) -> tuple[np.ndarray, dict]:
        self.t = 0
        return self.obs.copy(), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.t += 1
        return self.obs.copy(), 1.0, False, self.t >= 500, dict(self.INFO)


def stub_layers(n: int) -> None:
    """CPU microseconds per step of each layer over :class:`Stub` (min of 7 repetitions)."""
    task = SimpleNamespace(env_name="stub")
    bench = SimpleNamespace(
        train_classes={"stub": Stub}, test_classes={"stub": Stub}, train_tasks=[task], test_tasks=[task]
    )
    rng = np.random.default_rng(0)
    low, high = np.full(4, -1.0), np.ones(4)
    zero = np.zeros(4, np.float32)

    def per_step(loop, steps: int = n) -> float:
        best = []
        for _ in range(7):
            c0 = time.process_time()
            loop()
            best.append(1e6 * (time.process_time() - c0) / steps)
        return min(best)

    bare = Stub()
    k = 7 * n // L + 2  # attempts enough for every repetition: the trial never ends
    wrapped = kmw.KEpisodeMetaworld(bench, "test", k, L)
    wrapped.reset(seed=0)
    info = TrialInfo(kmw.KEpisodeMetaworld(bench, "test", k, L), goals=False)
    info.reset(seed=0)
    adapter = InProcessEnvs([EnvFactory(bench, "test", k, L, goals=False)])
    adapter.reset(0)
    batch = np.zeros((1, 4), np.float32)
    trials = max(1, n // (2 * L))
    loop_envs = InProcessEnvs([EnvFactory(bench, "test", 2, L, goals=False)])
    random_driver = resolve_agent("random", Stub.action_space, seed=0)

    def bare_random() -> None:
        for _ in range(n):
            _, _, term, trunc, _ = bare.step(rng.uniform(low, high).astype(np.float32))
            if term or trunc:
                bare.reset()

    rows = [
        (
            "stub env, zero action",
            per_step(lambda: [bare.step(zero) if bare.t < 499 else bare.reset() for _ in range(n)]),
        ),
        ("+ KEpisodeMetaworld", per_step(lambda: [wrapped.step(zero) for _ in range(n)])),
        ("+ TrialInfo", per_step(lambda: [info.step(zero) for _ in range(n)])),
        ("+ InProcessEnvs (1 env)", per_step(lambda: [adapter.step(batch) for _ in range(n)])),
        ("stub env, random action (the raw loop)", per_step(bare_random)),
        (
            "run_trials, random policy (evaluate's loop)",
            per_step(
                lambda: run_trials(loop_envs, random_driver, trials=trials, k=2, seed=0), trials * 2 * L
            ),
        ),
    ]
    print(f"per-step cost over a stub env (no MuJoCo), CPU us, min of 7 x {n} steps:")
    print()
    print("| layer | us/step |")
    print("|---|---|")
    for name, us in rows:
        print(f"| {name} | {us:.2f} |")
    print()
    print(
        f"evaluate's loop adds {rows[5][1] - rows[4][1]:.2f} us/step over the raw loop with random actions, "
        f"of which the wrapper {rows[1][1] - rows[0][1]:.2f}"
    )


if __name__ == "__main__":
    main()
    print_footer()
