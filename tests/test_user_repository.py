"""The suite run from a user's own repository: its ``conftest.py``, its warning filters and its
plugins cannot change a verdict.

The repository below is what a kmw user's typically holds: a root ``conftest.py`` with fixtures
whose names are natural in it (``kmw_config``, ``kmw_target``), an autouse fixture, and a
config that turns every warning into an error (``filterwarnings = error``). The reference
passes there, a correct wrapper that warns on every step passes, and a wrapper that doubles its
rewards fails KMW-REW-1, as they do anywhere else.
"""

from __future__ import annotations

import json

import pytest

pytest_plugins = "pytester"

CONFTEST = '''
import pytest


@pytest.fixture
def kmw_config():
    return "the user's own configuration"


@pytest.fixture
def kmw_target():
    return "KMW-NOPE-1"


@pytest.fixture(autouse=True)
def quiet_logs():
    yield
'''

CANDIDATES = '''
import warnings

import kmw


class Warns(kmw.KEpisodeMetaworld):
    """The reference, warning on every step (as gymnasium's checks do): SPEC.md says nothing of
    warnings, so neither may the verdict."""

    def step(self, action):
        warnings.warn("precision lowered to float32", UserWarning)
        return super().step(action)


class DoublesRewards(kmw.KEpisodeMetaworld):
    def _scale(self, reward):
        return 2.0 * super()._scale(reward)
'''


@pytest.fixture
def user_repo(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(user_cands=CANDIDATES)
    pytester.makeini("[pytest]\nfilterwarnings =\n    error\n")
    return pytester


def _run(repo: pytest.Pytester, impl: str) -> tuple[pytest.RunResult, dict]:
    result = repo.runpytest_subprocess(f"--kmw-impl={impl}", "--kmw-report=r.json",
                                       "--hypothesis-profile=kmw-dev", "-p", "no:cacheprovider",
                                       timeout=600)
    return result, json.loads((repo.path / "r.json").read_text())


def _outcomes(report: dict) -> dict[str, str]:
    return {rid: e["outcome"] for rid, e in report["requirements"].items()}


def test_the_reference_passes_in_a_users_repository(user_repo: pytest.Pytester) -> None:
    result, report = _run(user_repo, "kmw.KEpisodeMetaworld")
    assert result.ret == 0, result.stdout.str()[-3000:]
    assert set(_outcomes(report).values()) == {"pass"}


def test_a_correct_wrapper_that_warns_passes_under_filterwarnings_error(
        user_repo: pytest.Pytester) -> None:
    result, report = _run(user_repo, "user_cands.Warns")
    assert result.ret == 0, result.stdout.str()[-3000:]
    assert set(_outcomes(report).values()) == {"pass"}
    assert "precision lowered to float32" in result.stdout.str()  # in kmw's own summary


def test_a_reward_doubling_wrapper_fails_kmw_rew_1_there(user_repo: pytest.Pytester) -> None:
    result, report = _run(user_repo, "user_cands.DoublesRewards")
    assert result.ret == 1
    failed = {rid for rid, outcome in _outcomes(report).items() if outcome == "fail"}
    assert "KMW-REW-1" in failed
    # its logged returns are sums of the rewards it returned: no other requirement is broken
    assert failed == {"KMW-REW-1"}, failed


HANGS = '''
import kmw


class HangsInStep(kmw.KEpisodeMetaworld):
    def step(self, action):
        while True:
            pass
'''


def test_pytest_timeout_s_smaller_limit_wins(pytester: pytest.Pytester) -> None:
    """A user's ``--timeout`` (pytest-timeout, signal method) below ``--kmw-timeout`` is the
    limit that applies; the test fails as a hang, the run goes on and the verdict says why."""
    pytest.importorskip("pytest_timeout")
    pytester.makepyfile(hangs=HANGS)
    pytester.runpytest_subprocess(
        "--kmw-impl=hangs.HangsInStep", "-k", "ifc_1", "--timeout=2", "--kmw-timeout=600",
        "--kmw-report=r.json", "-p", "no:cacheprovider", timeout=300)
    entry = json.loads((pytester.path / "r.json").read_text())["requirements"]["KMW-IFC-1"]
    assert entry["outcome"] == "fail"
    assert "exceeded a time limit of 2 s set outside kmw" in entry["reason"], entry["reason"]
