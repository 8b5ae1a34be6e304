"""Per-test verdicts: what one test's result says about each requirement it is marked with.

A test marked ``@pytest.mark.kmw_requirement("KMW-A-1", ...)`` gives every requirement it
names one of the outcomes ``pass``, ``fail``, ``should-finding``, ``expected-failure``,
``not-checked``. ``decide_failure`` turns a failing test's exception into verdicts and into the
outcome pytest should show for the test:

- a ``ContractViolation`` whose ``req_id`` is listed in the xfail file -> expected-failure
  (test shown xfailed);
- one whose ``req_id`` is a SHOULD requirement, without ``--kmw-strict`` -> should-finding
  (test shown passed, unless something else failed too);
- one whose ``req_id`` is among the marks -> fails exactly that requirement; otherwise, and for
  any other exception, every marked requirement fails (an exception that is not a
  ``ContractViolation`` counts as the expected failure when a marked requirement is listed).

Requirements a failing test marks but did not reach are not-checked for that test; another test
may still check them (``conformance.front.report`` merges the verdicts of all tests).
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from conformance.engine.spec import Requirement
from conformance.engine.violations import ContractViolation
from conformance.front.timeouts import KmwTimeout, time_limit

if sys.version_info >= (3, 11):
    _Group = BaseExceptionGroup  # noqa: F821 - a builtin from Python 3.11 on
else:  # pragma: no cover - hypothesis depends on the backport there
    from exceptiongroup import BaseExceptionGroup as _Group

PASS, FAIL, SHOULD_FINDING, EXPECTED_FAILURE, NOT_CHECKED = (
    "pass",
    "fail",
    "should-finding",
    "expected-failure",
    "not-checked",
)
#: Every outcome, in the order the report's summary lists them.
OUTCOMES = (PASS, FAIL, SHOULD_FINDING, EXPECTED_FAILURE, NOT_CHECKED)
#: When tests disagree about a requirement, the outcome with the highest rank wins.
RANK = {NOT_CHECKED: 0, PASS: 1, SHOULD_FINDING: 2, EXPECTED_FAILURE: 3, FAIL: 4}

#: Longest failing-example text kept in a verdict (head and tail are kept).
MAX_TEXT = 6000


class CandidateOutcomeError(Exception):
    """A pytest outcome (``pytest.skip()``, ``pytest.xfail()``, ``pytest.fail()``,
    ``pytest.exit()``, ``pytest.importorskip()``), ``SystemExit`` or ``os._exit()`` from the
    candidate's code during a suite test: the candidate's failure, never a skip or an xfail
    (the message says which it was)."""


@dataclass(frozen=True)
class Verdict:
    """What one test says about one requirement."""

    req_id: str
    outcome: str
    reason: str | None = None
    failing_example: str | None = None
    #: The schedule classes (``conformance.engine.coverage``) in which the test checked the requirement.
    schedule_classes: tuple[str, ...] = ()
    #: Seen while the test checked another requirement (``observed_verdicts``).
    observed: bool = False
    #: The failing example's reproduction as data (``ContractViolation.reproduction_data``).
    reproduction: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Verdict:
        return cls(
            req_id=str(data["req_id"]),
            outcome=str(data["outcome"]),
            reason=data.get("reason"),
            failing_example=data.get("failing_example"),
            schedule_classes=tuple(data.get("schedule_classes") or ()),
            observed=bool(data.get("observed", False)),
            reproduction=data.get("reproduction"),
        )


@dataclass
class Decision:
    """The displayed outcome of a failing test (``"failed"``, ``"xfailed"`` or ``"passed"``)
    and its verdicts; ``xfail_reason`` is set for ``"xfailed"``."""

    shown: str
    verdicts: list[Verdict] = field(default_factory=list)
    xfail_reason: str | None = None

    @property
    def findings(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.outcome == SHOULD_FINDING]


def trim(text: str, limit: int = MAX_TEXT) -> str:
    """``text`` cut to about ``limit`` characters, keeping its start and (longer) end."""
    if len(text) <= limit:
        return text
    head = limit // 3
    tail = limit - head
    return f"{text[:head]}\n... [{len(text) - limit} characters trimmed] ...\n{text[-tail:]}"


#: Longest reason kept in a verdict, and longest merged text of a requirement in the report.
MAX_REASON = 2000
MAX_MERGED = 4 * MAX_TEXT


#: How long one ``str()`` or ``repr()`` of a candidate's exception may take when bounding it.
RENDER_SECONDS = 5.0
#: Exceptions of one chain whose text is computed to bound it (the rest: replaced unasked).
MAX_RENDERED = 20


def bound_exception(exc: BaseException, limit: int = MAX_TEXT) -> None:
    """Cut, in place, the messages and notes of ``exc`` and of every exception it groups,
    was caused by or raised while handling, to about ``limit`` characters each (``trim``).

    Called before pytest renders a failure: a candidate raising a 50 MB message would
    otherwise be copied into pytest's failure text, the terminal and the report several
    times. An exception whose text does not come from ``args`` alone (its class defines
    ``__str__`` or ``__repr__``, or an argument is not a plain value) is rendered once, each
    within ``RENDER_SECONDS``; if that text is too long, raises or does not return, the
    exception's class is replaced by a subclass that shows the trimmed text (or says what went
    wrong) without running the candidate's code again (``_show_as``).
    """
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, _Group):
            stack.extend(e.exceptions)
        stack.extend((e.__cause__, e.__context__))
        try:
            _bound_one(e, limit)
            if not isinstance(e, ContractViolation):
                _bound_rendering(e, limit, render=len(seen) <= MAX_RENDERED)
        except Exception:  # noqa: BLE001 - a hostile exception: leave it as it is
            pass


def _bound_one(e: BaseException, limit: int) -> None:
    if isinstance(e, ContractViolation):
        changed = False
        for attr in ("summary", "where", "trace"):
            value = getattr(e, attr, None)
            if isinstance(value, str) and len(value) > limit:
                setattr(e, attr, trim(value, limit))
                changed = True
        for attr in ("expected", "got"):
            value = getattr(e, attr, None)
            if value is not None and not isinstance(value, (int, float)):
                text = str(value)
                if len(text) > limit:
                    setattr(e, attr, trim(text, limit))
                    changed = True
        if changed:
            e.args = (e._format(),)
    elif any(isinstance(a, (str, bytes)) and len(a) > limit for a in e.args):
        e.args = tuple(
            (trim(a, limit) if isinstance(a, str) else a[:limit] + b"...")
            if isinstance(a, (str, bytes)) and len(a) > limit
            else a
            for a in e.args
        )
    notes = getattr(e, "__notes__", None)
    if isinstance(notes, list) and any(isinstance(n, str) and len(n) > limit for n in notes):
        e.__notes__ = [trim(n, limit) if isinstance(n, str) else n for n in notes]


_PLAIN = (str, bytes, int, float, bool, type(None))


def _bound_rendering(e: BaseException, limit: int, render: bool) -> None:
    """Make ``str(e)`` and ``repr(e)`` short and safe to call (see ``bound_exception``)."""
    cls = type(e)
    if (cls.__str__ in _PLAIN_STR and cls.__repr__ in _PLAIN_REPR
            and all(type(a) in _PLAIN for a in e.args)):
        return  # rendered from plain args, already trimmed
    if not render:
        _show_as(e, f"<{cls.__name__}: not rendered>")
        return
    texts = [_render(f, e) for f in (str, repr)]
    if all(t is not None and len(t) <= limit for t in texts):
        return
    _show_as(e, *(trim(t, limit) if t is not None else
                  f"<{f.__name__}() of {cls.__name__} raised or did not return in "
                  f"{RENDER_SECONDS:g} s>" for f, t in zip((str, repr), texts, strict=True)))


_PLAIN_STR = {BaseException.__str__, Exception.__str__}
_PLAIN_REPR = {BaseException.__repr__, Exception.__repr__}


def _render(f: Any, e: BaseException) -> str | None:
    """``f(e)`` (the candidate's code) within ``RENDER_SECONDS`` (unless a time limit is already
    running: it is left alone); ``None`` if it raised or took longer."""
    armed = hasattr(signal, "getitimer") and signal.getitimer(signal.ITIMER_REAL)[0] > 0
    try:
        with time_limit(0 if armed else RENDER_SECONDS):
            text = f(e)
        return text if isinstance(text, str) else None
    except KeyboardInterrupt:
        raise
    except BaseException:  # noqa: BLE001 - KmwTimeout, SystemExit, anything the text raised
        return None


def _show_as(e: BaseException, text: str, shown: str | None = None) -> None:
    """Give ``e`` a class (a subclass of its own, same name) whose ``str`` is ``text`` and whose
    ``repr`` is ``shown`` (default: ``Name(text)``); failing that, ``args = (text,)``."""
    cls = type(e)
    try:
        sub = _SHOWN.get(cls)
        if sub is None:
            sub = _SHOWN[cls] = type(cls.__name__, (cls,), {
                "__slots__": (), "__module__": cls.__module__, "__qualname__": cls.__qualname__,
                "__str__": lambda self: BaseException.__getattribute__(self, "_kmw_str"),
                "__repr__": lambda self: BaseException.__getattribute__(self, "_kmw_repr"),
            })
        BaseException.__setattr__(e, "_kmw_str", text)
        BaseException.__setattr__(e, "_kmw_repr", shown or f"{cls.__name__}({text!r})")
        e.__class__ = sub
    except Exception:  # noqa: BLE001 - a class that cannot be subclassed or swapped
        e.args = (text,)


_SHOWN: dict[type, type] = {}


def bounded(v: Verdict) -> Verdict:
    """``v`` with its reason and failing example trimmed (``MAX_REASON``, ``MAX_TEXT``)."""
    reason, example = v.reason, v.failing_example
    if (reason is None or len(reason) <= MAX_REASON) and (
        example is None or len(example) <= MAX_TEXT
    ):
        return v
    return replace(
        v,
        reason=None if reason is None else trim(reason, MAX_REASON),
        failing_example=None if example is None else trim(example),
    )


def leaves(exc: BaseException) -> list[BaseException]:
    """The exceptions inside ``exc`` (flattening exception groups, as hypothesis raises them)."""
    if isinstance(exc, _Group):
        out: list[BaseException] = []
        for inner in exc.exceptions:
            out.extend(leaves(inner))
        return out
    return [exc]


def describe(exc: BaseException) -> str:
    """``exc``'s message with its notes (hypothesis's falsifying example, reproduction blob)."""
    if isinstance(exc, ContractViolation):
        text = str(exc)
    else:
        text = f"{type(exc).__name__}: {exc}"
    notes = [str(n) for n in getattr(exc, "__notes__", ()) or ()]
    return trim("\n".join([text, *notes]))


def _why(exc: BaseException) -> str:
    if isinstance(exc, (KmwTimeout, CandidateOutcomeError)):
        return str(exc)
    if isinstance(exc, pytest.fail.Exception):
        return str(exc.msg)  # pytest.fail(msg), e.g. --kmw-timeout
    origin = _suite_origin(exc)
    if origin:
        return (f"the suite itself raised {type(exc).__name__} at {origin}, naming no "
                f"requirement: probably a bug in kmw's conformance suite, not in the candidate "
                f"(please report it with this output)")
    return f"the test raised {type(exc).__name__}"


_SUITE_DIR = str(Path(__file__).resolve().parents[1])


def _suite_origin(exc: BaseException) -> str | None:
    """``file:line`` where ``exc`` was raised, when that is this package's own code."""
    tb = exc.__traceback__
    if tb is None:
        return None
    while tb.tb_next is not None:
        tb = tb.tb_next
    filename = str(Path(tb.tb_frame.f_code.co_filename).resolve())
    if not filename.startswith(_SUITE_DIR + "/"):
        return None
    return f"conformance/{filename[len(_SUITE_DIR) + 1:]}:{tb.tb_lineno}"


def decide_failure(
    reqs: Sequence[str],
    exc: BaseException,
    spec: Mapping[str, Requirement],
    xfails: Mapping[str, str],
    strict: bool,
    failure_text: str,
) -> Decision:
    """Verdicts for a test marked ``reqs`` whose body raised ``exc``.

    ``xfails`` maps requirement IDs to the xfail file's reasons; ``failure_text`` is pytest's
    rendering of the failure (used for exceptions that are not ``ContractViolation``s).
    """
    hard: dict[str, Verdict] = {}
    expected: dict[str, Verdict] = {}
    findings: dict[str, Verdict] = {}
    listed_marks = [r for r in reqs if r in xfails]
    for leaf in leaves(exc):
        if isinstance(leaf, ContractViolation):
            rid = leaf.req_id
            text = describe(leaf)
            repro = getattr(leaf, "reproduction_data", None)
            if rid in xfails:
                expected.setdefault(rid, Verdict(rid, EXPECTED_FAILURE, xfails[rid], text,
                                                 reproduction=repro))
            elif rid in spec and spec[rid].is_should and not strict:
                findings.setdefault(rid, Verdict(rid, SHOULD_FINDING, leaf.summary, text,
                                                 reproduction=repro))
            elif rid in reqs:
                follows = (f" (follows from the {leaf.follows} violation at the same call)"
                           if getattr(leaf, "follows", None) else "")
                hard.setdefault(rid, Verdict(rid, FAIL, f"violated: {leaf.summary}{follows}",
                                             text, reproduction=repro))
            else:
                why = f"the test raised a violation of {rid}, which it is not marked with"
                for r in reqs:
                    hard.setdefault(r, Verdict(r, FAIL, why, text, reproduction=repro))
        elif listed_marks:
            for r in listed_marks:
                expected.setdefault(r, Verdict(r, EXPECTED_FAILURE, xfails[r], trim(failure_text)))
        else:
            why = _why(leaf)
            for r in reqs:
                hard.setdefault(r, Verdict(r, FAIL, why, trim(failure_text)))

    verdicts = [*hard.values(), *expected.values(), *findings.values()]
    decided = {v.req_id for v in verdicts}
    if hard:
        shown, stopped_by = "failed", next(iter(hard))
    elif expected:
        shown, stopped_by = "xfailed", next(iter(expected))
    else:
        shown, stopped_by = "passed", next(iter(findings))
    for r in reqs:
        if r not in decided:
            verdicts.append(
                Verdict(r, NOT_CHECKED, f"not reached: the test stopped at {stopped_by}")
            )
    xfail_reason = None
    if shown == "xfailed":
        xfail_reason = "; ".join(f"{v.req_id}: {v.reason}" for v in expected.values())
    return Decision(shown, verdicts, xfail_reason)


def observed_verdicts(
    violations: Sequence[ContractViolation],
    reqs: Sequence[str],
    spec: Mapping[str, Requirement],
    xfails: Mapping[str, str],
    strict: bool,
) -> list[Verdict]:
    """Verdicts for the violations a test marked ``reqs`` saw of other requirements (the
    engine's ``OBSERVED``), each under its own requirement: expected-failure if listed in the
    xfail file, a should-finding for a SHOULD (without ``--kmw-strict``), else a failure. They
    do not change the test's own outcome; the run's exit status counts them (every MUST must
    pass)."""
    out = []
    for v in violations:
        rid = v.req_id
        text = describe(v)
        seen = f"seen while checking {', '.join(reqs)}"
        if v.follows:
            seen += f"; follows from the {v.follows} violation at the same call"
        if rid in xfails:
            outcome, reason = EXPECTED_FAILURE, xfails[rid]
        elif rid in spec and spec[rid].is_should and not strict:
            outcome, reason = SHOULD_FINDING, f"{v.summary} ({seen})"
        else:
            outcome, reason = FAIL, f"violated ({seen}): {v.summary}"
        out.append(Verdict(rid, outcome, reason, text, observed=True,
                           reproduction=getattr(v, "reproduction_data", None)))
    return out


def uniform(
    reqs: Sequence[str], outcome: str, reason: str | None, text: str | None = None
) -> list[Verdict]:
    """The same verdict for every requirement in ``reqs``."""
    return [Verdict(r, outcome, reason, text) for r in reqs]
