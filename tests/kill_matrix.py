"""The kill matrix: the conformance suite run on every mutant and every correct variant.

Run as a script from the repository root::

    python tests/kill_matrix.py [--json PATH] [--jobs 2] [--only NAME ...] [--subprocess] [--thin]

By default each candidate is checked **in-process** (:func:`run_in_process`, through
``tests/inprocess.py``): every suite test function is called directly with the ``kmw_config``
the plugin would build, under the same hypothesis profile, and its exception goes through the
plugin's own verdict logic (``conformance.front.verdicts.decide_failure``) and report
(``conformance.front.report.Aggregator`` / ``build_report``); ``--jobs`` forked worker
processes share the candidates. ``--subprocess`` runs each candidate in its own
``python -m pytest --kmw-impl=<candidate> --kmw-report=...`` subprocess instead
(:func:`run_candidate`; cwd = repository root, ``PYTHONPATH`` = repository root), exactly as a
user would check a wrapper. Both give the same :class:`RunResult`, judged by :func:`judge`.
``--thin`` runs the *thin matrix* (:func:`run_thin`, the project's fast tier): each mutant on
the suite tests of the requirements it declares, each variant and the control on every suite
test, with the explicit cases alone (no random example).

A *mutant* (``tests/mutants/``) is **caught** when the MUST requirements it declares in
``BREAKS`` are exactly the ones that fail, its declared SHOULD requirements show as SHOULD
findings and nothing else does, and the run exits non-zero if it breaks a MUST. A *variant*
(``tests/correct_variants/``) and the *control* (:data:`CONTROL_IMPL`) **pass** when the run
exits 0 with no failure and no SHOULD finding.

The script prints a table mutant x requirement (``X`` declared and caught, ``m`` declared but
missed, ``+`` failed but not declared, ``s``/``S?`` the same for SHOULD findings, ``-`` not
checked), the kill rate (mutants caught exactly as declared / mutants) and each variant's status.
``--json`` writes every candidate's JSON report (the plugin's ``--kmw-report`` shape) with the
verdict added under ``"kill_matrix"``. It is importable: ``tests/test_mutants.py`` uses
:func:`candidates`, :func:`run_thin`, :func:`run_in_process`, :func:`run_candidate` and
:func:`judge`.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make ``tests.*`` and ``conformance`` importable
    sys.path.insert(0, str(ROOT))

from conformance.engine.spec import load_spec  # noqa: E402
from conformance.front.verdicts import (  # noqa: E402 - the plugin's outcome names
    EXPECTED_FAILURE,
    FAIL,
    NOT_CHECKED,
    PASS,
    SHOULD_FINDING,
)

#: Set in the environment of every suite subprocess, so tests/test_mutants.py never recurses.
INNER_RUN_ENV = "KMW_KILL_MATRIX_INNER"
#: The profile of the matrix's suite runs: the suite's own default, ``kmw-dev`` (derandomized,
#: 20 examples per property after the explicit schedule classes). ``--profile kmw-ci`` runs it
#: as CI users do.
DEFAULT_PROFILE = "kmw-dev"
#: A smaller profile for iterating on mutants (same plugin; ``$KMW_QUICK_EXAMPLES`` examples).
QUICK_PROFILE = "kmw-quick"
#: The thin matrix's profile: ``kmw-dev`` with no random examples, the explicit cases alone.
THIN_PROFILE = "kmw-thin"
#: The profiles ``tests/mutants/_quick_profile.py`` registers.
TEST_PROFILES = (QUICK_PROFILE, THIN_PROFILE)
#: The control: the unmutated reference, which every mutant subclasses (a dotted path, as
#: ``--kmw-impl`` takes it), and the candidate name it runs under.
CONTROL_IMPL, CONTROL_NAME = "kmw.KEpisodeMetaworld", "reference"
#: Re-exported for the matrix's users: the outcomes of the plugin's report.
OUTCOMES = (PASS, FAIL, SHOULD_FINDING, NOT_CHECKED)


@dataclass(frozen=True)
class Candidate:
    """One wrapper the suite is run on.

    ``kind`` is ``"mutant"``, ``"variant"`` or ``"control"``; ``impl`` its ``--kmw-impl``;
    ``breaks`` the requirement IDs it declares broken (empty for variants and the control);
    ``options`` extra pytest options; ``not_checked`` IDs that must come out not checked.
    """

    kind: str
    name: str
    impl: str
    doc: str
    breaks: frozenset[str] = frozenset()
    options: tuple[str, ...] = ()
    not_checked: frozenset[str] = frozenset()


@dataclass
class RunResult:
    """What one suite run produced: its exit status, per-requirement outcomes and report."""

    candidate: Candidate
    exit_status: int
    seconds: float
    outcomes: dict[str, str]
    report: dict[str, Any] | None
    output_tail: str
    cpu_seconds: float = 0.0
    #: Requirements the run left out (a thin run: none of their tests ran, no test saw them);
    #: :func:`judge` does not judge them, and ``exit_status`` is the run's without them.
    left_out: frozenset[str] = frozenset()

    @property
    def failed_tests(self) -> list[str]:
        """The ``FAILED``/``ERROR`` lines of pytest's short summary."""
        return [ln for ln in self.output_tail.splitlines() if ln.startswith(("FAILED", "ERROR"))]


@dataclass
class Verdict:
    """A run judged against its candidate's declaration."""

    name: str
    kind: str
    ok: bool
    problems: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)


def _load(module: str) -> Any:
    return importlib.import_module(module)


def _candidate(kind: str, impl: str, name: str | None = None) -> Candidate:
    """The candidate at dotted path ``impl``, named ``name`` or after its module
    (``pkg.name.Wrapper``); a module's ``Wrapper`` takes its declarations (``BREAKS``,
    ``OPTIONS``, ``NOT_CHECKED``) and doc from the module, anything else declares nothing."""
    module, _, attr = impl.rpartition(".")
    mod = _load(module)
    declares = mod if attr == "Wrapper" else None
    doc = ((mod if declares else getattr(mod, attr)).__doc__ or "").strip()
    return Candidate(
        kind=kind,
        name=name or module.rsplit(".", 1)[-1],
        impl=impl,
        doc=doc.splitlines()[0] if doc else "",
        breaks=frozenset(getattr(declares, "BREAKS", frozenset())),
        options=tuple(getattr(declares, "OPTIONS", ())),
        not_checked=frozenset(getattr(declares, "NOT_CHECKED", frozenset())),
    )


def candidates(only: Iterable[str] | None = None) -> list[Candidate]:
    """The control, every mutant and every correct variant (or those named in ``only``)."""
    from tests import correct_variants, mutants

    wanted = set(only) if only else None
    out = [_candidate("control", CONTROL_IMPL, CONTROL_NAME)]
    out += [_candidate("mutant", f"tests.mutants.{n}.Wrapper") for n in mutants.mutant_names()]
    out += [_candidate("variant", f"tests.correct_variants.{n}.Wrapper")
            for n in correct_variants.variant_names()]
    if wanted is not None:
        out = [c for c in out if c.name in wanted]
        if len(out) != len(wanted):
            known = {c.name for c in out}
            raise SystemExit(f"unknown candidates: {sorted(wanted - known)}")
    return out


def suite_command(
    candidate: Candidate, report: Path, profile: str | None = DEFAULT_PROFILE, workers: int = 0
) -> list[str]:
    """The pytest command line that checks ``candidate`` and writes its report to ``report``
    (``workers``: xdist workers, ``-n``; 0: serial, xdist not loaded)."""
    cmd = [
        sys.executable, "-m", "pytest",
        f"--kmw-impl={candidate.impl}",
        "-p", "no:cacheprovider",
        *(("-n", str(workers)) if workers else ("-p", "no:xdist")),
        f"--kmw-report={report}",
        "-q", "--no-header", "-rfE",
    ]
    if profile in TEST_PROFILES:
        cmd += ["-p", "tests.mutants._quick_profile"]
    if profile:
        cmd.append(f"--hypothesis-profile={profile}")
    return cmd + list(candidate.options)


def run_candidate(
    candidate: Candidate, profile: str | None = DEFAULT_PROFILE, workdir: Path | None = None,
    extra: Sequence[str] = (), workers: int = 0,
) -> RunResult:
    """Run the conformance suite on ``candidate`` in a subprocess and read its report.

    Hypothesis's storage directory is a fresh one inside ``workdir``: no example database of an
    earlier run can take part. ``extra``: more pytest arguments (e.g. the backend);
    ``workers``: run under ``pytest -n workers`` (0: serially).
    """
    tmp = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="kmw-kill-"))
    report_path = tmp / f"{candidate.kind}-{candidate.name}{f'-n{workers}' if workers else ''}.json"
    env = dict(os.environ)
    env["HYPOTHESIS_STORAGE_DIRECTORY"] = str(tempfile.mkdtemp(prefix="hyp-", dir=tmp))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env[INNER_RUN_ENV] = "1"
    env.pop("PYTEST_XDIST_WORKER", None)
    env.pop("PYTEST_ADDOPTS", None)
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(
            [*suite_command(candidate, report_path, profile, workers), *extra],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, text=True,
        )
        _, status, usage = os.wait4(proc.pid, 0)  # wait and get the run's own CPU time
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - start
        out.seek(0)
        output = out.read()
    report = None
    if report_path.exists():
        report = json.loads(report_path.read_text())
    outcomes = {rid: r["outcome"] for rid, r in (report or {}).get("requirements", {}).items()}
    tail = "\n".join(output.splitlines()[-80:])
    cpu = usage.ru_utime + usage.ru_stime
    return RunResult(candidate, proc.returncode, seconds, outcomes, report, tail, cpu)


def run_in_process(candidate: Candidate, profile: str | None = DEFAULT_PROFILE) -> RunResult:
    """Run the conformance suite on ``candidate`` in this process (``tests/inprocess.py``): the
    same checks, verdicts and report as :func:`run_candidate`'s subprocess, without the
    subprocess. ``candidate.options`` must be ``--kmw-*`` options the in-process runner knows."""
    from tests.inprocess import SuiteOptions, run_suite

    start, cpu_start = time.perf_counter(), _own_cpu()
    run = run_suite(candidate.impl, SuiteOptions.parse(candidate.options), profile)
    seconds, cpu_seconds = time.perf_counter() - start, _own_cpu() - cpu_start
    return RunResult(candidate, run.exit_status, seconds, run.outcomes, run.report,
                     "\n".join(run.failed), cpu_seconds)


def thin_requirements(candidate: Candidate) -> frozenset[str]:
    """The requirements the thin matrix checks ``candidate`` on: those a mutant declares it
    breaks; every requirement for a correct variant or the control (they declare nothing, and
    must pass everything)."""
    return candidate.breaks or frozenset(levels())


def run_thin(candidate: Candidate) -> RunResult:
    """The thin matrix's run of ``candidate``, in this process: the suite tests of
    :func:`thin_requirements` only (the others deselected), under :data:`THIN_PROFILE` (their
    explicit cases, no random example), judged on what it selected
    (:func:`without_unselected`)."""
    from tests.inprocess import SuiteOptions, run_suite, suite_calls

    wanted = thin_requirements(candidate)
    calls = [c for c in suite_calls() if wanted & set(c.reqs)]
    start, cpu_start = time.perf_counter(), _own_cpu()
    run = run_suite(candidate.impl, SuiteOptions.parse(candidate.options), THIN_PROFILE, calls)
    seconds, cpu_seconds = time.perf_counter() - start, _own_cpu() - cpu_start
    return without_unselected(RunResult(candidate, run.exit_status, seconds, run.outcomes,
                                        run.report, "\n".join(run.failed), cpu_seconds))


#: How the report begins the reason of a requirement none of whose tests were selected, and
#: what it says of one the key scheme leaves unchecked (``plugin.unchecked_by_keys``).
NOT_SELECTED, DECLARED_BY_KEYS = "not selected", "(declared by --kmw-keys="


def without_unselected(result: RunResult) -> RunResult:
    """``result`` of a partial run (``-k``, or :func:`run_thin`'s subset) as a run of what it
    selected: the requirements none of whose tests were selected and that no test saw (not
    checked, "not selected") are left out (``RunResult.left_out``, not judged), and the exit
    status is the rule of SPEC.md applied to the rest: 1 if a test failed or a MUST left in is
    not met (failed, or not checked unless the key scheme declares it), else 0."""
    from dataclasses import replace

    reqs = (result.report or {}).get("requirements", {})
    left_out = frozenset(rid for rid, r in reqs.items() if r["outcome"] == NOT_CHECKED
                         and not r["tests"] and (r["reason"] or "").startswith(NOT_SELECTED))
    unmet = [rid for rid, r in reqs.items()
             if rid not in left_out and r["level"] == "MUST"
             and r["outcome"] not in (PASS, EXPECTED_FAILURE)
             and not (r["outcome"] == NOT_CHECKED and DECLARED_BY_KEYS in (r["reason"] or ""))]
    status = 1 if result.failed_tests or unmet or result.report is None else 0
    return replace(result, exit_status=status, left_out=left_out)


def _own_cpu() -> float:
    """This process's CPU seconds so far (user + system)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def levels() -> dict[str, str]:
    """Every requirement ID of SPEC.md with its level, in table order."""
    return {rid: r.level for rid, r in load_spec().items()}


def judge(result: RunResult, spec_levels: dict[str, str] | None = None) -> Verdict:
    """Compare a run with its candidate's declaration (see the module docstring)."""
    lv = spec_levels or levels()
    c = result.candidate
    v = Verdict(c.name, c.kind, ok=True)
    if result.report is None:
        v.ok = False
        v.problems.append(f"no report written (exit {result.exit_status}):\n{result.output_tail}")
        return v
    unknown = sorted(c.breaks - set(lv))
    if unknown:
        v.problems.append(f"BREAKS names unknown requirement IDs {unknown}")
    outcomes = {r: o for r, o in result.outcomes.items() if r not in result.left_out}
    failed = {r for r, o in outcomes.items() if o == FAIL}
    found = {r for r, o in outcomes.items() if o == SHOULD_FINDING}
    want_fail = {r for r in c.breaks if lv.get(r) == "MUST"}
    want_found = {r for r in c.breaks if lv.get(r) == "SHOULD"}
    v.missed = sorted((want_fail - failed) | (want_found - found))
    v.unexpected = sorted((failed - want_fail) | (found - want_found))
    if v.missed:
        v.problems.append("declared but not caught: " + ", ".join(
            f"{r} ({result.outcomes.get(r, 'absent')})" for r in v.missed))
    if v.unexpected:
        v.problems.append("caught but not declared: " + ", ".join(
            f"{r} ({result.outcomes[r]})" for r in v.unexpected))
    should_exit_nonzero = bool(want_fail)
    if should_exit_nonzero != (result.exit_status != 0):
        v.problems.append(f"exit status {result.exit_status}, expected "
                          f"{'non-zero' if should_exit_nonzero else 0}"
                          + "".join(f"\n    {ln}" for ln in result.failed_tests))
    wrong_nc = sorted(r for r in c.not_checked - result.left_out
                      if outcomes.get(r) != NOT_CHECKED)
    if wrong_nc:
        v.problems.append("expected not checked: " + ", ".join(
            f"{r} ({result.outcomes.get(r, 'absent')})" for r in wrong_nc))
    v.ok = not v.problems
    return v


_CELL = {
    (True, FAIL): "X", (True, SHOULD_FINDING): "s", (False, FAIL): "+",
    (False, SHOULD_FINDING): "S?", (False, NOT_CHECKED): "-", (True, NOT_CHECKED): "m-",
}


def _cell(declared: bool, outcome: str) -> str:
    if (declared, outcome) in _CELL:
        return _CELL[(declared, outcome)]
    return "m" if declared else "."


def format_matrix(results: Sequence[RunResult], verdicts: Sequence[Verdict]) -> str:
    """The kill matrix as a Markdown table plus the kill rate and the variants' status."""
    lv = levels()
    ids = list(lv)
    short = [r.removeprefix("KMW-") for r in ids]
    lines = ["| candidate | " + " | ".join(short) + " | caught |",
             "|---|" + "---|" * len(ids) + "---|"]
    pairs = list(zip(results, verdicts, strict=True))
    mutants = [(r, v) for r, v in pairs if r.candidate.kind == "mutant"]
    for r, v in mutants:
        cells = ["" if rid in r.left_out else _cell(rid in r.candidate.breaks,
                                                        r.outcomes.get(rid, "?"))
                 for rid in ids]
        mark = "yes" if v.ok else "NO"
        lines.append(f"| {r.candidate.name} | " + " | ".join(cells) + f" | {mark} |")
    caught = sum(v.ok for _, v in mutants)
    lines.append("")
    if mutants:
        lines.append(f"Kill rate: {caught}/{len(mutants)} mutants caught exactly as declared "
                     f"({100.0 * caught / len(mutants):.0f}%).")
    lines.append("")
    for r, v in zip(results, verdicts, strict=True):
        if r.candidate.kind != "mutant":
            status = "passes" if v.ok else "FLAGGED: " + "; ".join(v.problems)
            lines.append(f"- {r.candidate.kind} `{r.candidate.name}`: {status}")
    misses = [(r, v) for r, v in mutants if not v.ok]
    if misses:
        lines.append("")
        lines.append("Mutants not caught exactly as declared:")
        for r, v in misses:
            lines.append(f"- `{r.candidate.name}`: " + "; ".join(v.problems))
    lines.append("")
    lines.append("Legend: X declared MUST failed; s declared SHOULD finding; + failed, not "
                 "declared; S? SHOULD finding, not declared; m declared, missed "
                 "(m- missed as not checked); - not checked; . passed; empty: not run (--thin).")
    return "\n".join(lines)


def format_compact(results: Sequence[RunResult], verdicts: Sequence[Verdict]) -> str:
    """One row per mutant: its bug, what it declares and what the suite flagged (for docs)."""
    lines = ["| mutant | bug | declared | suite flagged | caught |", "|---|---|---|---|---|"]
    pairs = list(zip(results, verdicts, strict=True))
    mutants = [(r, v) for r, v in pairs if r.candidate.kind == "mutant"]
    for r, v in mutants:
        flagged = sorted(rid for rid, o in r.outcomes.items() if o in (FAIL, SHOULD_FINDING))
        shown = ", ".join(
            rid.removeprefix("KMW-") + (" (SHOULD)" if r.outcomes[rid] == SHOULD_FINDING else "")
            for rid in flagged
        )
        declared = ", ".join(sorted(x.removeprefix("KMW-") for x in r.candidate.breaks))
        bug = r.candidate.doc.replace("|", "\\|")
        lines.append(f"| `{r.candidate.name}` | {bug} | {declared} | {shown or 'nothing'} | "
                     f"{'yes' if v.ok else '**no**'} |")
    caught = sum(v.ok for _, v in mutants)
    if mutants:
        lines += ["", f"Kill rate: {caught}/{len(mutants)} mutants caught exactly as declared."]
    lines.append("")
    for r, v in pairs:
        if r.candidate.kind != "mutant":
            status = "passes" if v.ok else "**flagged**: " + "; ".join(v.problems)
            lines.append(f"- {r.candidate.kind} `{r.candidate.name}`: {status}")
    return "\n".join(lines)


def _in_process_job(args: tuple[Candidate, str | None, bool]) -> RunResult:
    candidate, profile, thin = args
    return run_thin(candidate) if thin else run_in_process(candidate, profile)


def run_all(
    cands: Sequence[Candidate], jobs: int = 2, profile: str | None = DEFAULT_PROFILE,
    progress: bool = True, in_process: bool = True, thin: bool = False,
) -> list[RunResult]:
    """Run the suite on every candidate, in input order: in-process in ``jobs`` forked worker
    processes (``jobs=1``: in this one), or with ``in_process=False`` one subprocess each,
    ``jobs`` at a time. ``thin``: the thin matrix's runs (:func:`run_thin`; ``profile`` and
    ``in_process`` do not apply)."""
    workdir = Path(tempfile.mkdtemp(prefix="kmw-kill-"))

    def show(res: RunResult) -> RunResult:
        if progress:
            c = res.candidate
            print(f"  {c.kind:8s} {c.name:32s} exit {res.exit_status}  {res.seconds:6.1f} s "
                  f"({res.cpu_seconds:5.1f} s CPU)",
                  file=sys.stderr, flush=True)
        return res

    if not in_process and not thin:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            return list(pool.map(lambda c: show(run_candidate(c, profile, workdir)), cands))
    if jobs <= 1:
        return [show(_in_process_job((c, profile, thin))) for c in cands]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # Forked workers, one candidate at a time each (as an xdist worker runs test_mutants.py).
    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        return [show(r) for r in pool.map(_in_process_job, [(c, profile, thin) for c in cands],
                                          chunksize=1)]


def compare(
    cands: Sequence[Candidate], jobs: int = 2, profile: str | None = DEFAULT_PROFILE,
    progress: bool = True,
) -> list[str]:
    """Run every candidate in-process and as a subprocess under ``profile``; one line per
    candidate whose per-requirement outcomes or exit status differ (none: the two agree)."""
    inproc = run_all(cands, jobs=jobs, profile=profile, progress=progress, in_process=True)
    sub = run_all(cands, jobs=jobs, profile=profile, progress=progress, in_process=False)
    diffs = []
    for a, b in zip(inproc, sub, strict=True):
        if b.report is None:
            diffs.append(f"{b.candidate.name}: the subprocess wrote no report "
                         f"(exit {b.exit_status}):\n{b.output_tail}")
            continue
        differ = {rid: (a.outcomes.get(rid), b.outcomes.get(rid))
                  for rid in dict.fromkeys([*a.outcomes, *b.outcomes])
                  if a.outcomes.get(rid) != b.outcomes.get(rid)}
        if differ or a.exit_status != b.exit_status:
            diffs.append(f"{a.candidate.name}: exit {a.exit_status} in-process, {b.exit_status} "
                         f"subprocess; (in-process, subprocess) outcomes differ: {differ}")
    return diffs


def load_results(path: Path, cands: Sequence[Candidate]) -> list[RunResult]:
    """The runs stored by ``--json`` for ``cands`` (those missing from the file are left out)."""
    data = json.loads(path.read_text())
    out = []
    for c in cands:
        entry = data.get(c.name)
        if entry is None:
            continue
        report = {k: v for k, v in entry.items() if k != "kill_matrix"}
        outcomes = {rid: r["outcome"] for rid, r in report.get("requirements", {}).items()}
        meta = entry.get("kill_matrix", {})
        out.append(RunResult(c, int(report.get("exit_status", -1)), meta.get("seconds", 0.0),
                             outcomes, report if outcomes else None, "",
                             meta.get("cpu_seconds", 0.0)))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", metavar="PATH", help="write every candidate's report here")
    parser.add_argument("--jobs", type=int, default=2, help="suite runs at a time (default 2)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="only these candidates")
    parser.add_argument("--profile", default=DEFAULT_PROFILE,
                        help=f"hypothesis profile of the suite runs (default {DEFAULT_PROFILE})")
    parser.add_argument("--examples", type=int, default=None,
                        help=f"with --profile {QUICK_PROFILE}: examples per property (default 8)")
    parser.add_argument("--compact", action="store_true",
                        help="one row per mutant (bug, declared, flagged) instead of the grid")
    parser.add_argument("--subprocess", action="store_true",
                        help="check each candidate in its own pytest subprocess (as a user "
                        "would) instead of in-process")
    parser.add_argument("--thin", action="store_true",
                        help="the thin matrix: each mutant on the suite tests of the requirements "
                        "it declares, each variant on all, explicit cases alone (no random "
                        "example; --profile does not apply)")
    parser.add_argument("--compare", action="store_true",
                        help="run every candidate both in-process and as a subprocess and list "
                        "those whose outcomes differ (exit 1 if any)")
    parser.add_argument("--from-json", metavar="PATH",
                        help="print the matrix of a previous --json file instead of running")
    args = parser.parse_args(argv)
    if args.from_json:
        results = load_results(Path(args.from_json), candidates(args.only))
        verdicts = [judge(r) for r in results]
        fmt = format_compact if args.compact else format_matrix
        print(fmt(results, verdicts))
        return 0 if all(v.ok for v in verdicts) else 1
    if args.examples is not None:
        if args.profile != QUICK_PROFILE:
            parser.error(f"--examples needs --profile {QUICK_PROFILE}")
        os.environ["KMW_QUICK_EXAMPLES"] = str(args.examples)
    cands = candidates(args.only)
    start = time.perf_counter()
    if args.compare:
        diffs = compare(cands, jobs=args.jobs, profile=args.profile)
        print("\n".join(diffs) if diffs else
              f"in-process and subprocess outcomes agree on all {len(cands)} candidates "
              f"(profile {args.profile}).")
        print(f"{time.perf_counter() - start:.0f} s wall.")
        return 1 if diffs else 0
    if args.thin and (args.subprocess or args.compare):
        parser.error("--thin runs in-process only")
    results = run_all(cands, jobs=args.jobs, profile=args.profile,
                      in_process=not args.subprocess, thin=args.thin)
    lv = levels()
    verdicts = [judge(r, lv) for r in results]
    print((format_compact if args.compact else format_matrix)(results, verdicts))
    cpu = sum(r.cpu_seconds for r in results)
    print(f"\n{len(results)} suite runs in {time.perf_counter() - start:.0f} s wall, "
          f"{cpu:.0f} s CPU ({cpu / max(len(results), 1):.1f} s CPU per run; "
          f"profile {THIN_PROFILE + ', thin' if args.thin else args.profile}, "
          f"{args.jobs} at a time, "
          f"{'subprocesses' if args.subprocess else 'in-process'}).")
    if args.json:
        data = {}
        for r, v in zip(results, verdicts, strict=True):
            entry = dict(r.report or {"exit_status": r.exit_status, "requirements": {}})
            entry["kill_matrix"] = {
                "kind": r.candidate.kind, "bug": r.candidate.doc,
                "declared": sorted(r.candidate.breaks), "options": list(r.candidate.options),
                "seconds": round(r.seconds, 2), "cpu_seconds": round(r.cpu_seconds, 2),
                **asdict(v),
            }
            data[r.candidate.name] = entry
        Path(args.json).write_text(json.dumps(data, indent=1, default=str))
    return 0 if all(v.ok for v in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
