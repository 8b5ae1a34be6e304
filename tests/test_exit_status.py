"""Exit 0 means conformant: every MUST requirement was checked and held (SPEC.md, "What a run's
exit status means").

A candidate cannot earn a passing status it did not deserve: pytest's outcome exceptions,
``sys.exit`` and ``os._exit`` raised by its code are its failure, a factory that returns no env
cannot be built, a MUST left unchecked fails the run (unless the xfail file or the key scheme
declares it), and deselected tests are not evidence. The verdict semantics are checked
in-process on the whole suite (``tests/inprocess.py``, the plugin's own verdict and report
code); the wiring (pytest's exit status, the table, the report) in a few real subprocess runs.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from tests.inprocess import SuiteRun, run_suite
from tests.kill_matrix import THIN_PROFILE

pytest_plugins = "pytester"

HOSTILE = textwrap.dedent('''
    import os
    import sys

    import pytest

    import kmw


    class SkipsInReset(kmw.KEpisodeMetaworld):
        def reset(self, **kw):
            pytest.skip("no GPU on this machine")


    class XfailsInStep(kmw.KEpisodeMetaworld):
        def step(self, action):
            pytest.xfail("flaky on CI")


    class ImportorskipsInReset(kmw.KEpisodeMetaworld):
        def reset(self, **kw):
            pytest.importorskip("kmw_no_such_module_anywhere")


    class FailsInStep(kmw.KEpisodeMetaworld):
        def step(self, action):
            pytest.fail("nope")


    class ExitsInConstructor(kmw.KEpisodeMetaworld):
        def __init__(self, *args, **kwargs):
            sys.exit(0)  # an argument parser reading the host's argv


    class OsExitInStep(kmw.KEpisodeMetaworld):
        def step(self, action):
            os._exit(0)


    def returns_none(benchmark, split, k_episodes, max_episode_length=500):
        return None


    class AlwaysRaises:
        def __init__(self, benchmark, split, k_episodes, max_episode_length=500):
            raise RuntimeError("no env today")
''')


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory):
    """The module above, importable as ``kmw_hostile_cands``."""
    root = tmp_path_factory.mktemp("hostile")
    (root / "kmw_hostile_cands.py").write_text(HOSTILE)
    sys.path.insert(0, str(root))
    yield root
    sys.path.remove(str(root))
    sys.modules.pop("kmw_hostile_cands", None)


def _run(name: str) -> SuiteRun:
    """The whole suite on ``name`` with the explicit cases alone (the kill matrix's thin
    profile): a candidate's outcome exceptions take the same path in a random example."""
    return run_suite(f"kmw_hostile_cands.{name}", profile=THIN_PROFILE)


def _failed(run: SuiteRun) -> dict[str, str]:
    return {rid: e["reason"] for rid, e in run.report["requirements"].items()
            if e["outcome"] == "fail"}


@pytest.mark.parametrize(("name", "shows"), [
    ("SkipsInReset", "raised Skipped"),
    ("XfailsInStep", "raised XFailed"),
    ("ImportorskipsInReset", "raised Skipped"),
    ("FailsInStep", "raised Failed"),
])
def test_pytest_outcomes_raised_by_the_candidate_are_its_failure(hostile, name, shows) -> None:
    run = _run(name)
    assert run.exit_status != 0
    outcomes = set(run.outcomes.values())
    assert "expected-failure" not in outcomes  # no xfail file was given
    failed = _failed(run)
    assert "KMW-IFC-1" in failed and shows in failed["KMW-IFC-1"], failed
    # Only requirements with evidence of their own fail: the rest are not checked, naming why.
    for rid, reason in failed.items():
        assert shows in reason or rid == "KMW-IFC-1", (rid, reason)


@pytest.mark.parametrize(("name", "shows"), [
    ("ExitsInConstructor", "SystemExit: sys.exit(0) was called"),
    ("returns_none", "returned None, not an env with reset() and step()"),
    ("AlwaysRaises", "raised RuntimeError: no env today"),
])
def test_a_candidate_that_cannot_be_built_fails_kmw_ifc_6_once(hostile, name, shows) -> None:
    run = _run(name)
    assert run.exit_status != 0
    failed = _failed(run)
    assert "KMW-IFC-6" in failed and shows in failed["KMW-IFC-6"], failed
    # No requirement passes without evidence (KMW-EPL-2's rejection of a long L is no
    # conforming rejection when nothing builds at all), and none fails on the construction
    # error but IFC-6 and the requirements about bad arguments (which a constructor that
    # always raises does reject).
    assert "pass" not in {o for r, o in run.outcomes.items()
                          if r not in ("KMW-IFC-3", "KMW-IFC-4")}, run.outcomes
    # (a factory that returns None for bad arguments accepts them: KMW-IFC-3's own finding)
    assert set(failed) - {"KMW-IFC-3"} == {"KMW-IFC-6"}, failed


def test_os_exit_in_step_is_the_candidates_failure(hostile) -> None:
    run = _run("OsExitInStep")  # the process goes on: the run would exit with the status given
    assert run.exit_status != 0
    assert "os._exit(0) was called" in _failed(run)["KMW-IFC-1"]


def _subprocess(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict]:
    (pytester.path / "kmw_hostile_cands.py").write_text(HOSTILE)
    result = pytester.runpytest_subprocess("--kmw-report=r.json", "-p", "no:cacheprovider",
                                           "--hypothesis-profile=kmw-dev", "-rs", *args,
                                           timeout=600)
    return result, json.loads((pytester.path / "r.json").read_text())


@pytest.mark.parametrize("name", ["SkipsInReset", "ExitsInConstructor"])
def test_the_exit_status_and_the_table_end_to_end(pytester: pytest.Pytester, name: str) -> None:
    result, report = _subprocess(pytester, f"--kmw-impl=kmw_hostile_cands.{name}")
    out = result.stdout.str()
    assert result.ret == 1 and report["exit_status"] == 1, out[-3000:]
    assert "kmw conformance of kmw_hostile_cands." in out  # the table was printed
    assert "kmw: NOT CONFORMANT" in out
    # Tests are skipped only where the suite could not check (a requirement blocked by the
    # candidate's failure), never because the candidate asked for it.
    assert "no GPU on this machine" not in "\n".join(
        ln for ln in out.splitlines() if ln.startswith("SKIPPED"))


def test_a_must_not_checked_fails_the_run(pytester: pytest.Pytester) -> None:
    # Only KMW-IFC-2's test selected: it passes, every other MUST is not checked.
    result, report = _subprocess(pytester, "--kmw-impl=kmw.KEpisodeMetaworld", "-k", "ifc_2")
    reqs = report["requirements"]
    assert reqs["KMW-IFC-2"]["outcome"] == "pass"
    assert reqs["KMW-ATT-1"]["outcome"] == "not-checked"
    assert reqs["KMW-ATT-1"]["reason"].startswith("not selected")
    assert result.ret == 1 and report["exit_status"] == 1
    out = result.stdout.str()
    assert "kmw: NOT CONFORMANT: 26 MUST requirement(s) not met" in out
    cause = next(ln for ln in out.splitlines() if "KMW-ATT-1, " in ln)  # one line for them all
    assert "KMW-IFC-2" not in cause and ": not-checked: not selected (-k, -m or node IDs)" in cause


def test_deselected_cases_are_not_evidence_for_a_stale_xfail_entry(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    # The mutant accepts max_episode_length=2.5 (one KMW-IFC-3 case fails); with that case
    # deselected, its entry in the xfail file is not stale: the requirement is only partly run.
    pytester.path.joinpath("known.txt").write_text("KMW-IFC-3  accepts a float L\n")
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[1]))
    result, report = _subprocess(
        pytester, "--kmw-impl=tests.mutants.float_max_length_accepted.Wrapper",
        "--kmw-xfail=known.txt", "-k", "ifc_3 and not 2.5")
    entry = report["requirements"]["KMW-IFC-3"]
    assert entry["outcome"] == "not-checked", entry
    assert "stale" not in (entry["reason"] or "") and "partly checked" in entry["reason"]
    assert result.ret == 1  # a partial run certifies nothing


def test_after_x_the_requirements_not_run_say_so(pytester: pytest.Pytester) -> None:
    result, report = _subprocess(pytester, "--kmw-impl=kmw_hostile_cands.AlwaysRaises", "-x")
    assert result.ret == 1
    reasons = [e["reason"] for e in report["requirements"].values()
               if e["outcome"] == "not-checked"]
    assert any(r.startswith("not run: the session stopped early (-x/--maxfail)")
               for r in reasons), reasons
    assert not any("collected and run" in r for r in reasons), reasons
