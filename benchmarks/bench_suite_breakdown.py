"""Where one conformance run's time goes: start-up, collection, and the run by part of the code.

For a profile (default ``kmw-dev``), against the reference on the scripted backend, serially:

1. **start-up**: ``python -c "import pytest"`` and ``python -c "import <what a worker imports>"``
   (pytest, the plugin, the engine, hypothesis, the candidate), fresh processes, median of
   ``--repeats``;
2. **collection**: ``pytest --kmw-impl=... --collect-only`` minus the start-up of ``pytest``;
3. **the run**, profiled with ``cProfile`` in one process: own time (``tottime``) per part of
   the code: the candidate (``kmw/``), the scripted benchmark's envs, the trusted model, spy
   and harness (checking), hypothesis (example generation and its engine), numpy and gymnasium,
   pytest and the plugin's front, everything else. A built-in function's own time counts in
   the part of the code that called it.

4. **schedule classes and random examples**: the CPU time of one in-process run with one
   random example per property, and with the profile's own number, alternating (the schedule
   classes run in full in both), so the cost of one more random example per property shows.

Parts are shares of the same profiled run, so they are comparable with each other on a busy
machine; the profiler slows Python-heavy parts more than C, so shares, not seconds, are the
result. Usage::

    python benchmarks/bench_suite_breakdown.py [--profile kmw-ci] [--repeats 3]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import median, print_footer, print_header

ROOT = Path(__file__).resolve().parent.parent
SUITE = ["--kmw-impl=kmw.KEpisodeMetaworld", "-p", "no:cacheprovider", "-p", "no:xdist", "-q"]
WORKER_IMPORTS = ("import pytest, hypothesis, conformance.front.plugin, "
                  "conformance.engine.properties, kmw")

#: (part, path fragments of the functions whose own time is counted in it), first match wins.
PARTS = [
    ("candidate (kmw/)", ["/kmw/"]),
    ("scripted benchmark envs", ["/conformance/engine/scripted.py"]),
    ("checking (model, spy, harness, replay recording)",
     ["/conformance/engine/model.py", "/conformance/engine/spy.py",
      "/conformance/engine/harness.py", "/conformance/engine/replay.py",
      "/conformance/engine/keys.py"]),
    ("properties and strategies", ["/conformance/engine/properties.py",
                                   "/conformance/engine/strategies.py",
                                   "/conformance/engine/coverage.py", "/conformance/suite/"]),
    ("hypothesis (generation, shrinking, its engine)", ["/hypothesis/"]),
    ("numpy and gymnasium", ["/numpy/", "/gymnasium/", "<built-in method numpy"]),
    ("pytest and the plugin front", ["/_pytest/", "/pluggy/", "/conformance/front/"]),
    ("the rest of the engine (loader, spec, violations)", ["/conformance/"]),
]


def run_seconds(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, cwd=ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def part_of(filename: str) -> str:
    for part, fragments in PARTS:
        if any(f in filename for f in fragments):
            return part
    return "other (interpreter, stdlib, imports)"


def profiled_run(profile: str) -> dict[str, float]:
    """Own seconds per part of one in-process suite run under ``cProfile``."""
    import pytest

    os.environ.pop("CI", None)
    prof = cProfile.Profile()
    prof.enable()
    with contextlib.redirect_stdout(io.StringIO()):
        code = pytest.main([*SUITE, f"--hypothesis-profile={profile}"])
    prof.disable()
    if code != 0:
        raise SystemExit(f"the suite failed on the reference (exit {code})")
    stats = pstats.Stats(prof, stream=io.StringIO())
    parts: dict[str, float] = {}

    def add(where: str, seconds: float) -> None:
        parts[part_of(where)] = parts.get(part_of(where), 0.0) + seconds

    for (filename, _line, name), row in stats.stats.items():  # type: ignore[attr-defined]
        if filename != "~":
            add(filename, row[2])
            continue
        # A built-in (isinstance, a numpy ufunc, dict.get...) counts where it was called from:
        # cProfile keeps its own time per caller.
        callers = row[4]
        for (caller_file, _cline, caller_name), caller_row in callers.items():
            add(caller_file if caller_file != "~" else caller_name, caller_row[2])
        add(name, row[2] - sum(c[2] for c in callers.values()))
    return parts


def examples_split(profile: str, repeats: int) -> tuple[float, float, int]:
    """CPU seconds of one in-process suite run (``tests/inprocess.py``) under ``profile`` with
    a single random example per property, and with the profile's own number (the schedule
    classes run in full in both); medians of ``repeats``, the two kinds of run alternating."""
    import resource

    from hypothesis import settings

    sys.path.insert(0, str(ROOT))
    from tests.inprocess import SuiteOptions, hypothesis_profile, run_suite

    with hypothesis_profile(profile):
        n = settings.get_profile(profile).max_examples
    settings.register_profile("kmw-breakdown-1", parent=settings.get_profile(profile),
                              max_examples=1)

    def cpu(name: str) -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        before = usage.ru_utime + usage.ru_stime
        with contextlib.redirect_stdout(io.StringIO()):
            run = run_suite("kmw.KEpisodeMetaworld", SuiteOptions(), name)
        if run.exit_status != 0:
            raise SystemExit(f"the suite failed on the reference (exit {run.exit_status})")
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime - before

    cpu(profile)  # warm-up: imports, caches
    one, full = [], []
    for _ in range(repeats):
        one.append(cpu("kmw-breakdown-1"))
        full.append(cpu(profile))
    return median(one), median(full), n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="kmw-dev")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("CI", None)
    print_header(f"conformance run breakdown: reference, scripted backend, {args.profile}")
    with tempfile.TemporaryDirectory() as tmp:
        env["HYPOTHESIS_STORAGE_DIRECTORY"] = tmp
        py = [sys.executable, "-c"]
        bare = median([run_seconds([*py, "pass"], env) for _ in range(args.repeats)])
        pytest_import = median([run_seconds([*py, "import pytest"], env)
                                for _ in range(args.repeats)])
        worker = median([run_seconds([*py, WORKER_IMPORTS], env) for _ in range(args.repeats)])
        collect = median([run_seconds([sys.executable, "-m", "pytest", *SUITE, "--collect-only",
                                       f"--hypothesis-profile={args.profile}"], env)
                          for _ in range(args.repeats)])
        whole = median([run_seconds([sys.executable, "-m", "pytest", *SUITE,
                                     f"--hypothesis-profile={args.profile}"], env)
                        for _ in range(args.repeats)])
    print(f"{'interpreter start':44s} {bare:6.2f} s")
    print(f"{'+ import pytest':44s} {pytest_import - bare:6.2f} s")
    print(f"{'+ the rest a worker imports':44s} {worker - pytest_import:6.2f} s")
    print(f"{'collection (--collect-only less start-up)':44s} {collect - worker:6.2f} s")
    print(f"{'whole serial run (wall)':44s} {whole:6.2f} s")
    print(f"{'  of which running the properties':44s} {whole - collect:6.2f} s")
    parts = profiled_run(args.profile)
    total = sum(parts.values())
    print(f"\nthe run under cProfile, own time by part ({total:.1f} s profiled):")
    for part, seconds in sorted(parts.items(), key=lambda kv: -kv[1]):
        print(f"  {part:52s} {100 * seconds / total:5.1f} %")
    one, full, n = examples_split(args.profile, args.repeats)
    print("\nCPU of one in-process run (schedule classes in full, then random examples):")
    print(f"  {'1 random example per property':52s} {one:6.2f} s")
    print(f"  {f'{n} random examples per property ({args.profile})':52s} {full:6.2f} s")
    print(f"  {'each further random example per property':52s} {(full - one) / (n - 1):6.3f} s")
    print_footer()


if __name__ == "__main__":
    main()
