"""The exception a property raises when a candidate breaks a requirement of the contract."""

from __future__ import annotations

from typing import Any


class ContractViolation(AssertionError):
    """A candidate broke requirement ``req_id`` (an ID of ``conformance/SPEC.md``).

    ``expected`` and ``got`` describe what the contract asked for and what came back; ``where``
    locates it in the trial (e.g. ``"trial 0, step 7 (attempt 1, step 3 of it)"``); ``trace`` is
    a short readable log of the trial up to the failure.
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
    ) -> None:
        self.req_id = req_id
        self.summary = summary
        self.expected = expected
        self.got = got
        self.where = where
        self.trace = trace
        super().__init__(self._format())

    def _format(self) -> str:
        lines = [f"[{self.req_id}] {self.summary}"]
        if self.where:
            lines.append(f"  at:       {self.where}")
        if self.expected is not None:
            lines.append(f"  expected: {self.expected}")
        if self.got is not None:
            lines.append(f"  got:      {self.got}")
        if self.trace:
            lines.append("  trial so far:")
            lines.extend("    " + line for line in self.trace.splitlines())
        return "\n".join(lines)
