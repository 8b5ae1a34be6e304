"""A failing example's reproduction: its printed form, its data, and their strict parsing.

What :mod:`conformance.engine.replay` runs again. This module only describes and checks calls
(it imports neither the harness nor the properties, which record and run them).

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
``+r``             the same on a copy of the first candidate's benchmark sharing its env
                   classes, as Meta-World's copies do (``conformance.engine.scripted.second_copy``:
                   a scripted benchmark's tasks run their scripts rotated by one); two
                   candidates called in turn
``+rL<n>``         the same, the candidate built with ``max_episode_length=n``
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

Calls are parsed strictly (:func:`parse`, :func:`check_calls`): unknown tokens, signs, repeat
counts of 0 or above :data:`MAX_CALLS`, more than :data:`MAX_CALLS` calls in all, brackets
nested deeper than :data:`MAX_DEPTH`, seeds above :data:`MAX_SEED`, and calls on candidates or
actions that do not exist are a ``ValueError`` with one line, raised before anything is imported.

The same reproduction is also kept as data (:class:`Reproduction`, :meth:`Reproduction.to_json`:
the candidate's dotted path, the key scheme, the benchmark, the constructor arguments, the
calls and the actions), which the JSON report stores per failing verdict.
``python -m conformance.replay REPORT.json KMW-ID`` (:mod:`conformance.replay`) validates it
(:meth:`Reproduction.from_json`) and prints the reproduction made from it; ``--run`` replays it
by calling :func:`replay`, importing only the candidate (and a key scheme named by a dotted
path), never running text from the report.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from conformance.engine.keys import BUILTIN_SCHEMES, scheme_source
from conformance.engine.scripted import (
    API_CHOICES,
    AttemptScript,
    BenchmarkSpec,
    ClassSpec,
    ScriptedBenchmark,
    TaskSpec,
)

#: Longest period of a repeated group of calls the printed form folds (``(s0 s1 s2)*n``).
MAX_PERIOD = 8
#: Most calls a ``calls`` string may make, repeats expanded (``d<seed>,<n>`` counts ``n``).
MAX_CALLS = 1_000_000
#: Deepest nesting of brackets in ``calls`` (the printed form nests none).
MAX_DEPTH = 8
#: Largest seed of a ``reset(seed=...)`` call (the suite's are below 2**17).
MAX_SEED = 2**63 - 1
#: Most distinct actions, and most entries of one action, a reproduction may hold.
MAX_ACTIONS, MAX_ACTION_SIZE = 10_000, 64
#: Longest ``calls`` string a reproduction stored as data may hold.
MAX_CALLS_TEXT = 2_000_000
#: The version of :meth:`Reproduction.to_json`'s format.
FORMAT = 1
#: Benchmarks the scripted spec cannot describe: ``id -> (benchmark, source)``.
_SOURCES: dict[int, tuple[Any, tuple[str, bool]]] = {}


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


def action_record(action: Any) -> tuple[str, tuple[int, ...], bytes]:
    """An action as a recording keeps it: its dtype, shape and bytes (``encode`` reads it)."""
    arr = np.asarray(action)
    return (arr.dtype.str, arr.shape, arr.tobytes())


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
            # "rotated" (the second of two candidates), or "rotated:L" (with its own L)
            kind, _, length = str(arg).partition(":")
            tokens.append(("+r" + (f"L{length}" if length else "")) if kind == "rotated" else "+")
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


_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
#: A dotted path as ``--kmw-impl`` and ``--kmw-keys`` take it: ``pkg.mod.Attr`` or ``pkg.mod:Attr``.
_DOTTED = re.compile(rf"{_IDENT}(?:\.{_IDENT})*(?::{_IDENT}(?:\.{_IDENT})*)?")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
_REQ_ID = re.compile(r"KMW-[A-Z0-9]{1,10}-[0-9]{1,4}")
_LIMIT = 1_000_000  # steps, limits and lengths in a scripted benchmark and a trial


@dataclass(frozen=True)
class Reproduction:
    """One failing example as data: what :func:`replay` needs to make its calls again.

    ``impl`` is the candidate's dotted path and ``keys`` the ``--kmw-keys`` value (``kmw``,
    ``amago`` or a dotted path); ``benchmark`` a :class:`BenchmarkSpec` or ``(Meta-World name,
    single_task)``; ``calls`` the folded call string; ``actions`` the table ``s<i>`` indexes.
    :meth:`to_json` and :meth:`from_json` convert it to and from plain JSON data (the report's
    ``reproduction`` objects); :meth:`source` is the Python shown under ``reproduce with:``.
    """

    impl: str
    keys: str
    benchmark: BenchmarkSpec | tuple[str, bool]
    split: str
    k: int
    max_episode_length: int
    reward_scales: Mapping[str, float]
    calls: str
    actions: tuple[tuple[float, ...], ...]
    target: str | None

    @classmethod
    def of(cls, recording: Any, target: str | None) -> Reproduction:
        """The reproduction of ``recording`` (a :class:`~conformance.engine.harness.Recording`)
        failing ``target``; ``ValueError`` if its benchmark cannot be named."""
        source = benchmark_source(recording.benchmark)
        plan = recording.plan
        tokens, actions = encode(recording.ops)
        keys = scheme_source(recording.scheme) or recording.keys or "kmw"
        return cls(str(recording.impl), keys, source, plan.split, plan.k, plan.max_len,
                   dict(plan.reward_scales or {}), " ".join(_fold(tokens)),
                   tuple(tuple(a) for a in actions), target)

    def imports(self) -> list[tuple[str, str]]:
        """What :func:`replay` imports to run this: ``[("candidate", impl)]``, and
        ``("key scheme", keys)`` when ``keys`` is a dotted path."""
        out = [("candidate", self.impl)]
        if self.keys not in BUILTIN_SCHEMES:
            out.append(("key scheme", self.keys))
        return out

    def source(self) -> str:
        """The reproduction as Python lines (no blank line): rebuild the benchmark, then
        ``replay(...)``; commented, the same calls on the bare candidates (``replay_calls``)."""
        tokens = [op + arg for op, arg in parse(self.calls)]
        if isinstance(self.benchmark, BenchmarkSpec):
            bench_line, single = f"benchmark = {spec_source(self.benchmark)}", False
        else:
            bench_line = ("from kmw.benchmarks import make_benchmark\n"
                          f"benchmark = make_benchmark({self.benchmark[0]!r}, seed=0)")
            single = self.benchmark[1]
        extra = ""
        if self.reward_scales:
            extra += f", reward_scales={dict(self.reward_scales)!r}"
        if single:
            extra += ", single_task=True"
        args = (f"impl, benchmark, {self.split!r}, {self.k}, {self.max_episode_length}, calls, "
                f"actions{extra}")
        cur = next((t[1:] for t in reversed(tokens) if t.startswith("@")),
                   str(sum(t[0] == "+" for t in tokens) - 1))
        pair = next((t[1:].split(",") for t in reversed(tokens) if t.startswith("p")),
                    ["?", "?"])
        last = _last_call(tokens[-1], len(tokens), self.target, cur, pair)
        lines = [
            "import numpy as np",
            "from conformance.engine.replay import replay, replay_calls",
            "from conformance.engine.scripted import *",
            f"impl = {self.impl!r}",
            *bench_line.splitlines(),
            f"actions = {[list(a) for a in self.actions]!r}  # float32",
            f"calls = {self.calls!r}  # {len(tokens)} calls: + builds, rN is reset(seed=N), sA is "
            "step(actions[A]); the rest in conformance.engine.reproduction",
            f"replay({args}, target={self.target!r}, keys={self.keys!r})",
            "# or the calls before the failing one on the bare candidate(s), no model, to continue",
            "# in a debugger:",
            f"#   candidates = replay_calls({args}, stop={len(tokens) - 1})",
            *last.splitlines(),
        ]
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data (:meth:`from_json` reads it back equal)."""
        if isinstance(self.benchmark, BenchmarkSpec):
            bench: dict[str, Any] = {"scripted": _spec_json(self.benchmark)}
        else:
            bench = {"metaworld": self.benchmark[0], "single_task": self.benchmark[1]}
        return {"format": FORMAT, "impl": self.impl, "keys": self.keys, "benchmark": bench,
                "split": self.split, "k": self.k, "max_episode_length": self.max_episode_length,
                "reward_scales": dict(self.reward_scales), "calls": self.calls,
                "actions": [list(a) for a in self.actions], "target": self.target}

    @classmethod
    def from_json(cls, data: Any) -> Reproduction:
        """Validate ``data`` (as :meth:`to_json` writes it) field by field, types, sizes and
        ranges, and the calls as :func:`replay` would run them; ``ValueError`` with one line
        naming the first bad field. Imports nothing and runs no code of the data."""
        d = _fields(data, "reproduction", ("format", "impl", "keys", "benchmark", "split", "k",
                                           "max_episode_length", "reward_scales", "calls",
                                           "actions", "target"))
        if d["format"] != FORMAT or type(d["format"]) is not int:
            raise ValueError(f"reproduction.format: {_show(d['format'])} is not a format this "
                             f"kmw reads (it reads {FORMAT})")
        impl = _text(d["impl"], "reproduction.impl", _DOTTED, "a dotted path pkg.mod.Attr")
        if "." not in impl and ":" not in impl:
            raise ValueError(f"reproduction.impl: expected a dotted path pkg.mod.Attr, got "
                             f"{_show(impl)}")
        keys = d["keys"]
        if keys not in BUILTIN_SCHEMES:
            keys = _text(keys, "reproduction.keys", _DOTTED,
                         f"{' or '.join(BUILTIN_SCHEMES)} or a dotted path")
            if "." not in keys and ":" not in keys:
                raise ValueError(f"reproduction.keys: expected {' or '.join(BUILTIN_SCHEMES)} "
                                 f"or a dotted path, got {_show(keys)}")
        bench = _benchmark_json(d["benchmark"], "reproduction.benchmark")
        split = _choice(d["split"], "reproduction.split", ("train", "test"))
        k = _int(d["k"], "reproduction.k", 1, 10_000)
        length = _int(d["max_episode_length"], "reproduction.max_episode_length", 1, _LIMIT)
        scales_in = _mapping(d["reward_scales"], "reproduction.reward_scales", 256)
        scales = {_text(name, "reproduction.reward_scales", _NAME, "a class name"):
                  _number(value, f"reproduction.reward_scales[{name!r}]")
                  for name, value in scales_in.items()}
        calls = d["calls"]
        if not isinstance(calls, str) or len(calls) > MAX_CALLS_TEXT:
            raise ValueError(f"reproduction.calls: expected a string of at most "
                             f"{MAX_CALLS_TEXT} characters, got {_show(calls)}")
        actions = tuple(tuple(_number(x, f"reproduction.actions[{i}]") for x in
                              _sequence(a, f"reproduction.actions[{i}]", MAX_ACTION_SIZE, 1))
                        for i, a in enumerate(_sequence(d["actions"], "reproduction.actions",
                                                        MAX_ACTIONS)))
        checked_calls(calls, actions)
        target = d["target"]
        if target is not None:
            target = _text(target, "reproduction.target", _REQ_ID, "a requirement ID")
        return cls(impl, keys, bench, split, k, length, scales, calls, actions, target)


def snippet(recording: Any, target: str | None) -> str:
    """The reproduction of ``recording`` failing ``target``: Python lines, no blank line."""
    return Reproduction.of(recording, target).source()


# -- the data form's checks -------------------------------------------------------------------


def _show(value: Any) -> str:
    """``value`` for a one-line message: short, and never the whole of a big container."""
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value)} items"
    if isinstance(value, dict):
        return f"an object of {len(value)} fields"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _fields(data: Any, where: str, names: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected an object, got {_show(data)}")
    missing = [n for n in names if n not in data]
    if missing:
        raise ValueError(f"{where}: lacks {', '.join(missing)}")
    extra = sorted(str(n) for n in data if n not in names)
    if extra:
        raise ValueError(f"{where}: unknown field {_show(extra[0])}")
    return data


def _int(value: Any, where: str, lo: int, hi: int) -> int:
    if type(value) is not int or not lo <= value <= hi:
        raise ValueError(f"{where}: expected an integer from {lo} to {hi}, got {_show(value)}")
    return value


def _number(value: Any, where: str) -> float:
    if type(value) not in (int, float) or not math.isfinite(value):
        raise ValueError(f"{where}: expected a finite number, got {_show(value)}")
    return float(value)


def _text(value: Any, where: str, pattern: re.Pattern[str], what: str) -> str:
    if not isinstance(value, str) or len(value) > 500 or not pattern.fullmatch(value):
        raise ValueError(f"{where}: expected {what}, got {_show(value)}")
    return value


def _choice(value: Any, where: str, choices: tuple[str, ...]) -> str:
    if value not in choices or not isinstance(value, str):
        raise ValueError(f"{where}: expected one of {', '.join(choices)}, got {_show(value)}")
    return value


def _sequence(value: Any, where: str, most: int, least: int = 0) -> list[Any]:
    if not isinstance(value, list) or not least <= len(value) <= most:
        raise ValueError(f"{where}: expected a list of {least} to {most} items, got "
                         f"{_show(value)}")
    return value


def _mapping(value: Any, where: str, most: int) -> dict[str, Any]:
    if not isinstance(value, dict) or len(value) > most:
        raise ValueError(f"{where}: expected an object of at most {most} fields, got "
                         f"{_show(value)}")
    return value


def _spec_json(spec: BenchmarkSpec) -> dict[str, Any]:
    def classes(cs: tuple[ClassSpec, ...]) -> list[dict[str, Any]]:
        return [{"name": c.name, "max_path_length": c.max_path_length} for c in cs]

    def tasks(ts: tuple[TaskSpec, ...]) -> list[dict[str, Any]]:
        return [{"env_name": t.env_name, "uid": t.uid, "split": t.split,
                 "scripts": [{"success_steps": sorted(s.success_steps), "end_at": s.end_at,
                              "end_kind": s.end_kind} for s in t.scripts]} for t in ts]

    return {"api": spec.api, "train_classes": classes(spec.train_classes),
            "test_classes": classes(spec.test_classes), "train_tasks": tasks(spec.train_tasks),
            "test_tasks": tasks(spec.test_tasks)}


def _benchmark_json(data: Any, where: str) -> BenchmarkSpec | tuple[str, bool]:
    if isinstance(data, dict) and "metaworld" in data:
        d = _fields(data, where, ("metaworld", "single_task"))
        name = _text(d["metaworld"], f"{where}.metaworld", _NAME, "a Meta-World benchmark name")
        if type(d["single_task"]) is not bool:
            raise ValueError(f"{where}.single_task: expected true or false, got "
                             f"{_show(d['single_task'])}")
        return name, d["single_task"]
    d = _fields(data, where, ("scripted",))
    where += ".scripted"
    s = _fields(d["scripted"], where, ("api", "train_classes", "test_classes", "train_tasks",
                                       "test_tasks"))

    def classes(split: str) -> tuple[ClassSpec, ...]:
        out = []
        for i, c in enumerate(_sequence(s[f"{split}_classes"], f"{where}.{split}_classes", 64)):
            at = f"{where}.{split}_classes[{i}]"
            c = _fields(c, at, ("name", "max_path_length"))
            out.append(ClassSpec(_text(c["name"], f"{at}.name", _NAME, "a class name"),
                                 _int(c["max_path_length"], f"{at}.max_path_length", 1, _LIMIT)))
        return tuple(out)

    def tasks(split: str) -> tuple[TaskSpec, ...]:
        out = []
        for i, t in enumerate(_sequence(s[f"{split}_tasks"], f"{where}.{split}_tasks", 4096)):
            at = f"{where}.{split}_tasks[{i}]"
            t = _fields(t, at, ("env_name", "uid", "split", "scripts"))
            scripts = []
            for j, sc in enumerate(_sequence(t["scripts"], f"{at}.scripts", 256, 1)):
                sat = f"{at}.scripts[{j}]"
                sc = _fields(sc, sat, ("success_steps", "end_at", "end_kind"))
                steps = frozenset(_int(x, f"{sat}.success_steps", 1, _LIMIT) for x in
                                  _sequence(sc["success_steps"], f"{sat}.success_steps", 10_000))
                end_at = None if sc["end_at"] is None else \
                    _int(sc["end_at"], f"{sat}.end_at", 1, _LIMIT)
                kind = _choice(sc["end_kind"], f"{sat}.end_kind", ("terminated", "truncated"))
                scripts.append(AttemptScript(steps, end_at, kind))
            out.append(TaskSpec(_text(t["env_name"], f"{at}.env_name", _NAME, "a class name"),
                                _int(t["uid"], f"{at}.uid", 0, 2**31 - 1),
                                _choice(t["split"], f"{at}.split", (split,)), tuple(scripts)))
        return tuple(out)

    return BenchmarkSpec(classes("train"), classes("test"), tasks("train"), tasks("test"),
                         _choice(s["api"], f"{where}.api", API_CHOICES))


# -- replaying --------------------------------------------------------------------------------

_TOKEN = re.compile(r"\(|\)(?:\*[0-9]{1,19})?|[^\s()]+")
_CALL = re.compile(r"(\+(?:rL[1-9][0-9]{0,8}|r)?|@[0-9]{1,19}|[rR][0-9]{0,19}|[sxeS][0-9]{1,19}"
                   r"|[p=][0-9]{1,19},[0-9]{1,19}|d[0-9]{0,19},[0-9]{1,19}|z)(?:\*([0-9]{1,19}))?")


def _times(text: str, where: str) -> int:
    n = int(text) if text else 1
    if not 1 <= n <= MAX_CALLS:
        raise ValueError(f"calls: {where}: a repeat count must be from 1 to {MAX_CALLS}")
    return n


def parse(calls: str) -> list[tuple[str, str]]:
    """``calls`` (see the module docstring) as a flat list of ``(op, argument text)``, repeats
    expanded. ``ValueError`` with one line for an unknown or malformed call (``r-1``,
    ``s``), an unbalanced or empty bracket, nesting deeper than :data:`MAX_DEPTH`, a repeat
    count of 0 or above :data:`MAX_CALLS`, or more than :data:`MAX_CALLS` calls in all; the
    expansion is counted before it is made."""
    if not isinstance(calls, str):
        raise ValueError(f"calls must be a str, got {type(calls).__name__}")
    stack: list[list[tuple[str, str]]] = [[]]
    counts = [0]  # calls in each open bracket, a d<seed>,<n> call counting n
    for tok in _TOKEN.findall(calls):
        shown = _show(tok)
        if tok == "(":
            if len(stack) > MAX_DEPTH:
                raise ValueError(f"calls: brackets nested deeper than {MAX_DEPTH}")
            stack.append([])
            counts.append(0)
            continue
        if tok.startswith(")"):
            if len(stack) == 1:
                raise ValueError("calls: unbalanced ')'")
            group, count = stack.pop(), counts.pop()
            if not group:
                raise ValueError("calls: an empty bracket '()'")
            times, added = _times(tok[2:], shown), count
        else:
            m = _CALL.fullmatch(tok)
            if m is None:
                raise ValueError(f"calls: unknown call {shown} (calls are +, +r, +rLN, @N, r, rN, sN, "
                                 "xN, eN, pN,N, R, RN, SN, =N,N, dN,N, z and (...)*N; N an "
                                 "integer >= 0)")
            call = m.group(1)
            group = [(call[0], call[1:])]
            times = _times(m.group(2) or "", shown)
            added = int(call.partition(",")[2]) if call[0] == "d" else 1
        counts[-1] += added * times
        if counts[-1] > MAX_CALLS:
            raise ValueError(f"calls: more than {MAX_CALLS} calls")
        stack[-1].extend(group * times)
    if len(stack) != 1:
        raise ValueError("calls: unbalanced '('")
    return stack[0]


def check_calls(ops: list[tuple[str, str]], n_actions: int) -> None:
    """``ValueError`` (one line) unless :func:`replay` can make ``ops`` (from :func:`parse`)
    with ``n_actions`` actions: every call after a ``+`` builds a candidate, candidates and
    actions named exist, ``R``/``S`` follow a ``p``, ``=a,b`` compares two called candidates,
    and seeds are at most :data:`MAX_SEED`."""
    if not ops:
        raise ValueError("calls: no call")
    built, cur, paired = 0, -1, False
    called: set[int] = set()
    for n, (op, arg) in enumerate(ops, 1):
        if op == "+":
            built += 1
            cur = built - 1
            continue
        nums = [int(x) for x in arg.split(",") if x]

        def bad(why: str) -> ValueError:
            return ValueError(f"calls: call {n} {_show(op + arg)}: {why}")  # noqa: B023

        seed = arg.partition(",")[0] if op in "rRd" else ""
        if seed and int(seed) > MAX_SEED:
            raise bad(f"a seed must be at most {MAX_SEED}")
        if op in "@p=" and any(i >= built for i in nums):
            raise bad(f"no candidate {max(nums)} ({built} built before it)")
        if op in "RS" and not paired:
            raise bad("before a p call pairs two candidates")
        if op not in "RS" and cur < 0:
            raise bad("before a + call builds a candidate")
        if op in "sxeS" and nums[0] >= n_actions:
            raise bad(f"no action {nums[0]} ({n_actions} actions)")
        if op == "@":
            cur = nums[0]
        elif op == "p":
            if nums[0] == nums[1]:
                raise bad("pairs a candidate with itself")
            paired = True
        elif op == "=" and not set(nums) <= called:
            raise bad("compares a candidate before it was reset or stepped")
        elif op in "rs":
            called.add(cur)


def checked_calls(calls: str, actions: Any) -> tuple[list[tuple[str, str]], list[np.ndarray]]:
    """``calls`` parsed (:func:`parse`) and ``actions`` as float32 arrays (:func:`action_table`),
    checked together (:func:`check_calls`): ``ValueError`` with one line."""
    ops = parse(calls)
    table = action_table(actions)
    check_calls(ops, len(table))
    return ops, table


def action_table(actions: Any) -> list[np.ndarray]:
    """``actions`` as float32 arrays; ``ValueError`` (one line) unless it is a sequence of at
    most :data:`MAX_ACTIONS` flat, finite actions of 1 to :data:`MAX_ACTION_SIZE` entries."""
    if isinstance(actions, (str, bytes)) or not hasattr(actions, "__len__") \
            or len(actions) > MAX_ACTIONS:
        raise ValueError(f"actions must be a list of at most {MAX_ACTIONS} actions")
    table = []
    for i, a in enumerate(actions):
        try:
            arr = np.asarray(a, dtype=np.float32)
        except (TypeError, ValueError, OverflowError):
            arr = None
        if arr is None or arr.ndim != 1 or not 1 <= arr.size <= MAX_ACTION_SIZE \
                or not np.isfinite(arr).all():
            raise ValueError(f"actions[{i}] must be a flat list of 1 to {MAX_ACTION_SIZE} "
                             "finite float32 numbers")
        table.append(arr)
    return table
