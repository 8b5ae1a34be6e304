"""Interleavings of ``reset`` and ``step`` (collected first: the suite's longest property, so
xdist starts it early): resets in the middle of trials, steps after the end.

:class:`TrialMachine` is a hypothesis ``RuleBasedStateMachine`` that drives one candidate with
any sequence of resets and steps, the trusted model following along. Whenever it resets in the
middle of a trial it starts a fresh candidate beside it on an equal single-task benchmark and
compares the two, call by call, until that trial ends: the interrupted candidate must behave as
the fresh one does (KMW-ATT-4). A step after the end may raise or not here (that is KMW-ATT-5's
property); after one, the machine resets before stepping again.
"""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.errors import FlakyStrategyDefinition
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)

from conformance.engine.harness import (
    Blocked,
    CheckTally,
    MidTrialPair,
    Recording,
    Rejected,
    Session,
)
from conformance.engine.properties import (
    METAWORLD_MACHINE_RUNS,
    draw_single_task_benchmarks,
    random_examples,
)
from conformance.engine.strategies import actions, draw_plan
from conformance.engine.violations import NotChecked
from conformance.front.plugin import suite_arguments

TARGET = "KMW-ATT-4"
#: The seed of a reset the machine draws unseeded where the candidate's draws must be fixed.
SEED_WHEN_NONE = 0


class TrialMachine(RuleBasedStateMachine):
    """One candidate under any interleaving of ``reset(seed)`` and ``step(action)``."""

    def __init__(self, config, tally: CheckTally) -> None:
        super().__init__()
        self.config = config
        self.tally = tally
        self.main: Session | None = None
        self.pair: MidTrialPair | None = None
        self.stopped = False
        self.needs_reset = True

    def _session(self) -> Session:
        return Session(self.config.candidate, self.make(), self.plan, self.config.keys, None,
                       self.dim, recording=self.recording)

    @initialize(data=st.data())
    def build(self, data) -> None:
        self.tally.examples += 1
        self.make, names, self.dim = draw_single_task_benchmarks(data, self.config)
        self.plan = draw_plan(data, names, max_k=3, max_len=st.integers(1, 4), n_trials=(1, 1))
        self.recording = Recording(self.config.impl, getattr(self.config.keys, "name", None))
        try:
            self.main = self._session()
        except Rejected:
            self.stopped = True
        except Blocked as blocked:  # cannot be built (KMW-IFC-6), or a finding at construction
            self.stopped = True
            self.tally.block(blocked)

    def _guard(self, call) -> None:
        try:
            call()
        except Blocked as blocked:
            self.stopped = True
            self.tally.block(blocked)

    @rule(seed=st.one_of(st.none(), st.integers(0, 2**16)))
    def reset(self, seed) -> None:
        if self.stopped:
            return
        mid_trial = self.main.model.in_trial and not self.main.model.trial_over \
            and not self.needs_reset
        if seed is None and (mid_trial or not self.main.model.in_trial):
            # The candidate's first reset is seeded, and so is the pair's (the two candidates'
            # draws must line up): unseeded draws must not change the machine's path.
            seed = SEED_WHEN_NONE
        self.needs_reset = False
        if mid_trial:
            self.pair = MidTrialPair(self._session(), self.main)
            self.tally.checked += 1
            self._guard(lambda: self.pair.reset(seed))
        else:
            self.pair = None
            self.main.observe = True  # a plain trial again: its findings are its own
            self._guard(lambda: self.main.reset(seed))

    @precondition(lambda self: not self.stopped and not self.needs_reset
                  and not self.main.model.trial_over)
    @rule(action=actions)
    def step(self, action) -> None:
        if self.pair is not None:
            self._guard(lambda: self.pair.step(action))
        else:
            self._guard(lambda: self.main.step(action))

    @precondition(lambda self: not self.stopped and not self.needs_reset
                  and self.main.model.trial_over)
    @rule(action=actions)
    def step_after_end(self, action) -> None:
        self.main.step_unchecked(action)
        self.needs_reset = True


@pytest.mark.kmw_requirement(TARGET)
def test_trial_machine(request):
    """KMW-ATT-4 under arbitrary interleavings of reset and step."""
    kmw_config, _ = suite_arguments(request)
    tally = CheckTally(TARGET)
    current = settings()
    scripted = kmw_config.backend == "scripted"
    if random_examples(kmw_config.backend, current) == 0:
        # Every interleaving is drawn: a profile without random examples runs none (the
        # explicit mid-trial cases of test_att_4_reset_mid_trial still check KMW-ATT-4).
        raise NotChecked("not checked by the state machine: the hypothesis profile draws no "
                         "random examples")
    try:
        run_state_machine_as_test(
            lambda: TrialMachine(kmw_config, tally),
            settings=settings(current, max_examples=current.max_examples if scripted
                              else min(current.max_examples, METAWORLD_MACHINE_RUNS),
                              stateful_step_count=30 if scripted else 10),
        )
    except FlakyStrategyDefinition:
        # The same calls took the candidate down another path on replay: its behaviour depends
        # on randomness the seeds do not fix. No verdict from luck: this property says so and
        # test_att_4_reset_mid_trial (which needs no replay of paths) still checks KMW-ATT-4.
        raise NotChecked("not checked by the state machine: the candidate behaved differently "
                         "on identical, seeded calls (randomness that reset(seed=...) does not "
                         "fix; see KMW-TSK-3), so its interleavings cannot be replayed") from None
    reason = tally.not_checked_reason()
    if reason:
        raise NotChecked(reason)
