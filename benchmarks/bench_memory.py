"""Memory of an ML45 train wrapper over 100 trials: lazy env construction vs eager (all 45).

Each measurement is a fresh process that loads ML45 from the task cache (warmed first) and
builds ``KEpisodeMetaworld(ml45, "train", k_episodes=2, max_episode_length=10)``:

* lazy:  as shipped (one env at construction, one more per class the first time it is drawn);
* eager: the same wrapper, then every one of the 45 classes built up front (through the
         wrapper's own per-class builder, as a wrapper that constructs all envs would).

It then runs 100 trials. Reported per mode: resident memory (RSS, from /proc/self/statm) after
loading the benchmark, after construction, after 10 and after 100 trials, the peak RSS
(``resource.getrusage``), the number of env instances built, and, in a separate process per
mode, the peak of Python-level allocations traced by ``tracemalloc`` (MuJoCo's own C
allocations are invisible to tracemalloc, so RSS is the figure that matters).

    python benchmarks/bench_memory.py [--trials 100]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from _common import print_footer, print_header

CHILD = r"""
import json, os, resource, sys, tracemalloc
mode, trials, traced = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
from kmw import KEpisodeMetaworld
from kmw.benchmarks import make_benchmark
page = os.sysconf("SC_PAGE_SIZE")
def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * page / 2**20
out = {}
bench = make_benchmark("ml45", seed=0)
out["rss_benchmark_mb"] = rss_mb()
if traced:
    tracemalloc.start()
env = KEpisodeMetaworld(bench, "train", k_episodes=2, max_episode_length=10)
if mode == "eager":
    for name in env.env_funcs:
        env._env_for(name)
out["rss_constructed_mb"] = rss_mb()
for t in range(trials):
    env.reset(seed=t)
    done = False
    while not done:
        _, _, term, trunc, _ = env.step(env.action_space.sample())
        done = term or trunc
    if t + 1 == 10:
        out["rss_10_trials_mb"] = rss_mb()
out["rss_end_mb"] = rss_mb()
out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
out["envs_built"] = len(env._envs)
if traced:
    out["tracemalloc_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
print(json.dumps(out))
"""


def child(mode: str, trials: int, traced: bool) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(trials), "1" if traced else "0"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100, help="trials per run (default 100)")
    args = parser.parse_args()
    print_header("memory: ML45 train wrapper, lazy vs eager env construction")
    subprocess.run(
        [sys.executable, "-c", "from kmw.benchmarks import make_benchmark; make_benchmark('ml45')"],
        check=True,
    )  # warm the task cache
    rows = {}
    for mode in ("lazy", "eager"):
        rows[mode] = child(mode, args.trials, traced=False)
        rows[mode]["tracemalloc_peak_mb"] = child(mode, args.trials, traced=True)[
            "tracemalloc_peak_mb"
        ]
    lazy, eager = rows["lazy"], rows["eager"]
    print(f"{'':28}{'lazy':>10}{'eager':>10}{'lazy/eager':>12}")
    labels = [
        ("rss_benchmark_mb", "RSS, benchmark loaded (MB)"),
        ("rss_constructed_mb", "RSS, wrapper built (MB)"),
        ("rss_10_trials_mb", "RSS, after 10 trials (MB)"),
        ("rss_end_mb", f"RSS, after {args.trials} trials (MB)"),
        ("peak_rss_mb", "peak RSS (MB)"),
        ("tracemalloc_peak_mb", "tracemalloc peak (MB)"),
        ("envs_built", "env instances built"),
    ]
    for key, label in labels:
        if key in lazy and key in eager:
            ratio = lazy[key] / eager[key] if eager[key] else float("nan")
            print(f"{label:28}{lazy[key]:>10.1f}{eager[key]:>10.1f}{ratio:>12.3f}")
    per_env = (eager["rss_constructed_mb"] - lazy["rss_constructed_mb"]) / 44
    print(f"RSS per extra env instance: {per_env:.1f} MB (eager minus lazy at construction / 44)")


if __name__ == "__main__":
    main()
    print_footer()
