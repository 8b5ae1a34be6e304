"""What a ``--kmw-impl`` run reports when the candidate crashes a process or hangs.

- **A crashed xdist worker** (segfault, ``os._exit``, out of memory): xdist gives the
  controller a failed report of the item the worker was running (``pytest_handlecrashitem``),
  without user properties. The controller has not collected anything, so each worker's setup
  report carries the item's requirement IDs (``item_property``); ``CrashTracker`` remembers
  them and turns the crash into a failure of those requirements, "the candidate crashed the
  worker: ...", with the worker's exit status or signal.
- **A hang that survives --kmw-timeout's exception**: ``hard_stop`` (run by the watchdog of
  ``conformance.front.timeouts``) dumps every thread's stack, records the test as failed ("hung:
  ..."), writes the report (lone process) or sends the failed report to the controller (xdist
  worker), and ends the process with status 1.
"""

from __future__ import annotations

import faulthandler
import json
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NoReturn

import pytest

from conformance.front.report import encode
from conformance.front.verdicts import FAIL, trim, uniform

#: ``user_properties`` entry of a setup report: the item's report name and requirement IDs.
ITEM_PROPERTY = "kmw_item"
#: ``user_properties`` entry of the report ``hard_stop`` sends: the hang's message.
HUNG_PROPERTY = "kmw_hung"
#: ``os._exit`` as Python has it, taken at import: the plugin guards ``os._exit`` while the
#: candidate's code runs (``conformance.front.plugin.os_exit_guarded``), the hard stop must end
#: the process whatever it holds.
_REAL_EXIT = os._exit
#: How long the hard stop waits for recording the test and writing the report.
RECORD_SECONDS = 10.0


def item_property(test: str, reqs: Iterable[str]) -> tuple[str, str]:
    return ITEM_PROPERTY, json.dumps({"test": test, "reqs": list(reqs)})


def exit_status(node: Any) -> str:
    """How an xdist worker's process ended (``exit status 3``, ``killed by signal 11
    (SIGSEGV)``), or ``""`` if that cannot be told."""
    try:
        rc = node.gateway._io.popen.wait(timeout=2)  # execnet's Popen of the worker
    except Exception:  # noqa: BLE001 - another gateway type, still running, ...
        return ""
    if rc is None:
        return ""
    if rc < 0:
        try:
            name = signal.Signals(-rc).name
        except ValueError:
            name = "unknown signal"
        return f"killed by signal {-rc} ({name})"
    return f"exit status {rc}"


def suite_requirements(
    rootpath: Path, nodeid: str, suite_dir: Path, marker: str
) -> tuple[str, list[str]] | None:
    """``(report name, requirement IDs)`` of a suite test, read from its module's marks, for a
    crash before the item's setup report reached the controller; ``None`` if not a suite test."""
    path, _, rest = nodeid.partition("::")
    try:
        rel = (rootpath / path).resolve().relative_to(suite_dir)
    except (ValueError, OSError):
        return None
    if rel.suffix != ".py" or len(rel.parts) != 1:
        return None
    import importlib

    try:
        module = importlib.import_module(f"conformance.suite.{rel.stem}")
    except Exception:  # noqa: BLE001
        return None
    obj: Any = module
    for name in rest.split("[", 1)[0].split("::"):
        obj = getattr(obj, name, None)
    marks = list(getattr(obj, "pytestmark", [])) + list(getattr(module, "pytestmark", []))
    reqs: list[str] = []
    for mark in marks:
        if getattr(mark, "name", None) == marker:
            reqs.extend(str(r) for r in mark.args if str(r) not in reqs)
    name = f"{suite_dir.parent.name}/{suite_dir.name}/{rel.as_posix()}::{rest}"
    return (name, reqs) if reqs else None


class CrashTracker:
    """The controller's (or lone process's) view of items, hangs and crashed workers."""

    def __init__(
        self,
        lookup: Callable[[str], tuple[str, list[str]] | None],
        backstop_after: float | None = None,
        timeout: float = 0.0,
    ) -> None:
        self._lookup = lookup
        #: After how many seconds of a test faulthandler's backstop ends its process.
        self.backstop_after = backstop_after
        self.timeout = timeout
        self._started: dict[str, float] = {}
        self._items: dict[str, tuple[str, list[str]]] = {}
        self._hung: dict[str, str] = {}
        self._down: dict[str, str] = {}

    def observe(self, report: pytest.TestReport) -> None:
        """Remember what a test report says about its item (any phase, any process)."""
        for name, value in report.user_properties:
            if name == ITEM_PROPERTY:
                data = json.loads(value)
                self._items[report.nodeid] = (data["test"], list(data["reqs"]))
            elif name == HUNG_PROPERTY:
                self._hung[report.nodeid] = str(value)

    def started(self, nodeid: str) -> None:
        self._started[nodeid] = time.monotonic()

    def node_down(self, node: Any, error: object) -> None:
        """An xdist worker went down: remember how, for a crash report of its item. A worker
        that finished its session (``error`` is None) is not waited for: its process ends only
        after the controller lets it go, so waiting for its exit status here cost every run
        with ``-n`` the wait's whole timeout per worker."""
        if not error:
            return
        status = exit_status(node)
        details = [str(error)]
        if status:
            details.insert(0, status)
        self._down[str(getattr(node.gateway, "id", node))] = ", ".join(details)

    def crashed(self, nodeid: str, report: pytest.TestReport) -> None:
        """Turn xdist's crash report of ``nodeid`` into failures of its requirements (added
        to ``report.user_properties``; the report then goes through ``pytest_runtest_logreport``
        like any other)."""
        node = getattr(report, "node", None)
        worker = str(getattr(getattr(node, "gateway", None), "id", "?"))
        how = self._down.get(worker, "")
        what = trim(str(report.longrepr), 2000) + (f" ({how})" if how else "")
        if nodeid in self._hung:
            # The hard stop ended the worker; the hang is already recorded with its report.
            report.longrepr = f"{self._hung[nodeid]}; the worker was stopped: {what}"
            return
        reason = f"the candidate crashed the worker: {what}"
        elapsed = time.monotonic() - self._started.get(nodeid, time.monotonic())
        if self.backstop_after is not None and elapsed >= self.backstop_after - 1:
            # faulthandler's backstop: a hang that kept the GIL, so no report could be sent.
            reason = (
                f"hung: exceeded --kmw-timeout={self.timeout:g} s and did not stop when "
                f"interrupted; the worker was ended by faulthandler after {elapsed:.0f} s "
                f"(the stacks are on its stderr): {what}"
            )
        report.longrepr = reason
        known = self._items.get(nodeid) or self._lookup(nodeid)
        if known is None:
            return
        test, reqs = known
        report.user_properties.append(encode(test, uniform(reqs, FAIL, reason, reason)))


def _say(fd: int, text: str) -> None:
    try:
        os.write(fd, text.encode("utf-8", "replace"))
    except OSError:
        pass


def hard_stop(
    item: pytest.Item,
    message: str,
    fd: int,
    test: str,
    reqs: list[str],
    finish: Callable[[], None],
) -> NoReturn:
    """End a test that did not stop after --kmw-timeout's exception, and the process.

    Runs in the watchdog thread while the main thread is still stuck in the candidate. Writes
    every thread's stack to ``fd`` (the terminal's stderr), sends a failed report of ``item``
    through ``pytest_runtest_logreport`` (a lone process records it, an xdist worker sends it to
    the controller), calls ``finish`` (the lone process writes the report and the summary), and
    exits with status 1 (pytest's "tests failed"). Recording is given ``RECORD_SECONDS``; the
    exit happens whatever it does.
    """
    capman = item.config.pluginmanager.getplugin("capturemanager")
    try:
        if capman is not None:
            capman.suspend_global_capture(in_=True)  # the terminal again on fds 1 and 2
    except Exception:  # noqa: BLE001
        pass
    _say(fd, f"\nkmw: {item.nodeid}: {message}\nkmw: the stacks of all threads:\n")
    try:
        faulthandler.dump_traceback(file=fd, all_threads=True)
    except (OSError, ValueError, RuntimeError):
        pass

    def record() -> None:
        text = message
        frame = sys._current_frames().get(threading.main_thread().ident or -1)
        if frame is not None:
            stack = "".join(traceback.format_stack(frame))
            text = trim(f"{message}\nthe test's stack when it was stopped:\n{stack}")
        rep = pytest.TestReport(
            nodeid=item.nodeid,
            location=item.location,
            keywords=dict.fromkeys(item.keywords, 1),
            outcome="failed",
            longrepr=f"Failed: {message}",
            when="call",
            user_properties=[(HUNG_PROPERTY, message)],
        )
        if reqs:
            rep.user_properties.append(encode(test, uniform(reqs, FAIL, message, text)))
        item.ihook.pytest_runtest_logreport(report=rep)
        finish()

    def guarded() -> None:
        try:
            record()
        except BaseException as e:  # noqa: BLE001 - exiting anyway: say why and go on
            _say(fd, f"kmw: recording the hang failed: {type(e).__name__}: {e}\n")

    worker = threading.Thread(target=guarded, name="kmw-hard-stop", daemon=True)
    worker.start()
    worker.join(RECORD_SECONDS)
    _say(fd, "kmw: ending the process (exit status 1)\n")
    try:
        sys.stdout.flush()
    except Exception:  # noqa: BLE001
        pass
    _REAL_EXIT(1)
