"""The conformance suite proven on wrappers with known answers (issue 5).

Every mutant of ``tests/mutants/`` (one planted bug each) must be caught exactly as it declares:
the MUST requirements in its ``BREAKS`` fail and no others, its SHOULD requirements show as
SHOULD findings, and the run exits non-zero when a MUST breaks. Every correct variant of
``tests/correct_variants/`` (written independently from SPEC.md) and the unmutated control (the
reference ``kmw.KEpisodeMetaworld`` itself, whose hooks the mutants override) must pass with no failure and
no finding: a flagged correct wrapper is a false positive of the suite. The one judge is
``tests/kill_matrix.py``'s :func:`~tests.kill_matrix.judge`.

Each candidate is a parameter, checked **in this process** (``tests/inprocess.py``: the suite's
test functions called directly, their exceptions judged by the plugin's own ``decide_failure``
and merged by its ``Aggregator``), so ``pytest -n 2`` spreads them over two workers with no
subprocess each. Two tiers:

- **fast** (the README's ``pytest -n 2``): the *thin matrix* (``kill_matrix.run_thin``): each
  mutant on the suite tests of the requirements it declares, each correct variant on every
  suite test, with their explicit cases (the schedule classes) alone, no random example. The
  plugin's wiring is checked end to end by one real ``pytest --kmw-impl=...`` subprocess per
  backend: on the scripted backend one mutant and one variant, the whole suite with the
  explicit cases alone (outcomes equal to the in-process ones), on real Meta-World the brief
  run of ``gym_wrapper_style``.
- **slow** (``pytest -n 2 -m slow``): the whole suite on every candidate under ``kmw-dev`` and
  under ``kmw-ci`` (schedule classes, then 20 / 100 random examples per property), each in this
  process and as a subprocess, judged as declared with identical outcomes both times; and every
  correct variant on real Meta-World.
"""

from __future__ import annotations

import importlib
import inspect
import os

import pytest

from kmw import KEpisodeMetaworld
from tests import kill_matrix as km

if os.environ.get(km.INNER_RUN_ENV):  # inside a suite run started by the kill matrix: never recurse
    pytest.skip("inside a kill-matrix suite run", allow_module_level=True)

CANDIDATES = km.candidates()
LEVELS = km.levels()
MUTANTS = [c for c in CANDIDATES if c.kind == "mutant"]
#: The variants (and not the control: the control is the reference itself, which
#: tests/test_reference_conformance.py runs the suite on).
CORRECT = [c for c in CANDIDATES if c.kind == "variant"]
#: The candidates also checked by a real ``pytest --kmw-impl`` subprocess on the scripted
#: backend (the plugin's wiring end to end): a mutant with options, SHOULD findings and
#: not-checked requirements, and a correct variant.
END_TO_END = ("amago_style", "gym_wrapper_style")


#: Where the suite disagrees with SPEC.md on a candidate (reported to the suite's owner). Strict
#: xfail: the day the suite is fixed the test XPASSes, fails, and the entry must go.
KNOWN_SUITE_ISSUES: dict[str, str] = {
    # none open. Fixed in 1e4ab2d: flag_one_step_late (a flag 1.0 with no env reset was read as
    # an attempt end, KMW-ATT-1), final_flags_from_env (a missing final done flag was read as
    # KMW-EPL-1) and rejects_long_attempts (KMW-IFC-2/OBS-1 built at an L above the env limit).
}


def _ids(cands: list[km.Candidate]) -> list[str]:
    return [c.name for c in cands]




def _params(cands: list[km.Candidate]) -> list:
    out = []
    for c in cands:
        marks = []
        if c.name in KNOWN_SUITE_ISSUES:
            marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_SUITE_ISSUES[c.name]))
        out.append(pytest.param(c, id=c.name, marks=marks))
    return out


def _explain(result: km.RunResult, verdict: km.Verdict | None = None) -> str:
    lines = [f"{result.candidate.impl} ({result.candidate.doc}); exit {result.exit_status}"]
    if verdict is not None:
        lines.extend(f"  {p}" for p in verdict.problems)
    for rid, outcome in result.outcomes.items():
        if outcome in (km.FAIL, km.SHOULD_FINDING):
            example = (result.report or {}).get("requirements", {}).get(rid, {})
            first = (example.get("failing_example") or example.get("reason") or "").strip()
            lines.append(f"  {rid}: {outcome}: {first[:400]}")
    lines.extend(f"  {ln}" for ln in result.failed_tests)
    return "\n".join(lines)


# -- the declarations themselves (fast) ---------------------------------------------------------


def test_enough_mutants_and_variants() -> None:
    assert len(MUTANTS) >= 25
    assert len([c for c in CORRECT if c.kind == "variant"]) >= 3


@pytest.mark.parametrize("cand", MUTANTS, ids=_ids(MUTANTS))
def test_mutant_declaration_is_well_formed(cand: km.Candidate) -> None:
    mod = importlib.import_module(cand.impl.rsplit(".", 1)[0])
    doc_lines = [ln for ln in (mod.__doc__ or "").strip().splitlines() if ln.strip()]
    assert doc_lines, f"{cand.name} needs a docstring naming its bug"
    assert cand.breaks, f"{cand.name} declares no broken requirement"
    assert cand.breaks <= set(LEVELS), f"unknown IDs {sorted(cand.breaks - set(LEVELS))}"
    assert callable(mod.Wrapper)


def test_every_requirement_has_a_mutant() -> None:
    declared = set().union(*(c.breaks for c in MUTANTS))
    assert set(LEVELS) - declared == set()


def test_known_suite_issues_and_smoke_name_candidates() -> None:
    names = {c.name for c in CANDIDATES}
    assert set(KNOWN_SUITE_ISSUES) <= names


@pytest.mark.parametrize(
    "cand", [c for c in CORRECT if c.kind == "variant"],
    ids=_ids([c for c in CORRECT if c.kind == "variant"]),
)
def test_variant_is_independent_of_the_reference(cand: km.Candidate) -> None:
    mod = importlib.import_module(cand.impl.rsplit(".", 1)[0])
    assert callable(mod.Wrapper)  # a class or a factory, as --kmw-impl allows
    assert not (inspect.isclass(mod.Wrapper) and issubclass(mod.Wrapper, KEpisodeMetaworld))
    assert "kmw" not in {name.split(".")[0] for name in _imported_modules(mod)}


def _imported_modules(mod: object) -> set[str]:
    src = inspect.getsource(mod)  # type: ignore[arg-type]
    names = set()
    for line in src.splitlines():
        words = line.split()
        if words[:1] == ["import"] and len(words) > 1:
            names.add(words[1])
        elif words[:1] == ["from"] and len(words) > 1:
            names.add(words[1])
    return names


def test_control_is_the_reference() -> None:
    controls = [c for c in CANDIDATES if c.kind == "control"]
    assert [c.impl for c in controls] == ["kmw.KEpisodeMetaworld"]
    assert not controls[0].breaks


@pytest.mark.parametrize("cand", MUTANTS, ids=_ids(MUTANTS))
def test_mutant_overrides_the_reference_hooks(cand: km.Candidate) -> None:
    """Each mutant subclasses the reference, and every method it defines either overrides one
    of the reference's (a hook) or is a helper the mutant itself calls: a hook renamed in
    kmw/wrapper.py cannot leave a mutant silently unmutated."""
    mod = importlib.import_module(cand.impl.rsplit(".", 1)[0])
    cls = mod.Wrapper
    assert inspect.isclass(cls) and issubclass(cls, KEpisodeMetaworld)
    src = inspect.getsource(mod)
    for name, value in vars(cls).items():
        if not callable(value) or (name.startswith("__") and name.endswith("__")):
            continue
        assert hasattr(KEpisodeMetaworld, name) or f"self.{name}(" in src, (
            f"{cand.name}.Wrapper.{name} overrides nothing of kmw.KEpisodeMetaworld"
        )


# -- the thin matrix (fast tier): each candidate on its requirements' explicit cases ---------------


def _assert_judged(result: km.RunResult) -> None:
    verdict = km.judge(result, LEVELS)
    assert verdict.ok, _explain(result, verdict) + (
        "" if result.report is not None else "\n" + result.output_tail)


@pytest.mark.parametrize("cand", _params(MUTANTS))
def test_schedule_classes_catch_mutant(cand: km.Candidate) -> None:
    """The suite tests of the requirements the mutant declares, in this process, with their
    explicit cases alone (``kill_matrix.run_thin``: no random example): caught exactly as
    declared. docs/conformance.md says the schedule classes catch every mutant; one caught only
    by random examples fails here (it is a gap in the classes)."""
    _assert_judged(km.run_thin(cand))


@pytest.mark.parametrize("cand", _params(CORRECT))
def test_schedule_classes_pass_correct_wrapper(cand: km.Candidate) -> None:
    """Every suite test on the correct variant, with its explicit cases alone: it passes
    everything, with no finding (a flagged correct wrapper is a false positive of a class)."""
    _assert_judged(km.run_thin(cand))


@pytest.mark.parametrize("cand", [c for c in CANDIDATES if c.name in END_TO_END],
                         ids=lambda c: c.name)
def test_plugin_subprocess_judged_and_same_as_in_process(cand: km.Candidate, tmp_path) -> None:
    """``pytest --kmw-impl=...`` as a user runs it (the whole suite, explicit cases alone):
    judged as declared, and every requirement's outcome and the exit status as the in-process
    run gives them."""
    result = km.run_candidate(cand, km.THIN_PROFILE, workdir=tmp_path)
    _assert_judged(result)
    inproc = km.run_in_process(cand, km.THIN_PROFILE)
    assert (inproc.outcomes, inproc.exit_status) == (result.outcomes, result.exit_status)


@pytest.mark.parametrize("cand", [c for c in CANDIDATES if c.name == "amago_style"],
                         ids=lambda c: c.name)
def test_serial_and_xdist_runs_give_the_same_report(cand: km.Candidate, tmp_path) -> None:
    """The whole suite under its default profile, serially and with ``-n 2``: the same exit
    status and the same JSON report, every requirement's entry included (its example, reason
    and reproductions come from several tests here: ten fail KMW-IFC-3, and the workers'
    reports reach the controller in the order they finish)."""
    serial = km.run_candidate(cand, workdir=tmp_path)
    parallel = km.run_candidate(cand, workdir=tmp_path, workers=2)
    assert serial.report is not None and parallel.report is not None, (
        serial.output_tail + parallel.output_tail)
    _assert_judged(serial)
    assert parallel.exit_status == serial.exit_status
    assert parallel.report == serial.report


#: The variants that speak Meta-World 3's API (the real backend has no older gym API).
GYMNASIUM_VARIANTS = [c for c in CORRECT if "--kmw-env-api=gym" not in c.options]
#: CI's brief run of a correct variant on real Meta-World: the natural gymnasium.Wrapper style,
#: on the requirements that touch the env most.
METAWORLD_BRIEF = ("att_1 or sr_2 or sr_4 or epl_2 or obs_3 or tsk_3 or ifc_2")


@pytest.mark.parametrize("cand", [c for c in GYMNASIUM_VARIANTS if c.name == "gym_wrapper_style"],
                         ids=lambda c: c.name)
def test_gymnasium_wrapper_variant_passes_on_real_metaworld_briefly(cand, tmp_path) -> None:
    """The selected requirements pass; the run exits 1 only because the others were not
    selected (a partial run is never conformant)."""
    result = km.run_candidate(cand, workdir=tmp_path,
                              extra=("--kmw-backend=metaworld", "-k", METAWORLD_BRIEF))
    assert result.report is not None, result.output_tail
    assert result.exit_status == 1, _explain(result)
    partial = km.without_unselected(result)
    assert partial.exit_status == 0, _explain(partial)
    _assert_judged(partial)
    assert sum(o == km.PASS for o in partial.outcomes.values()) >= 7, partial.outcomes


# -- the whole-suite matrices (slow tier) ---------------------------------------------------------

#: The profiles the whole suite is run under on every candidate: the suite's default and CI's.
WHOLE_SUITE_PROFILES = ("kmw-dev", "kmw-ci")


@pytest.mark.slow
@pytest.mark.parametrize("profile", WHOLE_SUITE_PROFILES)
@pytest.mark.parametrize("cand", _params(CANDIDATES))
def test_whole_suite_judges_candidate_as_declared_on_every_run(
        cand: km.Candidate, profile: str, tmp_path) -> None:
    """The whole suite on ``cand`` under ``profile`` (schedule classes, then random examples),
    in this process and again as a ``pytest --kmw-impl`` subprocess (no example database
    either time): judged as declared, with the same outcome for every requirement and the same
    exit status both times. A verdict that depended on the run, on the process's earlier state
    or on the plugin's wiring would differ between the two."""
    inproc = km.run_in_process(cand, profile)
    _assert_judged(inproc)
    sub = km.run_candidate(cand, profile, workdir=tmp_path)
    assert sub.report is not None, sub.output_tail
    differ = {rid: (inproc.outcomes.get(rid), sub.outcomes.get(rid))
              for rid in dict.fromkeys([*inproc.outcomes, *sub.outcomes])
              if inproc.outcomes.get(rid) != sub.outcomes.get(rid)}
    assert not differ and inproc.exit_status == sub.exit_status, (
        f"exit {inproc.exit_status} in-process, {sub.exit_status} subprocess; "
        f"(in-process, subprocess) outcomes differ: {differ}\n{sub.output_tail}")


@pytest.mark.slow
@pytest.mark.parametrize("cand", GYMNASIUM_VARIANTS, ids=lambda c: c.name)
def test_correct_variant_passes_on_real_metaworld(cand: km.Candidate, tmp_path) -> None:
    _assert_judged(km.run_candidate(cand, workdir=tmp_path, extra=("--kmw-backend=metaworld",)))


# -- AMAGO's wrapper: the docs' table, amago_style's declaration, the amago key scheme -------------

AMAGO_DOC = km.ROOT / "docs" / "conformance.md"
AMAGO_TABLE = ("<!-- amago-table:start -->", "<!-- amago-table:end -->")


def _amago_table() -> dict[str, str]:
    """``{requirement: outcome}`` from the AMAGO table of docs/conformance.md."""
    text = AMAGO_DOC.read_text(encoding="utf-8")
    start, end = (text.index(marker) for marker in AMAGO_TABLE)
    rows: dict[str, str] = {}
    for line in text[start:end].splitlines()[1:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("KMW-"):
            continue
        assert cells[0] not in rows, f"{cells[0]} has two rows in the AMAGO table"
        assert cells[2], f"{cells[0]}: the AMAGO table gives no reason"
        rows[cells[0]] = cells[1]
    return rows


def test_docs_amago_table_matches_amago_style() -> None:
    """The AMAGO table of docs/conformance.md (what the suite says on AMAGO's real wrapper) and
    ``tests/mutants/amago_style.py`` (which the kill matrix holds to it) say the same."""
    from tests.mutants import amago_style

    table = _amago_table()
    assert list(table) == list(LEVELS), "the AMAGO table must have one row per requirement"
    allowed = {km.PASS, km.FAIL, km.SHOULD_FINDING, km.NOT_CHECKED}
    assert set(table.values()) <= allowed, table
    for rid, outcome in table.items():
        if outcome == km.FAIL:
            assert LEVELS[rid] == "MUST" and rid in amago_style.BREAKS, rid
        elif outcome == km.SHOULD_FINDING:
            assert LEVELS[rid] == "SHOULD" and rid in amago_style.BREAKS, rid
        elif outcome == km.NOT_CHECKED:
            assert rid in amago_style.NOT_CHECKED, rid
    flagged = {rid for rid, o in table.items() if o in (km.FAIL, km.SHOULD_FINDING)}
    assert flagged == set(amago_style.BREAKS)
    assert {rid for rid, o in table.items() if o == km.NOT_CHECKED} == set(amago_style.NOT_CHECKED)
    assert set(amago_style.OPTIONS) == {"--kmw-env-api=gym", "--kmw-keys=amago"}


def test_amago_key_scheme_not_checked_reasons_name_their_cause() -> None:
    """Under the amago scheme LOG-2 is not checked for want of a key, and LOG-3 after its total
    was checked: the reasons name the missing key and hold no example counts."""
    from conformance.engine.keys import AMAGO_KEYS, KMW_KEYS, KeyScheme
    from conformance.engine.model import unkeyed_reason

    tally = "not checked: KMW-LOG-3 could not be checked in any of 7 example(s)"
    assert AMAGO_KEYS.total_successes == "AMAGO_LOG_METRIC Total Successes"
    assert AMAGO_KEYS.ret(0) is None and AMAGO_KEYS.success_rate is None
    assert unkeyed_reason(AMAGO_KEYS, "KMW-LOG-2", tally) == (
        "not checked: the key scheme 'amago' has no per-attempt return key")
    assert unkeyed_reason(AMAGO_KEYS, "KMW-LOG-3", None) == (
        "not checked: the key scheme 'amago' has no success-rate key "
        "(its total-successes key was checked)")
    assert unkeyed_reason(AMAGO_KEYS, "KMW-LOG-3", tally) == (
        f"{tally}; and the key scheme 'amago' has no success-rate key")
    assert unkeyed_reason(AMAGO_KEYS, "KMW-LOG-1", None) is None
    assert unkeyed_reason(AMAGO_KEYS, "KMW-LOG-1", tally) == tally
    for rid in ("KMW-LOG-2", "KMW-LOG-3"):
        assert unkeyed_reason(KMW_KEYS, rid, None) is None
    bare = KeyScheme(name="bare", success_template="{P} s{i}")
    assert unkeyed_reason(bare, "KMW-LOG-3", tally) == (
        "not checked: the key scheme 'bare' has no total-successes key and no success-rate key")
