"""Honest outcomes when the candidate crashes its process, hangs past ``--kmw-timeout`` or
raises a huge message: every run ends within a bounded time, writes the report (except a serial
crash, which kills pytest itself) and fails the requirement that was being checked.

Each case is a real ``python -m pytest --kmw-impl=...`` subprocess on one suite property
(``-k ifc_1``), with a candidate module written into ``tmp_path``.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conformance.front import faults, timeouts

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 2  # --kmw-timeout for the hanging candidates: hard stop 5 s later
#: A run of one property still going after this long has hung: a guard against a test that
#: never ends, not a measurement (an idle machine takes a few seconds, a busy one several times
#: that).
RUN_LIMIT = 120

HEADER = "import kmw\n\nclass Wrapper(kmw.KEpisodeMetaworld):\n"
CANDIDATES = {
    # C code ending the process (os._exit/posix._exit raise instead, under the plugin's guard)
    "exits": ("    def step(self, action):\n        import ctypes\n"
              "        ctypes.CDLL(None)._exit(3)\n"),
    "segfaults": "    def step(self, action):\n        import ctypes\n        ctypes.string_at(0)\n",
    "retries": (
        "    def step(self, action):\n"
        "        import time\n"
        "        while True:\n"
        "            try:\n"
        "                time.sleep(0.05)\n"
        "            except BaseException:\n"
        "                pass\n"
    ),
    "ignores_alarm": (
        "    def step(self, action):\n"
        "        import signal\n"
        "        signal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
        "        n = 0\n"
        "        while True:\n"
        "            n += 1\n"
    ),
    "huge_message": (
        "    def reset(self, **kwargs):\n        raise RuntimeError('x' * 50_000_000)\n"
    ),
}


def _run(tmp_path: Path, name: str, *args: str, select: str = "ifc_1"):
    """Run the suite's ``select`` properties on candidate ``name``; returns (process, report or
    None). A run still going after ``RUN_LIMIT`` raises ``TimeoutExpired``."""
    (tmp_path / f"{name}.py").write_text(HEADER + CANDIDATES[name])
    report = tmp_path / "report.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    env.pop("CI", None)
    cmd = [
        sys.executable, "-m", "pytest", f"--kmw-impl={name}.Wrapper", "-p", "no:cacheprovider",
        f"--kmw-report={report}", "-q", "-k", select, *args,
    ]
    proc = subprocess.run(
        cmd, cwd=tmp_path, env=env, capture_output=True, timeout=RUN_LIMIT, check=False
    )
    data = json.loads(report.read_text()) if report.exists() else None
    return proc, data


def _ifc_1(proc, data) -> dict:
    out = proc.stdout.decode(errors="replace") + proc.stderr.decode(errors="replace")
    assert data is not None, out[-3000:]
    assert data["summary"]["fail"] >= 1, data["summary"]
    entry = data["requirements"]["KMW-IFC-1"]
    assert entry["outcome"] == "fail", (entry, out[-3000:])
    return entry


# -- crashed workers ----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("name", "how"),
    [("exits", "exit status 3"), ("segfaults", "killed by signal 11 (SIGSEGV)")],
)
def test_a_crashed_worker_fails_the_requirement(tmp_path: Path, name: str, how: str) -> None:
    proc, data = _run(tmp_path, name, "-n", "2")
    assert proc.returncode == 1
    entry = _ifc_1(proc, data)
    assert entry["reason"].startswith("the candidate crashed the worker: worker 'gw"), entry
    assert "test_ifc_1_gymnasium_signatures" in entry["reason"]
    assert how in entry["reason"]
    assert entry["tests"] == ["conformance/suite/test_contract.py::test_ifc_1_gymnasium_signatures"]
    assert data["exit_status"] == 1
    assert b"the candidate crashed the worker" in proc.stdout


def test_a_serial_segfault_prints_the_stack_and_writes_no_report(tmp_path: Path) -> None:
    proc, data = _run(tmp_path, "segfaults")
    assert proc.returncode == -11  # SIGSEGV kills pytest itself
    assert data is None
    assert b"Fatal Python error: Segmentation fault" in proc.stderr
    assert b"segfaults.py" in proc.stderr  # faulthandler's Python stack


def test_suite_marks_are_found_without_a_setup_report() -> None:
    """The controller's fallback when a worker crashes before the item's setup report."""
    suite = ROOT / "conformance" / "suite"
    found = faults.suite_requirements(
        suite, "test_contract.py::test_ifc_3_bad_arguments_raise[split='valid']", suite,
        "kmw_requirement",
    )
    assert found == (
        "conformance/suite/test_contract.py::test_ifc_3_bad_arguments_raise[split='valid']",
        ["KMW-IFC-3"],
    )
    assert faults.suite_requirements(ROOT, "tests/test_x.py::test_y", suite, "m") is None


# -- hangs that survive the timeout's exception -------------------------------------------------

@pytest.mark.slow  # each waits out --kmw-timeout and the grace period (7 s and more)
@pytest.mark.parametrize("name", ["retries", "ignores_alarm"])
@pytest.mark.parametrize("xdist", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_a_hang_is_hard_stopped_and_reported(tmp_path: Path, name: str, xdist: tuple) -> None:
    # Ended by the hard stop, not by _run's RUN_LIMIT (which would raise TimeoutExpired): the
    # limit, the 5 s grace, then the stop; how long that takes is the machine's load's business.
    proc, data = _run(tmp_path, name, f"--kmw-timeout={TIMEOUT}", *xdist)
    assert proc.returncode == 1
    entry = _ifc_1(proc, data)
    assert entry["reason"].startswith(
        f"hung: exceeded --kmw-timeout={TIMEOUT} s and did not stop when interrupted"
    ), entry
    assert f"{name}.py" in entry["failing_example"]  # the test's stack when it was stopped
    assert data["exit_status"] == 1
    stderr = proc.stderr.decode(errors="replace")
    assert "the stacks of all threads" in stderr
    assert f"{name}.py" in stderr


def test_the_escalation_times() -> None:
    assert timeouts.grace_seconds(2) == 5
    assert timeouts.grace_seconds(120) == 12
    assert timeouts.backstop_seconds(120) == 120 + 24 + 10


def test_the_watchdog_costs_little_and_fires_only_when_armed() -> None:
    """Arming and disarming costs well under a millisecond of CPU per test (CPU time, this
    process's threads together: a busy machine may pause the test, not make it cost more)."""
    fired = []
    dog = timeouts.Watchdog()
    start = time.process_time()
    for _ in range(1000):
        dog.arm(60, lambda: fired.append("late"))
        dog.disarm()
    per_test = (time.process_time() - start) / 1000
    assert per_test < 1e-3, per_test
    dog.arm(0.05, lambda: fired.append("now"))
    deadline = time.monotonic() + 5
    while not fired and time.monotonic() < deadline:
        time.sleep(0.01)
    assert fired == ["now"]


# -- huge texts ---------------------------------------------------------------------------------

def test_a_huge_message_keeps_report_terminal_and_memory_bounded(tmp_path: Path) -> None:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc, data = _run(tmp_path, "huge_message", select="ifc_1 or att_1")
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert proc.returncode == 1
    entry = _ifc_1(proc, data)
    assert (tmp_path / "report.json").stat().st_size < 1_000_000
    assert len(proc.stdout) + len(proc.stderr) < 1_000_000
    assert "RuntimeError: xxxxxxxx" in entry["failing_example"]  # the start, then cut
    assert len(entry["reason"]) <= 4 * 6000 + 100
    # ru_maxrss is the largest child's peak (KiB); only meaningful if this run set it.
    if peak_kib > before:
        assert peak_kib < 1.5 * 1024 * 1024, peak_kib
