"""The progress bar of ``kmw run`` (``evaluate(progress=True)``): a tqdm bar on stderr."""

from __future__ import annotations

import math
import time
from typing import Any, TextIO

__all__ = ["Progress"]


class Progress:
    """A tqdm bar on ``stream``: percent done, elapsed<ETA, trials done, steps, steps/s.

    Progress is the larger of finished trials / ``total`` and steps / ``expected_steps`` (the
    steps of ``total`` trials that run every attempt to its length limit), so it moves within a
    trial too. The bar appears at the first update (after the first vector step), is redrawn
    at most ~10 times a second, and does nothing when not ``enabled``.
    """

    def __init__(self, total: int, expected_steps: int, stream: TextIO, enabled: bool) -> None:
        self.total, self.expected = total, max(int(expected_steps), 1)
        self.stream, self.enabled = stream, enabled
        self._bar: Any = None
        self._start = time.perf_counter()
        self._last = -math.inf
        self._done = self._steps = 0

    def update(self, done: int, steps: int, force: bool = False) -> None:
        self._done, self._steps = done, steps
        if not self.enabled:
            return
        now = time.perf_counter()
        if not force and now - self._last < 0.1:
            return
        self._last = now
        if self._bar is None:
            from tqdm import tqdm

            self._t0, self._s0 = now, steps  # steps/s from here: not the workers' start-up
            self._bar = tqdm(
                total=self.expected,
                initial=self._n(done, steps),
                postfix=self._postfix(done, steps, now),
                file=self.stream,
                bar_format="{percentage:3.0f}%|{bar:20}| [{elapsed}<{remaining}{postfix}]",
                mininterval=0.0,
                leave=True,
            )
            return
        self._bar.set_postfix_str(self._postfix(done, steps, now), refresh=False)
        self._bar.n = self._n(done, steps)
        if not force:
            self._bar.refresh()

    def _n(self, done: int, steps: int) -> int:
        frac = 1.0 if done >= self.total else max(done / self.total, steps / self.expected)
        return min(self.expected, int(round(frac * self.expected)))

    def _postfix(self, done: int, steps: int, now: float) -> str:
        dt = now - getattr(self, "_t0", now)
        rate = f"{(steps - self._s0) / dt:.0f}" if dt > 0 else "?"
        return f"{done}/{self.total} trials, {steps} steps, {rate} steps/s"

    def close(self) -> None:
        """Draw the last recorded state and end the line (once; later calls do nothing)."""
        if self.enabled:
            if self._bar is not None:
                self.update(self._done, self._steps, force=True)
                self._bar.close()
            self.enabled = False
