"""A per-test time limit (``--kmw-timeout``) that interrupts a hanging candidate.

``time_limit(seconds)`` arms ``SIGALRM`` via ``setitimer(ITIMER_REAL)``; when it fires it raises
``KmwTimeout``, a ``BaseException`` (not an ``Exception``) so hypothesis treats it like an
interrupt: it does not catch it, re-run or shrink the hanging example. Only the main thread of
a Unix process can use it; ``available()`` says whether this one can.

Not every hang stops at the exception: a candidate may catch ``BaseException`` in a retry loop,
ignore or replace ``SIGALRM``, or block in C code. ``Watchdog`` is the escalation: a daemon
thread (unaffected by the candidate's signal handling) that, ``grace_seconds(timeout)`` after
the limit, runs a hard stop (the plugin dumps every thread's stack, records the test as hung,
writes the report and ends the process with ``os._exit``). ``backstop`` arms
``faulthandler.dump_traceback_later(exit=True)`` later still: a C thread that needs no GIL, for
a hang that keeps the GIL (or a hard stop that itself blocks).
"""

from __future__ import annotations

import faulthandler
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from conformance.engine.violations import SuiteInterrupt

#: The shortest and the longest limit ``--kmw-timeout`` accepts (0 disables the limit). Below
#: a millisecond the timer would fire before the test starts; past 2**31 s ``setitimer``
#: soon overflows (1e10 s raises OverflowError); 1e6 s (about 11.6 days) is plenty.
MIN_SECONDS = 0.001
MAX_SECONDS = 1_000_000.0


def check_seconds(value: float) -> float:
    """``value`` if it is 0 (no limit) or in ``[MIN_SECONDS, MAX_SECONDS]``, else ``ValueError``
    naming the allowed range (NaN and infinities included)."""
    if value == 0 or MIN_SECONDS <= value <= MAX_SECONDS:
        return float(value)
    raise ValueError(
        f"expected 0 (no limit) or a number of seconds from {MIN_SECONDS:g} to {MAX_SECONDS:g}, "
        f"got {value!r}"
    )


class KmwTimeout(SuiteInterrupt):
    """A test exceeded ``--kmw-timeout`` (it passes through the candidate boundary: never the
    candidate's own exception)."""


def available() -> bool:
    """True if ``time_limit`` can work here (Unix, main thread)."""
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


def timeout_message(seconds: float, outer: bool = False) -> str:
    """The failure text of a test that ran out of time (``outer``: the limit was a smaller one
    armed outside kmw, such as pytest-timeout's ``--timeout``)."""
    if outer:
        return (f"exceeded a time limit of {seconds:.3g} s set outside kmw (pytest-timeout's "
                "--timeout, or another SIGALRM timer), smaller than --kmw-timeout: the test was "
                "interrupted (does the candidate hang?)")
    return (
        f"exceeded --kmw-timeout={seconds:g} s: the test was interrupted (does the candidate "
        "hang?); raise the limit with --kmw-timeout=SECONDS, or 0 to disable it"
    )


def outer_alarm() -> float:
    """Seconds left on a SIGALRM timer armed before kmw's (pytest-timeout's ``signal`` method
    arms one around the whole test), 0.0 when there is none."""
    if not available():
        return 0.0
    return signal.getitimer(signal.ITIMER_REAL)[0]


@contextmanager
def time_limit(seconds: float) -> Iterator[dict[str, bool]]:
    """Raise ``KmwTimeout`` in the main thread if the block runs longer than ``seconds``.

    Yields a dict whose ``"fired"`` entry becomes True once the limit was hit (so a caller can
    tell even if the block swallowed the exception). ``seconds <= 0`` or no ``available()``:
    no limit. The previous SIGALRM handler is restored afterwards.
    """
    state: dict[str, Any] = {"fired": False, "armed": False, "seconds": seconds, "outer": False}
    if seconds <= 0 or not available():
        yield state
        return
    # A smaller limit already armed (pytest-timeout around the whole test) wins: it becomes
    # this block's limit, and what is left of it is armed again afterwards.
    outer = outer_alarm()
    if 0 < outer < seconds:
        state.update(seconds=outer, outer=True)
    start = time.monotonic()

    def _handler(signum: int, frame: FrameType | None) -> None:
        if state["armed"]:
            state["fired"] = True
            state["armed"] = False
            raise KmwTimeout(timeout_message(state["seconds"], state["outer"]))

    previous = signal.signal(signal.SIGALRM, _handler)
    state["armed"] = True
    signal.setitimer(signal.ITIMER_REAL, state["seconds"])
    try:
        yield state
    finally:
        state["armed"] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer > 0 and not state["fired"]:
            signal.setitimer(signal.ITIMER_REAL, max(outer - (time.monotonic() - start), 0.001))


def grace_seconds(seconds: float) -> float:
    """How long after ``--kmw-timeout`` a test that did not stop is hard-stopped."""
    return max(5.0, 0.1 * seconds)


def backstop_seconds(seconds: float) -> float:
    """After how long faulthandler's backstop ends a test's process: two grace periods and
    the hard stop's own time (``conformance.front.faults.RECORD_SECONDS``, 10 s) past the limit."""
    return seconds + 2 * grace_seconds(seconds) + 10.0


def hung_message(seconds: float) -> str:
    """The failure text of a test hard-stopped by the watchdog."""
    return (
        f"hung: exceeded --kmw-timeout={seconds:g} s and did not stop when interrupted "
        f"(hard stop {grace_seconds(seconds):g} s later; the candidate catches BaseException, "
        "ignores SIGALRM or blocks in C code?)"
    )


class Watchdog:
    """One daemon thread calling ``action()`` when an armed deadline passes.

    ``arm(seconds, action)`` / ``disarm()`` cost a lock and a condition notify (no thread is
    started per test); the thread is started on the first ``arm``. ``action`` runs in the
    watchdog thread and is expected not to return (it ends the process).
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._deadline: float | None = None
        self._action: Callable[[], None] | None = None
        self._generation = 0
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float, action: Callable[[], None]) -> None:
        with self._cond:
            self._deadline = time.monotonic() + seconds
            self._action = action
            self._generation += 1
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="kmw-timeout-watchdog", daemon=True
                )
                self._thread.start()
            self._cond.notify_all()

    def disarm(self) -> None:
        with self._cond:
            self._deadline = None
            self._action = None
            self._generation += 1
            self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._deadline is None:
                    self._cond.wait()
                left = self._deadline - time.monotonic()
                if left > 0:
                    self._cond.wait(left)
                    continue
                action, self._deadline, self._action = self._action, None, None
            if action is not None:
                action()


#: The process's watchdog (one per process: the main thread runs one test at a time).
WATCHDOG = Watchdog()


@contextmanager
def backstop(seconds: float, fd: int | None) -> Iterator[None]:
    """``faulthandler.dump_traceback_later(seconds, exit=True)`` to ``fd`` around the block:
    if the process is still in it after ``seconds``, every thread's stack is written and the
    process exits with status 1, GIL or not. ``fd=None``: no backstop."""
    if fd is None or seconds <= 0:
        yield
        return
    faulthandler.dump_traceback_later(seconds, exit=True, file=fd)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()
