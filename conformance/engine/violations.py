"""The exception a property raises when a candidate breaks a requirement of the contract."""

from __future__ import annotations

from typing import Any

#: The line after which a violation's text shows its reproduction (``python -m
#: conformance.engine.replay`` finds it there in a report).
REPRODUCE_HEADING = "  reproduce with:"
#: Longest violation text (with its reproduction) whose trial log is shown whole.
REPRO_BUDGET = 4000


class ContractViolation(AssertionError):
    """A candidate broke requirement ``req_id`` (an ID of ``conformance/SPEC.md``).

    ``expected`` and ``got`` describe what the contract asked for and what came back; ``where``
    locates it in the trial (e.g. ``"trial 0, step 7 (attempt 1, step 3 of it)"``); ``trace`` is
    a short readable log of the trial up to the failure; ``reproduction`` Python that raises
    the violation again outside pytest (:mod:`conformance.engine.replay`), shown last under
    :data:`REPRODUCE_HEADING`, its lines indented by four spaces. ``follows`` names the
    requirement whose violation at the same call this one is a consequence of (its root), if
    any.
    """

    def __init__(
        self,
        req_id: str,
        summary: str,
        *,
        expected: Any = None,
        got: Any = None,
        where: str = "",
        trace: str = "",
        reproduction: str = "",
        follows: str | None = None,
    ) -> None:
        self.req_id = req_id
        self.follows = follows
        self.summary = summary
        self.expected = expected
        self.got = got
        self.where = where
        self.trace = trace
        self.reproduction = reproduction
        super().__init__(self._format())

    def _format(self) -> str:
        lines = [f"[{self.req_id}] {self.summary}"]
        if self.follows:
            lines.append(f"  follows:  from the {self.follows} violation at the same call "
                         f"(the root; fix that first)")
        if self.where:
            lines.append(f"  at:       {self.where}")
        if self.expected is not None:
            lines.append(f"  expected: {self.expected}")
        if self.got is not None:
            lines.append(f"  got:      {self.got}")
        trace = self.trace.splitlines() if self.trace else []
        repro = self.reproduction.splitlines() if self.reproduction else []
        if repro:
            # The report keeps a failure's first and last characters: the reproduction must
            # be among the last, so a long trial log gives up its earliest lines.
            budget = REPRO_BUDGET - sum(len(x) + 1 for x in lines + repro)
            kept: list[str] = []
            for line in reversed(trace):
                budget -= len(line) + 5
                if budget < 0 and len(kept) >= 4:
                    kept.append(f"... ({len(trace) - len(kept)} earlier lines not shown)")
                    break
                kept.append(line)
            trace = kept[::-1]
        if trace:
            lines.append("  trial so far:")
            lines.extend("    " + line for line in trace)
        if repro:
            lines.append(REPRODUCE_HEADING)
            lines.extend("    " + line for line in repro)
        return "\n".join(lines)


class SuiteInterrupt(BaseException):
    """An interruption the suite's front raises into running code (``--kmw-timeout``'s time
    limit). It passes through the candidate boundary untouched: it is never the candidate's
    failure."""


def raised_by_candidate(exc: BaseException) -> bool:
    """Whether ``exc``, raised by candidate code, is the candidate's doing.

    Every exception counts (``SystemExit`` from an argument parser, pytest's ``Skipped`` or
    ``XFailed`` from ``pytest.skip()``/``pytest.xfail()`` in the candidate's code, ...), except
    a ``KeyboardInterrupt`` (the user's Ctrl-C) and a :class:`SuiteInterrupt`, which must reach
    whoever set them off.
    """
    return not isinstance(exc, (KeyboardInterrupt, SuiteInterrupt))


class ObservedViolations:
    """Violations of requirements other than a property's target, seen while checking it.

    A property stops at its target's violation, and an example at another requirement's
    blocking finding; what the trusted model saw of other requirements on the way is still a
    violation of those requirements. The properties record the first violation of each
    requirement here (with its reproduction); the pytest front takes them after each test and
    reports them under their own IDs (``take``), so no finding is lost and none decides the
    target's outcome.
    """

    def __init__(self) -> None:
        self._by_req: dict[str, ContractViolation] = {}

    def add(self, violation: ContractViolation) -> None:
        """Record ``violation`` unless one of its requirement is already recorded."""
        self._by_req.setdefault(violation.req_id, violation)

    def __contains__(self, req_id: str) -> bool:
        return req_id in self._by_req

    def pop(self, req_id: str) -> ContractViolation | None:
        """The violation recorded for ``req_id`` (removed), or ``None``."""
        return self._by_req.pop(req_id, None)

    def take(self) -> list[ContractViolation]:
        """The violations recorded since the last ``take``, in the order they were seen."""
        out, self._by_req = list(self._by_req.values()), {}
        return out


#: The process-wide record the properties write and the pytest front reads after each test.
OBSERVED = ObservedViolations()


class NotChecked(Exception):  # noqa: N818 - an outcome, as pytest's Skipped
    """A property could not check its requirement on this candidate (the message says why).

    Not a verdict against the candidate: the pytest front shows it as a skipped test and the
    requirement as ``not-checked`` unless another test checked it.
    """


def hide_frame(excinfo: Any) -> bool:
    """A suite frame's ``__tracebackhide__``: hidden when a contract violation passes through.

    A violation is about the candidate, so the suite's own frames are noise; any other
    exception may be a bug in the suite, and then the frame that raised it must show.
    """
    return excinfo is not None and excinfo.errisinstance(ContractViolation)
