"""Shared helpers for the benchmark scripts: machine description and small statistics."""

from __future__ import annotations

import os
import platform
import statistics
import sys
from importlib import metadata


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (Linux), else ``platform.processor()``."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def load_average() -> str:
    """The 1/5/15-minute load averages (a busy shared machine makes timings noisy)."""
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def machine_lines() -> list[str]:
    """nproc, CPU model, load, and the python/mujoco/metaworld/gymnasium/numpy versions."""
    return [
        f"nproc: {os.cpu_count()}",
        f"load average at start (1/5/15 min): {load_average()}",
        f"cpu: {cpu_model()}",
        f"python: {platform.python_version()} ({sys.platform})",
        "versions: "
        + ", ".join(
            f"{d} {version(d)}" for d in ("mujoco", "metaworld", "gymnasium", "numpy", "kmw")
        ),
    ]


def print_header(title: str, argv: list[str] | None = None) -> None:
    """Print the benchmark's title, the command that ran it and the machine."""
    print(f"# {title}")
    print("command: python " + " ".join(sys.argv if argv is None else argv))
    for line in machine_lines():
        print(line)
    print()


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def spread(xs: list[float]) -> str:
    """``median [min, max]`` of ``xs``, 3 decimals."""
    return f"{statistics.median(xs):.3f} [{min(xs):.3f}, {max(xs):.3f}]"


def print_footer() -> None:
    """Print the load average at the end of the run."""
    print(f"load average at end (1/5/15 min): {load_average()}")
