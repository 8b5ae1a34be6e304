"""What a conformance run's start-up spends: pytest does not rewrite hypothesis, kmw or the
engine (they do not rely on ``assert``), and still rewrites the suite's test files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

REPORTER = '''
import json, sys
from _pytest.assertion.rewrite import AssertionRewritingHook

def pytest_sessionfinish(session):
    rewritten = sorted(n for n, m in list(sys.modules.items())
                       if isinstance(getattr(m, "__loader__", None), AssertionRewritingHook))
    with open("rewritten.json", "w") as f:
        json.dump(rewritten, f)
'''


def rewritten_modules(tmp_path: Path, *args: str) -> list[str]:
    (tmp_path / "rwreport.py").write_text(REPORTER)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(REPO)]))
    subprocess.run([sys.executable, "-m", "pytest", "-p", "rwreport", "-p", "no:cacheprovider",
                    "-p", "no:xdist", "-q", "--collect-only", *args],
                   cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    return json.loads((tmp_path / "rewritten.json").read_text())


def test_a_conformance_run_rewrites_only_the_suites_test_files(tmp_path: Path) -> None:
    rewritten = rewritten_modules(tmp_path, "--kmw-impl=kmw.KEpisodeMetaworld")
    assert not [m for m in rewritten if m.split(".")[0] in ("hypothesis", "kmw")], rewritten
    suite = [m for m in rewritten if "test_contract" in m]
    assert suite, f"the suite's test files are no longer rewritten: {rewritten}"


def test_without_kmw_impl_pytest_rewrites_as_usual(tmp_path: Path) -> None:
    (tmp_path / "test_uses_hypothesis.py").write_text(
        "import hypothesis\n\ndef test_x():\n    assert hypothesis\n")
    rewritten = rewritten_modules(tmp_path, "test_uses_hypothesis.py")
    assert any(m.startswith("hypothesis.") for m in rewritten), rewritten
