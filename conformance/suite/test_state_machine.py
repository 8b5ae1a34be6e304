"""Interleavings of ``reset`` and ``step``: resets in the middle of trials, steps after the end.

:class:`TrialMachine` is a hypothesis ``RuleBasedStateMachine`` that drives one candidate with
any sequence of resets and steps, the trusted model following along, and fails KMW-ATT-4 when a
trial begun by a reset in the middle of another does not run as a fresh trial (all k attempts
ahead, fresh logs, the flag set). A step after the end is allowed to raise or not here (that is
KMW-ATT-5's property); after one, the machine resets before stepping again.
"""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule, run_state_machine_as_test

from conformance.harness import Blocked, CheckTally, Rejected, Session
from conformance.properties import draw_benchmark
from conformance.strategies import actions, draw, draw_plan

TARGET = "KMW-ATT-4"


class TrialMachine(RuleBasedStateMachine):
    """One candidate under any interleaving of ``reset(seed)`` and ``step(action)``."""

    def __init__(self, config, tally: CheckTally) -> None:
        super().__init__()
        self.config = config
        self.tally = tally
        self.session: Session | None = None
        self.stopped = False
        self.needs_reset = True

    @initialize(data=st.data())
    def build(self, data) -> None:
        self.tally.examples += 1
        bench, names, dim = draw_benchmark(data, self.config)
        plan = draw_plan(data, names, max_k=3, max_len=st.integers(1, 4), n_trials=(1, 1))
        try:
            self.session = Session(self.config.candidate, bench, plan, self.config.keys, TARGET, dim)
        except Rejected:
            self.stopped = True

    def _guard(self, call) -> None:
        try:
            call()
        except Blocked as blocked:
            self.stopped = True
            rid = blocked.finding.req_id
            self.tally.blocked_by[rid] = self.tally.blocked_by.get(rid, 0) + 1

    @rule(seed=st.one_of(st.none(), st.integers(0, 2**16)))
    def reset(self, seed) -> None:
        if self.stopped:
            return
        self.needs_reset = False
        self._guard(lambda: self.session.reset(seed))

    @precondition(lambda self: not self.stopped and not self.needs_reset
                  and not self.session.model.trial_over)
    @rule(action=actions)
    def step(self, action) -> None:
        self._guard(lambda: self.session.step(action))

    @precondition(lambda self: not self.stopped and not self.needs_reset
                  and self.session.model.trial_over)
    @rule(action=actions)
    def step_after_end(self, action) -> None:
        try:
            self.session.candidate.step(action)
        except Exception:
            pass
        self.session.log.take()
        self.needs_reset = True

    def teardown(self) -> None:
        if self.session is not None and TARGET in self.session.model.checked:
            self.tally.checked += 1


@pytest.mark.kmw_requirement(TARGET)
def test_trial_machine(kmw_config):
    """KMW-ATT-4 under arbitrary interleavings of reset and step."""
    tally = CheckTally(TARGET)
    current = settings()
    steps = 30 if kmw_config.backend == "scripted" else 10
    examples = current.max_examples if kmw_config.backend == "scripted" else 3
    run_state_machine_as_test(
        lambda: TrialMachine(kmw_config, tally),
        settings=settings(current, max_examples=examples, stateful_step_count=steps),
    )
    reason = tally.not_checked_reason()
    if reason:
        pytest.skip(reason)
