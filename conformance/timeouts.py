"""A per-test time limit (``--kmw-timeout``) that interrupts a hanging candidate.

``time_limit(seconds)`` arms ``SIGALRM`` via ``setitimer(ITIMER_REAL)``; when it fires it raises
``KmwTimeout``, a ``BaseException`` (not an ``Exception``) so hypothesis treats it like an
interrupt: it does not catch it, re-run or shrink the hanging example. Only the main thread of
a Unix process can use it; ``available()`` says whether this one can.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

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


class KmwTimeout(BaseException):
    """A test exceeded ``--kmw-timeout``."""


def available() -> bool:
    """True if ``time_limit`` can work here (Unix, main thread)."""
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


def timeout_message(seconds: float) -> str:
    """The failure text of a test that ran out of time."""
    return (
        f"exceeded --kmw-timeout={seconds:g} s: the test was interrupted (does the candidate "
        "hang?); raise the limit with --kmw-timeout=SECONDS, or 0 to disable it"
    )


@contextmanager
def time_limit(seconds: float) -> Iterator[dict[str, bool]]:
    """Raise ``KmwTimeout`` in the main thread if the block runs longer than ``seconds``.

    Yields a dict whose ``"fired"`` entry becomes True once the limit was hit (so a caller can
    tell even if the block swallowed the exception). ``seconds <= 0`` or no ``available()``:
    no limit. The previous SIGALRM handler is restored afterwards.
    """
    state = {"fired": False, "armed": False}
    if seconds <= 0 or not available():
        yield state
        return

    def _handler(signum: int, frame: FrameType | None) -> None:
        if state["armed"]:
            state["fired"] = True
            state["armed"] = False
            raise KmwTimeout(timeout_message(seconds))

    previous = signal.signal(signal.SIGALRM, _handler)
    state["armed"] = True
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield state
    finally:
        state["armed"] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
