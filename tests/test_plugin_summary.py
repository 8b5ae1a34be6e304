"""What a run leaves for people and CI: the Markdown summary (``--kmw-summary``,
``$GITHUB_STEP_SUMMARY``), the candidate's warnings counted per message, a failing run that
fits on a screen, and not-checked reasons that name their cause without counts."""

from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path

import pytest

from conformance.engine.harness import Blocked, CheckTally, Rejected
from conformance.engine.model import Finding
from conformance.engine.spec import load_spec
from conformance.front.report import Aggregator, markdown, md_cell
from conformance.front.verdicts import Verdict
from kmw._files import append_text
from tests.test_plugin_suite import NO_FLAG

pytest_plugins = "pytester"

REPO = Path(__file__).resolve().parent.parent
#: The line budget of a failing run at default verbosity.
SCREEN = 150

WARNS = '''
import warnings

import kmw


class Warns(kmw.KEpisodeMetaworld):
    """The reference wrapper, warning when built and at every step (as AMAGO's spaces make
    gymnasium do)."""

    def __init__(self, *args, **kwargs):
        warnings.warn("space precision lowered", UserWarning)
        super().__init__(*args, **kwargs)

    def step(self, action):
        warnings.warn("precision lowered", UserWarning)
        return super().step(action)
'''

TWO = "test_sr_1_flag or test_ifc_2_action_space"


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.setenv("CI", "true")  # kmw-ci: derandomized
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    pytester.makepyfile(nfcand=NO_FLAG, wcand=WARNS)
    return pytester


def _rows(text: str) -> dict[str, list[str]]:
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if cells and cells[0].startswith("KMW-"):
            rows[cells[0]] = cells[1:]
    return rows


# --------------------------------------------------------------------------- Markdown summary


def test_markdown_has_a_header_and_one_row_per_requirement() -> None:
    spec = load_spec()
    agg = Aggregator(spec)
    agg.add("t1", [Verdict("KMW-SR-1", "fail", "violated: flag | is 0.0 <lambda>")])
    agg.add("t2", [Verdict("KMW-IFC-2", "pass", None)])
    text = markdown(agg.requirements(), candidate="pkg.Wrapper", exit_status=1,
                    options={"backend": "scripted", "env_api": "gym", "keys": "kmw",
                             "hypothesis_profile": "kmw-ci", "random_examples": 4,
                             "strict": False})
    assert text.startswith("## kmw conformance of `pkg.Wrapper`\n")
    assert ("Profile `kmw-ci` (4 random examples per property after the schedule classes), "
            "backend `scripted (gym API)`") in text
    assert "**1 fail**" in text and "1 pass" in text and f"{len(spec) - 2} not-checked" in text
    rows = _rows(text)
    assert list(rows) == list(spec)
    assert rows["KMW-SR-1"] == ["MUST", "**fail**", r"violated: flag \| is 0.0 &lt;lambda&gt;"]
    assert rows["KMW-IFC-2"] == ["MUST", "pass", ""]
    assert rows["KMW-IFC-4"][:2] == ["SHOULD", "not-checked"]
    assert md_cell("a\nb" + "x" * 300).count("\n") == 0 and len(md_cell("x" * 300)) == 160


def test_append_text_appends_through_links_and_into_fifos(tmp_path: Path) -> None:
    target = tmp_path / "summary.md"
    append_text(target, "one\n")
    link = tmp_path / "link.md"
    link.symlink_to(target)
    append_text(link, "two\n")
    assert link.is_symlink() and target.read_text() == "one\ntwo\n"
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    append_text(fifo, "three\n")
    reader.join(10)
    assert got == ["three\n"] and fifo.exists() and not fifo.is_file()


def test_summary_from_the_env_var_and_the_option_appends(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    step_summary = project.path / "gh" / "step_summary.md"
    step_summary.parent.mkdir()
    step_summary.write_text("# earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))
    result = project.runpytest_subprocess("--kmw-impl=nfcand.NoFlag", "-k", TWO)
    assert result.ret == 1
    text = step_summary.read_text()
    assert text.startswith("# earlier step\n## kmw conformance of `nfcand.NoFlag`")
    rows = _rows(text)
    assert len(rows) == len(load_spec())
    assert rows["KMW-SR-1"][:2] == ["MUST", "**fail**"] and "[KMW-SR-1]" not in rows["KMW-SR-1"][2]
    assert rows["KMW-IFC-2"] == ["MUST", "pass", ""]
    assert "pytest exit status 1" in text and "**1 fail**" in text and "1 pass" in text

    # The option wins over the variable; a second run appends to the first one's table.
    for _ in range(2):
        result = project.runpytest_subprocess("--kmw-impl=nfcand.NoFlag", "-k", "test_ifc_2",
                                              "--kmw-summary=out/kmw.md")
        assert result.ret == 1 and "1 passed" in result.stdout.lines[-1]  # a partial run
    assert step_summary.read_text() == text
    twice = (project.path / "out" / "kmw.md").read_text()
    assert twice.count("## kmw conformance of `nfcand.NoFlag`") == 2
    assert twice.count("| KMW-IFC-2 | MUST | pass |  |") == 2


@pytest.mark.parametrize("args", [
    ["--kmw-impl=nfcand.NoFlag", "--kmw-summary=."],
    ["--kmw-impl=nfcand.NoFlag", "--kmw-summary=nfcand.py/x.md"],
    ["--kmw-summary=s.md"],
], ids=["directory", "under-a-file", "without-impl"])
def test_bad_summary_path_is_a_usage_error(project: pytest.Pytester, args: list[str]) -> None:
    result = project.runpytest_inprocess(*args, "--collect-only")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--kmw-summary" in result.stderr.str()
    assert not (project.path / "s.md").exists()


# --------------------------------------------------------------------------- warnings


@pytest.mark.parametrize("filters", [[], ["-W", "error"], ["-o", "filterwarnings=error"]],
                         ids=["default", "W-error", "ini-error"])
def test_candidate_warnings_are_counted_per_message(project: pytest.Pytester,
                                                    filters: list[str]) -> None:
    """Counted by kmw whatever the user's warning filters (an error filter changes no verdict),
    and only there: pytest's warnings summary does not list them a second time."""
    result = project.runpytest_subprocess("--kmw-impl=wcand.Warns", "-k", TWO, *filters)
    # a partial run (-k): exit 1, no test failed
    assert result.ret == 1 and "failed" not in result.stdout.lines[-1], result.stdout.str()[-3000:]
    lines = result.stdout.lines
    assert len(lines) < SCREEN // 2, "\n".join(lines)
    result.stdout.fnmatch_lines([
        "*= kmw: warnings from the candidate =*",
        "* x UserWarning: precision lowered (first at wcand.py:*)",
        "* x UserWarning: space precision lowered (first at wcand.py:*)",
        "*2 passed*",
    ])
    counted = re.search(r"(\d+) x UserWarning: precision lowered", result.stdout.str())
    assert int(counted.group(1)) > 100
    assert "warnings summary" not in result.stdout.str()
    assert "warning" not in lines[-1]  # pytest's own count


# --------------------------------------------------------------------------- a screen


def test_amago_style_run_fits_on_a_screen_and_shows_every_violation(
    project: pytest.Pytester,
) -> None:
    result = project.runpytest_subprocess(
        "--kmw-impl=tests.mutants.amago_style.Wrapper", "--kmw-env-api=gym", "--kmw-keys=amago",
        "--kmw-report=report.json", "-ra",  # -ra: as this repository runs it
        # kmw-dev: the kill matrix's profile, under which amago_style fails as it declares
        # (the screen's length depends on which requirements fail, not on how many examples ran)
        "--hypothesis-profile=kmw-dev")
    lines = result.stdout.lines
    assert result.ret == 1
    assert len(lines) <= SCREEN, f"{len(lines)} lines:\n" + "\n".join(lines)
    report = json.loads((project.path / "report.json").read_text())
    failing = [rid for rid, e in report["requirements"].items() if e["outcome"] == "fail"]
    assert failing
    out = result.stdout.str()
    for rid in failing:
        assert re.search(rf"\[{rid}\] \S", out), rid


EXPLORE_FAILS = """
from types import SimpleNamespace

from conformance.engine.properties import CheckTally, _explore
from conformance.engine.violations import ContractViolation


def example(data, tally):
    raise ContractViolation("KMW-ATT-1", "planted violation", expected="a", got="b")


def test_random_example_fails():
    _explore(SimpleNamespace(backend="scripted"), "KMW-ATT-1", example, CheckTally("KMW-ATT-1"))
"""


def test_a_violation_found_by_a_random_example_shows_no_suite_frame(
    pytester: pytest.Pytester,
) -> None:
    """Hypothesis hands back the failing example's exception with a traceback it rebuilt; the
    violation must still show at the caller's line, not at a line of the suite's ``prop``."""
    pytester.makepyfile(test_explore=EXPLORE_FAILS)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:xdist",
                                          "--hypothesis-profile=default")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "[KMW-ATT-1] planted violation" in out
    assert ">       _explore(" in out, out
    assert "properties.py" not in out and "def prop(" not in out, out


# --------------------------------------------------------------------------- not-checked reasons


def test_not_checked_reasons_name_their_cause_without_counts() -> None:
    rejected = CheckTally("KMW-EPL-2")
    for _ in range(3):
        rejected.examples += 1
        Rejected("L above the limit")
    blocked = CheckTally("KMW-SR-2")
    for n in range(5):
        blocked.examples += 1
        blocked.block(Blocked(Finding("KMW-EPL-2" if n % 2 else "KMW-ATT-1", "cut")))
    nothing = CheckTally("KMW-SR-3")
    nothing.examples = 4
    reasons = [t.not_checked_reason() for t in (rejected, blocked, nothing)]
    assert reasons == [
        "not checked: every construction was rejected (the candidate rejects max_episode_length "
        "above the env's limit, as KMW-EPL-2 allows)",
        "not checked: no example could check KMW-SR-2: a blocking finding of KMW-ATT-1 or "
        "KMW-EPL-2 stopped the examples first (see those requirements' outcome)",
        "not checked: no example could check KMW-SR-3: no example reached a call that checks it",
    ]
    assert not any(re.search(r"\d+ example", r) for r in reasons)
    nothing.checked = 1
    assert nothing.not_checked_reason() is None
