"""Reproductions outside pytest (conformance.engine.replay and the conformance.replay command).

Each case runs the suite on a mutant as a subprocess with ``--kmw-report`` (only the property
that catches it), takes the stored reproduction with ``python -m conformance.replay REPORT ID``
and runs it with ``python -c``: it must end in a ``ContractViolation`` of the same requirement.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conformance.engine.replay import _fold, encode, parse, spec_source
from conformance.engine.scripted import AttemptScript, BenchmarkSpec, ClassSpec, TaskSpec, simple_spec
from conformance.replay import reproductions

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}

CASES = [
    # model-based (a Session's model finds it)
    ("flag_one_step_late", "KMW-SR-1", "sr_1", ()),
    # differential: a candidate reset mid-trial against a fresh one (both properties)
    ("reset_mid_trial_keeps_count", "KMW-ATT-4", "att_4 or trial_machine", ()),
    # differential: seeded reset after other trials against a fresh candidate (SHOULD)
    ("seed_ignored", "KMW-TSK-3", "tsk_3", ()),
    # two candidates stepped in turn (schedule class two-instances), one recording
    ("attempt_state_shared_by_instances", "KMW-LOG-2", "log_2", ()),
    # an object changed a trial later, seen by the session's last check
    ("final_obs_buffer_across_trials", "KMW-OBS-4", "obs_4", ()),
    # the gym env API and AMAGO's keys; a property's own check after the trial's end
    ("amago_style", "KMW-ATT-5", "att_5", ("--kmw-env-api=gym", "--kmw-keys=amago")),
]


def _suite(tmp_path: Path, mutant: str, select: str, options: tuple[str, ...],
           workers: int = 0) -> Path:
    report = tmp_path / "report.json"
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
           f"--kmw-impl=tests.mutants.{mutant}.Wrapper", *options, "-q", "-k", select,
           f"--kmw-report={report}"]
    if workers:
        cmd += ["-n", str(workers)]
    subprocess.run(cmd, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=600)
    assert report.is_file()
    return report


def _reproduce(report: Path, req_id: str, tmp_path: Path) -> str:
    shown = subprocess.run([sys.executable, "-m", "conformance.replay", str(report), req_id],
                           cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    snippet = shown.stdout
    assert "replay(" in snippet and f"target={req_id!r}" in snippet
    # a fresh interpreter, elsewhere: only PYTHONPATH finds the candidate
    ran = subprocess.run([sys.executable, "-c", snippet], cwd=tmp_path, env=ENV,
                         capture_output=True, text=True, timeout=300)
    assert ran.returncode != 0
    last = ran.stderr.strip().splitlines()
    violation = next(line for line in last if line.startswith("conformance.engine.violations."))
    assert violation.startswith(f"conformance.engine.violations.ContractViolation: [{req_id}]"), \
        ran.stderr[-3000:]
    return snippet


@pytest.mark.parametrize(("mutant", "req_id", "select", "options"), CASES,
                         ids=[c[0] for c in CASES])
def test_reproduction_from_report(tmp_path, mutant, req_id, select, options):
    report = _suite(tmp_path, mutant, select, options)
    _reproduce(report, req_id, tmp_path)


def test_reproduction_from_report_under_xdist(tmp_path):
    pytest.importorskip("xdist")
    report = _suite(tmp_path, "reset_mid_trial_keeps_count", "att_4 or trial_machine", (),
                    workers=2)
    _reproduce(report, "KMW-ATT-4", tmp_path)
    run = subprocess.run([sys.executable, "-m", "conformance.replay", str(report), "KMW-ATT-4",
                          "--run"], cwd=ROOT, env=ENV, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 1 and "reproduced: [KMW-ATT-4]" in run.stderr


def test_bare_candidate_replay(tmp_path):
    """replay_calls stops before the failing call and hands the bare candidate over."""
    report = _suite(tmp_path, "flag_one_step_late", "sr_1", ())
    snippet = _reproduce(report, "KMW-SR-1", tmp_path)
    setup = snippet.split("\nreplay(")[0]
    bare = next(line for line in snippet.splitlines() if "replay_calls(" in line)
    code = f"{setup}\n{bare.lstrip('# ')}\nprint(type(candidates[0]).__name__)\n"
    ran = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=ENV,
                         capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "Wrapper"


def test_spec_source_round_trips():
    namespace = {"BenchmarkSpec": BenchmarkSpec, "ClassSpec": ClassSpec, "TaskSpec": TaskSpec,
                 "AttemptScript": AttemptScript}
    scripts = (AttemptScript(frozenset({1, 3}), 2, "truncated"), AttemptScript(frozenset({2})),
               AttemptScript(end_at=4), AttemptScript())
    for spec in (simple_spec(), simple_spec(1, 1, 1, 3, scripts, "gym"),
                 simple_spec(1, 1, tasks_per_class=5, ml1=True), simple_spec(12, 1, 2)):
        assert eval(spec_source(spec), namespace) == spec  # noqa: S307
        assert eval(repr(spec), namespace) == spec  # noqa: S307 - the dataclass repr too


def test_calls_fold_and_parse():
    a, b = np.float32([0.5, -0.25, 1, 0]), np.float32([-1, 0.125, -0.5, 0.75])

    def rec(x):
        return (x.dtype.str, x.shape, x.tobytes())

    ops = [(0, "+", None), (0, "r", 7)] + [(0, "s", rec(x)) for x in [a, b] * 200]
    ops += [(1, "+", None), (None, "p", (1, 0)), (None, "R", None), (None, "S", rec(a)),
            (0, "=", (0, 1)), (0, "d", (5, 92))]
    tokens, actions = encode(ops)
    assert actions == [a.tolist(), b.tolist()]
    folded = " ".join(_fold(tokens))
    assert folded == "+ r7 (s0 s1)*200 + p1,0 R S0 @0 =0,1 d5,92"
    assert [op + arg for op, arg in parse(folded)] == tokens


def test_reproductions_found_in_merged_text():
    text = ("test_a:\n[KMW-X-1] boom\n  trial so far:\n    reset\n  reproduce with:\n"
            "    x = 1\n    #   y\nschedule class: c\n\ntest_b:\n  reproduce with:\n    z = 2\n")
    assert reproductions(text) == ["x = 1\n#   y\n", "z = 2\n"]
