"""Make a failing example's calls again, outside pytest, beside the same trusted model.

:func:`replay` runs a reproduction (its form and data: :mod:`conformance.engine.reproduction`)
and raises the suite's ``ContractViolation`` again; :func:`replay_calls` makes the calls on the
bare candidate(s), without the model, and returns them, to continue by hand in a debugger.
``calls`` and ``actions`` are checked first (``ValueError`` with one line), before anything is
imported.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from conformance.engine.checks import (
    METAWORLD_OBS_DIM,
    check_draws,
    same_outputs,
    single_task_view,
    step_after_end,
)
from conformance.engine.harness import Blocked, MidTrialPair, Recording, Session
from conformance.engine.keys import resolve_key_scheme
from conformance.engine.plan import TrialPlan
from conformance.engine.reproduction import BenchmarkSpec, checked_calls
from conformance.engine.scripted import OBS_DIM, ScriptedBenchmark, rotated, second_copy
from conformance.engine.violations import OBSERVED


class ReplayMismatch(AssertionError):
    """The calls were made again but did not end in the expected violation."""


def _with_length(plan: TrialPlan, arg: str) -> TrialPlan:
    """``plan`` for a ``+`` call: with its own ``max_episode_length`` for ``+rL<n>``."""
    return dataclasses.replace(plan, max_len=int(arg[2:])) if arg.startswith("rL") else plan


def _seed_arg(text: str) -> int | None:
    return int(text) if text else None


def _benchmark_maker(benchmark: Any, single_task: bool
                     ) -> tuple[Callable[[str], Any], int]:
    """A maker of the benchmark for a ``+`` call (argument ``"r"``: the scripts rotated)."""
    if isinstance(benchmark, BenchmarkSpec):
        return (lambda arg="": ScriptedBenchmark(rotated(benchmark) if arg == "r"
                                                 else benchmark)), OBS_DIM
    if isinstance(benchmark, (str, bytes)) or not hasattr(benchmark, "train_classes"):
        raise TypeError(f"benchmark must be a BenchmarkSpec or a Meta-World benchmark (e.g. "
                        f"kmw.benchmarks.make_benchmark('reach-v3', seed=0)), got "
                        f"{type(benchmark).__name__}")
    bench = single_task_view(benchmark) if single_task else benchmark
    return (lambda arg="": bench), METAWORLD_OBS_DIM


def _setup(impl: str, benchmark: Any, single_task: bool
           ) -> tuple[Any, Callable[[str], Any], int]:
    from conformance.engine.loader import load_candidate

    candidate = load_candidate(impl, search_dir=Path.cwd())
    make, dim = _benchmark_maker(benchmark, single_task)
    # What the suite does before every case and example (hypothesis seeds them with 0).
    random.seed(0)
    np.random.seed(0)
    return candidate, make, dim


def replay(impl: str, benchmark: Any, split: str, k: int,
           max_episode_length: int, calls: str, actions: Any = (), *, target: str | None,
           keys: str = "kmw", reward_scales: dict[str, float] | None = None,
           single_task: bool = False) -> None:
    """Make ``calls`` again on candidates ``impl(benchmark, split, k, max_episode_length=L)``
    beside the trusted model, as the suite did: raises the suite's ``ContractViolation`` of
    ``target`` (:class:`ReplayMismatch` if the calls end without it).

    ``benchmark`` is a :class:`BenchmarkSpec` or a Meta-World benchmark (as the suite's
    ``kmw.benchmarks.make_benchmark(name, seed=0)``; ``single_task``: its first class and task
    per split only); ``actions`` the table ``s<i>`` calls index; ``keys`` ``--kmw-keys``.
    ``calls`` and ``actions`` are checked first (:func:`checked_calls`: ``ValueError`` with one
    line), before anything is imported.
    """
    OBSERVED.take()  # nothing seen before this replay is its own

    ops, table = checked_calls(calls, actions)
    candidate, make, dim = _setup(impl, benchmark, single_task)
    key_scheme = resolve_key_scheme(keys, Path.cwd())
    plan = TrialPlan(split, k, max_episode_length, [], table or [np.zeros(4, np.float32)],
                     dict(reward_scales or {}))
    session_target = None if any(op == "p" for op, _ in ops) else target
    rec = Recording(impl, keys, replaying=True)
    sessions: list[Any] = []
    last: dict[int, Any] = {}
    since: dict[int, list[Any]] = {}
    pair: Any = None
    cur = -1
    try:
        for op, arg in ops:
            if op == "+":
                shares = sessions[0] if arg.startswith("r") and sessions else None
                bench = second_copy(shares.spy.original) if shares is not None else make(arg)
                sessions.append(Session(candidate, bench, _with_length(plan, arg), key_scheme,
                                        session_target, dim, impl=impl, recording=rec,
                                        shares=shares))
                cur = len(sessions) - 1
            elif op == "@":
                cur = int(arg)
            elif op == "r":
                last[cur] = sessions[cur].reset(_seed_arg(arg))
                since[cur] = [_seed_arg(arg), 0]
            elif op == "s":
                last[cur] = sessions[cur].step(table[int(arg)])
                since.setdefault(cur, [None, 0])[1] += 1
            elif op == "x":
                sessions[cur].step_unchecked(table[int(arg)])
            elif op == "p":
                f, i = (int(x) for x in arg.split(","))
                pair = MidTrialPair(sessions[f], sessions[i])
            elif op == "R":
                pair.reset(_seed_arg(arg))
            elif op == "S":
                pair.step(table[int(arg)])
            elif op == "=":
                a, b = (int(x) for x in arg.split(","))
                seed, n = since[b]
                when = f"reset(seed={seed})" if n == 0 else f"step {n} after reset(seed={seed})"
                same_outputs(sessions[a], sessions[b], last[a], last[b], when)
            elif op == "e":
                step_after_end(sessions[cur], target or "KMW-ATT-5", table[int(arg)])
            elif op == "d":
                seed_text, _, _n = arg.partition(",")
                check_draws(sessions[cur], _seed_arg(seed_text))
            elif op == "z":
                sessions[cur].end()
            seen = OBSERVED.pop(target) if target is not None else None
            if seen is not None:  # seen while the suite checked another requirement
                raise seen
    except Blocked as blocked:
        seen = OBSERVED.pop(target) if target is not None else None
        if seen is not None:
            raise seen from None
        raise ReplayMismatch(f"not reproduced: the replay was stopped by {blocked} before "
                             f"{target} failed") from blocked
    raise ReplayMismatch(f"not reproduced: all {len(ops)} calls ran without a {target} "
                         f"violation (does the candidate depend on something else, e.g. time or "
                         f"files?)")


def replay_calls(impl: str, benchmark: Any, split: str, k: int,
                 max_episode_length: int, calls: str, actions: Any = (), *,
                 reward_scales: dict[str, float] | None = None, stop: int | None = None,
                 single_task: bool = False) -> list[Any]:
    """Make the first ``stop`` (all if ``None``) of ``calls`` on bare candidates: no model, no
    checks, nothing wrapped; returns the candidates (in the order ``+`` built them), to
    continue by hand. Arguments as :func:`replay`."""
    ops, table = checked_calls(calls, actions)
    candidate, make, _ = _setup(impl, benchmark, single_task)
    benches: list[Any] = []
    cands: list[Any] = []
    pair: tuple[int, int] | None = None
    cur = -1
    for n, (op, arg) in enumerate(ops):
        if stop is not None and n >= stop:
            break
        if op == "+":
            bench = second_copy(benches[0]) if arg.startswith("r") and benches else make(arg)
            benches.append(bench)
            length = _with_length(TrialPlan(split, k, max_episode_length, [], []), arg).max_len
            cands.append(candidate(bench, split, k, max_episode_length=length))
            if reward_scales:
                cands[-1].reward_scales = dict(reward_scales)
            cur = len(cands) - 1
        elif op == "@":
            cur = int(arg)
        elif op == "r":
            cands[cur].reset(seed=_seed_arg(arg))
        elif op == "s":
            cands[cur].step(table[int(arg)])
        elif op in "xe":
            try:
                cands[cur].step(table[int(arg)])
            except Exception:  # noqa: BLE001 - expected after the end
                pass
        elif op == "p":
            f, i = (int(x) for x in arg.split(","))
            pair = (f, i)
        elif op in "RS" and pair is not None:
            for c in (cands[pair[1]], cands[pair[0]]):
                c.reset(seed=_seed_arg(arg)) if op == "R" else c.step(table[int(arg)])
        elif op == "d":
            seed_text, _, times = arg.partition(",")
            for i in range(int(times)):
                cands[cur].reset(seed=_seed_arg(seed_text) if i == 0 else None)
    return cands
