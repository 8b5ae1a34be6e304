"""Hostile inputs: every bad input across the plugin, ``kmw run`` and the wrapper, with the exact
outcome it must produce (exit code and a substring of the one-line error, or an exception type
and a message substring). Also the shared output writer (``kmw._files``) on symlinks, FIFOs and
device nodes (and FIFOs, sockets or symlink loops where a file is expected), Ctrl-C of a
multi-process ``kmw run``, and correct candidates that are hostile to the run checking them
(``tests/hostile_candidates.py``: large infos, output, warnings, a huge exception text, a
leftover thread), each in a subprocess with a bounded time.

The cache's hostile inputs are left to its owner's tests (tests/test_cache.py).
"""

from __future__ import annotations

import json
import os
import re
import socket
import stat
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

# Imported here, not first inside a pytester in-process run: pytester restores sys.modules after
# each run, so hypothesis (which the plugin imports with --kmw-impl) would be re-imported by every
# case (about 2 s each) instead of once.
import conformance.front.profiles  # noqa: F401
from kmw._files import OutputPathError, check_writable, write_json, write_text_atomic

pytest_plugins = "pytester"

HERE = Path(__file__).resolve().parent
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


# --------------------------------------------------------------------------- the shared writer


def test_writer_replaces_a_regular_file_atomically(tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    target.write_text("old")
    os.chmod(target, 0o640)
    write_json(target, {"a": 1})
    assert json.loads(target.read_text()) == {"a": 1}
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # the file's mode is kept
    assert sorted(os.listdir(tmp_path)) == ["r.json"]  # no temp file left


def test_writer_writes_through_a_symlink(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    real = tmp_path / "real" / "r.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    assert write_text_atomic(link, "new\n") == real
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == "new\n"
    # A dangling link: its target is created, the link stays.
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(tmp_path / "real" / "later.json")
    write_text_atomic(dangling, "x")
    assert dangling.is_symlink() and (tmp_path / "real" / "later.json").read_text() == "x"
    assert sorted(os.listdir(tmp_path / "real")) == ["later.json", "r.json"]


def test_writer_writes_into_a_fifo_without_replacing_it(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[str] = []

    def read() -> None:
        with open(fifo, encoding="utf-8") as f:
            got.append(f.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    write_json(fifo, {"a": 1})
    reader.join(timeout=10)
    assert got and json.loads(got[0]) == {"a": 1}
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sorted(os.listdir(tmp_path)) == ["pipe"]


@pytest.mark.skipif(not IS_ROOT, reason="creating a device node needs root")
def test_writer_writes_into_a_device_node_without_replacing_it(tmp_path: Path) -> None:
    dev = tmp_path / "null"  # a private /dev/null (major 1, minor 3), never the system's
    os.mknod(dev, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    write_json(dev, {"a": 1})
    st = os.lstat(dev)
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)
    assert sorted(os.listdir(tmp_path)) == ["null"]
    check_writable(dev)  # a writable device is a fine output path


def test_writer_refuses_a_directory(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError):
        write_text_atomic(tmp_path, "x")
    with pytest.raises(OutputPathError, match="is a directory"):
        check_writable(tmp_path)


def test_check_writable(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(OutputPathError, match="does not exist"):
        check_writable(tmp_path / "nope" / "r.json")
    check_writable(tmp_path / "nope" / "deeper" / "r.json", create_parents=True)
    with pytest.raises(OutputPathError, match="is not a directory"):
        check_writable(tmp_path / "file" / "r.json")
    with pytest.raises(OutputPathError, match="is not a directory"):
        check_writable(tmp_path / "file" / "sub" / "r.json", create_parents=True)
    link = tmp_path / "to-dir"
    link.symlink_to(tmp_path / "nope-dir")
    (tmp_path / "nope-dir").mkdir()
    with pytest.raises(OutputPathError, match="is a directory"):
        check_writable(link)
    assert check_writable(tmp_path / "r.json") == tmp_path / "r.json"


@pytest.mark.skipif(IS_ROOT, reason="root may write into any directory")
def test_check_writable_read_only_directory(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(OutputPathError, match="is not writable"):
            check_writable(ro / "r.json")
    finally:
        ro.chmod(0o700)


# --------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class Case:
    """One bad input and the outcome it must produce.

    ``where``: ``"plugin"`` (``args`` are pytest's arguments; exit ``code``, one ``ERROR:``
    line containing ``message``), ``"cli"`` (``args`` after ``kmw run``; exit ``code`` and
    ``message`` on stderr, no output file), ``"replay"`` (``args`` after ``python -m
    conformance.replay``; exit ``code``, one line on stderr containing ``message``, and the
    report's candidate never imported) or ``"wrapper"`` (``args[0]`` names a builder in
    ``WRAPPER_CALLS``; it raises ``exc`` with ``message`` in its text). ``files`` are written
    into the test's directory first (``bytes`` as is; :data:`FIFO`, :data:`SOCKET` and
    :data:`LOOP` make a FIFO, a UNIX socket, a symlink to itself); ``root``: True = only as root,
    False = only as another user. ``subprocess``: run as a subprocess with a time limit (the
    input made the run hang before it was refused).
    """

    id: str
    where: str
    args: tuple[str, ...]
    message: str
    code: int | None = None
    exc: type[BaseException] | None = None
    files: dict[str, str | bytes] = field(default_factory=dict)
    root: bool | None = None
    subprocess: bool = False


#: ``Case.files`` contents that make special files.
FIFO, SOCKET, LOOP = "<fifo>", "<socket>", "<symlink loop>"
#: Seconds a subprocess case may take (a hang fails the case instead of the test run).
CASE_LIMIT = 300

CANDS = """
class Good:
    def __init__(self, benchmark, split, k_episodes, max_episode_length=500):
        pass

def two_args(a, b):
    pass

NOT_CALLABLE = 3
"""

KEYS = """
from conformance.engine.keys import KMW_KEYS

class Base:
    name = "mine"; prefix = "P"; total_successes = None; success_rate = None
    def success(self, i): return f"P s{i}"
    def ret(self, i): return None
    def is_logging_key(self, k): return k.startswith("P ")

class TotalIsMethod(Base):
    def total_successes(self): return "P total"

class SuccessNotStr(Base):
    def success(self, i): return i

class Raising(Base):
    @property
    def prefix(self): raise RuntimeError("no prefix today")

class NotBool(Base):
    def is_logging_key(self, k): return 1

class OwnKeyNotLogging(Base):
    def is_logging_key(self, k): return False

class SameKey(Base):
    def success(self, i): return "P s"

class RepeatsFromAttempt3(Base):
    def success(self, i): return f"P s{min(i, 3)}"

class AlwaysLogging(Base):
    def is_logging_key(self, k): return True

class ReturnFromAttempt2(Base):
    def ret(self, i): return f"P r{i}" if i >= 2 else None

class SuccessIsEnvKey(Base):
    def success(self, i): return "success" if i == 5 else f"P s{i}"

class RaisesOnEnvKey(Base):
    def is_logging_key(self, k):
        if k == "near_object": raise KeyError(k)
        return k.startswith("P ")

class ChangingKeys(Base):
    calls = 0
    def success(self, i):
        ChangingKeys.calls += 1
        return f"P s{i}/{ChangingKeys.calls}"

total_is_method = TotalIsMethod()
success_not_str = SuccessNotStr()
raising = Raising()
not_bool = NotBool()
own_key = OwnKeyNotLogging()
same_key = SameKey()
repeats_from_3 = RepeatsFromAttempt3()
always_logging = AlwaysLogging()
return_from_2 = ReturnFromAttempt2()
success_is_env_key = SuccessIsEnvKey()
raises_on_env_key = RaisesOnEnvKey()
changing_keys = ChangingKeys()
NOT_A_SCHEME = 3
"""

PLUGIN_FILES: dict[str, str | bytes] = {
    "cands.py": CANDS,
    "mykeys.py": KEYS,
    "broken.py": "raise RuntimeError('boom at import time')\n",
    "exits0.py": "import sys\nsys.exit(0)\n",
    "exits3.py": "import sys\nsys.exit(3)\n",
    "osexits0.py": "import os\nos._exit(0)\n",
    "interrupts.py": "raise KeyboardInterrupt\n",
    "known.txt": "KMW-ATT-1  late\n",
}

IMPL = "--kmw-impl=cands.Good"
USAGE = 4  # pytest.ExitCode.USAGE_ERROR


def _plugin(id: str, args: tuple[str, ...], message: str, **kw) -> Case:
    return Case(id, "plugin", args, message, code=USAGE, **kw)


def _cli(id: str, args: tuple[str, ...], message: str, code: int = 2, **kw) -> Case:
    return Case(id, "cli", args, message, code=code, **kw)


def _wrapper(id: str, call: str, exc: type[BaseException], message: str) -> Case:
    return Case(id, "wrapper", (call,), message, exc=exc)


#: A candidate that leaves a file ``imported`` behind when its module is imported: the replay
#: rows check that no bad report gets that far.
REPLAY_CANDIDATE = """
import pathlib
pathlib.Path("imported").write_text("the report's candidate was imported")
from kmw import KEpisodeMetaworld as Wrapper
"""

#: A valid reproduction (data) of a scripted example; the replay rows change one field.
REPRODUCTION = {
    "format": 1, "impl": "replay_cand.Wrapper", "keys": "kmw",
    "benchmark": {"scripted": {
        "api": "gymnasium",
        "train_classes": [{"name": "reach-v3", "max_path_length": 500}],
        "test_classes": [{"name": "push-v3", "max_path_length": 500}],
        "train_tasks": [{"env_name": "reach-v3", "uid": 1, "split": "train", "scripts": [
            {"success_steps": [], "end_at": None, "end_kind": "terminated"}]}],
        "test_tasks": [{"env_name": "push-v3", "uid": 2, "split": "test", "scripts": [
            {"success_steps": [], "end_at": None, "end_kind": "terminated"}]}]}},
    "split": "test", "k": 2, "max_episode_length": 3, "reward_scales": {},
    "calls": "+ r0 s0 s0", "actions": [[0.5, 0.0, 0.0, 0.0]], "target": "KMW-SR-1",
}

#: What a report stored before reproductions were data: Python text, which the old
#: ``--run`` executed (here with the row's calls, as the suite printed them).
REPRODUCTION_TEXT = """t:
[KMW-SR-1] the flag is late
  reproduce with:
    from conformance.engine.replay import replay
    from conformance.engine.scripted import simple_spec
    replay('replay_cand.Wrapper', simple_spec(1, 1, 1), 'test', 2, 3, {calls!r},
           [[0.5, 0.0, 0.0, 0.0]], target='KMW-SR-1', keys='kmw')
"""


def _report(calls: str = REPRODUCTION["calls"], stored: object = "data", **fields: object) -> str:
    """A report whose KMW-SR-1 failed, its reproduction ``REPRODUCTION`` with ``fields`` changed
    (a field ``...`` is left out) and ``calls`` in both its data and its text; ``stored``:
    ``"data"``, ``None`` (no ``reproductions``, as older reports) or the list to store."""
    data = {**REPRODUCTION, "calls": calls, **fields}
    data = {k: v for k, v in data.items() if v is not ...}
    entry: dict[str, object] = {"level": "MUST", "outcome": "fail",
                                "failing_example": REPRODUCTION_TEXT.format(calls=calls)}
    if stored == "data":
        entry["reproductions"] = [{"test": "t", "reproduction": data}]
    elif stored is not None:
        entry["reproductions"] = stored
    return json.dumps({"plugin_version": "0.3.0", "requirements": {"KMW-SR-1": entry}})


def _replay(id: str, message: str, report: str | bytes, *extra: str, code: int = 2) -> Case:
    return Case(id, "replay", ("r.json", "KMW-SR-1", "--run", *extra), message, code=code,
                files={"r.json": report, "replay_cand.py": REPLAY_CANDIDATE})


CASES = [
    # -- the plugin: usage errors, exit 4, before anything runs
    _plugin(
        "impl-missing-module",
        ("--kmw-impl=mypkg_missing_kmw.Wrapper",),
        "could not import module 'mypkg_missing_kmw'",
    ),
    _plugin("impl-missing-attr", ("--kmw-impl=cands.Missing",), "module 'cands' has no attribute"),
    _plugin("impl-not-callable", ("--kmw-impl=cands:NOT_CALLABLE",), "is not callable"),
    _plugin("impl-names-a-module", ("--kmw-impl=os.path",),
            "'posixpath' is a module, not a class or factory: name the wrapper inside it"),
    _plugin(
        "impl-wrong-constructor",
        ("--kmw-impl=cands.two_args",),
        "cannot be called as Candidate(benchmark, split, k_episodes, max_episode_length=500)",
    ),
    _plugin(
        "impl-raises-at-import",
        ("--kmw-impl=broken.X",),
        "importing module 'broken' raised RuntimeError: boom at import time",
    ),
    _plugin(
        "impl-sys-exit-0-at-import",
        ("--kmw-impl=exits0.X",),
        "importing module 'exits0' raised SystemExit: sys.exit(0) was called",
    ),
    _plugin(
        "impl-sys-exit-3-at-import",
        ("--kmw-impl=exits3.X",),
        "importing module 'exits3' raised SystemExit: sys.exit(3) was called",
    ),
    _plugin(
        "impl-os-exit-0-at-import",
        ("--kmw-impl=osexits0.X",),
        "os._exit(0) was called",
    ),
    _plugin(
        "impl-keyboard-interrupt-at-import",
        ("--kmw-impl=interrupts.X",),
        "importing module 'interrupts' raised KeyboardInterrupt",
    ),
    _plugin("impl-not-dotted", ("--kmw-impl=Good",), "is not of the form pkg.mod.Attr"),
    _plugin("keys-unknown", (IMPL, "--kmw-keys=nope"), "unknown key scheme 'nope'"),
    _plugin("keys-missing-attr", (IMPL, "--kmw-keys=mykeys.NOPE"), "has no attribute 'NOPE'"),
    _plugin("keys-not-a-scheme", (IMPL, "--kmw-keys=mykeys.NOT_A_SCHEME"), "which lacks name"),
    _plugin(
        "keys-total-is-method",
        (IMPL, "--kmw-keys=mykeys.total_is_method"),
        "total_successes must be a key (str) or None, e.g. a property, not a method",
    ),
    _plugin(
        "keys-success-not-str",
        (IMPL, "--kmw-keys=mykeys.success_not_str"),
        "success(0) must return a str, got int",
    ),
    _plugin(
        "keys-attribute-raises",
        (IMPL, "--kmw-keys=mykeys.raising"),
        "getting its attribute 'prefix' raised RuntimeError('no prefix today')",
    ),
    _plugin(
        "keys-is-logging-key-not-bool",
        (IMPL, "--kmw-keys=mykeys.not_bool"),
        "is_logging_key(key) must return a bool, got int",
    ),
    _plugin(
        "keys-own-key-not-logging",
        (IMPL, "--kmw-keys=mykeys.own_key"),
        "is_logging_key('P s0') is False for the scheme's own key",
    ),
    _plugin("keys-same-key", (IMPL, "--kmw-keys=mykeys.same_key"), "key 'P s' is used twice"),
    # (issue 18: schemes were checked on attempts 0 to 2 only; the suite uses k up to 12)
    _plugin("keys-repeat-from-attempt-3", (IMPL, "--kmw-keys=mykeys.repeats_from_3"),
            "key 'P s3' is used twice, by success(3) and success(4)"),
    _plugin("keys-always-logging", (IMPL, "--kmw-keys=mykeys.always_logging"),
            "is_logging_key('success') is True, but 'success' is not one of its keys (an info "
            "key of the env)"),
    _plugin("keys-return-for-some-attempts", (IMPL, "--kmw-keys=mykeys.return_from_2"),
            "ret(i) must be a key for every attempt or None for every attempt: ret(0) is None"),
    _plugin("keys-success-is-an-env-key", (IMPL, "--kmw-keys=mykeys.success_is_env_key"),
            "success(5) is 'success', an info key of the env"),
    _plugin("keys-raise-on-an-env-key", (IMPL, "--kmw-keys=mykeys.raises_on_env_key"),
            "is_logging_key('near_object') raised KeyError('near_object')"),
    _plugin("keys-change-between-calls", (IMPL, "--kmw-keys=mykeys.changing_keys"),
            "success(0) returned 'P s0/1', then 'P s0/2': a scheme's keys must not change"),
    _plugin("backend-unknown", (IMPL, "--kmw-backend=mujoco"), "invalid choice: 'mujoco'"),
    _plugin("env-api-unknown", (IMPL, "--kmw-env-api=gym3"), "invalid choice: 'gym3'"),
    _plugin(
        "env-api-with-metaworld",
        (IMPL, "--kmw-backend=metaworld", "--kmw-env-api=gym"),
        "--kmw-env-api=gym has no effect with --kmw-backend=metaworld",
    ),
    _plugin("timeout-negative", (IMPL, "--kmw-timeout=-1"), "expected a number of seconds >= 0"),
    _plugin(
        "timeout-past-setitimer",
        (IMPL, "--kmw-timeout=1e10"),
        "expected 0 (no limit) or a number of seconds from 0.001 to 1e+06, got 10000000000.0",
    ),
    _plugin("timeout-nan", (IMPL, "--kmw-timeout=nan"), "from 0.001 to 1e+06, got nan"),
    _plugin("timeout-inf", (IMPL, "--kmw-timeout=inf"), "from 0.001 to 1e+06, got inf"),
    _plugin("timeout-tiny", (IMPL, "--kmw-timeout=1e-9"), "from 0.001 to 1e+06, got 1e-09"),
    _plugin("timeout-not-a-number", (IMPL, "--kmw-timeout=soon"), "expected a number of seconds"),
    _plugin("timeout-rounds-to-zero", (IMPL, "--kmw-timeout=1e-400"),
            "'1e-400' is too small to be a time limit (it rounds to 0"),
    _plugin("xfail-missing", (IMPL, "--kmw-xfail=missing.txt"), "cannot read --kmw-xfail file"),
    _plugin("xfail-is-a-directory", (IMPL, "--kmw-xfail=."), "cannot read --kmw-xfail file"),
    _plugin(
        "xfail-not-utf8",
        (IMPL, "--kmw-xfail=latin1.txt"),
        "latin1.txt:2: the --kmw-xfail file is not UTF-8 text (byte 0xe9",
        files={"latin1.txt": b"KMW-ATT-1  late\nKMW-ATT-2  d\xe9j\xe0 vu\n"},
    ),
    _plugin(
        "xfail-unknown-id",
        (IMPL, "--kmw-xfail=bad.txt"),
        "bad.txt:1: unknown requirement ID 'KMW-BOGUS-9'",
        files={"bad.txt": "KMW-BOGUS-9  what\n"},
    ),
    _plugin(
        "xfail-repeated-id",
        (IMPL, "--kmw-xfail=twice.txt"),
        "twice.txt:2: KMW-ATT-1 is listed twice",
        files={"twice.txt": "KMW-ATT-1\nKMW-ATT-1\n"},
    ),
    _plugin("report-is-a-directory", (IMPL, "--kmw-report=."), "is a directory"),
    _plugin(
        "report-under-a-file", (IMPL, "--kmw-report=known.txt/r.json"), "is not a directory"
    ),
    _plugin(
        "report-is-the-xfail-file",
        (IMPL, "--kmw-xfail=known.txt", "--kmw-report=known.txt"),
        "are the same file: the report would overwrite the xfail file",
    ),
    _plugin(
        "report-is-the-xfail-file-by-another-name",
        (IMPL, "--kmw-xfail=known.txt", "--kmw-report=sub/../known.txt"),
        "are the same file",
        files={"sub/keep": ""},
    ),
    _plugin(
        "report-read-only-directory",
        (IMPL, "--kmw-report=ro/r.json"),
        "is not writable",
        files={"ro/": ""},
        root=False,
    ),
    _plugin(
        "report-is-a-fifo-without-reader",
        (IMPL, "--kmw-report=pipe"),
        "pipe: is a FIFO that no process reads (writing to it would block)",
        files={"pipe": FIFO},
        subprocess=True,
    ),
    _plugin("report-is-a-socket", (IMPL, "--kmw-report=sock"),
            "sock: is a UNIX socket, expected a file path", files={"sock": SOCKET}),
    _plugin("report-is-a-symlink-loop", (IMPL, "--kmw-report=loop"),
            "loop: is a symlink loop", files={"loop": LOOP}),
    _plugin(
        "summary-is-a-fifo-without-reader",
        (IMPL, "--kmw-summary=pipe"),
        "pipe: is a FIFO that no process reads",
        files={"pipe": FIFO},
        subprocess=True,
    ),
    _plugin("xfail-is-a-fifo", (IMPL, "--kmw-xfail=pipe"),
            "pipe': is a FIFO, not a regular file",
            files={"pipe": FIFO}, subprocess=True),
    _plugin("xfail-is-a-socket", (IMPL, "--kmw-xfail=sock"),
            "sock': is a socket, not a regular file",
            files={"sock": SOCKET}),
    _plugin("report-without-impl", ("--kmw-report=r.json",), "--kmw-report needs --kmw-impl"),
    _plugin("xfail-without-impl", ("--kmw-xfail=known.txt",), "--kmw-xfail needs --kmw-impl"),
    # -- kmw run: exit 2 (bad input) before the run, or on the policy's first bad step
    _cli("json-is-a-directory", ("--json", "."), "is a directory, expected a file path"),
    _cli("json-missing-directory", ("--json", "nope/out.json"), "nope does not exist"),
    _cli("json-under-a-file", ("--json", "afile/out.json"), "is not a directory", files={"afile": ""}),
    _cli("json-is-a-fifo-without-reader", ("--json", "pipe"),
         "pipe: is a FIFO that no process reads", files={"pipe": FIFO}, subprocess=True),
    _cli("json-is-a-socket", ("--json", "sock"), "sock: is a UNIX socket",
         files={"sock": SOCKET}),
    _cli("json-is-a-symlink-loop", ("--json", "loop"),
         "loop: is a symlink loop", files={"loop": LOOP}),
    _cli(
        "json-read-only-directory",
        ("--json", "ro/out.json"),
        "is not writable",
        files={"ro/": ""},
        root=False,
    ),
    _cli("unknown-benchmark", ("no-such-benchmark",), "unknown benchmark 'no-such-benchmark'"),
    _cli("unknown-policy", ("--policy", "nope"), "unknown policy 'nope'"),
    _cli("policy-missing-module", ("--policy", "nomod_kmw.act"), "cannot import module 'nomod_kmw'"),
    _cli(
        "policy-sys-exit-at-import",
        ("--policy", "hostile_policies_exit.act"),
        "importing policy 'hostile_policies_exit.act' raised SystemExit: 0",
        files={"hostile_policies_exit.py": "import sys\nsys.exit(0)\n"},
    ),
    _cli("policy-not-callable", ("--policy", "hostile_policies.NOT_CALLABLE"), "expected a callable"),
    _cli(
        "policy-wrong-shape",
        ("--policy", "hostile_policies.wrong_shape"),
        "returned an action of shape (3,), expected shape (4,)",
    ),
    _cli("policy-nan", ("--policy", "hostile_policies.nan"), "returned a non-finite action"),
    _cli(
        "policy-beyond-float32",
        ("--policy", "hostile_policies.huge"),
        "returned a non-finite action [inf, inf, inf, inf]",
    ),
    _cli("policy-complex", ("--policy", "hostile_policies.complex_"), "returned a complex action"),
    _cli("policy-raises", ("--policy", "hostile_policies.raises"), "raised RuntimeError: boom"),
    _cli(
        "policy-raises-system-exit-0",
        ("--policy", "hostile_policies.exits"),
        "policy 'hostile_policies.exits' raised SystemExit: 0",
    ),
    _cli("policy-keyboard-interrupt", ("--policy", "hostile_policies.ctrl_c"), "interrupted", code=130),
    _cli("k-zero", ("--k", "0"), "expected an integer >= 1"),
    _cli("trials-not-int", ("--trials", "many"), "expected an integer >= 1, got 'many'"),
    _cli("seed-negative", ("--seed", "-1"), "expected an integer in [0, 2**31 - 1)"),
    _cli("split-unknown", ("--split", "validation"), "invalid choice"),
    # -- python -m conformance.replay REPORT ID --run: exit 2 with one line, the report's
    # candidate never imported (issue 18: it executed the report's text; tracebacks)
    _replay("replay-text-only-report", "stores KMW-SR-1's reproduction only as text, which "
            "replay does not run", _report(stored=None)),
    _replay("replay-report-not-json", "report r.json is not JSON", "{"),
    _replay("replay-report-is-a-list", "is not a kmw report", "[]"),
    _replay("replay-report-nested-too-deeply", "report r.json is not JSON: nested too deeply",
            "[" * 100_000 + "]" * 100_000),
    _replay("replay-entry-not-an-object", "requirements['KMW-SR-1'] is not an object",
            json.dumps({"requirements": {"KMW-SR-1": 3}})),
    _replay("replay-reproductions-not-a-list", "reproductions is not a list",
            _report(stored={"test": "t"})),
    _replay("replay-index-out-of-range", "--index 3: 1 reproduction(s) stored", _report(),
            "--index", "3"),
    _replay("replay-field-missing", "reproduction: lacks target", _report(target=...)),
    _replay("replay-unknown-format", "reproduction.format: 99 is not a format this kmw reads",
            _report(format=99)),
    _replay("replay-impl-not-a-dotted-path", "reproduction.impl: expected a dotted path",
            _report(impl="replay_cand.Wrapper; import os")),
    _replay("replay-k-not-an-int", "reproduction.k: expected an integer from 1 to 10000, got "
            "True", _report(k=True)),
    _replay("replay-action-nan", "reproduction.actions[0]: expected a finite number, got nan",
            _report(actions=[[float("nan"), 0.0, 0.0, 0.0]])),
    _replay("replay-script-end-kind", "scripts[0].end_kind: expected one of terminated, "
            "truncated, got 'exploded'", _report(benchmark={"scripted": {
                **REPRODUCTION["benchmark"]["scripted"],
                "test_tasks": [{"env_name": "push-v3", "uid": 2, "split": "test", "scripts": [
                    {"success_steps": [], "end_at": 1, "end_kind": "exploded"}]}]}})),
    _replay("replay-calls-huge-repeat", "a repeat count must be from 1 to 1000000",
            _report("+ r0 s0*99999999999")),
    _replay("replay-calls-too-many", "calls: more than 1000000 calls",
            _report("+ r0 (s0*1000000)*2")),
    _replay("replay-calls-nested-too-deep", "calls: brackets nested deeper than 8",
            _report("+ r0 " + "(" * 9 + "s0" + ")" * 9)),
    _replay("replay-calls-negative-seed", "calls: unknown call 'r-1'", _report("+ r-1 s0")),
    _replay("replay-calls-seed-too-large", "a seed must be at most 9223372036854775807",
            _report("+ r9999999999999999999 s0")),
    _replay("replay-calls-no-such-action", "calls: call 3 's5': no action 5 (1 actions)",
            _report("+ r0 s5")),
    _replay("replay-calls-no-such-candidate", "calls: call 3 '@3': no candidate 3",
            _report("+ r0 @3 s0")),
    _replay("replay-calls-compare-before-calls", "compares a candidate before it was reset",
            _report("+ + =0,1")),
    _replay("replay-calls-pair-call-without-pair", "before a p call pairs two candidates",
            _report("+ r0 R")),
    # -- the wrapper: ValueError naming what was expected
    _wrapper("wrapper-split", "split", ValueError, "split must be 'train' or 'test'"),
    _wrapper("wrapper-k-zero", "k_zero", ValueError, "k_episodes must be an integer >= 1"),
    _wrapper("wrapper-k-bool", "k_bool", ValueError, "k_episodes must be an integer >= 1, got True"),
    _wrapper(
        "wrapper-length-zero", "length_zero", ValueError, "max_episode_length must be an integer >= 1"
    ),
    _wrapper(
        "wrapper-action-shape", "action_shape", ValueError, "action must have shape (4,), got shape (3,)"
    ),
    _wrapper("wrapper-action-nan", "action_nan", ValueError, "action must be finite"),
    _wrapper("wrapper-action-inf", "action_inf", ValueError, "action must be finite"),
    _wrapper(
        "wrapper-action-beyond-float32",
        "action_huge",
        ValueError,
        "got [1e+300, -1e+300, 0.0, 0.0] -> [inf, -inf, 0.0, 0.0]",
    ),
    _wrapper("wrapper-action-complex", "action_complex", ValueError, "action must be real"),
    _wrapper("wrapper-action-complex-object", "action_complex_object", ValueError, "action must be real"),
    _wrapper("wrapper-action-text", "action_text", ValueError, "action must be a numeric array"),
    _wrapper("wrapper-step-before-reset", "step_before_reset", RuntimeError, "call reset()"),
]

POLICIES = """
import numpy as np

NOT_CALLABLE = 42

def wrong_shape(obs): return np.zeros(3)
def nan(obs): return np.full(4, np.nan)
def huge(obs): return np.full(4, 1e300)
def complex_(obs): return np.array([0.1j, 0, 0, 0])
def raises(obs): raise RuntimeError("boom")
def exits(obs): raise SystemExit(0)
def ctrl_c(obs): raise KeyboardInterrupt
"""


def _write_files(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        if name.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
            path.chmod(0o500)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if content == FIFO:
            os.mkfifo(path)
        elif content == SOCKET:
            with socket.socket(socket.AF_UNIX) as sock:  # the file stays after close
                sock.bind(os.path.relpath(path))  # relative: AF_UNIX paths are short
        elif content == LOOP:
            path.symlink_to(path.name)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def _skip_for_user(case: Case) -> None:
    if case.root is True and not IS_ROOT:
        pytest.skip("needs root")
    if case.root is False and IS_ROOT:
        pytest.skip("root may write into any directory")


def _of(where: str) -> list:
    return [pytest.param(c, id=c.id) for c in CASES if c.where == where]


def test_the_table_is_big_and_ids_are_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)) and len(ids) >= 30


# Usage errors stop pytest before collection: in-process is fast (pytester restores sys.path
# and sys.modules), and the plugin is loaded from its entry point there too.
@pytest.mark.parametrize("case", _of("plugin"))
def test_plugin_usage_error(pytester: pytest.Pytester, case: Case) -> None:
    _skip_for_user(case)
    _write_files(pytester.path, {**PLUGIN_FILES, **case.files})
    if case.subprocess:
        result = pytester.runpytest_subprocess(*case.args, "-p", "no:cacheprovider",
                                               timeout=CASE_LIMIT)
    else:
        result = pytester.runpytest_inprocess(*case.args, "-p", "no:cacheprovider")
    out, err = result.stdout.str(), result.stderr.str()
    assert result.ret == case.code, out + err
    assert "Traceback" not in out + err and "INTERNALERROR" not in out + err
    assert err.count("ERROR:") == 1, err
    assert case.message in err
    assert not (pytester.path / "r.json").exists()


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``tmp_path`` as the working directory and on ``sys.path`` with ``hostile_policies``."""
    (tmp_path / "hostile_policies.py").write_text(POLICIES)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in ("hostile_policies", "hostile_policies_exit", "replay_cand"):
        sys.modules.pop(name, None)


@pytest.mark.parametrize("case", _of("cli"))
def test_kmw_run_bad_input(in_tmp: Path, capsys: pytest.CaptureFixture[str], case: Case) -> None:
    from kmw.cli import main

    _skip_for_user(case)
    _write_files(in_tmp, case.files)
    before = sorted(p.name for p in in_tmp.iterdir())
    argv = ["run", "--no-progress", "--trials", "1", "--k", "1", "--max-episode-length", "5"]
    if "--json" not in case.args:
        argv += ["--json", "out.json"]
    if case.subprocess:
        proc = subprocess.run([sys.executable, "-m", "kmw", *argv, *case.args], cwd=in_tmp,
                              capture_output=True, text=True, timeout=CASE_LIMIT, check=False,
                              env={**os.environ, "PYTHONPATH": str(HERE.parent)})
        assert proc.returncode == case.code, proc.stderr
        captured = SimpleNamespace(out=proc.stdout, err=proc.stderr)
    else:
        assert main([*argv, *case.args]) == case.code
        captured = capsys.readouterr()
    err_lines = [ln for ln in captured.err.splitlines() if "error:" in ln or "interrupted" in ln]
    assert len(err_lines) == 1 and case.message in err_lines[0], captured.err
    assert "Traceback" not in captured.err
    assert "succ@1" not in captured.out  # no table: it stopped
    after = sorted(p.name for p in in_tmp.iterdir() if p.name != "__pycache__")
    assert after == before  # neither the output file nor a temp file


@pytest.mark.parametrize("case", _of("replay"))
def test_replay_bad_report(in_tmp: Path, capsys: pytest.CaptureFixture[str], case: Case) -> None:
    from conformance.replay import main

    _write_files(in_tmp, case.files)
    try:
        code = main(list(case.args))
    except SystemExit as e:
        code = e.code
    captured = capsys.readouterr()
    assert code == case.code, captured.err[-2000:]
    err_lines = [ln for ln in captured.err.splitlines() if ln.strip()]
    assert len(err_lines) == 1 and case.message in err_lines[0], captured.err[-2000:]
    assert not (in_tmp / "imported").exists()  # nothing of the report was imported or run


@pytest.fixture(scope="module")
def benchmark():
    from kmw.benchmarks import make_benchmark

    return make_benchmark("reach-v3")


def _wrapper_call(name: str, benchmark) -> None:
    from kmw import KEpisodeMetaworld

    if name == "split":
        KEpisodeMetaworld(benchmark, "validation", 2)
    elif name == "k_zero":
        KEpisodeMetaworld(benchmark, "test", 0)
    elif name == "k_bool":
        KEpisodeMetaworld(benchmark, "test", True)
    elif name == "length_zero":
        KEpisodeMetaworld(benchmark, "test", 2, max_episode_length=0)
    elif name == "step_before_reset":
        KEpisodeMetaworld(benchmark, "test", 2).step(np.zeros(4))
    else:
        actions = {
            "action_shape": np.zeros(3),
            "action_nan": np.array([np.nan, 0, 0, 0]),
            "action_inf": np.array([0, np.inf, 0, 0]),
            "action_huge": np.array([1e300, -1e300, 0, 0]),
            "action_complex": np.array([0.5j, 0, 0, 0]),
            "action_complex_object": np.array([1, 2j, 0, 0], dtype=object),
            "action_text": "left",
        }
        env = KEpisodeMetaworld(benchmark, "test", 2, max_episode_length=5)
        env.reset(seed=0)
        env.step(actions[name])


@pytest.mark.parametrize("case", _of("wrapper"))
def test_wrapper_bad_input(benchmark, case: Case) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ComplexWarning / overflow warning on the way
        with pytest.raises(case.exc) as info:
            _wrapper_call(case.args[0], benchmark)
    assert case.message in str(info.value)


# --------------------------------------------------------------------------- non-str info keys

INT_KEY_CANDIDATE = """
import kmw


class IntKey(kmw.KEpisodeMetaworld):
    '''The reference wrapper plus a non-str key (3) in every info: SPEC.md does not forbid it.'''

    def reset(self, **kwargs):
        obs, info = super().reset(**kwargs)
        return obs, {**info, 3: 1.0}

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        return obs, reward, terminated, truncated, {**info, 3: 1.0}
"""


def test_key_schemes_match_any_key_totally() -> None:
    from conformance.engine.keys import AMAGO_KEYS, KMW_KEYS, resolve_key_scheme

    for scheme in (KMW_KEYS, AMAGO_KEYS):
        for key in (3, None, 2.5, ("a", 1), b"AMAGO_LOG_METRIC Total Successes"):
            assert scheme.is_logging_key(key) is False
    # A custom scheme whose own matching assumes a str is made total too.
    mod = type(sys)("kmw_hostile_duck")
    exec(KEYS, mod.__dict__)
    mod.INSTANCE = mod.Base()  # its is_logging_key calls key.startswith: raises on an int
    sys.modules[mod.__name__] = mod
    try:
        duck = resolve_key_scheme("kmw_hostile_duck.INSTANCE")
        assert duck.is_logging_key(3) is False and duck.is_logging_key("P s0") is True
        assert duck.success(2) == "P s2" and duck.name == "mine"
    finally:
        del sys.modules[mod.__name__]


def test_a_non_string_info_key_breaks_no_requirement(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(intkey=INT_KEY_CANDIDATE)
    result = pytester.runpytest_subprocess(
        "--kmw-impl=intkey.IntKey",
        "--kmw-report=r.json",
        "--hypothesis-profile=kmw-dev",
        "-p",
        "no:cacheprovider",
        "-k",
        "not spec_coverage",  # SPEC.md's own bookkeeping, not about the candidate
    )
    report = json.loads((pytester.path / "r.json").read_text())
    failed = {r: e["reason"] for r, e in report["requirements"].items() if e["outcome"] == "fail"}
    assert not failed, failed
    assert report["summary"]["pass"] >= 20
    assert result.ret == 0, result.stdout.str()[-3000:]


# --------------------------------------------------------------------------- key schemes that loop

LOOPING_KEYS = """
import os

from conformance.engine.keys import KMW_KEYS


class AtStartUp:
    name = "loops"; prefix = "P"; total_successes = None; success_rate = None
    def success(self, i): return f"P s{i}"
    def ret(self, i): return None
    def is_logging_key(self, k):
        while k == "success":  # (an env key: asked about at start-up)
            pass
        return k.startswith("P ")


class InTests(AtStartUp):
    def is_logging_key(self, k):
        while os.environ.get("PYTEST_CURRENT_TEST", "").endswith("(call)"):
            pass
        return k.startswith("P ")


at_start_up, in_tests = AtStartUp(), InTests()
"""
#: Wall-clock bound of one such run: start-up and a 2 s limit, on a busy machine.
LOOP_RUN_LIMIT = 90


def _run_with_keys(tmp_path: Path, keys: str, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "looping_keys.py").write_text(LOOPING_KEYS)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(HERE.parent)])}
    env.pop("PYTEST_CURRENT_TEST", None)  # this test's: the scheme loops when it is set
    cmd = [sys.executable, "-m", "pytest", "--kmw-impl=kmw.KEpisodeMetaworld",
           f"--kmw-keys=looping_keys.{keys}", "--kmw-timeout=2", "-p", "no:cacheprovider", "-q",
           *args]
    return subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=LOOP_RUN_LIMIT)


def test_a_key_scheme_that_loops_at_start_up_is_a_usage_error(tmp_path: Path) -> None:
    proc = _run_with_keys(tmp_path, "at_start_up")
    assert proc.returncode == 4, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert proc.stderr.count("ERROR:") == 1 and (
        "--kmw-keys=looping_keys.at_start_up: the key scheme did not return within "
        "--kmw-timeout=2 s") in proc.stderr


def test_a_key_scheme_that_loops_in_a_test_fails_that_test_at_its_time_limit(
        tmp_path: Path) -> None:
    """The scheme is called inside tests only, so under each test's own ``--kmw-timeout``."""
    proc = _run_with_keys(tmp_path, "in_tests", "-k", "log_1", "--kmw-report=r.json")
    report = json.loads((tmp_path / "r.json").read_text())
    entry = report["requirements"]["KMW-LOG-1"]
    assert entry["outcome"] == "fail" and "exceeded --kmw-timeout=2 s" in entry["reason"], entry
    assert proc.returncode == 1


# --------------------------------------------------------------------------- hostile candidates

#: The suite's properties that check every returned info and observation again (the longest
#: sessions: many trials, over 1024 calls).
ALIASING = "obs_4 or log_5"


@dataclass
class SuiteRun:
    returncode: int
    out: str
    err: str
    peak_kib: int


def run_suite(tmp_path: Path, impl: str, *args: str, env: dict[str, str] | None = None,
              limit: float = CASE_LIMIT) -> SuiteRun:
    """``pytest --kmw-impl=impl args`` from the repository root in a subprocess, ended after
    ``limit`` seconds (a hang fails the test); its own peak RSS (``wait4``'s ``ru_maxrss``)."""
    out, err = tmp_path / f"{impl}.out", tmp_path / f"{impl}.err"
    cmd = [sys.executable, "-m", "pytest", f"--kmw-impl={impl}", "-p", "no:cacheprovider",
           "--hypothesis-profile=kmw-dev", *args]
    full_env = {**os.environ, "PYTHONPATH": str(HERE.parent), **(env or {})}
    full_env.pop("CI", None)
    with open(out, "wb") as fo, open(err, "wb") as fe:
        proc = subprocess.Popen(cmd, cwd=HERE.parent, env=full_env, stdout=fo, stderr=fe)
        timer = threading.Timer(limit, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode != -9, f"{impl} did not end within {limit} s"
    return SuiteRun(proc.returncode, out.read_text(errors="replace"),
                    err.read_text(errors="replace"), usage.ru_maxrss)


def assert_passed(run: SuiteRun) -> None:
    """Every test that ran passed (a run of only some of the suite's tests exits 1 all the same:
    the requirements it left out are not checked)."""
    last = (run.out.strip().splitlines() or [""])[-1]
    assert run.returncode in (0, 1) and " passed" in last, run.out[-2000:] + run.err[-2000:]
    assert "failed" not in last and "error" not in last, run.out[-2000:]


def test_memory_does_not_grow_with_the_candidates_infos(tmp_path: Path) -> None:
    """A 240x240x3 frame, or a 1 MB array, in every info: peak RSS within 1.5x the
    reference's (before: 4.3x for the frame, on these two properties)."""
    ref = run_suite(tmp_path, "kmw.KEpisodeMetaworld", "-k", ALIASING)
    assert_passed(ref)
    for impl in ("FrameInInfo", "BigInfo"):
        run = run_suite(tmp_path, f"tests.hostile_candidates.{impl}", "-k", ALIASING,
                        env={"KMW_HOSTILE_INFO": "1000000"})
        assert_passed(run)
        assert run.peak_kib < 1.5 * ref.peak_kib, (impl, run.peak_kib, ref.peak_kib)


def test_printing_does_not_grow_memory_or_output(tmp_path: Path) -> None:
    """100 KB per step (half through sys.stdout, half to file descriptor 2), 146 MB in the
    test: memory within 1.5x the reference's (before: 3x), and the captured output (shown by
    -rP) kept to its head and tail."""
    ref = run_suite(tmp_path, "kmw.KEpisodeMetaworld", "-k", "obs_4")
    run = run_suite(tmp_path, "tests.hostile_candidates.Prints", "-k", "obs_4", "-rP",
                    env={"KMW_HOSTILE_BYTES": "100000"})
    assert_passed(run)
    assert run.peak_kib < 1.5 * ref.peak_kib, (run.peak_kib, ref.peak_kib)
    assert "Captured stdout call" in run.out and "Captured stderr call" in run.out
    assert "bytes of output trimmed" in run.out
    assert len(run.out) + len(run.err) < 100_000


@pytest.mark.parametrize("filters", [(), ("-W", "error")], ids=["default", "W-error"])
def test_distinct_warnings_are_counted_not_listed(tmp_path: Path, filters: tuple) -> None:
    """A new 10 KB warning message at every step: kmw's section lists 10 of them, cut to a
    line; pytest's warnings summary none (before: 58 MB of terminal output); under -W error
    the verdicts do not change (before: both tests failed)."""
    run = run_suite(tmp_path, "tests.hostile_candidates.WarnsDistinct", "-k", "ifc_1 or att_2",
                    *filters, env={"KMW_HOSTILE_BYTES": "10000"})
    assert_passed(run)
    assert len(run.out) + len(run.err) < 100_000
    assert "kmw: warnings from the candidate" in run.out
    assert "warnings summary" not in run.out
    assert re.search(r"\.\.\. and \d+ more of \d+ other message\(s\)", run.out)


def test_an_exception_with_a_huge_text_is_shown_bounded(tmp_path: Path) -> None:
    """The candidate raises an exception whose own __str__ and __repr__ return 20 MB."""
    run = run_suite(tmp_path, "tests.hostile_candidates.RaisesHugeText", "-k", "ifc_1",
                    f"--kmw-report={tmp_path / 'report.json'}",
                    env={"KMW_HOSTILE_BYTES": "20000000"})
    assert run.returncode == 1, run.out[-2000:]
    assert (tmp_path / "report.json").stat().st_size < 100_000
    assert len(run.out) + len(run.err) < 200_000
    assert "HugeText: ssss" in run.out and "characters trimmed" in run.out


@pytest.mark.parametrize("xdist", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_a_leftover_thread_does_not_keep_the_run_alive(tmp_path: Path, xdist: tuple) -> None:
    """The candidate starts a non-daemon thread that never ends: the run ends anyway, with its
    own exit status (1: a partial run), and says so (before: serial runs never ended)."""
    run = run_suite(tmp_path, "tests.hostile_candidates.LeavesThread", "-k", "ifc_1", *xdist)
    assert_passed(run)
    assert re.search(r"kmw: the candidate left 1 non-daemon thread\(s\) running "
                     r"\('candidate-worker'( \(worker gw\d\))?\); the process ends without "
                     r"waiting for them", run.out), run.out[-2000:]
