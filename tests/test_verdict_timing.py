"""A verdict does not depend on how fast the machine is.

Hypothesis, by default, goes on searching for *other* bugs after it finds one, for a number of
examples, but for no more than 10 seconds after the first (``report_multiple_bugs``). On a
loaded machine those 10 seconds run out sooner, so a slow run searched less: it could start
its shrink from another failing example, print another minimal example, or miss a second
failure (with its own requirement ID) that a fast run reports. The suite's profiles stop at the
first failure, so a run on a slow machine reports exactly what a run on a fast one does.

The slow machine is simulated: the clock hypothesis's engine reads for that limit jumps 11
seconds at every reading, so the limit has always run out.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from hypothesis.internal.conjecture import engine

from tests import kill_matrix as km


class SlowClock:
    """``time`` as a slow machine's hypothesis engine sees it: each ``monotonic()`` reading is
    11 s after the previous one (``perf_counter``, which hypothesis uses for its five-minute
    cap on shrinking, is left alone: a shrink that slow is out of this test's scope)."""

    def __init__(self) -> None:
        self.now = 0.0

    def _tick(self) -> float:
        self.now += 11.0
        return self.now

    monotonic = _tick

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def _requirements(candidate: km.Candidate) -> dict[str, tuple]:
    """Every requirement's outcome, reason and example after the suite tests of the
    requirements the candidate breaks (``kmw-dev``, random examples included): only a test
    that fails searches on after a failure, and the clock decides only how long."""
    from tests.inprocess import SuiteOptions, run_suite, suite_calls

    calls = [c for c in suite_calls() if candidate.breaks & set(c.reqs)]
    report = run_suite(candidate.impl, SuiteOptions.parse(candidate.options), km.DEFAULT_PROFILE,
                       calls).report
    return {rid: (r["outcome"], r["reason"], r["failing_example"])
            for rid, r in report["requirements"].items()}


#: A mutant whose KMW-ATT-4 failure is found by the attempt-interleavings state machine, a
#: random search in which the search after the first failure mattered: before the profiles
#: stopped at the first failure, this test failed for it (another minimal example).
CANDIDATES = ("reset_mid_trial_keeps_count",)


@pytest.mark.parametrize("name", CANDIDATES)
def test_a_slow_machine_gets_the_same_verdicts_and_examples(name: str, monkeypatch) -> None:
    candidate = next(c for c in km.candidates() if c.name == name)
    fast = _requirements(candidate)
    assert any(outcome == "fail" for outcome, _, _ in fast.values())
    monkeypatch.setattr(engine, "time", SlowClock())
    slow = _requirements(candidate)
    assert slow == fast
