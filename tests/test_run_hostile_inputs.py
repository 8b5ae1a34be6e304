"""Hostile inputs to ``kmw run``, ``kmw.evaluate`` and ``kmw aggregate``: one row per bad input,
with the exact outcome it must produce (exit code and a substring of the one-line error, or an
exception type and a message substring). Each row failed before the change that handles it
(issue 18 item 12, items 7/9 for ``kmw run``'s output paths, issue 19's ``kmw aggregate``).

Same table style as tests/test_hostile_inputs.py (which covers the plugin, the wrapper and the
rest of ``kmw run``).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import kmw
from kmw import _files
from kmw.cli import main

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Case:
    """One bad input and the outcome it must produce.

    ``where``: ``"run"`` (``args`` after ``kmw run``, with ``--json out.json`` added unless
    given), ``"aggregate"`` (``args`` after ``kmw aggregate``; the run files of ``runs`` are
    written first), or ``"evaluate"`` (``kwargs`` to ``kmw.evaluate``, which raises ``exc``).
    ``setup`` makes a special file first (``fifo``, ``socket``, ``loop``: at ``out.json``,
    ``loop-plot``: at ``out.png``). ``table``: the run finishes (its table printed) before the
    error; ``writes``: the run succeeds (exit ``code`` 0) and writes this file, relative to
    where it started.
    """

    id: str
    where: str
    message: str
    args: tuple[str, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    code: int = 2
    exc: type[BaseException] | None = None
    setup: str | None = None
    table: bool = False
    writes: str | None = None
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)


POLICIES = """
import os
import numpy as np

def strings(obs): return ["0.1"] * 4

class BadArray:
    def __array__(self, *args, **kwargs): raise RuntimeError("no array today")

def bad_array(obs): return BadArray()

class StringAgent:
    def eval_action(self, observations): return [["0.1"] * 4] * len(observations)
    def reset(self, env_mask): pass

class BadArrayAgent(StringAgent):
    def eval_action(self, observations): return BadArray()

def wanders(obs):
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), "elsewhere"))
    return np.zeros(4)
"""


def _run(**over: Any) -> dict[str, Any]:
    """A ``kmw run --json`` file's content (format 2) for ``kmw aggregate``: ML10's test split
    with 2 classes shown, k = 2, one trial per class unless ``trials`` is given."""
    k = over.pop("k", 2)
    classes = over.pop("classes", ["a-v3", "b-v3"])
    trials = over.pop("trials", [{"task": c, "successes": [0.0] * k, "returns": [1.0] * k} for c in classes])
    return {
        "format": "kmw-run",
        "format_version": 2,
        "benchmark": "ml10",
        "split": "test",
        "classes": classes,
        "k": k,
        "max_episode_length": 500,
        "contract_version": 2,
        "policy": "p",
        "trials": len(trials),
        "trial_results": trials,
        **over,
    }


TWO = {"a.json": _run(), "b.json": _run()}


def _run_case(id: str, args: tuple[str, ...], message: str, **kw: Any) -> Case:
    return Case(id, "run", message, args=args, **kw)


def _agg(id: str, args: tuple[str, ...], message: str, runs: dict[str, Any] | None = None) -> Case:
    return Case(id, "aggregate", message, args=args, runs=TWO if runs is None else runs)


def _eval(id: str, message: str, **kwargs: Any) -> Case:
    return Case(id, "evaluate", message, kwargs=kwargs, exc=ValueError)


CASES = [
    # -- kmw run: where the output goes, and what it may be
    _run_case("policy-changes-directory", ("--policy", "hostile_run.wanders"), "", code=0, writes="out.json"),
    _run_case("json-and-plot-same-file", ("--json", "x.png", "--plot", "x.png"), "are the same file"),
    _run_case(
        "json-and-plot-same-file-by-link",
        ("--json", "x.png", "--plot", "sub/../y.png"),
        "are the same file",
        setup="link-y",
    ),
    _run_case(
        # refused before the run (checked up front: no process has it open for reading)
        "json-fifo-without-reader", (), "is a FIFO that no process reads", setup="fifo"
    ),
    _run_case("json-unix-socket", (), "out.json: is a UNIX socket, expected a file path", setup="socket"),
    _run_case("json-symlink-loop", (), "out.json: is a symlink loop", setup="loop"),
    _run_case("plot-symlink-loop", ("--plot", "out.png"), "out.png: is a symlink loop", setup="loop-plot"),
    # -- kmw run: what a policy returns
    _run_case(
        "action-strings", ("--policy", "hostile_run.strings"), "(array dtype <U3), expected real numbers"
    ),
    _run_case(
        "action-array-raises",
        ("--policy", "hostile_run.bad_array"),
        "returned a BadArray whose conversion to an array raised RuntimeError: no array today",
    ),
    _run_case(
        "agent-actions-strings",
        ("--policy", "hostile_run:StringAgent"),
        "from eval_action (array dtype <U3), expected real numbers",
    ),
    _run_case(
        "agent-array-raises",
        ("--policy", "hostile_run:BadArrayAgent"),
        "from eval_action whose conversion to an array raised RuntimeError",
    ),
    # -- kmw run: stratified trials
    _run_case("per-class-and-trials", ("--per-class", "2", "--trials", "3"), "not allowed with argument"),
    _run_case("per-class-zero", ("--per-class", "0"), "expected an integer >= 1, got 0"),
    # -- kmw.evaluate: one seed rule, kmw run's
    _eval("seed-negative", "seed must be None or an integer in [0, 2**31 - 1), got -1", seed=-1),
    _eval("seed-float", "seed must be None or an integer in [0, 2**31 - 1), got 1.5", seed=1.5),
    _eval("seed-string", "seed must be None or an integer in [0, 2**31 - 1), got '0'", seed="0"),
    _eval("seed-bool", "seed must be None or an integer in [0, 2**31 - 1), got True", seed=True),
    _eval(
        "seed-huge", "seed must be None or an integer in [0, 2**31 - 1), got 18446744073709551616", seed=2**64
    ),
    _eval("seed-at-kmw-runs-limit", "got 2147483647", seed=2**31 - 1),
    _eval(
        "benchmark-seed-past-kmw-runs-limit",
        "benchmark_seed must be None or an integer in [0, 2**31 - 1)",
        benchmark_seed=2**31,
    ),
    _eval("evaluate-per-class-and-trials", "give trials or per_class, not both", per_class=1, trials=2),
    _eval("per-class-bool", "per_class must be an integer >= 1, got True", per_class=True),
    # -- kmw aggregate: files that are not runs
    _agg("aggregate-missing-file", ("a.json", "nope.json"), "nope.json: no such file"),
    _agg("aggregate-directory", ("a.json", "."), ".: is a directory"),
    _agg(
        "aggregate-not-json",
        ("a.json", "bad.json"),
        "bad.json: not JSON (line 1, column 1",
        runs={**TWO, "bad.json": "not json"},
    ),
    _agg(
        "aggregate-not-utf8",
        ("a.json", "bin.json"),
        "bin.json: not UTF-8 text",
        runs={**TWO, "bin.json": b"\xff\xfe{"},
    ),
    _agg(
        "aggregate-json-array",
        ("a.json", "arr.json"),
        "arr.json: expected a JSON object",
        runs={**TWO, "arr.json": [1, 2]},
    ),
    _agg(
        "aggregate-no-trials",
        ("a.json", "c.json"),
        "'trial_results' must be a non-empty list",
        runs={**TWO, "c.json": _run(trials=[])},
    ),
    _agg(
        "aggregate-wrong-length",
        ("a.json", "c.json"),
        "c.json: trial_results[0]: 'successes' must be a list of 2 numbers (k = 2)",
        runs={**TWO, "c.json": _run(trials=[{"task": "a-v3", "successes": [1.0], "returns": [1.0, 2.0]}])},
    ),
    _agg(
        "aggregate-success-not-0-or-1",
        ("a.json", "c.json"),
        "'successes' must be 0 or 1, got [0.5, 1.0]",
        runs={
            **TWO,
            "c.json": _run(trials=[{"task": "a-v3", "successes": [0.5, 1.0], "returns": [1.0, 2.0]}]),
        },
    ),
    _agg("aggregate-one-run", ("a.json",), "aggregating needs at least 2 runs (got 1)"),
    _agg(
        "aggregate-vs-one-run",
        ("a.json", "b.json", "--vs", "b.json"),
        "--vs: aggregating needs at least 2 runs",
    ),
    _agg(
        "aggregate-other-benchmark",
        ("a.json", "c.json"),
        "c.json has benchmark ml45 but a.json has ml10",
        runs={**TWO, "c.json": _run(benchmark="ml45")},
    ),
    _agg(
        "aggregate-other-split",
        ("a.json", "c.json"),
        "c.json has split train but a.json has test",
        runs={**TWO, "c.json": _run(split="train")},
    ),
    _agg(
        "aggregate-other-k",
        ("a.json", "c.json"),
        "c.json has k 3 but a.json has 2",
        runs={**TWO, "c.json": _run(k=3)},
    ),
    _agg(
        "aggregate-other-length",
        ("a.json", "c.json"),
        "has max_episode_length 200 but a.json has 500",
        runs={**TWO, "c.json": _run(max_episode_length=200)},
    ),
    _agg(
        "aggregate-other-contract",
        ("a.json", "c.json"),
        "c.json has contract_version 1 but a.json has 2",
        runs={**TWO, "c.json": _run(contract_version=1)},
    ),
    _agg(
        "aggregate-unrecorded-contract",
        ("a.json", "c.json"),
        "c.json has contract_version not recorded but a.json has 2",
        runs={**TWO, "c.json": {k: v for k, v in _run().items() if k != "contract_version"}},
    ),
    _agg(
        "aggregate-a-class-without-trials",
        ("a.json", "c.json"),
        "c.json has no trial of 1 of the 2 classes (b-v3): every run needs every class",
        runs={
            **TWO,
            "c.json": _run(trials=[{"task": "a-v3", "successes": [0.0, 1.0], "returns": [1.0, 2.0]}]),
        },
    ),
    _agg(
        "aggregate-vs-other-split",
        ("a.json", "b.json", "--vs", "c.json", "d.json"),
        "--vs: c.json has split train but a.json has test",
        runs={**TWO, "c.json": _run(split="train"), "d.json": _run(split="train")},
    ),
    _agg("aggregate-few-reps", ("a.json", "b.json", "--reps", "50"), "--reps 50: expected at least 100"),
    _agg(
        "aggregate-plot-suffix",
        ("a.json", "b.json", "--plot", "a.jpg"),
        "expected a file name ending in .png",
    ),
]


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``tmp_path`` as the working directory, with ``hostile_run`` importable from it."""
    (tmp_path / "hostile_run.py").write_text(POLICIES)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(_files, "FIFO_WAIT", 0.3, raising=False)
    yield tmp_path
    sys.modules.pop("hostile_run", None)


def _setup(root: Path, what: str | None) -> list[Any]:
    """Make the case's special file; return what must stay open during the run."""
    keep: list[Any] = []
    if what == "fifo":
        os.mkfifo(root / "out.json")
    elif what == "socket":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(str(root / "out.json"))
        keep.append(sock)
    elif what == "loop":
        (root / "out.json").symlink_to("out.json")
    elif what == "loop-plot":
        (root / "out.png").symlink_to("out.png")
    elif what == "link-y":
        (root / "sub").mkdir()
        (root / "y.png").symlink_to("x.png")
    return keep


def _main_within(argv: list[str], root: Path, seconds: float = 120.0) -> int | str:
    """``main(argv)`` in a thread; ``"hung"`` if it has not returned after ``seconds`` (then
    every FIFO in ``root`` is opened for reading, which lets a blocked writer go on)."""
    out: list[Any] = []

    def target() -> None:
        try:
            out.append(main(argv))
        except BaseException as exc:  # noqa: BLE001 - reported as the outcome
            out.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        for p in root.iterdir():
            if p.is_fifo():
                fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK)
                thread.join(10)
                os.close(fd)
        return "hung"
    if isinstance(out[0], BaseException):
        return f"raised {type(out[0]).__name__}: {out[0]}"
    return out[0]


def _of(where: str) -> list[Any]:
    return [pytest.param(c, id=c.id) for c in CASES if c.where == where]


def test_the_table_has_every_item_and_unique_ids() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)) and len(ids) >= 35


@pytest.mark.parametrize("case", _of("run"))
def test_kmw_run_hostile_input(in_tmp: Path, capsys: pytest.CaptureFixture[str], case: Case) -> None:
    keep = _setup(in_tmp, case.setup)
    try:
        before = sorted(p.name for p in in_tmp.iterdir())
        argv = ["run", "--no-progress", "--k", "1", "--max-episode-length", "5"]
        if "--per-class" not in case.args:
            argv += ["--trials", "1"]
        if "--json" not in case.args:
            argv += ["--json", "out.json"]
        got = _main_within([*argv, *case.args], in_tmp)
    finally:
        for item in keep:
            item.close()
    captured = capsys.readouterr()
    assert got == case.code, (got, captured.err[-2000:])
    assert "Traceback" not in captured.err
    after = sorted(p.name for p in in_tmp.iterdir() if p.name != "__pycache__")
    if case.writes is not None:
        assert json.loads((in_tmp / case.writes).read_text())["trials"] == 1
        assert os.listdir(in_tmp / "elsewhere") == []  # not where the policy moved to
        assert after == sorted([*before, case.writes])
        return
    err_lines = [ln for ln in captured.err.splitlines() if "error:" in ln]
    assert len(err_lines) == 1 and case.message in err_lines[0], captured.err
    assert ("succ@1" in captured.out) is case.table  # stopped before the run unless it had to run
    assert after == before  # neither an output file nor a temp file


@pytest.mark.parametrize("case", _of("evaluate"))
def test_evaluate_hostile_input(case: Case) -> None:
    kwargs = {"k_episodes": 1, "max_episode_length": 2, **case.kwargs}
    if "per_class" not in kwargs:
        kwargs.setdefault("trials", 1)
    assert case.exc is not None
    with pytest.raises(case.exc) as info:
        kmw.evaluate("random", "reach-v3", **kwargs)
    assert case.message in str(info.value)


@pytest.mark.parametrize("case", _of("aggregate"))
def test_kmw_aggregate_hostile_input(in_tmp: Path, capsys: pytest.CaptureFixture[str], case: Case) -> None:
    for name, content in case.runs.items():
        path = in_tmp / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, str):
            path.write_text(content)
        else:
            path.write_text(json.dumps(content))
    before = sorted(p.name for p in in_tmp.iterdir())
    argv = ["aggregate", *case.args]
    if "--reps" not in case.args:
        argv += ["--reps", "200"]
    got = _main_within(argv, in_tmp)
    captured = capsys.readouterr()
    assert got == case.code, (got, captured.err[-2000:])
    err_lines = [ln for ln in captured.err.splitlines() if "error:" in ln]
    assert len(err_lines) == 1 and case.message in err_lines[0], captured.err
    assert err_lines[0].startswith("kmw aggregate: error: ")
    assert "Traceback" not in captured.err and captured.out == ""
    assert sorted(p.name for p in in_tmp.iterdir()) == before
