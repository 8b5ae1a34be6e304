"""Reproduce a failing example outside pytest.

Every :class:`~conformance.engine.harness.Session` records the calls made on its candidate (a
:class:`~conformance.engine.harness.Recording`, shared by the sessions an example compares). When a
session raises a :class:`~conformance.engine.violations.ContractViolation`, :func:`snippet` turns the
recording into a few lines of Python, shown last in the violation's text (so in pytest's output
and in the JSON report's ``failing_example``) under ``reproduce with:``. Run in a fresh
interpreter, they rebuild the benchmark, build the candidate with the same arguments, make the
same calls through :func:`replay` (with the same trusted model beside it) and end in the same
violation. :func:`replay_calls` makes the calls on the bare candidate(s), without the model,
and returns them, to continue by hand in a debugger.

``calls`` is a compact string of space-separated calls, in order:

=================  ================================================================
``+``              build a candidate (the next index; it becomes the current one)
``+r``             the same on a copy of the benchmark whose tasks' scripts are rotated by
                   one (``conformance.engine.scripted.rotated``; two candidates called in turn)
``@n``             make candidate ``n`` the current one
``r<seed>``, ``r`` ``reset(seed=<seed>)``, ``reset(seed=None)``
``s<i>``           ``step(actions[i])``, checked by the model
``x<i>``           ``step(actions[i])`` after the trial's end, its error ignored
``p<f>,<i>``       compare candidate ``i`` (reset in the middle of a trial) with the fresh
                   candidate ``f`` from now on (KMW-ATT-4)
``R<seed>``        ``reset(seed=...)`` on both of the pair (``i`` first)
``S<i>``           ``step(actions[i])`` on both of the pair (``i`` first)
``=a,b``           compare the last outputs of candidates ``a`` and ``b`` (KMW-TSK-3)
``e<i>``           ``step(actions[i])`` after the trial's end must raise (KMW-ATT-5)
``d<seed>,<n>``    ``n`` resets, the first with ``seed``; every class drawn (KMW-TSK-2)
``z``              the current candidate's last check: every observation and ``info`` it
                   returned is still as returned (KMW-OBS-4, KMW-LOG-5)
``(...)*n``        the calls in brackets ``n`` times; ``call*n``: one call ``n`` times
=================  ================================================================

``python -m conformance.replay REPORT.json KMW-ID`` (:mod:`conformance.replay`) prints the
reproduction a JSON report stores for a requirement; ``--run`` runs it.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from conformance.engine.scripted import (
    AttemptScript,
    BenchmarkSpec,
    ClassSpec,
    ScriptedBenchmark,
    TaskSpec,
)

#: Longest period of a repeated group of calls the printed form folds (``(s0 s1 s2)*n``).
MAX_PERIOD = 8
#: Benchmarks the scripted spec cannot describe: ``id -> (benchmark, source)``.
_SOURCES: dict[int, tuple[Any, tuple[str, bool]]] = {}


class ReplayMismatch(AssertionError):
    """The calls were made again but did not end in the expected violation."""


def remember(benchmark: Any, name: str, single_task: bool = False) -> Any:
    """Note that ``benchmark`` is Meta-World's ``name`` (built by
    ``kmw.benchmarks.make_benchmark(name, seed=0)``; ``single_task``: cut to one task per
    split), so a reproduction can name it. Returns ``benchmark``."""
    _SOURCES[id(benchmark)] = (benchmark, (name, single_task))
    return benchmark


def benchmark_source(benchmark: Any) -> BenchmarkSpec | tuple[str, bool]:
    """What rebuilds ``benchmark``: its :class:`BenchmarkSpec`, or ``(Meta-World name,
    single_task)``; ``ValueError`` for a benchmark of unknown origin."""
    if isinstance(benchmark, ScriptedBenchmark):
        return benchmark.spec
    known = _SOURCES.get(id(benchmark))
    if known is not None and known[0] is benchmark:
        return known[1]
    raise ValueError(f"a benchmark of type {type(benchmark).__name__} cannot be named")


# -- the printed form -------------------------------------------------------------------------


def _script_source(s: AttemptScript) -> str:
    args = []
    if s.success_steps or s.end_at is not None or s.end_kind != "terminated":
        args.append(f"frozenset({{{', '.join(map(str, sorted(s.success_steps)))}}})"
                    if s.success_steps else "frozenset()")
    if s.end_at is not None or s.end_kind != "terminated":
        args.append(repr(s.end_at))
    if s.end_kind != "terminated":
        args.append(repr(s.end_kind))
    return f"AttemptScript({', '.join(args)})"


def _tuple(items: Iterable[str], width: int = 92) -> str:
    """A tuple of ``items`` (Python source), wrapped to lines of about ``width`` characters."""
    items = list(items)
    if len(items) == 1:
        return f"({items[0]},)"
    lines, line = [], ""
    for item in items:
        if line and len(line) + len(item) + 2 > width:
            lines.append(line + ",")
            line = item
        else:
            line = f"{line}, {item}" if line else item
    lines.append(line)
    return "(" + "\n     ".join(lines) + ")"


def spec_source(spec: BenchmarkSpec) -> str:
    """``spec`` as short Python (positional arguments, defaults left out) that evaluates to an
    equal spec given ``from conformance.engine.scripted import *``; its ``repr`` when that fails."""
    def task(t: TaskSpec) -> str:
        scripts = "" if t.scripts == (AttemptScript(),) else \
            f", {_tuple(_script_source(s) for s in t.scripts)}"
        return f"TaskSpec({t.env_name!r}, {t.uid}, {t.split!r}{scripts})"

    def classes(cs: tuple[ClassSpec, ...]) -> str:
        return _tuple(f"ClassSpec({c.name!r}, {c.max_path_length})" for c in cs)

    api = "" if spec.api == "gymnasium" else f", {spec.api!r}"
    text = (f"BenchmarkSpec(\n    {classes(spec.train_classes)},\n    {classes(spec.test_classes)},"
            f"\n    {_tuple(task(t) for t in spec.train_tasks)},"
            f"\n    {_tuple(task(t) for t in spec.test_tasks)}{api})")
    namespace = {"BenchmarkSpec": BenchmarkSpec, "ClassSpec": ClassSpec, "TaskSpec": TaskSpec,
                 "AttemptScript": AttemptScript}
    try:
        if eval(text, namespace) == spec:  # noqa: S307 - our own text
            return text
    except Exception:  # noqa: BLE001
        pass
    return repr(spec)


def _fold(tokens: list[str]) -> list[str]:
    """``tokens`` with runs of a repeated call or group of calls written ``x*n``/``(x y)*n``."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        best_p, best_r, best_gain = 1, 1, 0
        for p in range(1, MAX_PERIOD + 1):
            unit = tokens[i:i + p]
            if len(unit) < p:
                break
            r = 1
            while tokens[i + r * p:i + (r + 1) * p] == unit:
                r += 1
            gain = (r - 1) * sum(len(t) + 1 for t in unit) - (3 if p > 1 else 1) - len(str(r))
            if r > 1 and gain > best_gain:
                best_p, best_r, best_gain = p, r, gain
        if best_r > 1:
            unit = tokens[i:i + best_p]
            out.append(f"{unit[0]}*{best_r}" if best_p == 1 else f"({' '.join(unit)})*{best_r}")
            i += best_p * best_r
        else:
            out.append(tokens[i])
            i += 1
    return out


def _seed(seed: Any) -> str:
    return "" if seed is None else str(int(seed))


def encode(ops: list[tuple[Any, str, Any]]) -> tuple[list[str], list[list[float]]]:
    """A recording's ops as call tokens (unfolded) and the table of distinct actions."""
    actions: list[list[float]] = []
    index: dict[Any, int] = {}

    def act(rec: Any) -> int:
        if rec not in index:
            dtype, shape, data = rec
            arr = np.frombuffer(data, dtype=dtype).reshape(shape)
            if arr.dtype != np.float32:
                raise ValueError(f"an action of dtype {arr.dtype} (the replay makes float32)")
            index[rec] = len(actions)
            actions.append([float(x) for x in arr.ravel()])
        return index[rec]

    tokens: list[str] = []
    current = None
    for sid, op, arg in ops:
        if op == "+":
            tokens.append("+r" if arg == "rotated" else "+")
            current = sid
            continue
        if sid is not None and sid != current:
            tokens.append(f"@{sid}")
            current = sid
        if op in ("r", "R"):
            tokens.append(op + _seed(arg))
        elif op in ("s", "x", "e", "S"):
            tokens.append(f"{op}{act(arg)}")
        elif op in ("p", "="):
            tokens.append(f"{op}{arg[0]},{arg[1]}")
        elif op == "d":
            tokens.append(f"d{_seed(arg[0])},{arg[1]}")
        elif op == "z":
            tokens.append("z")
        else:
            raise ValueError(f"unknown recorded call {op!r}")
    return tokens, actions


def _last_call(token: str, n: int, target: str | None, cur: str, pair: list[str]) -> str:
    """How to make the failing call ``token`` by hand on ``replay_calls``' candidates."""
    op, arg = token[0], token[1:]
    step = f"step(np.asarray(actions[{arg}], np.float32))"
    if op in "sx":
        return f"#   candidates[{cur}].{step}  # call {n}"
    if op == "r":
        return f"#   candidates[{cur}].reset(seed={arg or None})  # call {n}"
    if op == "e":
        return f"#   candidates[{cur}].{step}  # call {n}: after the trial's end it must raise"
    if op in "RS":
        f, i = pair
        call = f"reset(seed={arg or None})" if op == "R" else step
        return (f"#   candidates[{i}].{call}  # call {n}: the interrupted candidate,\n"
                f"#   candidates[{f}].{call}  # then the fresh one; {target} fails when the\n"
                f"#   model finds on candidate {i} what it does not on candidate {f}")
    if op == "=":
        a, b = arg.split(",")
        return (f"#   call {n} compares the outputs of the last calls on candidates[{a}] (fresh) "
                f"and candidates[{b}] (after other trials)")
    if op == "d":
        return f"#   call {n}: {arg.split(',')[1]} resets, then every class must have been drawn"
    if op == "z":
        return (f"#   call {n}: the last check of candidates[{cur}]: every observation and info "
                "it returned must be as it was when returned")
    return f"#   call {n}: {token}"


def snippet(recording: Any, target: str | None) -> str:
    """The reproduction of ``recording`` failing ``target``: Python lines, no blank line."""
    source = benchmark_source(recording.benchmark)
    plan = recording.plan
    tokens, actions = encode(recording.ops)
    folded = " ".join(_fold(tokens))
    if isinstance(source, BenchmarkSpec):
        bench_line, single = f"benchmark = {spec_source(source)}", False
    else:
        bench_line = ("from kmw.benchmarks import make_benchmark\n"
                      f"benchmark = make_benchmark({source[0]!r}, seed=0)")
        single = source[1]
    keys = recording.keys or "kmw"
    extra = ""
    if plan.reward_scales:
        extra += f", reward_scales={dict(plan.reward_scales)!r}"
    if single:
        extra += ", single_task=True"
    args = (f"impl, benchmark, {plan.split!r}, {plan.k}, {plan.max_len}, calls, actions"
            f"{extra}")
    cur = next((t[1:] for t in reversed(tokens) if t.startswith("@")),
               str(sum(t == "+" for t in tokens) - 1))
    pair = next((t[1:].split(",") for t in reversed(tokens) if t.startswith("p")), ["?", "?"])
    last = _last_call(tokens[-1], len(tokens), target, cur, pair)
    lines = [
        "import numpy as np",
        "from conformance.engine.replay import replay, replay_calls",
        "from conformance.engine.scripted import *",
        f"impl = {recording.impl!r}",
        *bench_line.splitlines(),
        f"actions = {actions!r}  # float32",
        f"calls = {folded!r}  # {len(tokens)} calls: + builds, rN is reset(seed=N), sA is "
        "step(actions[A]); the rest in conformance.engine.replay",
        f"replay({args}, target={target!r}, keys={keys!r})",
        "# or the calls before the failing one on the bare candidate(s), no model, to continue",
        "# in a debugger:",
        f"#   candidates = replay_calls({args}, stop={len(tokens) - 1})",
        *last.splitlines(),
    ]
    return "\n".join(lines)


# -- replaying --------------------------------------------------------------------------------

_TOKEN = re.compile(r"\(|\)(?:\*\d+)?|[^\s()]+")


def parse(calls: str) -> list[tuple[str, str]]:
    """``calls`` (see the module docstring) as a flat list of ``(op, argument text)``."""
    stack: list[list[tuple[str, str]]] = [[]]
    for tok in _TOKEN.findall(calls):
        if tok == "(":
            stack.append([])
        elif tok.startswith(")"):
            if len(stack) == 1:
                raise ValueError(f"unbalanced ')' in calls: {calls!r}")
            group = stack.pop()
            stack[-1].extend(group * (int(tok[2:]) if len(tok) > 1 else 1))
        else:
            call, _, times = tok.partition("*")
            if call[0] not in "+@rsxpRS=edz":
                raise ValueError(f"unknown call {tok!r} in calls")
            stack[-1].extend([(call[0], call[1:])] * (int(times) if times else 1))
    if len(stack) != 1:
        raise ValueError(f"unbalanced '(' in calls: {calls!r}")
    return stack[0]


def _seed_arg(text: str) -> int | None:
    return int(text) if text else None


def _benchmark_maker(benchmark: Any, single_task: bool
                     ) -> tuple[Callable[[str], Any], int]:
    """A maker of the benchmark for a ``+`` call (argument ``"r"``: the scripts rotated)."""
    from conformance.engine import properties
    from conformance.engine.scripted import OBS_DIM, rotated

    if isinstance(benchmark, BenchmarkSpec):
        return (lambda arg="": ScriptedBenchmark(rotated(benchmark) if arg == "r"
                                                 else benchmark)), OBS_DIM
    if isinstance(benchmark, (str, bytes)) or not hasattr(benchmark, "train_classes"):
        raise TypeError(f"benchmark must be a BenchmarkSpec or a Meta-World benchmark (e.g. "
                        f"kmw.benchmarks.make_benchmark('reach-v3', seed=0)), got "
                        f"{type(benchmark).__name__}")
    bench = properties.single_task_view(benchmark) if single_task else benchmark
    return (lambda arg="": bench), properties.METAWORLD_OBS_DIM


def _setup(impl: str, benchmark: Any, actions: Any, single_task: bool
           ) -> tuple[Any, Callable[[], Any], int, list[np.ndarray]]:
    from conformance.engine.loader import load_candidate

    candidate = load_candidate(impl, search_dir=Path.cwd())
    make, dim = _benchmark_maker(benchmark, single_task)
    table = [np.asarray(a, dtype=np.float32) for a in actions]
    # What the suite does before every case and example (hypothesis seeds them with 0).
    random.seed(0)
    np.random.seed(0)
    return candidate, make, dim, table


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
    """
    from conformance.engine import properties
    from conformance.engine.harness import Blocked, MidTrialPair, Recording, Session
    from conformance.engine.keys import resolve_key_scheme
    from conformance.engine.plan import TrialPlan
    from conformance.engine.scripted import rotated_copy
    from conformance.engine.violations import OBSERVED

    OBSERVED.take()  # nothing seen before this replay is its own

    candidate, make, dim, table = _setup(impl, benchmark, actions, single_task)
    key_scheme = resolve_key_scheme(keys, Path.cwd())
    ops = parse(calls)
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
                shares = sessions[0] if arg == "r" and sessions else None
                bench = rotated_copy(shares.spy.original) if shares is not None else make(arg)
                sessions.append(Session(candidate, bench, plan, key_scheme, session_target,
                                        dim, impl=impl, recording=rec, shares=shares))
                cur = len(sessions) - 1
            elif op == "@":
                cur = int(arg)
            elif op == "r":
                last[cur] = sessions[cur].reset(_seed_arg(arg))
                since[cur] = [_seed_arg(arg), 0]
            elif op == "s":
                last[cur] = sessions[cur].step(table[int(arg)])
                since[cur][1] += 1
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
                properties._same(sessions[a], sessions[b], last[a], last[b], when)
            elif op == "e":
                properties.step_after_end(sessions[cur], target or "KMW-ATT-5", table[int(arg)])
            elif op == "d":
                seed_text, _, _n = arg.partition(",")
                properties.check_draws(sessions[cur], _seed_arg(seed_text))
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
    from conformance.engine.scripted import rotated_copy

    candidate, make, _, table = _setup(impl, benchmark, actions, single_task)
    benches: list[Any] = []
    cands: list[Any] = []
    pair: tuple[int, int] | None = None
    cur = -1
    for n, (op, arg) in enumerate(parse(calls)):
        if stop is not None and n >= stop:
            break
        if op == "+":
            bench = rotated_copy(benches[0]) if arg == "r" and benches else make(arg)
            benches.append(bench)
            cands.append(candidate(bench, split, k, max_episode_length=max_episode_length))
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
