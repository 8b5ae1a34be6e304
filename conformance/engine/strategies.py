"""Hypothesis strategies for the conformance properties, with labelled draws.

Every draw a property makes goes through :func:`draw`, so a falsifying example reads as a list of
named choices (``k``, ``max_episode_length``, ``benchmark``, ``split``, ``seeds``, ...).
"""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import strategies as st

from conformance.engine.plan import TrialPlan
from conformance.engine.scripted import CLASS_NAMES as SCRIPTED_CLASS_NAMES
from conformance.engine.scripted import AttemptScript, BenchmarkSpec, ClassSpec, TaskSpec

__all__ = ["TrialPlan", "benchmark_specs", "trial_plans", "draw_plan", "draw", "actions"]

#: Train class names; test classes (outside ML1-style specs) are named ``<name>-test-v3``.
CLASS_NAMES = SCRIPTED_CLASS_NAMES[:13]


def draw(data: st.DataObject, strategy: st.SearchStrategy, label: str):
    """``data.draw`` with a label that shows in failing examples."""
    return data.draw(strategy, label=label)


SCRIPT_MAX_STEP = 10
#: The largest k and L a *large* trial plan draws.
LARGE_K, LARGE_L = 12, 300
_SCRIPT_BITS = SCRIPT_MAX_STEP + 5


def decode_script(code: int, max_step: int = SCRIPT_MAX_STEP) -> AttemptScript:
    """An :class:`AttemptScript` from an integer: the low ``max_step`` bits are the success
    steps, the next 5 bits the env's own end (0 and values above ``2 * max_step``: none; odd:
    terminated, even: truncated, at step ``end // 2 + 1``). Smaller codes are simpler scripts."""
    success = frozenset(i + 1 for i in range(max_step) if code >> i & 1)
    end = code >> max_step & 0b11111
    if end == 0 or end > 2 * max_step:
        return AttemptScript(success)
    return AttemptScript(success, (end - 1) // 2 + 1, "terminated" if end % 2 else "truncated")


def decode_scripts(code: int, env_ends: bool = True) -> tuple[AttemptScript, ...]:
    """One or two attempt scripts from an integer (bit 0: how many)."""
    n = 1 + (code & 1)
    code >>= 1
    out = []
    for _ in range(n):
        script = decode_script(code & (2**_SCRIPT_BITS - 1))
        out.append(script if env_ends else AttemptScript(script.success_steps))
        code >>= _SCRIPT_BITS
    return tuple(out)


@st.composite
def benchmark_specs(
    draw_,
    api: str = "gymnasium",
    min_train_classes: int = 1,
    max_train_classes: int = 3,
    min_tasks_per_class: int = 1,
    env_ends: bool = True,
    min_limit: int = 2,
    single_task: bool = False,
    max_scripts: int = 2,
    big_limits: bool = True,
) -> BenchmarkSpec:
    """A scripted benchmark: classes, their step limits, tasks and each task's attempt scripts.

    ``env_ends=False`` gives envs that never end an attempt by themselves (their step limit
    aside), ``min_limit`` the smallest class step limit. Each task's scripts are drawn as one
    integer (see :func:`decode_scripts`), which keeps examples cheap to generate and shrink.
    ``single_task=True`` gives each split one class with one task running one script;
    ``max_scripts=1`` gives every task a single script. A class's step limit is occasionally
    Meta-World's 500 instead of a small one (unless ``big_limits=False``).
    """
    if single_task:
        max_train_classes = min_train_classes = 1
    n_train = draw_(st.integers(min_train_classes, max_train_classes))
    ml1 = draw_(st.booleans())
    n_test = n_train if ml1 else (1 if single_task else draw_(st.integers(1, 2)))
    limits = st.integers(min_limit, max(min_limit, 12))
    if big_limits:
        limits = st.one_of(limits, st.just(max(min_limit, 500)))
    train = tuple(ClassSpec(CLASS_NAMES[i], draw_(limits)) for i in range(n_train))
    if ml1:
        test = train
    else:
        names = [f"{CLASS_NAMES[i].removesuffix('-v3')}-test-v3" for i in range(n_test)]
        test = tuple(ClassSpec(n, draw_(limits)) for n in names)
    uid = itertools.count(1)
    script_codes = st.integers(0, 2 ** (2 * _SCRIPT_BITS + 1) - 1)

    def tasks(classes: tuple[ClassSpec, ...], split: str) -> tuple[TaskSpec, ...]:
        out = []
        for c in classes:
            for _ in range(1 if single_task else draw_(st.integers(min_tasks_per_class, 3))):
                scripts = decode_scripts(draw_(script_codes), env_ends)
                if single_task or max_scripts == 1:
                    scripts = scripts[:1]
                out.append(TaskSpec(c.name, next(uid), split, scripts))
        return tuple(out)

    return BenchmarkSpec(train, test, tasks(train, "train"), tasks(test, "test"), api)


def _action(code: int) -> np.ndarray:
    digits = [(code // 17**j) % 17 - 8 for j in range(4)]
    return np.asarray(digits, dtype=np.float32) / np.float32(8)


actions = st.integers(0, 17**4 - 1).map(_action)
"""Actions in [-1, 1]^4, multiples of 1/8 (exact in float32), each drawn as one integer."""

seeds = st.integers(0, 2**16)

reward_scale_values = st.sampled_from([0.5, 2.0, -1.0, 0.0, 10.0])


@st.composite
def trial_plans(
    draw_,
    class_names: tuple[str, ...],
    max_k: int = 4,
    max_len: st.SearchStrategy[int] | None = None,
    n_trials: tuple[int, int] = (1, 3),
    scales: bool = True,
    split: str | None = None,
) -> TrialPlan:
    """A :class:`TrialPlan` for a benchmark whose classes are ``class_names``.

    Draws are flat (no hypothesis lists or dicts, which cost milliseconds each here): a count,
    then one draw per element. About one plan in twenty is *large*: k up to :data:`LARGE_K`,
    or (when ``max_len`` is not given) the fewest trials ``n_trials`` allows, of k=1 and L up
    to :data:`LARGE_L`, so size-dependent bugs show. The first trial's seed is never ``None``
    (a candidate's unseeded draws cannot change what is checked); later ones may be.
    """
    size = draw_(st.sampled_from(("usual",) * 19 + ("large",)))
    large_len = size == "large" and max_len is None and draw_(st.booleans())
    if large_len:
        k = 1
        length = draw_(st.integers(LARGE_L // 2, LARGE_L))
    else:
        k = draw_(st.integers(1, max_k) if size == "usual" else st.integers(1, LARGE_K))
        length = draw_(max_len if max_len is not None else st.integers(1, 8))
    chosen_split = split or draw_(st.sampled_from(["train", "test"]))
    n = n_trials[0] if large_len else draw_(st.integers(*n_trials))
    trial_seeds: list[int | None] = [draw_(st.integers(0, 2**16))]
    for _ in range(n - 1):
        seed = draw_(st.integers(-1, 2**16))
        trial_seeds.append(None if seed < 0 else seed)
    acts = [draw_(actions) for _ in range(draw_(st.integers(1, 2)))]
    rs: dict[str, float] = {}
    if scales:
        for _ in range(draw_(st.integers(0, min(2, len(class_names))))):
            rs[draw_(st.sampled_from(class_names))] = draw_(reward_scale_values)
    return TrialPlan(chosen_split, k, length, trial_seeds, acts, rs)


def draw_plan(data: st.DataObject, class_names: list[str], **kwargs) -> TrialPlan:
    """Draw a :class:`TrialPlan` (labelled ``"trial plan"``); keywords as :func:`trial_plans`."""
    return draw(data, trial_plans(tuple(sorted(class_names)), **kwargs), "trial plan")
