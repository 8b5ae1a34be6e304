"""``kmw.evaluate`` throughput against the number of envs: a batched agent vs per-observation calls.

The same numpy MLP policy (40 -> H -> H -> 4, tanh; H = ``--hidden``, default 64) runs two
ways on ML1 reach-v3: as a batched agent (``eval_action`` once per vector step on all N
observations) and as a plain ``policy(obs)`` (kmw calls it N times per vector step). For
N = 1, 2, 4 envs (1: in process; 2 and 4: ``AsyncVectorEnv`` worker processes) it reports the
steps/s of each (stepping only: start-up and the benchmark load are excluded), the ratio
batched / per-observation, and each path's speed-up over N = 1. Runs alternate between the
two paths, ``--repeats`` rounds.

    python benchmarks/bench_agents.py [--repeats 2] [--trials-per-env 2] [--k 2] [--length 250] [--hidden 64]
"""

from __future__ import annotations

import argparse

import numpy as np
from _common import median, print_footer, print_header, spread

import kmw


class MLP:
    """A fixed random 2-layer tanh MLP; ``__call__`` on one observation, ``eval_action`` on a
    batch (the same weights, so both paths compute the same actions)."""

    def __init__(self, seed: int = 0, hidden: int = 64) -> None:
        rng = np.random.default_rng(seed)
        self.w1 = rng.normal(0, 0.2, (40, hidden))
        self.w2 = rng.normal(0, 0.2, (hidden, hidden))
        self.w3 = rng.normal(0, 0.2, (hidden, 4))

    def _forward(self, x: np.ndarray) -> np.ndarray:
        return np.tanh(np.tanh(np.tanh(x @ self.w1) @ self.w2) @ self.w3)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        return self._forward(obs)


class BatchedMLP(MLP):
    def eval_action(self, observations: np.ndarray) -> np.ndarray:
        return self._forward(observations)

    def reset(self, env_mask: np.ndarray) -> None:
        pass


def run(agent: object, num_envs: int, args: argparse.Namespace) -> float:
    res = kmw.evaluate(
        agent,
        args.benchmark,
        k_episodes=args.k,
        trials=args.trials_per_env * num_envs,
        num_envs=num_envs,
        max_episode_length=args.length,
        seed=0,
    )
    return res.steps_per_second


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2, help="rounds of runs (default 2)")
    parser.add_argument("--benchmark", default="reach-v3")
    parser.add_argument("--envs", default="1,2,4", help="comma-separated env counts (default 1,2,4)")
    parser.add_argument("--trials-per-env", type=int, default=2)
    parser.add_argument("--k", type=int, default=2)
    parser.add_argument("--length", type=int, default=250)
    parser.add_argument("--hidden", type=int, default=64, help="MLP width (default 64)")
    args = parser.parse_args()
    envs = [int(x) for x in args.envs.split(",")]
    print_header("kmw.evaluate throughput: batched agent vs per-observation policy")
    batched, per_obs = BatchedMLP(hidden=args.hidden), MLP(hidden=args.hidden)
    run(batched, 1, argparse.Namespace(**{**vars(args), "trials_per_env": 1, "length": 5}))  # warm
    rates: dict[tuple[str, int], list[float]] = {}
    ratios: dict[int, list[float]] = {n: [] for n in envs}
    for _ in range(args.repeats):
        for n in envs:
            b, p = run(batched, n, args), run(per_obs, n, args)
            rates.setdefault(("batched", n), []).append(b)
            rates.setdefault(("per-obs", n), []).append(p)
            ratios[n].append(b / p)
    steps = args.trials_per_env * args.k * args.length
    print(
        f"{args.benchmark}, MLP 40-{args.hidden}-{args.hidden}-4, {args.trials_per_env} trials "
        f"per env x {args.k} attempts x {args.length} steps ({steps} steps per env), {args.repeats} rounds "
        "(median [min, max]):"
    )
    print()
    print("| envs | batched agent, steps/s | per-observation, steps/s | batched / per-obs | "
          "batched vs 1 env | per-obs vs 1 env |")
    print("|---|---|---|---|---|---|")
    b1, p1 = median(rates[("batched", envs[0])]), median(rates[("per-obs", envs[0])])
    for n in envs:
        b, p = rates[("batched", n)], rates[("per-obs", n)]
        print(
            f"| {n} | {spread(b)} | {spread(p)} | {spread(ratios[n])} | "
            f"{median(b) / b1:.2f}x | {median(p) / p1:.2f}x |"
        )


if __name__ == "__main__":
    main()
    print_footer()
