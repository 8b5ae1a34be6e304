"""Merge per-test verdicts into per-requirement outcomes, and write the JSON report.

``Aggregator.add`` takes the verdicts one test report carries (under xdist they reach the
controller in ``report.user_properties``); ``Aggregator.requirements()`` gives every SPEC
requirement its outcome: the highest-ranked outcome of its verdicts (fail > expected-failure >
should-finding > pass > not-checked), or not-checked when no test gave it a verdict.
``write_json_atomic`` writes with the project's one writer, ``kmw._files``; ``markdown`` is the
same table as Markdown (``--kmw-summary``, ``$GITHUB_STEP_SUMMARY``), which ``append_summary``
appends with it.
"""

from __future__ import annotations

import json
import math
import os
import platform
from collections.abc import Iterable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from conformance.engine.spec import Requirement
from conformance.front.verdicts import (
    EXPECTED_FAILURE,
    FAIL,
    MAX_MERGED,
    NOT_CHECKED,
    OUTCOMES,
    PASS,
    RANK,
    Verdict,
    bounded,
    trim,
)

#: ``user_properties`` name under which a test report carries its verdicts (a JSON string).
PROPERTY = "kmw_verdicts"
#: ``user_properties`` name under which a process sends the suite tests it deselected
#: (``{requirement ID: [test, ...]}``, JSON), once, on a setup report.
DESELECTED_PROPERTY = "kmw_deselected"

#: Distributions whose versions the report records.
VERSIONED = ("pytest", "hypothesis", "numpy", "gymnasium", "metaworld", "mujoco", "pytest-xdist")


def encode(test: str, verdicts: Iterable[Verdict], order: int | None = None) -> tuple[str, str]:
    """The ``user_properties`` entry carrying ``verdicts`` of the test named ``test``;
    ``order``: the test's place in the collection (see :meth:`Aggregator.add`)."""
    data: dict[str, Any] = {"test": test, "verdicts": [bounded(v).to_json() for v in verdicts]}
    if order is not None:
        data["order"] = order
    return PROPERTY, json.dumps(data)


def decode(
    user_properties: Iterable[tuple[str, Any]],
) -> list[tuple[str, list[Verdict], int | None]]:
    """Every ``(test, verdicts, order)`` carried in a report's ``user_properties`` (``order``:
    the test's place in the collection, None when the entry does not say)."""
    out = []
    for name, value in user_properties:
        if name != PROPERTY:
            continue
        data = json.loads(value)
        out.append((data["test"], [Verdict.from_json(v) for v in data["verdicts"]],
                    data.get("order")))
    return out


#: Failing examples of one requirement kept in the report (the first tests', in run order).
MAX_EXAMPLES = 3


class Aggregator:
    """Collects verdicts of all tests and merges them per requirement.

    ``declared`` maps requirement IDs that the run's options leave unchecked on purpose (a key
    scheme without their keys) to why; ``stopped_early`` is set when the session stopped before
    running every selected test (``-x``/``--maxfail``), for the not-checked reasons.
    """

    def __init__(self, spec: Mapping[str, Requirement], xfails: Mapping[str, str] | None = None,
                 declared: Mapping[str, str] | None = None) -> None:
        self.spec = spec
        self.xfails = dict(xfails or {})
        self.declared = dict(declared or {})
        self.stopped_early = False
        self._verdicts: dict[str, list[tuple[str, Verdict]]] = {rid: [] for rid in spec}
        #: Test -> its place in the collection, where known (see :meth:`add`).
        self._order: dict[str, int] = {}
        #: Requirement ID -> suite tests marked with it that were deselected (-k, -m, node IDs).
        self.deselected: dict[str, set[str]] = {}

    def stale(self) -> list[str]:
        """The requirements listed in the xfail file that were fully checked and never failed
        (a requirement some of whose tests were deselected is not: deselected cases are not
        evidence)."""
        return [rid for rid in self.xfails
                if self._merged(rid)[0] == PASS and not self.deselected.get(rid)]

    def _got(self, rid: str) -> list[tuple[str, Verdict]]:
        """``rid``'s verdicts in the order of their tests in the collection (tests of unknown
        place after the others, in the order they arrived)."""
        return sorted(self._verdicts.get(rid, []), key=lambda tv: self._order.get(tv[0], math.inf))

    def _merged(self, rid: str) -> tuple[str, list[tuple[str, Verdict]]]:
        got = self._got(rid)
        if not got:
            return NOT_CHECKED, []
        outcome = max((v.outcome for _, v in got), key=lambda o: RANK.get(o, -1))
        # A requirement's own tests first, then what other tests saw of it.
        return outcome, sorted(((t, v) for t, v in got if v.outcome == outcome),
                               key=lambda tv: tv[1].observed)

    def add(self, test: str, verdicts: Iterable[Verdict], order: int | None = None) -> None:
        """Take ``verdicts`` of ``test``. ``order``, the test's place in the collection, makes
        the merged entries (which tests' examples, reasons and reproductions come first) the
        same whatever order the tests ran or reported in: serially, and under xdist, where
        the controller receives the workers' reports as they finish."""
        if order is not None:
            self._order.setdefault(test, order)
        for v in verdicts:
            self._verdicts.setdefault(v.req_id, []).append((test, v))

    def add_deselected(self, by_requirement: Mapping[str, Iterable[str]]) -> None:
        for rid, tests in by_requirement.items():
            self.deselected.setdefault(rid, set()).update(tests)

    def add_user_properties(self, user_properties: Sequence[tuple[str, Any]]) -> None:
        for test, verdicts, order in decode(user_properties):
            self.add(test, verdicts, order)
        for name, value in user_properties:
            if name == DESELECTED_PROPERTY:
                self.add_deselected(json.loads(value))

    def _not_run_reason(self, rid: str) -> str:
        if self.deselected.get(rid):
            return "not selected (-k, -m or node IDs): a partial run checks only what it selects"
        if self.stopped_early:
            return "not run: the session stopped early (-x/--maxfail) before its tests"
        return "no test marked with this requirement was collected and run"

    def requirement(self, rid: str) -> dict[str, Any]:
        """The report entry of requirement ``rid``."""
        level = self.spec[rid].level if rid in self.spec else "UNKNOWN"
        got = self._got(rid)
        tests = sorted({t for t, _ in got})
        if not got:
            return {
                "level": level,
                "outcome": NOT_CHECKED,
                "tests": [],
                "failing_example": None,
                "reason": self.declared.get(rid) or self._not_run_reason(rid),
                "schedule_classes": [],
                "reproductions": [],
            }
        outcome, winners = self._merged(rid)
        reasons = list(dict.fromkeys(f"{v.reason}" for _, v in winners if v.reason))
        skipped = self.deselected.get(rid, set()) - set(tests)
        if outcome == PASS and skipped:
            outcome = NOT_CHECKED
            reasons = [f"partly checked: {len(skipped)} of its tests were not selected (-k, -m "
                       f"or node IDs); deselected cases are not evidence"]
        if outcome == PASS and rid in self.xfails:
            outcome = FAIL
            reasons = [f"stale xfail entry: listed in --kmw-xfail ({self.xfails[rid]}) but no "
                       f"test of it failed; remove the entry"]
        examples = [f"{t}:\n{v.failing_example}" for t, v in winners if v.failing_example]
        if len(examples) > MAX_EXAMPLES:
            examples = examples[:MAX_EXAMPLES] + [f"... and {len(examples) - MAX_EXAMPLES} more "
                                                  f"tests' failing examples"]
        return {
            "level": level,
            "outcome": outcome,
            "tests": tests,
            "failing_example": trim("\n\n".join(examples), MAX_MERGED) if examples else None,
            "reason": trim("; ".join(reasons), MAX_MERGED) if reasons else None,
            "schedule_classes": list(dict.fromkeys(c for _, v in got for c in v.schedule_classes)),
            "reproductions": [{"test": t, "reproduction": v.reproduction}
                              for t, v in winners if v.reproduction],
        }

    def seen_only_elsewhere(self) -> list[tuple[str, str, Verdict]]:
        """``(requirement ID, test, its first failing verdict)`` for every requirement that
        failed only in other requirements' tests (its own tests never showed the violation)."""
        out = []
        for rid in self.spec:
            outcome, winners = self._merged(rid)
            if outcome == FAIL and winners and all(v.observed for _, v in winners):
                out.append((rid, *winners[0]))
        return out

    def unmet(self) -> dict[str, str]:
        """The MUST requirements that keep the run from exiting 0, each with why: every MUST
        must pass, except one listed in the xfail file (expected to fail, or not checked) and
        one the options leave unchecked on purpose (``declared``)."""
        out = {}
        for rid, entry in self.requirements().items():
            if entry["level"] != "MUST" or entry["outcome"] in (PASS, EXPECTED_FAILURE):
                continue
            if entry["outcome"] == NOT_CHECKED and (rid in self.xfails or rid in self.declared):
                continue
            out[rid] = f"{entry['outcome']}: {entry['reason'] or ''}".rstrip(": ")
        return out

    def requirements(self) -> dict[str, dict[str, Any]]:
        """Every requirement's entry: SPEC's in table order, then any unknown IDs seen."""
        ids = list(self.spec) + sorted(set(self._verdicts) - set(self.spec))
        return {rid: self.requirement(rid) for rid in ids}

    def findings(self) -> list[tuple[str, str, Verdict]]:
        """``(req_id, test, verdict)`` for every SHOULD finding."""
        return [
            (rid, t, v)
            for rid in self._verdicts
            for t, v in self._got(rid)
            if v.outcome == "should-finding"
        ]


def summary(requirements: Mapping[str, Mapping[str, Any]]) -> dict[str, int]:
    """Count of requirements per outcome."""
    counts = dict.fromkeys(OUTCOMES, 0)
    for entry in requirements.values():
        counts[entry["outcome"]] = counts.get(entry["outcome"], 0) + 1
    return counts


def versions() -> dict[str, str | None]:
    """Python's and the dependencies' versions (``None`` for one not installed)."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for dist in VERSIONED:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def plugin_version() -> str:
    """The installed plugin's version (the ``kmw`` distribution's)."""
    try:
        return metadata.version("kmw")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def build_report(
    *,
    aggregator: Aggregator,
    contract_version: int,
    plugin_version: str,
    candidate: str,
    options: Mapping[str, Any],
    exit_status: int,
) -> dict[str, Any]:
    """The report as a JSON-able dict (schema: docs/plugin.md)."""
    reqs = aggregator.requirements()
    return {
        "contract_version": contract_version,
        "plugin_version": plugin_version,
        "candidate": candidate,
        "options": dict(options),
        "versions": versions(),
        "requirements": reqs,
        "summary": summary(reqs),
        "exit_status": exit_status,
    }


def write_json_atomic(path: str | os.PathLike[str], data: Any) -> Path:
    """Write ``data`` as JSON to ``path`` with the project's writer (``kmw._files.write_json``:
    atomic replace of a regular file, written through a symlink, in place into a FIFO or
    device), creating missing parent directories first. Returns ``path``."""
    from kmw._files import resolve_output, write_json  # not at import: plain pytest runs

    target = Path(path)
    resolve_output(target).parent.mkdir(parents=True, exist_ok=True)
    write_json(target, data)
    return target


#: Longest reason shown in a Markdown table cell.
MD_REASON = 160


def md_cell(text: str | None, limit: int = MD_REASON) -> str:
    """``text`` as one Markdown table cell: on one line, at most ``limit`` characters, ``|``
    escaped and HTML-looking text (``<lambda>``) shown as text."""
    text = " ".join((text or "").split())
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def markdown(
    requirements: Mapping[str, Mapping[str, Any]],
    *,
    candidate: str,
    options: Mapping[str, Any],
    exit_status: int,
) -> str:
    """The per-requirement table as a Markdown section: a header naming the candidate, the
    hypothesis profile, the backend and the count of requirements per outcome, then one row per
    requirement (ID, level, outcome, short reason)."""
    counts = summary(requirements)
    backend = str(options.get("backend"))
    if options.get("env_api") and backend == "scripted":
        backend += f" ({options['env_api']} API)"
    lines = [
        f"## kmw conformance of `{md_cell(candidate)}`",
        "",
        f"Profile `{options.get('hypothesis_profile')}`"
        + (f" ({options['random_examples']} random examples per property after the schedule "
           "classes)" if options.get("random_examples") is not None else "")
        + f", backend `{backend}`, keys "
        f"`{options.get('keys')}`{', strict' if options.get('strict') else ''}; "
        f"pytest exit status {exit_status}.",
        "",
        ", ".join(f"**{n} {o}**" if o == FAIL else f"{n} {o}" for o, n in counts.items() if n),
        "",
        "| Requirement | Level | Outcome | Reason |",
        "|---|---|---|---|",
    ]
    for rid, entry in requirements.items():
        outcome = entry["outcome"]
        reason = entry.get("reason") if outcome != PASS else None
        shown = f"**{outcome}**" if outcome == FAIL else outcome
        lines.append(f"| {md_cell(rid)} | {md_cell(entry['level'])} | {shown} | {md_cell(reason)} |")
    return "\n".join(lines) + "\n\n"


def append_summary(path: str | os.PathLike[str], text: str) -> Path:
    """Append ``text`` to ``path`` with the project's writer (``kmw._files.append_text``),
    creating missing parent directories first. Returns ``path``."""
    from kmw._files import append_text, resolve_output  # not at import: plain pytest runs

    target = Path(path)
    resolve_output(target).parent.mkdir(parents=True, exist_ok=True)
    append_text(target, text)
    return target
