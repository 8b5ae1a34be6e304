"""The conformance suite against the reference wrapper: serial vs ``-n 2``, and xdist's fixed cost.

Runs, in fresh processes from the repository root, alternating serial and ``-n 2`` within each
round (``--repeats`` rounds), for each profile (``kmw-dev``, the default, and ``kmw-ci``)::

    pytest --kmw-impl=kmw.KEpisodeMetaworld -p no:cacheprovider -q --hypothesis-profile=P [-n 2]

and the fixed cost that ``-n 2`` adds, on a one-test selection of the suite (``-k ifc_2``)
beside a plain one-test file (``def test_one(): pass``, in a temporary directory): what a kmw run
adds to pytest-xdist's own start-up and shutdown is the first difference minus the second.

Each run's wall time, CPU time (user + system, of pytest and every process it started) and the
load average at its start are kept; the table gives medians with [min, max]. On a machine that
other jobs keep busy a second worker gains only the CPU they leave (Linux shares CPU between
sessions, not processes: ``/proc/sys/kernel/sched_autogroup_enabled``), so measure on an idle
machine; the CPU times say what the runs cost whatever the load. Extra arguments after ``--``
go to every kmw run::

    python benchmarks/bench_conformance.py [--repeats 3] [--profiles kmw-dev kmw-ci]
                                           [--no-fixed] [-- --kmw-backend=metaworld]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from _common import print_footer, print_header

ROOT = Path(__file__).resolve().parent.parent
KMW = [sys.executable, "-m", "pytest", "--kmw-impl=kmw.KEpisodeMetaworld", "-p",
       "no:cacheprovider", "-q"]
PLAIN = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"]
XDIST = ["-n", "2"]


@dataclass
class Timings:
    """Wall and CPU seconds and the load average at the start of each run of one command."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    load: list[float] = field(default_factory=list)

    def add(self, wall: float, cpu: float, load: float) -> None:
        self.wall.append(wall)
        self.cpu.append(cpu)
        self.load.append(load)

    @staticmethod
    def _spread(xs: list[float]) -> str:
        xs = sorted(xs)
        mid = xs[len(xs) // 2] if len(xs) % 2 else (xs[len(xs) // 2 - 1] + xs[len(xs) // 2]) / 2
        return f"{mid:.2f} [{xs[0]:.2f}, {xs[-1]:.2f}]" if len(xs) > 1 else f"{mid:.2f}"

    def median_wall(self) -> float:
        return sorted(self.wall)[len(self.wall) // 2]

    def wall_text(self) -> str:
        return self._spread(self.wall)

    def cpu_text(self) -> str:
        return self._spread(self.cpu)

    def load_text(self) -> str:
        return f"{min(self.load):.1f}-{max(self.load):.1f}"


def timed(cmd: list[str], cwd: Path, into: Timings, label: str) -> None:
    """Run ``cmd`` in ``cwd`` and add its wall and CPU time to ``into``."""
    load = os.getloadavg()[0]
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        out.seek(0)
        tail = (out.read().strip().splitlines() or ["(no output)"])[-1]
    cpu = usage.ru_utime + usage.ru_stime
    into.add(wall, cpu, load)
    print(f"  {label:28s} {wall:6.2f} s wall {cpu:6.2f} s CPU (load {load:.1f}), exit "
          f"{os.waitstatus_to_exitcode(status)}: {tail}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--profiles", nargs="+", default=["kmw-dev", "kmw-ci"])
    parser.add_argument("--no-fixed", action="store_true", help="skip the fixed-cost runs")
    args, extra = parser.parse_known_args()
    extra = [a for a in extra if a != "--"]
    print_header("conformance suite: serial vs -n 2, and the fixed cost of -n 2")
    runs: dict[tuple[str, str], Timings] = {}
    with tempfile.TemporaryDirectory(prefix="kmw-plain-") as plain_dir:
        plain = Path(plain_dir)
        (plain / "test_one.py").write_text("def test_one():\n    pass\n")
        plans: list[tuple[str, str, list[str], Path]] = []
        if not args.no_fixed:
            plans += [("kmw -k ifc_2", "serial", [*KMW, *extra, "-k", "ifc_2"], ROOT),
                      ("kmw -k ifc_2", "-n 2", [*KMW, *extra, "-k", "ifc_2", *XDIST], ROOT),
                      ("plain one-test file", "serial", [*PLAIN, "test_one.py"], plain),
                      ("plain one-test file", "-n 2", [*PLAIN, "test_one.py", *XDIST], plain)]
        for profile in args.profiles:
            cmd = [*KMW, *extra, f"--hypothesis-profile={profile}"]
            plans += [(profile, "serial", cmd, ROOT), (profile, "-n 2", [*cmd, *XDIST], ROOT)]
        for n in range(args.repeats):
            print(f"round {n + 1} of {args.repeats}")
            for what, mode, cmd, cwd in plans:
                timed(cmd, cwd, runs.setdefault((what, mode), Timings()), f"{what}, {mode}")
    print("\n| run | load | serial: wall (CPU) s | `-n 2`: wall (CPU) s | speed-up |")
    print("|---|---|---|---|---|")
    for what in dict.fromkeys(w for w, _ in runs):
        s, p = runs[(what, "serial")], runs[(what, "-n 2")]
        loads = Timings(load=s.load + p.load)
        print(f"| {what} | {loads.load_text()} | {s.wall_text()} ({s.cpu_text()}) | "
              f"{p.wall_text()} ({p.cpu_text()}) | {s.median_wall() / p.median_wall():.2f}x |")
    if not args.no_fixed:
        kmw = runs[("kmw -k ifc_2", "-n 2")].median_wall() - runs[("kmw -k ifc_2", "serial")]\
            .median_wall()
        xdist = runs[("plain one-test file", "-n 2")].median_wall() - \
            runs[("plain one-test file", "serial")].median_wall()
        print(f"\nfixed cost of -n 2 (median wall, -n 2 minus serial): kmw one-test selection "
              f"{kmw:.2f} s, plain one-test file {xdist:.2f} s; kmw's own: {kmw - xdist:+.2f} s")


if __name__ == "__main__":
    main()
    print_footer()
