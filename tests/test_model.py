"""The trusted model (``conformance.engine.model.TrialModel``) in-process, without a candidate.

A trial is written out by hand, from SPEC.md alone: the env events a wrapper causes and what a
conforming wrapper returns for each call. The model must find nothing in it; every row of
``BROKEN`` changes one thing in it, as one kind of wrapper bug would, and names the requirement
the model must file a finding under (the way gymnasium tests its env checker on a table of
broken envs).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from conformance.engine.keys import KMW_KEYS
from conformance.engine.model import ContractContext, TrialModel
from conformance.engine.spy import Event

P = KMW_KEYS.prefix
TASK, OTHER_TASK = ("c-v3", 0), ("c-v3", 99)
ENV = 0
K, L, D = 2, 2, 2


def obs(i: int) -> np.ndarray:
    """The env's i-th observation (float64, as Meta-World's; values not exact in float32)."""
    return np.array([i + 0.1, -i - 0.3])


def out(i: int, flag: float) -> np.ndarray:
    """What a conforming wrapper returns for it: cast to float32, the flag appended."""
    return np.append(obs(i).astype(np.float32), np.float32(flag))


def step_event(i: int, reward: float, *, success: bool = False, truncated: bool = False) -> Event:
    return Event("step", ENV, "c-v3", obs=obs(i), reward=reward, truncated=truncated,
                 info={"success": float(success)}, path_length=None, limit=None)


def reset_event(i: int) -> Event:
    return Event("reset", ENV, "c-v3", obs=obs(i))


@dataclass
class Call:
    """One call on the candidate: ``"reset"`` or ``"step"``, the env events it caused, what
    the candidate returned."""

    kind: str
    events: list[Event]
    result: Any
    name: str = field(default="")
    #: Calls another instance made on this candidate's envs before this call.
    foreign: list[Event] = field(default_factory=list)


def conforming_trial() -> list[Call]:
    """k=2, L=2 on one env: attempt 0 succeeds and ends at L (soft reset), attempt 1 ends the
    trial at L. Rewards 1, 2 then 0.5, 0.5."""
    return [
        Call("reset", [reset_event(0)], (out(0, 1.0), {}), "reset"),
        Call("step", [step_event(1, 1.0)], (out(1, 0.0), 1.0, False, False, {}), "step 1"),
        Call("step", [step_event(2, 2.0, success=True), reset_event(3)],
             (out(3, 1.0), 2.0, False, False,
              {f"{P} Episode 0 Success": 1.0, f"{P} Episode 0 Return": 3.0}), "boundary"),
        Call("step", [step_event(4, 0.5)], (out(4, 0.0), 0.5, False, False, {}), "step 3"),
        Call("step", [step_event(5, 0.5)],
             (out(5, 0.0), 0.5, False, True,
              {f"{P} Episode 1 Success": 0.0, f"{P} Episode 1 Return": 1.0,
               f"{P} Total Successes": 1.0, f"{P} Success Rate": 0.5}), "final"),
        Call("reset", [reset_event(6)], (out(6, 1.0), {}), "second reset"),
    ]


#: What a conforming wrapper's constructor does: build the env and set one of its tasks.
CONSTRUCTION = [Event("init", ENV, "c-v3"), Event("set_task", ENV, "c-v3", task=TASK)]


def run(trial: list[Call], task_name: str = "c-v3", checked: set[str] | None = None,
        construction: list[Event] = CONSTRUCTION, findings: list | None = None) -> list[str]:
    """The requirement IDs of every finding the model files on ``trial``, in order
    (``checked``, if given, receives the IDs the model checked; ``findings`` the findings)."""
    ctx = ContractContext(
        k=K, max_len=L, split="train", obs_dim=D,
        observation_space=gym.spaces.Box(-10.0, 10.0, (D + 1,), np.float32), keys=KMW_KEYS,
        split_tasks=[TASK], split_classes={"c-v3": object})
    model = TrialModel(ctx)
    got = list(model.on_construction(construction))
    candidate = SimpleNamespace(task_name=task_name, reward_scales={})
    for call in trial:
        got += model.on_foreign(call.foreign)
        on = model.on_reset if call.kind == "reset" else model.on_step
        got += on(call.result, call.events, candidate)
    if checked is not None:
        checked |= model.checked
    if findings is not None:
        findings += got
    return [f.req_id for f in got]


def _result(trial: list[Call], name: str, index: int, value: Any) -> None:
    call = next(c for c in trial if c.name == name)
    result = list(call.result)
    result[index] = value
    call.result = tuple(result)


def _info(trial: list[Call], name: str, **changes: Any) -> None:
    call = next(c for c in trial if c.name == name)
    info = dict(call.result[-1])
    for key, value in changes.items():
        key = f"{P} {key.replace('_', ' ')}"
        if value is None:
            info.pop(key)
        else:
            info[key] = value
    _result(trial, name, len(call.result) - 1, info)


def _events(trial: list[Call], name: str, events: list[Event]) -> None:
    next(c for c in trial if c.name == name).events = events


def _foreign(trial: list[Call], name: str, events: list[Event]) -> None:
    next(c for c in trial if c.name == name).foreign = events


def _flag(trial: list[Call], name: str, flag: float) -> None:
    call = next(c for c in trial if c.name == name)
    arr = call.result[0].copy()
    arr[-1] = flag
    _result(trial, name, 0, arr)


#: (name, how the trial is broken, the requirement the model must name)
BROKEN: list[tuple[str, Callable[[list[Call]], None], str]] = [
    ("step returns a 4-tuple",
     lambda t: setattr(t[1], "result", t[1].result[:4]), "KMW-IFC-1"),
    ("reset without the flag 1.0", lambda t: _flag(t, "reset", 0.0), "KMW-SR-1"),
    ("flag 1.0 inside an attempt", lambda t: _flag(t, "step 1", 1.0), "KMW-SR-1"),
    ("float64 observation",
     lambda t: _result(t, "step 1", 0, t[1].result[0].astype(np.float64)), "KMW-OBS-2"),
    ("observation not the env's", lambda t: _result(t, "step 1", 0, out(4, 0.0)), "KMW-OBS-3"),
    ("observation outside the space",
     lambda t: _result(t, "step 1", 0, np.array([50.0, 0.0, 0.0], np.float32)), "KMW-OBS-2"),
    ("done flag on the first attempt's end", lambda t: _result(t, "boundary", 3, True),
     "KMW-ATT-2"),
    # Done inside an attempt ends the attempt where it goes on: KMW-ATT-1's sentence first.
    ("done flag inside an attempt", lambda t: _result(t, "step 1", 2, True), "KMW-ATT-1"),
    ("done flag on the last attempt's step L-1",
     lambda t: _result(t, "step 3", 3, True), "KMW-ATT-1"),
    # The attempt was ended (logged), only the flag is missing: KMW-ATT-2.
    ("no done flag on the final step", lambda t: _result(t, "final", 3, False), "KMW-ATT-2"),
    # Neither ended nor flagged: the attempt goes on past L (KMW-ATT-1).
    ("the last attempt goes on past L",
     lambda t: (_result(t, "final", 3, False), _result(t, "final", 4, {})), "KMW-ATT-1"),
    ("terminal observation at the boundary",
     lambda t: _result(t, "boundary", 0, out(2, 1.0)), "KMW-SR-2"),
    ("no soft reset at L",
     lambda t: (_events(t, "boundary", [step_event(2, 2.0, success=True)]),
                _flag(t, "boundary", 0.0)), "KMW-ATT-1"),
    ("reset() that resets no env",
     lambda t: _events(t, "second reset", []), "KMW-OBS-3"),
    ("another instance resets the trial's env", lambda t: _foreign(t, "step 3", [reset_event(7)]),
     "KMW-SR-4"),
    ("two env resets between attempts",
     lambda t: _events(t, "boundary", [step_event(2, 2.0, success=True), reset_event(3),
                                       reset_event(3)]), "KMW-SR-4"),
    ("the task set again between attempts",
     lambda t: _events(t, "boundary", [step_event(2, 2.0, success=True),
                                       Event("set_task", ENV, "c-v3", task=TASK),
                                       reset_event(3)]), "KMW-SR-4"),
    ("an attempt ended on success alone",
     lambda t: _events(t, "step 1", [step_event(1, 1.0, success=True), reset_event(9)]),
     "KMW-ATT-1"),
    ("attempt success logged as 0.0", lambda t: _info(t, "boundary", Episode_0_Success=0.0),
     "KMW-LOG-1"),
    ("attempt success not logged", lambda t: _info(t, "boundary", Episode_0_Success=None),
     "KMW-LOG-1"),
    ("attempt return without its last reward",
     lambda t: _info(t, "boundary", Episode_0_Return=1.0), "KMW-LOG-2"),
    ("total successes wrong", lambda t: _info(t, "final", Total_Successes=2.0), "KMW-LOG-3"),
    ("success rate not divided by k", lambda t: _info(t, "final", Success_Rate=1.0), "KMW-LOG-3"),
    ("a key carried over to the next step",
     lambda t: _info(t, "step 3", Episode_0_Success=1.0), "KMW-LOG-4"),
    ("reward not the env's", lambda t: _result(t, "step 1", 1, 2.0), "KMW-REW-1"),
    ("a foreign task set at reset",
     lambda t: _events(t, "reset", [Event("set_task", ENV, "c-v3", task=OTHER_TASK),
                                    reset_event(0)]), "KMW-TSK-1"),
]


def test_a_conforming_trial_has_no_finding() -> None:
    checked: set[str] = set()
    assert run(conforming_trial(), checked=checked) == []
    assert {r for _, _, r in BROKEN} <= checked | {"KMW-IFC-1"}


@pytest.mark.parametrize(("name", "breaks", "req"), BROKEN, ids=[b[0] for b in BROKEN])
def test_the_model_names_the_broken_requirement(name: str, breaks: Callable, req: str) -> None:
    trial = copy.deepcopy(conforming_trial())
    breaks(trial)
    found = run(trial)
    # The cause comes first; what follows from it (the model keeps going here, where a
    # Session would stop the example at the first blocking finding) may come after.
    assert found[:1] == [req], f"{name}: expected a first finding under {req}, got {found}"


def test_a_wrong_task_name_is_ifc_5() -> None:
    assert "KMW-IFC-5" in run(conforming_trial(), task_name="other-v3")


def test_set_task_at_construction_counts_for_kmw_tsk_1() -> None:
    # A constructor that reads the spaces from an env with a task of the other split set.
    probe = [Event("init", ENV + 1, "c-v3"), Event("set_task", ENV + 1, "c-v3", task=OTHER_TASK)]
    findings: list = []
    assert run(conforming_trial(), construction=CONSTRUCTION + probe, findings=findings) == [
        "KMW-TSK-1"]
    assert findings[0].summary.startswith("at construction:")


def test_a_reset_without_an_env_reset_is_followed_on_the_same_task() -> None:
    # The model files KMW-OBS-3 and goes on (the new trial runs on the env and task it had),
    # so what the candidate draws next is still checked: no blocking finding, no other one.
    trial = conforming_trial()
    _events(trial, "second reset", [])
    findings: list = []
    assert run(trial, findings=findings) == ["KMW-OBS-3"]
    assert not findings[0].blocking


def _limit_truncation(limit: int, own: int) -> Event:
    """The final call's env step (obs 5), truncated by a step limit at the attempt's step L."""
    e = step_event(5, 0.5, truncated=True)
    e.path_length, e.limit, e.own_limit = L, limit, own
    return e


def test_a_truncation_at_a_limit_the_candidate_set_to_l_is_its_own_cut() -> None:
    # A wrapper that sets the env's limit to L and lets the env cut its attempts: the cut at L
    # checks KMW-ATT-3 and EPL-1 as a cut the wrapper counts itself would.
    trial = conforming_trial()
    _events(trial, "final", [_limit_truncation(L, own=500)])
    checked: set[str] = set()
    assert run(trial, checked=checked) == []
    assert {"KMW-ATT-3", "KMW-EPL-1"} <= checked
    # The env's own limit (not set by the wrapper) is an end by the env: ATT-3 not checked.
    trial = conforming_trial()
    _events(trial, "final", [_limit_truncation(L, own=L)])
    checked = set()
    assert run(trial, checked=checked) == [] and "KMW-ATT-3" not in checked


def test_consequences_name_their_root() -> None:
    trial = conforming_trial()
    _result(trial, "step 3", 3, True)  # the last attempt ended one step early, done set
    findings: list = []
    assert run(trial, findings=findings)[:3] == ["KMW-ATT-1", "KMW-ATT-2", "KMW-ATT-3"]
    assert [f.follows for f in findings[:3]] == [None, "KMW-ATT-1", "KMW-ATT-1"]


def test_every_row_breaks_something_and_rows_are_distinct() -> None:
    # The table itself: no row leaves the trial conforming, and no two rows are the same edit.
    assert len({b[0] for b in BROKEN}) == len(BROKEN)
    assert len({b[2] for b in BROKEN}) >= 14


# -- the observation-space check agrees with gymnasium's Box.contains ---------------------------

_VALUES = (0.0, -1.0, 1.0, 2.5, -7.0, np.inf, -np.inf, np.nan, 1e39)


@pytest.mark.parametrize("space_dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("arr_dtype", [np.float32, np.float64, np.float16, np.int32])
@pytest.mark.parametrize("shape", [(3,), (2,), (3, 1)])
def test_observation_space_check_is_box_contains(space_dtype, arr_dtype, shape) -> None:
    from conformance.engine.model import _space_contains

    rng = np.random.default_rng(sum(map(ord, f"{space_dtype}{arr_dtype}{shape}")))
    spaces = [gym.spaces.Box(-1.0, 1.0, (3,), space_dtype),
              gym.spaces.Box(-np.inf, np.inf, (3,), space_dtype),
              gym.spaces.Box(np.array([-1, -5, 0], space_dtype), np.array([1, 5, 3], space_dtype),
                             dtype=space_dtype)]
    seen = set()
    for space in spaces:
        for _ in range(30):
            with np.errstate(invalid="ignore", over="ignore"):
                arr = rng.choice(_VALUES, size=shape).astype(arr_dtype)
            answer = _space_contains(space, arr)
            assert answer == space.contains(arr), (space, arr)
            seen.add(answer)
    if shape == (3,) and np.can_cast(arr_dtype, space_dtype):
        assert seen == {True, False}  # both answers were put to the test
