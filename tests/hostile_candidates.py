"""Correct wrappers (the reference, subclassed) that are hostile to the run checking them: large
``info`` values, output, warnings, an exception with a huge text, a leftover thread. They meet
every requirement of SPEC.md, so a suite run on them must pass and stay bounded in memory,
output and time (``tests/test_hostile_inputs.py``, ``benchmarks/bench_suite_memory.py``).

Sizes come from environment variables, so that tests use small ones and benchmarks the issue's:
``KMW_HOSTILE_BYTES`` (bytes printed per step, default 1 MB) and ``KMW_HOSTILE_INFO`` (bytes of
the ``BigInfo`` value, default 10 MB).
"""

from __future__ import annotations

import os
import sys
import threading
import warnings

import numpy as np

from kmw import KEpisodeMetaworld


def _size(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


class _InfoValue(KEpisodeMetaworld):
    """Adds ``self._value()`` to every ``info`` under the key ``"frame"``."""

    def _value(self) -> np.ndarray:
        raise NotImplementedError

    def reset(self, *, seed=None, options=None):
        obs, info = super().reset(seed=seed, options=options)
        return obs, {**info, "frame": self._value()}

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        return obs, reward, terminated, truncated, {**info, "frame": self._value()}


class FrameInInfo(_InfoValue):
    """A new 240x240x3 uint8 frame (a rendered image) in every ``info``."""

    def _value(self) -> np.ndarray:
        return np.full((240, 240, 3), 7, dtype=np.uint8)  # written: its pages are really used


class BigInfo(_InfoValue):
    """A new ``KMW_HOSTILE_INFO``-byte array in every ``info``."""

    def _value(self) -> np.ndarray:
        return np.full(_size("KMW_HOSTILE_INFO", 10_000_000), 7, dtype=np.uint8)


class Prints(KEpisodeMetaworld):
    """Writes ``KMW_HOSTILE_BYTES`` per step, half through ``sys.stdout``, half straight to
    file descriptor 2 (as C code or a subprocess would)."""

    def step(self, action):
        half = _size("KMW_HOSTILE_BYTES", 1_000_000) // 2
        sys.stdout.write("o" * (half - 1) + "\n")
        os.write(2, b"e" * (half - 1) + b"\n")
        return super().step(action)


class WarnsDistinct(KEpisodeMetaworld):
    """A ``UserWarning`` with a new ``KMW_HOSTILE_BYTES``-character message at every step."""

    steps = 0

    def step(self, action):
        WarnsDistinct.steps += 1
        warnings.warn(f"{WarnsDistinct.steps} " + "w" * _size("KMW_HOSTILE_BYTES", 100_000),
                      UserWarning, stacklevel=2)
        return super().step(action)


class HugeText(Exception):
    """An exception whose own ``__str__`` and ``__repr__`` return ``KMW_HOSTILE_BYTES``
    characters."""

    def __str__(self) -> str:
        return "s" * _size("KMW_HOSTILE_BYTES", 100_000_000)

    __repr__ = __str__


class RaisesHugeText(KEpisodeMetaworld):
    """Breaks every requirement that resets (so it fails), raising :class:`HugeText`."""

    def reset(self, *, seed=None, options=None):
        raise HugeText()


class LeavesThread(KEpisodeMetaworld):
    """Starts, once per process, a non-daemon thread that never ends."""

    started = threading.Event()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not LeavesThread.started.is_set():
            LeavesThread.started.set()
            threading.Thread(target=threading.Event().wait, name="candidate-worker").start()
