"""The plugin driving the real conformance suite (conformance/suite/) in a pytest subprocess:
a candidate that never raises the soft-reset flag fails KMW-SR-1 with its failing example in the
report, while a requirement it meets passes; with ``-n 2`` and no test paths every xdist worker
collects the same suite (xdist aborts the run otherwise)."""

from __future__ import annotations

import json

import pytest

pytest_plugins = "pytester"

NO_FLAG = '''
import kmw


class NoFlag(kmw.KEpisodeMetaworld):
    """The reference wrapper with the soft-reset flag always 0.0."""

    def reset(self, *, seed=None, options=None):
        obs, info = super().reset(seed=seed, options=options)
        obs = obs.copy()
        obs[-1] = 0.0
        return obs, info

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        obs = obs.copy()
        obs[-1] = 0.0
        return obs, reward, terminated, truncated, info
'''


def test_candidate_without_flag_fails_sr_1_under_xdist(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("xdist")
    monkeypatch.setenv("CI", "true")  # kmw-ci: derandomized, 30 examples
    pytester.makepyfile(nfcand=NO_FLAG)
    result = pytester.runpytest_subprocess(
        "--kmw-impl=nfcand.NoFlag",
        "-n",
        "2",
        "-k",
        "test_sr_1_flag or test_ifc_2_action_space",
        "--kmw-report=report.json",
    )
    out = result.stdout.str()
    assert "Different tests were collected" not in out + result.stderr.str()
    result.assert_outcomes(passed=1, failed=1)
    report = json.loads(pytester.path.joinpath("report.json").read_text())
    reqs = report["requirements"]
    assert reqs["KMW-SR-1"]["outcome"] == "fail"
    assert reqs["KMW-SR-1"]["tests"] == ["conformance/suite/test_contract.py::test_sr_1_flag"]
    assert "[KMW-SR-1]" in reqs["KMW-SR-1"]["failing_example"]
    assert reqs["KMW-IFC-2"]["outcome"] == "pass"
    others = {rid: e["outcome"] for rid, e in reqs.items() if rid not in ("KMW-SR-1", "KMW-IFC-2")}
    assert set(others.values()) == {"not-checked"}
    assert report["exit_status"] == result.ret == 1
    result.stdout.re_match_lines([r"^KMW-IFC-2\s+MUST\s+pass\b", r"^KMW-SR-1\s+MUST\s+fail\b"])
