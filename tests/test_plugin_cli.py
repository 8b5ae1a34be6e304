"""The plugin's command line, run in a pytest subprocess loading the plugin from its entry point:
option validation (usage errors: exit code 4, one message, no traceback), what gets collected
with and without ``--kmw-impl``, and the hypothesis profiles it selects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest_plugins = "pytester"

SUITE_DIR = Path(__file__).resolve().parent.parent / "conformance" / "suite"

CANDIDATES = """
import functools

class Good:
    def __init__(self, benchmark, split, k_episodes, max_episode_length=500):
        pass

def _factory(extra, benchmark, split, k_episodes, max_episode_length=500):
    return Good(benchmark, split, k_episodes, max_episode_length)

partial = functools.partial(_factory, "extra")

def two_args(a, b):
    pass

NOT_CALLABLE = 3
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A directory with candidates (``cands``), a broken module and one ordinary test."""
    pytester.makepyfile(
        cands=CANDIDATES,
        broken="raise RuntimeError('boom at import time')\n",
        test_own="def test_own():\n    assert 1 + 1 == 2\n",
    )
    return pytester


def _usage_error(result: pytest.RunResult) -> str:
    """The usage error's text (stderr), after checking exit code 4, a single ``ERROR:`` and
    no traceback."""
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str() + result.stderr.str()
    err = result.stderr.str()
    assert "Traceback" not in err + result.stdout.str()
    assert err.count("ERROR:") == 1, err
    return err


# Usage errors stop pytest before collection, so these run in-process (fast): the plugin is
# loaded from its entry point there too, and pytester restores sys.path and sys.modules.
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--kmw-impl=mypkg_that_is_missing.Wrapper"],
            (
                "could not import module 'mypkg_that_is_missing': No module named "
                "'mypkg_that_is_missing' — --kmw-impl expects DOTTED.PATH to a class or factory "
                "called as Candidate(benchmark, split, k_episodes, max_episode_length=500)"
            ),
        ),
        (["--kmw-impl=cands.Missing"], "module 'cands' has no attribute 'Missing'"),
        (["--kmw-impl=cands:NOT_CALLABLE"], "'cands:NOT_CALLABLE' is not callable"),
        (["--kmw-impl=cands.two_args"], "cannot be called as Candidate(benchmark, split"),
        (
            ["--kmw-impl=broken.X"],
            "importing module 'broken' raised RuntimeError: boom at import time",
        ),
        (["--kmw-impl=Good"], "'Good' is not of the form pkg.mod.Attr or pkg.mod:Attr"),
        (["--kmw-impl=cands.Good", "--kmw-keys=nope"], "unknown key scheme 'nope'"),
        (
            ["--kmw-impl=cands.Good", "--kmw-keys=cands.NOPE"],
            "module 'cands' has no attribute 'NOPE'",
        ),
        (
            ["--kmw-impl=cands.Good", "--kmw-backend=mujoco"],
            "argument --kmw-backend: invalid choice: 'mujoco'",
        ),
        (
            ["--kmw-impl=cands.Good", "--kmw-env-api=gym3"],
            "argument --kmw-env-api: invalid choice: 'gym3'",
        ),
        (
            ["--kmw-impl=cands.Good", "--kmw-timeout=-1"],
            "argument --kmw-timeout: expected a number of seconds >= 0",
        ),
        (["--kmw-impl=cands.Good", "--kmw-xfail=missing.txt"], "cannot read --kmw-xfail file"),
        (["--kmw-report=r.json"], "--kmw-report needs --kmw-impl"),
    ],
)
def test_bad_input_is_one_usage_error(
    project: pytest.Pytester, args: list[str], expected: str
) -> None:
    message = _usage_error(project.runpytest_inprocess(*args))
    assert expected in message


def test_xfail_file_with_unknown_id_is_usage_error(project: pytest.Pytester) -> None:
    project.path.joinpath("known.txt").write_text(
        "# known failures\nKMW-ATT-1  late\nKMW-BOGUS-9  what\n"
    )
    message = _usage_error(
        project.runpytest_inprocess("--kmw-impl=cands.Good", "--kmw-xfail=known.txt")
    )
    assert "known.txt:3: unknown requirement ID 'KMW-BOGUS-9'" in message


def test_usage_error_from_entry_point_in_subprocess(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess("--kmw-impl=broken.Wrapper")
    message = _usage_error(result)
    assert "importing module 'broken' raised RuntimeError: boom at import time" in message
    assert "--kmw-impl expects DOTTED.PATH" in message


def _collected(result: pytest.RunResult) -> list[str]:
    """Collected node IDs, as ``<file name>::<rest>`` (the directory part of a suite test's ID
    depends on the rootdir)."""
    return [
        Path(line.split("::", 1)[0]).name + "::" + line.split("::", 1)[1]
        for line in result.stdout.lines
        if "::" in line
    ]


def _suite_items(pytester: pytest.Pytester) -> list[str]:
    """The suite's tests, collected by naming its directory (no --kmw-impl: in-process is safe)."""
    res = pytester.runpytest_inprocess(str(SUITE_DIR), "--collect-only", "-q")
    items = _collected(res)
    assert items and all(i.startswith("test_") for i in items), res.stdout.str()
    return items


def test_without_impl_nothing_changes_and_suite_skips(project: pytest.Pytester) -> None:
    plain = project.runpytest_inprocess("--collect-only", "-q")
    assert _collected(plain) == ["test_own.py::test_own"]
    n_suite = len(_suite_items(project))
    result = project.runpytest_inprocess(str(SUITE_DIR), "test_own.py", "-rs")
    result.assert_outcomes(passed=1, skipped=n_suite)
    assert "needs --kmw-impl" in result.stdout.str()
    assert "kmw conformance" not in result.stdout.str()


def test_impl_without_paths_collects_exactly_the_suite(project: pytest.Pytester) -> None:
    suite = _suite_items(project)
    result = project.runpytest_subprocess("--kmw-impl=cands:Good", "--collect-only", "-q")
    assert result.ret == 0, result.stderr.str()
    assert _collected(result) == suite
    # ini testpaths are not test paths given by the user: still only the suite.
    project.makeini("[pytest]\ntestpaths = .\n")
    result = project.runpytest_subprocess("--kmw-impl=cands.partial", "--collect-only", "-q")
    assert _collected(result) == suite


PROFILE_TEST = """
import os, pytest
from hypothesis import settings

@pytest.mark.kmw_requirement("KMW-ATT-1")
def test_profile(kmw_config):
    current = settings.default
    assert settings.get_current_profile_name().startswith(os.environ["EXPECT_PROFILE"])
    assert current.max_examples == int(os.environ["EXPECT_EXAMPLES"])
    assert current.deadline is None
    db = os.environ["EXPECT_DB"]
    if db == "none":
        assert current.database is None
    else:
        assert db in str(current.database.path)
    options = dict(item.split("=") for item in os.environ["EXPECT_OPTIONS"].split())
    assert kmw_config.backend == options["backend"]
    assert kmw_config.env_api == options["env_api"]
    assert kmw_config.keys.name == options["keys"]
    assert kmw_config.strict == (options["strict"] == "1")
    assert kmw_config.impl == "cands.Good" and kmw_config.candidate.__name__ == "Good"
"""


@pytest.mark.parametrize(
    ("env", "args", "profile", "examples", "db", "options"),
    [
        (
            {},
            [],
            "kmw-dev",
            20,
            "none",  # derandomized profiles: no example database (conformance/front/profiles.py)
            "backend=scripted env_api=gymnasium keys=kmw strict=0",
        ),
        (
            {"CI": "true"},
            [
                "--hypothesis-profile=kmw-thorough",
                "--kmw-backend=metaworld",
                "--kmw-keys=amago",
                "--kmw-strict",
            ],
            "kmw-thorough",
            500,
            "none",  # derandomized profiles: no example database (conformance/front/profiles.py)
            "backend=metaworld env_api=gymnasium keys=amago strict=1",
        ),
        (
            {},
            ["--kmw-env-api=gym"],
            "kmw-dev",
            20,
            "none",  # derandomized profiles: no example database (conformance/front/profiles.py)
            "backend=scripted env_api=gym keys=kmw strict=0",
        ),
    ],
)
def test_profiles_and_suite_config(
    project: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    args: list[str],
    profile: str,
    examples: int,
    db: str,
    options: str,
) -> None:
    project.makepyfile(test_profile=PROFILE_TEST)
    monkeypatch.delenv("CI", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("EXPECT_PROFILE", profile)
    monkeypatch.setenv("EXPECT_EXAMPLES", str(examples))
    monkeypatch.setenv("EXPECT_DB", db)
    monkeypatch.setenv("EXPECT_OPTIONS", options)
    result = project.runpytest_subprocess(
        "--kmw-impl=cands.Good", "test_profile.py", "--kmw-report=r.json", *args
    )
    result.assert_outcomes(passed=1)
    report = json.loads(project.path.joinpath("r.json").read_text())
    expected = dict(item.split("=") for item in options.split())
    assert report["options"]["hypothesis_profile"] == profile
    assert report["options"]["backend"] == expected["backend"]
    assert report["options"]["env_api"] == expected["env_api"]
    assert report["options"]["keys"] == expected["keys"]
    assert report["options"]["strict"] is (expected["strict"] == "1")


def test_kmw_profile_selectable_without_impl(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_plain="""
from hypothesis import settings

def test_profile_loaded():
    assert settings.get_current_profile_name() == "kmw-thorough"
    assert settings.default.max_examples == 500
"""
    )
    result = pytester.runpytest_subprocess("--hypothesis-profile=kmw-thorough")
    result.assert_outcomes(passed=1)
    assert "kmw conformance" not in result.stdout.str()


def test_missing_suite_directory_is_usage_error(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    import conformance.front.plugin

    monkeypatch.setattr(conformance.front.plugin, "SUITE_DIR", project.path / "no-suite-here")
    message = _usage_error(project.runpytest_inprocess("--kmw-impl=cands.Good"))
    assert "the conformance suite is not installed" in message
