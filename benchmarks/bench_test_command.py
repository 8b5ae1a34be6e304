"""Where the README's test command spends its time, by group of tests.

Runs ``pytest -n 2 --durations=0 --durations-min=0 -q -p no:cacheprovider`` (the README's test
command, the fast tier, every test's duration printed; ``--slow`` adds ``-m slow``: the slow
tier) from the repository root, or reads such a log with ``--from-log``, and sums the tests'
durations (setup + call + teardown) per group: the kill matrix's in-process candidates, its
subprocess runs, each other test file. The sum is the work the two workers share; the wall time
is about half of it plus start-up. A run also reports its CPU time (user + system, the workers
and every process they started included) and the load average before and after. Usage::

    python benchmarks/bench_test_command.py [--slow] [--from-log PATH]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from _common import load_average, print_footer, print_header

ROOT = Path(__file__).resolve().parent.parent
COMMAND = [sys.executable, "-m", "pytest", "-n", "2", "--durations=0",
           "--durations-min=0", "-q", "-p", "no:cacheprovider"]
LINE = re.compile(r"^\s*([\d.]+)s (?:call|setup|teardown)\s+(\S+?)::(\S+)")
#: test_mutants.py's tests, split by what they run.
MATRIX_GROUPS = {
    "test_schedule_classes_catch_mutant": "thin matrix: mutants, in-process",
    "test_schedule_classes_pass_correct_wrapper": "thin matrix: correct variants, in-process",
    "test_plugin_subprocess_judged_and_same_as_in_process": "kill matrix: subprocess runs (scripted)",
    "test_gymnasium_wrapper_variant_passes_on_real_metaworld_briefly":
        "kill matrix: subprocess run (real Meta-World)",
    "test_whole_suite_judges_candidate_as_declared_on_every_run":
        "whole-suite matrices (kmw-dev, kmw-ci): in-process and subprocess",
    "test_correct_variant_passes_on_real_metaworld": "kill matrix: variants on real Meta-World",
}


def group_of(path: str, test: str) -> str:
    if path.endswith("test_mutants.py"):
        return MATRIX_GROUPS.get(test.split("[")[0], "tests/test_mutants.py (declarations)")
    return path


def durations(log: str) -> tuple[Counter, Counter]:
    seconds: Counter = Counter()
    tests: Counter = Counter()
    seen: set[tuple[str, str]] = set()
    for line in log.splitlines():
        m = LINE.match(line)
        if m:
            group = group_of(m.group(2), m.group(3))
            seconds[group] += float(m.group(1))
            if (m.group(2), m.group(3)) not in seen:
                seen.add((m.group(2), m.group(3)))
                tests[group] += 1
    return seconds, tests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from-log", type=Path, help="a saved log of the command above")
    parser.add_argument("--slow", action="store_true", help="the slow tier (-m slow)")
    parser.add_argument("--save-log", type=Path, help="keep the run's log here")
    parser.add_argument("--top", type=int, default=12, help="groups listed (default 12)")
    args = parser.parse_args()
    print_header("the README's test command, time by group of tests")
    command = COMMAND + (["-m", "slow"] if args.slow else [])
    if args.from_log:
        log, wall, cpu = args.from_log.read_text(encoding="utf-8"), None, None
    else:
        print("command: " + " ".join(["python", *command[1:]]))
        start = time.perf_counter()
        with tempfile.TemporaryFile("w+") as out:
            proc = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                    text=True)
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - start
            cpu = usage.ru_utime + usage.ru_stime
            out.seek(0)
            log = out.read()
        code = os.waitstatus_to_exitcode(status)
        if args.save_log:
            args.save_log.write_text(log, encoding="utf-8")
        if code != 0:  # the times still count; the failures are listed
            print(f"the test command exited {code}:")
            print("\n".join(ln for ln in log.splitlines() if ln.startswith(("FAILED", "ERROR")))
                  or log[-3000:])
    seconds, tests = durations(log)
    total = sum(seconds.values())
    if wall is not None:
        print(f"wall time {wall:.0f} s on 2 workers, {cpu:.0f} s CPU; tests' durations sum to "
              f"{total:.0f} s; load average at the end {load_average()}")
    else:
        print(f"tests' durations sum to {total:.0f} s")
    print("\n| group | tests | seconds | share |\n|---|---|---|---|")
    ranked = seconds.most_common()
    for group, secs in ranked[:args.top]:
        print(f"| {group} | {tests[group]} | {secs:.0f} | {100 * secs / total:.0f} % |")
    rest = ranked[args.top:]
    if rest:
        secs = sum(s for _, s in rest)
        print(f"| {len(rest)} other files | {sum(tests[g] for g, _ in rest)} | {secs:.0f} | "
              f"{100 * secs / total:.0f} % |")
    print_footer()


if __name__ == "__main__":
    main()
