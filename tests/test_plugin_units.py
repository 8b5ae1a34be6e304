"""Unit tests of the conformance plugin's small modules (no pytest subprocess needed):
SPEC.md parsing, candidate loading, key schemes, the xfail file, verdicts, report merging and
writing, profiles and the time limit."""

from __future__ import annotations

import functools
import json
import os
import re
import sys
import time
from pathlib import Path

import pytest

from conformance.engine.keys import AMAGO_KEYS, KMW_KEYS, KeyScheme, KeySchemeError, resolve_key_scheme
from conformance.engine.loader import IMPL_FORM, LoadError, load_candidate, resolve_dotted
from conformance.engine.plan import TrialPlan
from conformance.engine.spec import (
    SPEC_PATH,
    SpecError,
    contract_version,
    load_spec,
    parse_contract_version,
    parse_spec,
)
from conformance.engine.violations import ContractViolation, hide_frame
from conformance.front.profiles import CI, DEV, database_dir, default_profile, register_profiles
from conformance.front.report import Aggregator, build_report, decode, encode, write_json_atomic
from conformance.front.timeouts import KmwTimeout, time_limit
from conformance.front.verdicts import Verdict, decide_failure
from conformance.front.xfail import XfailFileError, load_xfail_file, parse_xfail_text

HEADER = "| ID | level | requirement | enforced by |\n|---|---|---|---|\n"


# --------------------------------------------------------------------------- spec


def test_spec_rows_match_the_file_independently_read() -> None:
    spec = load_spec()
    # Independent reading: every table row of SPEC.md starting with "| KMW-".
    rows = [ln for ln in SPEC_PATH.read_text().splitlines() if ln.startswith("| KMW-")]
    assert list(spec) == [ln.split("|")[1].strip() for ln in rows]
    assert spec["KMW-IFC-4"].level == "SHOULD" and spec["KMW-IFC-4"].is_should
    assert spec["KMW-ATT-1"].level == "MUST" and not spec["KMW-ATT-1"].is_should
    assert spec["KMW-ATT-4"].enforced_by == ("test_att_4_reset_mid_trial", "TrialMachine")
    assert spec["KMW-ATT-1"].text.startswith("An attempt ends on the step")
    assert load_spec() is spec  # cached
    stated = re.search(r"Contract version: \*\*(\d+)\*\*", SPEC_PATH.read_text()).group(1)
    assert contract_version() == int(stated) >= 2


def test_spec_escaped_pipe_and_backticks() -> None:
    spec = parse_spec(HEADER + "| KMW-A-1 | MUST | `a \\| b` holds | `test_a`, TestB |\n")
    assert spec["KMW-A-1"].text == "`a | b` holds"
    assert spec["KMW-A-1"].enforced_by == ("test_a", "TestB")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("no table here\n", "no requirements table"),
        ("| ID | level | requirement | enforced by |\n| x | y |\n", "separator row"),
        (HEADER + "| KMW-A-1 | MUST | text |\n", "expected 4 cells"),
        (HEADER + "| KMW-1 | MUST | text | test_a |\n", "not of the form KMW-AREA-N"),
        (HEADER + "| KMW-A-1 | MAY | text | test_a |\n", "level 'MAY'"),
        (HEADER + "| KMW-A-1 | MUST | text |  |\n", "names no test"),
        (HEADER + "| KMW-A-1 | MUST | text | test a |\n", "not a test function or class name"),
        (HEADER + "| KMW-A-1 | MUST | t | test_a |\n| KMW-A-1 | MUST | t | test_b |\n", "twice"),
        (HEADER + "\n", "has no rows"),
        (HEADER + "| KMW-A-1 | MUST | t | test_a\n", "must start and end with '|'"),
    ],
)
def test_malformed_spec_raises_clear_error(table: str, message: str) -> None:
    with pytest.raises(SpecError, match=re.escape(message)) as info:
        parse_spec("# SPEC\n\n" + table, source="X.md")
    assert str(info.value).startswith("X.md")


def test_contract_version_line_required() -> None:
    assert parse_contract_version("Contract version: **7**. blah") == 7
    with pytest.raises(SpecError, match="Contract version"):
        parse_contract_version("no version")


def test_coverage_check_finds_suite_names(tmp_path: Path) -> None:
    from conformance.suite.test_spec_coverage import defined_names

    (tmp_path / "test_a.py").write_text(
        "def test_one(): pass\n"
        "class Machine:\n"
        "    def rule(self): pass\n"
        "TestMachine = Machine\n"
        "x.y = 3\n"
    )
    (tmp_path / "notes.txt").write_text("def test_ignored(): pass\n")
    assert defined_names(tmp_path) == {"test_one", "Machine", "rule", "TestMachine"}


# --------------------------------------------------------------------------- loader


@pytest.fixture
def candidates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A package ``kmwcands`` in a fresh sys.path entry, with assorted candidate objects."""
    pkg = tmp_path / "kmwcands"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "mod.py").write_text(
        "import functools\n"
        "class Good:\n"
        "    def __init__(self, benchmark, split, k_episodes, max_episode_length=500): pass\n"
        "    class Inner:\n"
        "        def __init__(self, *args, **kwargs): pass\n"
        "def factory(benchmark, split, k_episodes, *, max_episode_length=500): return 1\n"
        "def _base(extra, benchmark, split, k_episodes, max_episode_length=500): return 1\n"
        "partial = functools.partial(_base, 'x')\n"
        "def two_args(a, b): pass\n"
        "def no_length(benchmark, split, k_episodes): pass\n"
        "NOT_CALLABLE = 3\n"
    )
    (pkg / "broken.py").write_text("raise RuntimeError('boom at import')\n")
    (pkg / "missing_dep.py").write_text("import kmw_no_such_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith("kmwcands")]:
        del sys.modules[name]


@pytest.mark.parametrize(
    "path",
    [
        "kmwcands.mod.Good",
        "kmwcands.mod:Good",
        "kmwcands.mod:Good.Inner",
        "kmwcands.mod.Good.Inner",
        "kmwcands.mod.factory",
        "kmwcands.mod.partial",
    ],
)
def test_load_candidate_accepts_classes_factories_partials(candidates: Path, path: str) -> None:
    obj = load_candidate(path)
    mod = sys.modules["kmwcands.mod"]
    expected = functools.reduce(getattr, re.split("[.:]", path)[2:], mod)
    assert obj is expected


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (
            "kmw_no_such_pkg.X",
            "could not import module 'kmw_no_such_pkg': No module named 'kmw_no_such_pkg'",
        ),
        ("kmwcands.nosub.X", "could not import module 'kmwcands.nosub'"),
        ("kmwcands.mod.Nope", "module 'kmwcands.mod' has no attribute 'Nope'"),
        ("kmwcands.mod:Good.Nope", "type 'kmwcands.mod.Good' has no attribute 'Nope'"),
        ("kmwcands.mod.NOT_CALLABLE", "is not callable"),
        ("kmwcands.mod.two_args", "cannot be called as Candidate(benchmark, split, k_episodes"),
        ("kmwcands.mod.no_length", "max_episode_length"),
        (
            "kmwcands.broken.X",
            "importing module 'kmwcands.broken' raised RuntimeError: boom at import",
        ),
        ("kmwcands.missing_dep.X", "No module named 'kmw_no_such_dependency'"),
        ("Good", "is not of the form"),
        ("kmwcands.mod:", "is not of the form"),
        ("kmwcands..mod", "is not of the form"),
    ],
)
def test_load_candidate_errors_name_problem_and_form(
    candidates: Path, path: str, message: str
) -> None:
    with pytest.raises(LoadError) as info:
        load_candidate(path)
    text = str(info.value)
    assert message in text
    assert text.endswith(IMPL_FORM)
    assert "\n" not in text


def test_resolve_dotted_searches_given_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "kmw_local_cand.py").write_text("VALUE = 42\n")
    monkeypatch.setattr(sys, "path", list(sys.path))
    with pytest.raises(LoadError):
        resolve_dotted("kmw_local_cand.VALUE")
    assert resolve_dotted("kmw_local_cand.VALUE", search_dir=tmp_path) == 42
    del sys.modules["kmw_local_cand"]


# --------------------------------------------------------------------------- keys


def test_kmw_keys_follow_spec_names() -> None:
    P = "AMAGO_LOG_METRIC"
    assert KMW_KEYS.success(3) == f"{P} Episode 3 Success"
    assert KMW_KEYS.ret(0) == f"{P} Episode 0 Return"
    assert KMW_KEYS.total_successes == f"{P} Total Successes"
    assert KMW_KEYS.success_rate == f"{P} Success Rate"
    assert KMW_KEYS.prefix == P
    assert KMW_KEYS.is_logging_key(f"{P} Episode 12 Return")
    assert KMW_KEYS.is_logging_key(f"{P} Success Rate")
    assert not KMW_KEYS.is_logging_key(f"{P} Episode x Return")
    assert not KMW_KEYS.is_logging_key(f"{P} Trial 1 Success")
    assert not KMW_KEYS.is_logging_key("success")


def test_amago_keys_have_total_but_no_return_or_rate() -> None:
    assert AMAGO_KEYS.success(2) == "AMAGO_LOG_METRIC Trial 2 Success"
    assert AMAGO_KEYS.ret(2) is None
    assert AMAGO_KEYS.total_successes == "AMAGO_LOG_METRIC Total Successes"
    assert AMAGO_KEYS.success_rate is None
    assert AMAGO_KEYS.is_logging_key("AMAGO_LOG_METRIC Total Successes")
    assert AMAGO_KEYS.is_logging_key("AMAGO_LOG_METRIC Trial 0 Success")
    assert not AMAGO_KEYS.is_logging_key("AMAGO_LOG_METRIC Episode 0 Success")


def test_resolve_key_scheme(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_key_scheme("kmw") is KMW_KEYS
    assert resolve_key_scheme("amago") is AMAGO_KEYS
    (tmp_path / "kmw_keys_mod.py").write_text(
        "from conformance.engine.keys import KeyScheme\n"
        "MINE = KeyScheme(name='mine', success_template='{P}/succ/{i}')\n"
        "class Duck:\n"
        "    name = 'duck'; prefix = 'P'; total_successes = None; success_rate = None\n"
        "    def success(self, i): return f'P s{i}'\n"
        "    def ret(self, i): return None\n"
        "    def is_logging_key(self, k): return k.startswith('P s')\n"
        "DUCK = Duck()\n"
        "NOT_A_SCHEME = 3\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    mine = resolve_key_scheme("kmw_keys_mod.MINE")
    assert isinstance(mine, KeyScheme) and mine.success(4) == "AMAGO_LOG_METRIC/succ/4"
    assert resolve_key_scheme("kmw_keys_mod:DUCK").success(1) == "P s1"
    with pytest.raises(KeySchemeError, match="unknown key scheme 'foo'.*kmw, amago or DOTTED.PATH"):
        resolve_key_scheme("foo")
    with pytest.raises(KeySchemeError, match="lacks name, prefix, success"):
        resolve_key_scheme("kmw_keys_mod.NOT_A_SCHEME")
    with pytest.raises(KeySchemeError, match="has no attribute 'NOPE'"):
        resolve_key_scheme("kmw_keys_mod.NOPE")
    del sys.modules["kmw_keys_mod"]


def test_key_schemes_are_checked_on_every_attempt_the_suite_makes() -> None:
    from conformance.engine import coverage, strategies
    from conformance.engine.keys import PROBE_ATTEMPTS

    largest_k = max(strategies.LARGE_K, *(c.k for c in coverage.CLASSES.values()))
    assert list(PROBE_ATTEMPTS) == list(range(largest_k + 1))


class _Duck:
    """A correct custom scheme (every kind of key)."""

    name, prefix, total_successes, success_rate = "duck", "P", "P total", "P rate"

    def success(self, i: int) -> str:
        return f"P s{i}"

    def ret(self, i: int) -> str:
        return f"P r{i}"

    def is_logging_key(self, k: str) -> bool:
        return k.startswith("P ")


class _AlwaysLogging(_Duck):
    def is_logging_key(self, k: str) -> bool:
        return True


class _ClaimsAnEnvKey(_Duck):
    def is_logging_key(self, k: str) -> bool:
        return k.startswith("P ") or k == "unscaled_reward"


class _RaisesOnEnvKey(_Duck):
    def is_logging_key(self, k: str) -> bool:
        if k == "near_object":
            raise KeyError(k)
        return k.startswith("P ")


def test_the_reference_logs_with_a_correct_custom_scheme() -> None:
    from conformance.front.schemes import check_on_reference

    for scheme in (_Duck(), KMW_KEYS, AMAGO_KEYS):
        check_on_reference(scheme, "mod.SCHEME")


@pytest.mark.parametrize(("scheme", "message"), [
    (_AlwaysLogging(), "fails KMW-LOG-4 on a scripted trial with k=12, max_episode_length=1 "
                       "(logging keys present on a step they do not belong to; got ['grasp_reward'"),
    (_ClaimsAnEnvKey(), "fails KMW-LOG-4 on a scripted trial with k=12, max_episode_length=1 "
                        "(logging keys present on a step they do not belong to; got "
                        "['unscaled_reward'])"),
    (_RaisesOnEnvKey(), "could not be checked on a scripted trial with k=12, max_episode_length=1: "
                        "KeyError: 'near_object'"),
])
def test_a_scheme_the_reference_fails_is_rejected(scheme: object, message: str) -> None:
    """The reference check alone (the static one would reject these too)."""
    from conformance.front.schemes import check_on_reference

    with pytest.raises(KeySchemeError, match=re.escape(message)) as info:
        check_on_reference(scheme, "mod.SCHEME")
    assert str(info.value).startswith("--kmw-keys=mod.SCHEME: the reference wrapper")
    assert "\n" not in str(info.value)


# --------------------------------------------------------------------------- xfail file


def test_xfail_file_parsing() -> None:
    spec = load_spec()
    text = "# known\n\nKMW-ATT-1   ends attempts late   # trailing\nKMW-IFC-4\n"
    assert parse_xfail_text(text, spec) == {
        "KMW-ATT-1": "ends attempts late",
        "KMW-IFC-4": "listed in the xfail file",
    }


def test_xfail_file_with_a_byte_order_mark(tmp_path) -> None:
    # Some editors start a UTF-8 file with a BOM: it is not part of the first ID.
    path = tmp_path / "known.txt"
    path.write_bytes("KMW-ATT-1  late\n".encode("utf-8-sig"))
    assert load_xfail_file(path, load_spec()) == {"KMW-ATT-1": "late"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("KMW-NOPE-1 reason\n", "f:1: unknown requirement ID 'KMW-NOPE-1'"),
        ("KMW-ATT-1 a\n# c\nKMW-ATT-1 b\n", "f:3: KMW-ATT-1 is listed twice"),
    ],
)
def test_xfail_file_errors(text: str, message: str) -> None:
    with pytest.raises(XfailFileError, match=re.escape(message)):
        parse_xfail_text(text, load_spec(), source="f")


# --------------------------------------------------------------------------- verdicts

SPEC = load_spec()


def _cv(rid: str, summary: str = "broken") -> ContractViolation:
    return ContractViolation(rid, summary, expected=1, got=2)


def test_must_violation_fails_its_requirement_only() -> None:
    d = decide_failure(["KMW-ATT-1", "KMW-ATT-2"], _cv("KMW-ATT-2"), SPEC, {}, False, "tb")
    assert d.shown == "failed"
    by = {v.req_id: v for v in d.verdicts}
    assert (
        by["KMW-ATT-2"].outcome == "fail"
        and "[KMW-ATT-2] broken" in by["KMW-ATT-2"].failing_example
    )
    assert by["KMW-ATT-1"].outcome == "not-checked"


def test_a_violations_reproduction_data_reaches_its_verdict() -> None:
    data = {"format": 1, "calls": "+ r0 s0"}
    for xfails, strict, outcome in (({}, False, "fail"), ({"KMW-ATT-2": "known"}, False,
                                                           "expected-failure")):
        exc = ContractViolation("KMW-ATT-2", "broken", reproduction_data=data)
        d = decide_failure(["KMW-ATT-2"], exc, SPEC, xfails, strict, "tb")
        assert [(v.outcome, v.reproduction) for v in d.verdicts] == [(outcome, data)]
    d = decide_failure(["KMW-IFC-4"], ContractViolation("KMW-IFC-4", "x", reproduction_data=data),
                       SPEC, {}, False, "tb")
    assert d.verdicts[0].reproduction == data
    assert decide_failure(["KMW-ATT-2"], _cv("KMW-ATT-2"), SPEC, {}, False, "tb"
                          ).verdicts[0].reproduction is None


def test_should_violation_is_a_finding_unless_strict() -> None:
    d = decide_failure(["KMW-IFC-4"], _cv("KMW-IFC-4"), SPEC, {}, False, "tb")
    assert d.shown == "passed" and [v.outcome for v in d.verdicts] == ["should-finding"]
    d = decide_failure(["KMW-IFC-4"], _cv("KMW-IFC-4"), SPEC, {}, True, "tb")
    assert d.shown == "failed" and [v.outcome for v in d.verdicts] == ["fail"]


def test_other_exceptions_and_unmarked_violations_fail_every_mark() -> None:
    for exc in (TypeError("bad"), _cv("KMW-REW-1")):
        d = decide_failure(["KMW-ATT-1", "KMW-ATT-2"], exc, SPEC, {}, False, "traceback text")
        assert d.shown == "failed"
        assert {v.req_id: v.outcome for v in d.verdicts} == {
            "KMW-ATT-1": "fail",
            "KMW-ATT-2": "fail",
        }


def test_an_error_raised_by_the_suites_own_code_is_named_as_the_suites() -> None:
    empty_plan = TrialPlan("train", 1, 1, [0], [])
    try:
        empty_plan.action(0)  # conformance/engine/plan.py divides by len(actions)
    except ZeroDivisionError as exc:
        suite_error = exc
    d = decide_failure(["KMW-ATT-1"], suite_error, SPEC, {}, False, "tb")
    (verdict,) = d.verdicts
    assert verdict.outcome == "fail"
    assert "the suite itself raised ZeroDivisionError at conformance/engine/plan.py:" in verdict.reason
    assert "not in the candidate" in verdict.reason

    def candidate_code() -> None:
        raise ZeroDivisionError
    try:
        candidate_code()
    except ZeroDivisionError as exc:
        candidate_error = exc
    d = decide_failure(["KMW-ATT-1"], candidate_error, SPEC, {}, False, "tb")
    assert d.verdicts[0].reason == "the test raised ZeroDivisionError"


def test_suite_frames_hide_only_while_a_violation_passes_through() -> None:
    with pytest.raises(ContractViolation) as violation:
        raise _cv("KMW-ATT-1")
    with pytest.raises(IndexError) as suite_bug:
        [][0]  # noqa: B018 - the error is the point
    assert hide_frame(violation)
    assert not hide_frame(suite_bug)


def test_exception_group_mixes_findings_and_failures() -> None:
    if sys.version_info >= (3, 11):
        group_type = ExceptionGroup  # noqa: F821 - a builtin from Python 3.11 on
    else:  # the backport, which hypothesis raises there (pytest requires it on 3.10)
        from exceptiongroup import ExceptionGroup as group_type
    group = group_type("multi", [_cv("KMW-ATT-5"), _cv("KMW-ATT-4")])
    d = decide_failure(["KMW-ATT-4", "KMW-ATT-5"], group, SPEC, {}, False, "tb")
    assert d.shown == "failed"
    assert {v.req_id: v.outcome for v in d.verdicts} == {
        "KMW-ATT-4": "fail",
        "KMW-ATT-5": "should-finding",
    }


def test_xfail_listed_violation_is_expected_but_an_unlisted_one_fails() -> None:
    xf = {"KMW-ATT-5": "known"}
    d = decide_failure(["KMW-ATT-4", "KMW-ATT-5"], _cv("KMW-ATT-5"), SPEC, xf, False, "tb")
    assert d.shown == "xfailed" and "KMW-ATT-5: known" in d.xfail_reason
    d = decide_failure(["KMW-ATT-4", "KMW-ATT-5"], _cv("KMW-ATT-4"), SPEC, xf, False, "tb")
    assert d.shown == "failed"



def test_xfail_marks_requirements_not_cases() -> None:
    """A listed requirement with one failing case and passing ones is an expected failure; one
    whose every case passed is a stale entry (a failure); an unlisted one just passes."""
    xf = {"KMW-IFC-3": "known", "KMW-ATT-5": "fixed since"}
    agg = Aggregator(SPEC, xf)
    agg.add("ifc3[a]", [Verdict("KMW-IFC-3", "pass")])
    agg.add("ifc3[b]", [Verdict("KMW-IFC-3", "expected-failure", "known", "text")])
    agg.add("att5", [Verdict("KMW-ATT-5", "pass")])
    agg.add("att1", [Verdict("KMW-ATT-1", "pass")])
    reqs = agg.requirements()
    assert reqs["KMW-IFC-3"]["outcome"] == "expected-failure"
    assert reqs["KMW-ATT-5"]["outcome"] == "fail"
    assert reqs["KMW-ATT-5"]["reason"].startswith("stale xfail entry: listed in --kmw-xfail")
    assert reqs["KMW-ATT-1"]["outcome"] == "pass"
    assert agg.stale() == ["KMW-ATT-5"]


# --------------------------------------------------------------------------- report


def test_merged_entries_follow_the_collection_not_the_arrival() -> None:
    """Tests that report in another order (xdist workers finishing in their own time) give the
    same entries as a serial run, when each test's place in the collection comes with it."""
    tests = [(f"t{n}", [Verdict("KMW-SR-4", "fail", f"why {n}", f"example {n}",
                                 schedule_classes=(f"c{n}",), reproduction={"calls": str(n)}),
                        Verdict("KMW-ATT-5", "should-finding", f"finding {n}")])
             for n in range(5)]

    def requirements(order: list[int]) -> tuple[dict, list]:
        agg = Aggregator(SPEC)
        agg.add_user_properties([encode(*tests[n], order=n) for n in order])
        return agg.requirements(), [(rid, t) for rid, t, _ in agg.findings()]

    serial = requirements([0, 1, 2, 3, 4])
    assert requirements([3, 1, 4, 0, 2]) == serial
    entry = serial[0]["KMW-SR-4"]
    assert entry["reason"].startswith("why 0; why 1; why 2")
    assert entry["failing_example"].startswith("t0:\nexample 0")
    assert [r["test"] for r in entry["reproductions"]] == ["t0", "t1", "t2", "t3", "t4"]
    assert serial[1][0] == ("KMW-ATT-5", "t0")


def test_aggregator_merges_by_rank_and_roundtrips_properties() -> None:
    agg = Aggregator(SPEC)
    props = [
        encode("t1", [Verdict("KMW-ATT-1", "pass", schedule_classes=("a", "b")),
                      Verdict("KMW-ATT-2", "not-checked", "why")]),
        encode(
            "t2", [Verdict("KMW-ATT-1", "fail", "bad", "example", schedule_classes=("b", "c"),
                           reproduction={"format": 1, "calls": "+ r0 s0"}),
                   Verdict("KMW-ATT-2", "pass")]
        ),
        ("other", "ignored"),
    ]
    assert [t for t, _, _ in decode(props)] == ["t1", "t2"]
    agg.add_user_properties(props)
    reqs = agg.requirements()
    assert list(reqs) == list(SPEC)
    assert reqs["KMW-ATT-1"] == {
        "level": "MUST",
        "outcome": "fail",
        "tests": ["t1", "t2"],
        "failing_example": "t2:\nexample",
        "reason": "bad",
        "schedule_classes": ["a", "b", "c"],  # every test's classes, in first-seen order
        "reproductions": [{"test": "t2", "reproduction": {"format": 1, "calls": "+ r0 s0"}}],
    }
    assert reqs["KMW-ATT-2"]["outcome"] == "pass"
    assert reqs["KMW-REW-1"]["outcome"] == "not-checked" and reqs["KMW-REW-1"]["reason"]
    report = build_report(
        aggregator=agg,
        contract_version=1,
        plugin_version="v",
        candidate="c",
        options={"backend": "scripted"},
        exit_status=1,
    )
    assert report["summary"]["fail"] == 1 and report["summary"]["pass"] == 1
    assert sum(report["summary"].values()) == len(SPEC)
    assert set(report["versions"]) >= {
        "python",
        "pytest",
        "hypothesis",
        "numpy",
        "gymnasium",
        "metaworld",
        "mujoco",
    }


def test_write_json_atomic(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "r.json"
    write_json_atomic(target, {"a": 1})
    write_json_atomic(target, {"a": 2})
    assert json.loads(target.read_text()) == {"a": 2}
    assert os.listdir(target.parent) == ["r.json"]  # no temp file left behind


# --------------------------------------------------------------------------- profiles, timeouts


def test_profiles_registered_and_default_choice() -> None:
    from hypothesis import HealthCheck, settings

    register_profiles()
    for name, examples in (("kmw-dev", 20), ("kmw-ci", 100), ("kmw-thorough", 500)):
        prof = settings.get_profile(name)
        assert prof.max_examples == examples and prof.deadline is None
        assert HealthCheck.too_slow in prof.suppress_health_check
        assert HealthCheck.function_scoped_fixture in prof.suppress_health_check
    assert settings.get_profile("kmw-ci").derandomize and settings.get_profile("kmw-ci").print_blob
    assert default_profile({"CI": "true"}) == CI
    for name in ("kmw-dev", "kmw-ci", "kmw-thorough"):  # same verdict every run, no database
        assert settings.get_profile(name).derandomize and settings.get_profile(name).database is None
    assert default_profile({}) == DEV


def test_database_dir_differs_per_candidate(tmp_path: Path) -> None:
    a = database_dir(tmp_path, "pkg.mod:Wrapper", "scripted")
    b = database_dir(tmp_path, "pkg.mod.Wrapper", "scripted")
    c = database_dir(tmp_path, "pkg.mod:Wrapper", "metaworld")
    assert len({a, b, c}) == 3
    assert a.parent == tmp_path / ".hypothesis" / "kmw"
    assert re.fullmatch(r"pkg\.mod_Wrapper-[0-9a-f]{10}", a.name)


def test_time_limit_interrupts_busy_loop_and_restores_handler() -> None:
    import signal

    before = signal.getsignal(signal.SIGALRM)
    with (
        pytest.raises(KmwTimeout, match=r"exceeded --kmw-timeout=0.2 s"),
        time_limit(0.2) as state,
    ):
        while True:
            pass
    assert state["fired"]
    assert signal.getsignal(signal.SIGALRM) is before
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    with time_limit(5) as state:
        time.sleep(0.01)
    assert not state["fired"] and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_add_note_appends_to_the_notes_python_shows() -> None:
    """``violations.add_note`` works on every supported Python (``BaseException.add_note`` is
    3.11+) and keeps earlier notes, in order."""
    from conformance.engine.violations import add_note

    exc = _cv("KMW-ATT-1")
    add_note(exc, "first")
    add_note(exc, "second")
    assert exc.__notes__ == ["first", "second"]


# --------------------------------------------------------------------------- exception texts


class _HugeStr(Exception):
    def __str__(self) -> str:
        return "s" * 100_000


class _RaisingStr(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no text today")

    def __repr__(self) -> str:
        raise RuntimeError("no repr today")


class _LoopingStr(Exception):
    def __str__(self) -> str:  # "hangs" (a minute: a test must end, even on a broken plugin)
        end = time.monotonic() + 60
        while time.monotonic() < end:
            time.sleep(0.01)
        return "late"


class _HugeArg:
    def __str__(self) -> str:
        return "a" * 100_000


@pytest.mark.parametrize("exc", [_HugeStr(), _RaisingStr(), _LoopingStr(),
                                 RuntimeError(_HugeArg())],
                         ids=["huge", "raising", "looping", "huge-arg"])
def test_an_exception_text_is_bounded_and_the_candidates_code_not_run_again(
    exc: BaseException, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``bound_exception`` renders a custom text once (within RENDER_SECONDS); pytest's later
    ``str``/``repr`` get a bounded text and run no candidate code."""
    from conformance.front import verdicts

    monkeypatch.setattr(verdicts, "RENDER_SECONDS", 0.5, raising=False)
    cause = ValueError("plain")
    exc.__cause__ = cause
    verdicts.bound_exception(exc, limit=1000)
    for text in (str(exc), repr(exc)):
        assert len(text) <= 1100, len(text)
    assert isinstance(exc, Exception) and type(exc).__name__ in ("_HugeStr", "_RaisingStr",
                                                                  "_LoopingStr", "RuntimeError")
    assert str(cause) == "plain" and type(cause) is ValueError  # plain ones are left alone
    assert "characters trimmed" in str(exc) or "did not return" in str(exc) or \
        "raised" in str(exc)
