"""``conformance.engine.harness.Session`` in-process: a candidate driven beside the model.

The conforming candidate is the reference, ``kmw.KEpisodeMetaworld``; the broken ones are
small subclasses planting one bug each. On the scripted benchmark a whole trial takes
milliseconds, so these run without a pytest subprocess.
"""

from __future__ import annotations

import numpy as np
import pytest

from conformance.engine import coverage
from conformance.engine.harness import Blocked, Session
from conformance.engine.keys import KMW_KEYS
from conformance.engine.plan import TrialPlan
from conformance.engine.scripted import OBS_DIM, AttemptScript, ScriptedBenchmark, simple_spec
from conformance.engine.violations import ContractViolation
from kmw import KEpisodeMetaworld

PLAN = TrialPlan("train", 3, 4, [5, 6], list(coverage.ACTIONS))
PLAIN = (AttemptScript(),)


class DoneEveryAttempt(KEpisodeMetaworld):
    """Bug: a done flag at the end of every attempt, not only the k-th."""

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        if obs[-1] == 1.0:  # a soft reset: an attempt other than the last just ended
            truncated = True
        return obs, reward, terminated, truncated, info


class DoubledReward(KEpisodeMetaworld):
    """Bug: the reward comes back doubled (KMW-REW-1, a finding that does not block)."""

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        return obs, reward * 2.0, terminated, truncated, info


def session(candidate=KEpisodeMetaworld, target: str | None = "KMW-ATT-2", plan=PLAN,
            scripts=PLAIN) -> Session:
    bench = ScriptedBenchmark(simple_spec(scripts=scripts))
    return Session(candidate, bench, plan, KMW_KEYS, target, OBS_DIM, impl="test")


def test_the_reference_runs_whole_trials_without_a_finding() -> None:
    s = session(target=None)
    for seed in PLAN.seeds:
        steps = s.run_trial(seed)
        assert steps == PLAN.k * PLAN.max_len
        assert s.model.trial_over and s.last_findings == []
    assert {"KMW-ATT-2", "KMW-SR-1", "KMW-LOG-1", "KMW-OBS-3"} <= s.model.checked


def test_the_reference_passes_env_ended_attempts() -> None:
    s = session(target=None, scripts=(AttemptScript(frozenset({1}), 2, "terminated"),))
    steps = s.run_trial(3)
    assert steps == PLAN.k * 2  # every attempt ended by the env after 2 steps
    assert s.last_findings == []


def test_a_violation_of_the_target_raises_with_where_and_a_reproduction() -> None:
    s = session(DoneEveryAttempt)
    with pytest.raises(ContractViolation) as info:
        s.run_trial(5)
    v = info.value
    assert v.req_id == "KMW-ATT-2"
    assert "attempt 0" in v.where
    assert "replay(" in v.reproduction


def test_a_blocking_finding_of_another_requirement_stops_the_example() -> None:
    # DoneEveryAttempt also ends the trial early (KMW-ATT-3): with that as the target the
    # session raises it; with a third requirement as the target, the ATT-2 finding blocks.
    with pytest.raises(ContractViolation) as info:
        session(DoneEveryAttempt, target="KMW-ATT-3").run_trial(5)
    assert info.value.req_id == "KMW-ATT-3"
    with pytest.raises(Blocked):
        session(DoneEveryAttempt, target="KMW-LOG-1").run_trial(5)


def test_a_non_blocking_finding_of_another_requirement_lets_the_trial_go_on() -> None:
    s = session(DoubledReward, target="KMW-ATT-2")
    assert s.run_trial(5) == PLAN.k * PLAN.max_len
    with pytest.raises(ContractViolation) as info:
        session(DoubledReward, target="KMW-REW-1").run_trial(5)
    assert info.value.req_id == "KMW-REW-1"


def test_an_action_of_the_wrong_dtype_reaches_the_candidate_as_given() -> None:
    s = session(target=None)
    s.reset(1)
    s.step(np.zeros(4, dtype=np.float64))
    assert s.last_findings == []


def test_a_plan_prints_its_actions_as_numbers() -> None:
    """A falsifying example shows the plan's actions as the numbers stepped, not as the
    strategy call that drew them (hypothesis prints drawn values with ``_repr_pretty_``)."""
    from hypothesis.vendor.pretty import pretty

    plan = TrialPlan("test", 2, 3, [7, None], list(coverage.ACTIONS), {"reach-v3": 0.5})
    shown = pretty(plan)
    assert shown == repr(plan)
    assert "actions=[[0.5, -0.25, 1.0, 0.0], [-1.0, 0.125, -0.5, 0.75]]" in shown
    assert "seeds=[7, None]" in shown and "reward_scales={'reach-v3': 0.5}" in shown
