"""What a candidate cannot do to a ``--kmw-impl`` run through its output, warnings or threads.

While a suite test calls the candidate (its call phase), :func:`candidate_code`:

- **bounds its output.** What it writes to ``sys.stdout``/``sys.stderr`` and, under pytest's
  default ``--capture=fd``, to file descriptors 1 and 2 (C code, subprocesses) goes into a
  pipe per stream, drained by a thread that keeps the first :data:`HEAD_BYTES` and the last
  :data:`TAIL_BYTES` and counts the rest. At the end the kept text, with "... [N bytes of
  output trimmed] ..." between, is written to pytest's own capture, which shows it as usual.
  Memory does not grow with what is printed. ``-s`` (``--capture=no``) and
  ``--capture=tee-sys`` are left alone: the output then goes to the terminal as asked.
- **records its warnings itself**, under its own filter (every warning, always), so that the
  user's ``filterwarnings`` or ``-W error`` never turn a warning into a failure (SPEC.md says
  nothing of warnings) and pytest's warnings summary never lists them: they are counted per
  category and first :data:`MESSAGE_CHARS` characters of the message (at most
  :data:`MAX_KINDS_PER_TEST` distinct kinds per test and :data:`MAX_KINDS` per run, the rest
  counted together), carried to the lone process or
  xdist controller in the call report's ``user_properties``, and listed in kmw's own section
  ("kmw: warnings from the candidate"). Warnings of the plugin's own categories and of
  hypothesis's go on to pytest as before. (Which file a warning names says nothing: a library
  the candidate calls may name the caller's caller, the suite's harness.)

:class:`Isolation` (registered by the plugin with ``--kmw-impl``) applies it to suite tests and
watches **threads**: a non-daemon thread the candidate started and left running would keep the
process alive after the last test. At the end of the session such threads are named in kmw's
summary (an xdist worker sends their names to the controller), and, when the process is about
to wait for them (``threading``'s shutdown), it ends at once with the session's exit status
instead (``os._exit``, after flushing); not in a run nested in another pytest (pytester,
in-process runs), where the outer run owns the process.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

#: Bytes of a test's output kept per stream: its start and its end.
HEAD_BYTES = 7_000
TAIL_BYTES = 12_000
#: Characters of a warning's message that tell it from others (and that are shown).
MESSAGE_CHARS = 120
#: Distinct warnings counted per process and per test (the rest together), and listed in
#: the summary.
MAX_KINDS = 1000
MAX_KINDS_PER_TEST = 100
MAX_LISTED = 10
#: ``user_properties`` entry of a call report: the candidate's warnings in that test.
WARNINGS_PROPERTY = "kmw_warnings"
#: ``workeroutput`` entry of an xdist worker: the candidate's threads left running.
THREADS_OUTPUT = "kmw_threads"
#: Top-level packages whose warning categories are not the candidate's.
NOT_THE_CANDIDATES = ("conformance", "hypothesis", "_pytest", "pytest")
_READ = 1 << 16


class BoundedText:
    """The first ``head`` and last ``tail`` bytes of a stream, and how many were dropped."""

    def __init__(self, head: int = HEAD_BYTES, tail: int = TAIL_BYTES) -> None:
        self.head_limit, self.tail_limit = head, tail
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def write(self, data: bytes) -> None:
        self.total += len(data)
        room = self.head_limit - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data[-self.tail_limit:]
            if len(self.tail) > 2 * self.tail_limit:
                del self.tail[:-self.tail_limit]

    def text(self) -> str:
        """What was kept, as text (undecodable bytes replaced)."""
        tail = bytes(self.tail[-self.tail_limit:])
        dropped = self.total - len(self.head) - len(tail)
        middle = f"\n... [{dropped} bytes of output trimmed] ...\n" if dropped else ""
        return (bytes(self.head).decode("utf-8", "replace") + middle
                + tail.decode("utf-8", "replace"))


class _Drain:
    """A pipe whose reading end a daemon thread empties into a :class:`BoundedText`.

    ``close()`` writes a random end mark (atomically: shorter than ``PIPE_BUF``) and waits
    until the thread has read up to it: everything written before is then kept, however many
    other processes or threads still hold the writing end (they are drained and ignored)."""

    def __init__(self) -> None:
        self.read_fd, self.write_fd = os.pipe()
        self.kept = BoundedText()
        self.mark = b"\0kmw-end-" + os.urandom(8).hex().encode() + b"\0"
        self.reached = threading.Event()
        self.thread = threading.Thread(target=self._run, name="kmw-output-drain", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        carry = b""
        keep = len(self.mark) - 1
        try:
            while True:
                chunk = os.read(self.read_fd, _READ)
                if not chunk:
                    break
                if self.reached.is_set():
                    continue  # after the end mark: drained, not kept
                data = carry + chunk
                at = data.find(self.mark)
                if at >= 0:
                    self.kept.write(data[:at])
                    self.reached.set()
                    continue
                self.kept.write(data[:-keep] if len(data) > keep else b"")
                carry = data[-keep:] if len(data) > keep else data
        finally:
            if not self.reached.is_set():  # the end came without the mark
                self.kept.write(carry)
            self.reached.set()
            with contextlib.suppress(OSError):
                os.close(self.read_fd)

    def close(self) -> str:
        """Stop writing, wait for what was written, and return the kept text."""
        with contextlib.suppress(OSError):
            os.write(self.write_fd, self.mark)
        with contextlib.suppress(OSError):
            os.close(self.write_fd)
        self.reached.wait()
        return self.kept.text()


@contextlib.contextmanager
def _no_alarm() -> Iterator[None]:
    """``SIGALRM`` (``--kmw-timeout``) held back while the streams are put back."""
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not \
            threading.main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


@contextlib.contextmanager
def bounded_output(fd_level: bool) -> Iterator[None]:
    """Route ``sys.stdout``/``sys.stderr`` (and, if ``fd_level``, file descriptors 1 and 2)
    through bounded pipes for the block, then write what was kept to the streams that were
    there before (pytest's capture)."""
    routed: list[_Routed] = []
    try:
        for name, fd in (("stdout", 1), ("stderr", 2)):
            routed.append(_Routed(name, fd, fd_level))
        yield
    finally:
        with _no_alarm():
            texts = [(r.old, r.close()) for r in routed]
            for old, text in texts:
                if text:
                    with contextlib.suppress(Exception):
                        old.write(text)
                        old.flush()


class _Routed:
    """One stream (``sys.<name>``, and file descriptor ``fd`` if ``fd_level``) routed into a
    :class:`_Drain` until :meth:`close`."""

    def __init__(self, name: str, fd: int, fd_level: bool) -> None:
        self.name, self.fd = name, fd
        self.old = getattr(sys, name)
        self.drain = _Drain()
        self.saved_fd: int | None = None
        self.stream: io.TextIOWrapper | None = None
        try:
            if fd_level:
                self.saved_fd = os.dup(fd)
                os.dup2(self.drain.write_fd, fd)
            self.stream = io.TextIOWrapper(io.FileIO(os.dup(self.drain.write_fd), "w"),
                                           encoding="utf-8", errors="replace",
                                           write_through=True)
            setattr(sys, name, self.stream)
        except BaseException:
            self.close()
            raise

    def close(self) -> str:
        """Put the stream back; what was kept."""
        if self.stream is not None:
            setattr(sys, self.name, self.old)
            with contextlib.suppress(Exception):
                self.stream.close()
        if self.saved_fd is not None:
            os.dup2(self.saved_fd, self.fd)
            os.close(self.saved_fd)
        return self.drain.close()


class WarningCounts:
    """Warnings counted per ``(category, message start)``, with where each was first seen."""

    def __init__(self, max_kinds: int = MAX_KINDS) -> None:
        #: (category, message) -> [count, first location]; ("", "") counts the kinds past the cap.
        self.kinds: dict[tuple[str, str], list[Any]] = {}
        self.max_kinds = max_kinds

    def add(self, category: str, message: str, where: str, n: int = 1) -> None:
        key = (category, message)
        entry = self.kinds.get(key)
        if entry is None:
            if len(self.kinds) >= self.max_kinds:
                entry = self.kinds.setdefault(("", ""), [0, ""])
            else:
                entry = self.kinds[key] = [0, where]
        entry[0] += n

    def encode(self) -> tuple[str, str]:
        return WARNINGS_PROPERTY, json.dumps([[c, m, n, w] for (c, m), (n, w)
                                              in self.kinds.items()])

    def add_user_properties(self, user_properties: Any) -> None:
        for name, value in user_properties:
            if name == WARNINGS_PROPERTY:
                for category, message, n, where in json.loads(value):
                    self.add(category, message, where, n)

    def summary_lines(self) -> list[str]:
        """The lines of kmw's warnings section: the most frequent first, at most
        :data:`MAX_LISTED`, then a count of the rest."""
        ranked = sorted(self.kinds.items(), key=lambda kv: (kv[0] == ("", ""), -kv[1][0]))
        lines = []
        for (category, message), (n, where) in ranked[:MAX_LISTED]:
            if (category, message) == ("", ""):
                lines.append(f"{n} x other distinct messages")
            else:
                lines.append(f"{n} x {category}: {message} (first at {where})")
        rest = ranked[MAX_LISTED:]
        if rest:
            lines.append(f"... and {sum(n for _, (n, _w) in rest)} more of {len(rest)} other "
                         "message(s)")
        return lines


def _one_line(text: str, limit: int = MESSAGE_CHARS) -> str:
    text = " ".join(text[: 4 * limit].split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _text(message: Any) -> str:
    """A warning's message as text (its ``str``, which is candidate code: guarded)."""
    try:
        return str(message)
    except Exception as e:  # noqa: BLE001
        return f"<str() of the warning raised {type(e).__name__}>"


class _Recorder:
    """``warnings.showwarning`` while the candidate runs: counts, or hands on the plugin's,
    hypothesis's and pytest's own."""

    def __init__(self, counts: WarningCounts, here: Path) -> None:
        self.counts, self.here = counts, here
        self.shown: dict[str, str] = {}  # file names as shown, relative to ``here``
        # Where warnings went before (pytest records them through this private hook of the
        # warnings module); the public ``showwarning`` prints them.
        self.outer = getattr(warnings, "_showwarnmsg_impl", None)
        self.outer_show = warnings.showwarning

    def __call__(self, message: Any, category: type, filename: str, lineno: int,
                 file: Any = None, line: str | None = None) -> None:
        filename = str(filename)
        module = str(getattr(category, "__module__", "") or "")
        if module.split(".", 1)[0] in NOT_THE_CANDIDATES:
            if self.outer is not None:
                self.outer(warnings.WarningMessage(message, category, filename, lineno, file,
                                                   line))
            else:
                self.outer_show(message, category, filename, lineno, file, line)
            return
        shown = self.shown.get(filename)
        if shown is None:
            try:
                shown = Path(filename).resolve().relative_to(self.here).as_posix()
            except (OSError, ValueError):
                shown = filename
            if len(self.shown) < MAX_KINDS:
                self.shown[filename] = shown
        name = getattr(category, "__name__", "Warning")
        self.counts.add(str(name), _one_line(_text(message)), f"{shown}:{lineno}")


@contextlib.contextmanager
def recorded_warnings(counts: WarningCounts, here: Path) -> Iterator[None]:
    """Every warning raised in the block counted in ``counts``, whatever the filters were."""
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = _Recorder(counts, here)
        yield


@contextlib.contextmanager
def candidate_code(config: pytest.Config, counts: WarningCounts) -> Iterator[None]:
    """The candidate's output bounded and its warnings counted in ``counts`` for the block
    (see the module's docstring); the output's bounds follow pytest's ``--capture``."""
    method = config.getoption("capture", "fd")
    with recorded_warnings(counts, config.invocation_params.dir):
        if method in ("fd", "sys"):
            with bounded_output(fd_level=method == "fd"):
                yield
        else:
            yield


# -------------------------------------------------------------------------------- threads


def _foreign(thread: threading.Thread) -> bool:
    """True for a thread of pytest, xdist or execnet (not the candidate's)."""
    target = getattr(thread, "_target", None)
    module = getattr(target, "__module__", None) or type(thread).__module__ or ""
    return module.split(".", 1)[0] in ("execnet", "xdist", "_pytest", "pytest", "conformance")


def leftover_threads(before: set[int]) -> list[threading.Thread]:
    """Non-daemon threads alive now, other than the main one, that were not alive
    ``before`` (their idents) and are not pytest's, xdist's or execnet's."""
    main = threading.main_thread()
    return [t for t in threading.enumerate()
            if t is not main and not t.daemon and t.is_alive() and t.ident not in before
            and not _foreign(t)]


def _nested() -> bool:
    """True when this pytest session runs inside another one in this process."""
    depth, frame = 0, sys._getframe()
    while frame is not None:
        code = frame.f_code
        if code.co_name == "wrap_session" and Path(code.co_filename).parts[-2:] == (
                "_pytest", "main.py"):
            depth += 1
        frame = frame.f_back
    return depth > 1


class Isolation:
    """The plugin's hooks for :func:`candidate_code` around suite tests and for the
    candidate's threads (registered with ``--kmw-impl``; see the module's docstring)."""

    def __init__(self, config: pytest.Config, is_suite_test: Callable[[pytest.Item], bool]
                 ) -> None:
        self.config = config
        self.is_suite_test = is_suite_test
        #: The candidate's warnings: this process's, or (controller) every worker's.
        self.counts = WarningCounts()
        self._threads_before = {t.ident for t in threading.enumerate()}
        #: The candidate's threads left running: their names (with the xdist worker's).
        self.leftover: list[str] = []
        self._session: pytest.Session | None = None
        #: A run inside another pytest's test (pytester's in-process runs) leaves the process
        #: to the outer run.
        self.nested = _nested()

    @property
    def is_worker(self) -> bool:
        return hasattr(self.config, "workerinput")

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, Any, Any]:
        # trylast: inside pytest's capture, logging and the --kmw-timeout wrappers.
        if not self.is_suite_test(item):
            return (yield)
        counts = WarningCounts(MAX_KINDS_PER_TEST)
        item.stash[_COUNTS] = counts
        with candidate_code(self.config, counts):
            return (yield)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]
                                  ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        counts = item.stash.get(_COUNTS, None)
        if call.when == "call" and counts is not None and counts.kinds:
            report.user_properties.append(counts.encode())
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not self.is_worker:
            self.counts.add_user_properties(report.user_properties)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        # tryfirst: a worker's output is sent to the controller in xdist's own sessionfinish.
        self._session = session
        self.leftover.extend(repr(t.name) for t in leftover_threads(self._threads_before))
        if self.is_worker:
            self.config.workeroutput[THREADS_OUTPUT] = list(self.leftover)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        names = getattr(node, "workeroutput", {}).get(THREADS_OUTPUT) or []
        worker = str(getattr(getattr(node, "gateway", None), "id", "?"))
        self.leftover.extend(f"{name} (worker {worker})" for name in names)

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.is_worker or not self.leftover:
            return
        shown = ", ".join(self.leftover[:5])
        more = f" and {len(self.leftover) - 5} more" if len(self.leftover) > 5 else ""
        then = ("this pytest runs inside another one, which owns the process" if self.nested
                else "the process ends without waiting for them")
        terminalreporter.write_line(
            f"kmw: the candidate left {len(self.leftover)} non-daemon thread(s) running "
            f"({shown}{more}); {then}", yellow=True)

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self.nested or not leftover_threads(self._threads_before):
            return
        register = getattr(threading, "_register_atexit", None)
        if register is None:  # pragma: no cover - a Python without it: end right here
            self._end_process()
            return
        try:
            register(self._end_process)
        except RuntimeError:  # already shutting down
            self._end_process()

    def _end_process(self) -> None:
        """Called when the interpreter is about to wait for the candidate's threads."""
        if not leftover_threads(self._threads_before):
            return
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            with contextlib.suppress(Exception):
                stream.flush()
        status = getattr(self._session, "exitstatus", 0)
        os._exit(int(status))


_COUNTS = pytest.StashKey[WarningCounts]()
