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
