"""The checks a property and a replay both make on running sessions, beside the model's.

KMW-TSK-2's draws over many resets (:func:`check_draws`, with :func:`resets_needed` resets so that
a correctly drawing wrapper fails with probability below :data:`TSK2_FAILURE_BOUND`), KMW-TSK-3's
comparison of two candidates' outputs (:func:`same_outputs`), KMW-ATT-5's step after the end
(:func:`step_after_end`), and the single-task view of a benchmark the differential checks run
on. Below both :mod:`conformance.engine.properties` and :mod:`conformance.engine.replay`; it
imports neither, nor the harness (sessions are passed in).
"""

from __future__ import annotations

from collections import OrderedDict
from types import SimpleNamespace
from typing import Any

import numpy as np

from conformance.engine.reproduction import action_record
from conformance.engine.scripted import decode_task, task_label
from conformance.engine.violations import hide_frame, raised_by_candidate

#: Size of a real Meta-World observation (the scripted one's, ``scripted.OBS_DIM``, is the same).
METAWORLD_OBS_DIM = 39
#: KMW-TSK-2: the largest probability that a correctly drawing wrapper fails the property.
TSK2_FAILURE_BOUND = 1e-9


def single_task_view(benchmark: Any) -> Any:
    """``benchmark`` cut down to one class and one task per split (same class objects)."""
    def first(classes: Any, tasks: list[Any]) -> tuple[OrderedDict, list[Any]]:
        name, cls = next(iter(classes.items()))
        return OrderedDict([(name, cls)]), [next(t for t in tasks if t.env_name == name)]

    train_classes, train_tasks = first(benchmark.train_classes, benchmark.train_tasks)
    test_classes, test_tasks = first(benchmark.test_classes, benchmark.test_tasks)
    return SimpleNamespace(train_classes=train_classes, test_classes=test_classes,
                           train_tasks=train_tasks, test_tasks=test_tasks)


def resets_needed(tasks_per_class: list[int], bound: float = TSK2_FAILURE_BOUND) -> int:
    """The number of resets after which a wrapper drawing uniformly fails KMW-TSK-2 with
    probability below ``bound``.

    A wrapper may draw a class uniformly then one of its tasks (probability ``1/C`` per class),
    or a task uniformly among all ``N`` (probability ``n/N`` for a class of ``n`` tasks); the
    bound holds for both. With ``p`` the probability of drawing a class of ``n`` tasks, the
    property fails on that class when it is never drawn, ``(1 - p)**R``, or (for ``n > 1``)
    when all its draws are one task, at most ``n * (1 - p + p/n)**R``. The sum over classes,
    for the worse of the two ways of drawing, is below ``bound``.
    """
    n_classes, n_tasks = len(tasks_per_class), sum(tasks_per_class)

    def failure(r: int) -> float:
        worst = 0.0
        for scheme in ("class", "task"):
            total = 0.0
            for n in tasks_per_class:
                p = 1 / n_classes if scheme == "class" else n / n_tasks
                total += (1 - p) ** r
                if n > 1:
                    total += n * (1 - p + p / n) ** r
            worst = max(worst, total)
        return worst

    r = 1
    while failure(r) >= bound:
        r = r * 2
    lo, hi = r // 2, r
    while lo + 1 < hi:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if failure(mid) < bound else (mid, hi)
    return hi


def _task_key(task: Any) -> Any:
    spec = decode_task(task)
    if spec is not None:
        return spec.uid
    data = getattr(task, "data", None)
    return data if isinstance(data, bytes) else id(task)


def check_draws(session: Any, seed: int | None, tally: Any = None) -> None:
    """KMW-TSK-2 on ``session``: :func:`resets_needed` resets (the first with ``seed``), then
    every class of the split must have run, and more than one task of every class with more
    (``session.fail`` otherwise). Runs of tasks outside the split are KMW-TSK-1's finding: a
    class that had any is not judged on its variety. A blocking finding raises
    :class:`Blocked`."""
    __tracebackhide__ = hide_frame
    plan = session.plan
    classes = session.spy.train_classes if plan.split == "train" else session.spy.test_classes
    per_class: dict[str, int] = {name: 0 for name in classes}
    for task in session.split_tasks:
        if task.env_name in per_class:
            per_class[task.env_name] += 1
    n_resets = resets_needed(list(per_class.values()))
    seen: dict[str, dict[Any, Any]] = {name: {} for name in classes}  # the split's tasks run
    draws: dict[str, int] = dict.fromkeys(classes, 0)
    foreign: dict[str, int] = dict.fromkeys(classes, 0)  # runs of tasks not in the split
    in_split = {_task_key(t) for t in session.split_tasks}
    session.recording.add(session.sid, "d", (seed, n_resets))
    session.recording.mute += 1
    try:
        for i in range(n_resets):
            session.reset(seed if i == 0 else None)
            name, task = session.model.task_name, session.model.task
            if name in seen:
                draws[name] += 1
                if _task_key(task) in in_split:
                    seen[name].setdefault(_task_key(task), task)
                else:
                    foreign[name] += 1
    finally:
        session.recording.mute -= 1
    if tally is not None:
        tally.checked += 1
    missing = sorted(n for n in classes if not draws[n])
    if missing:
        session.fail(f"classes of the {plan.split} split never drawn in {n_resets} resets",
                     expected=sorted(classes), got=sorted(n for n in classes if draws[n]))
    for name in classes:
        # A class that ran tasks of the other split is KMW-TSK-1's finding, not this one's.
        if per_class[name] > 1 and len(seen[name]) < 2 and not foreign[name]:
            only = task_label(next(iter(seen[name].values())))
            session.fail(f"class {name} ({per_class[name]} tasks) ran the same task in all "
                         f"of its {draws[name]} draws out of {n_resets} resets",
                         expected=f"more than one of its {per_class[name]} tasks (a uniform "
                         f"draw fails this with probability < {TSK2_FAILURE_BOUND:g})",
                         got=f"only {only}")


def _comparable(result: Any) -> Any:
    """A candidate's output as plain data for equality."""
    if isinstance(result, np.ndarray):
        return ("array", result.dtype.str, result.tobytes())
    if isinstance(result, tuple):
        return tuple(_comparable(x) for x in result)
    if isinstance(result, dict):
        return tuple(sorted((str(k), _comparable(v)) for k, v in result.items()))
    if isinstance(result, (float, np.floating)):
        return float(result)
    if isinstance(result, (bool, np.bool_)):
        return bool(result)
    return result


def _task_identity(task: Any) -> Any:
    return (getattr(task, "env_name", None), _task_key(task) if task is not None else None)


def same_outputs(a: Any, b: Any, ra: Any, rb: Any, when: str) -> None:
    a.recording.add(None, "=", (a.sid, b.sid))
    __tracebackhide__ = hide_frame
    ta, tb = _task_identity(a.model.task), _task_identity(b.model.task)
    if ta != tb:
        b.fail(f"same seed, different task at {when}: a fresh candidate and one that ran "
               f"other trials before", expected=f"task {task_label(a.model.task)} (fresh candidate)",
               got=f"task {task_label(b.model.task)} (after other trials)")
    if _comparable(ra) != _comparable(rb):
        b.fail(f"same seed and actions, different output at {when}: a fresh candidate and one "
               f"that ran other trials before", expected=f"{repr(ra)[:300]} (fresh candidate)",
               got=f"{repr(rb)[:300]} (after other trials)")


def step_after_end(session: Any, target: str, action: Any = None) -> None:
    """KMW-ATT-5 on ``session`` once its trial is over: ``step(action)`` (the plan's first
    action by default) must raise without stepping the underlying env."""
    __tracebackhide__ = hide_frame
    if not session.model.trial_over:
        return
    action = session.plan.action(0) if action is None else action
    session.recording.add(session.sid, "e", action_record(action))
    session.model.checked.add(target)
    try:
        session.candidate.step(action)
    except BaseException as exc:  # the contract asks for an error
        if not raised_by_candidate(exc):
            raise
        stepped = [e for e in session.log.take() if e.kind in ("step", "error")]
        if stepped:
            session.fail("step() after the trial ended stepped the underlying env before "
                         "raising", expected="an error before any env step",
                         got=f"{type(exc).__name__}: {exc} after an env step")
        return
    session.fail("step() after the trial ended was accepted silently",
                 expected="an error telling the caller to reset()", got="a normal return")
