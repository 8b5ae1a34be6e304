"""Reproductions outside pytest (conformance.engine.replay and the conformance.replay command).

Each case runs the suite on a mutant as a subprocess with ``--kmw-report`` (only the property
that catches it), takes the reproduction ``python -m conformance.replay REPORT ID`` prints from
the report's data and runs it with ``python -c``: it must end in a ``ContractViolation`` of the
same requirement. Then the data form itself (``Reproduction``), the strict parsing of calls,
and what replaying imports. Malformed reports are rows of ``tests/test_hostile_inputs.py``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conformance.engine.harness import Session
from conformance.engine.keys import KMW_KEYS
from conformance.engine.plan import TrialPlan
from conformance.engine.replay import replay, replay_calls
from conformance.engine.reproduction import (
    MAX_CALLS,
    Reproduction,
    _fold,
    check_calls,
    encode,
    parse,
    spec_source,
)
from conformance.engine.scripted import (
    OBS_DIM,
    AttemptScript,
    BenchmarkSpec,
    ClassSpec,
    ScriptedBenchmark,
    TaskSpec,
    simple_spec,
)
from conformance.engine.violations import ContractViolation
from kmw import KEpisodeMetaworld

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
    assert snippet.startswith("# --run imports the candidate tests.mutants."), snippet[:300]
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
            (0, "=", (0, 1)), (0, "d", (5, 92)), (2, "+", "rotated"), (3, "+", "rotated:4")]
    tokens, actions = encode(ops)
    assert actions == [a.tolist(), b.tolist()]
    folded = " ".join(_fold(tokens))
    assert folded == "+ r7 (s0 s1)*200 + p1,0 R S0 @0 =0,1 d5,92 +r +rL4"
    assert [op + arg for op, arg in parse(folded)] == tokens


# --------------------------------------------------------------------------- replay from data

SCRIPTS = (AttemptScript(frozenset({1, 3}), 2, "truncated"), AttemptScript(frozenset({2})),
           AttemptScript(end_at=4), AttemptScript())


def _repro(**changes) -> Reproduction:
    fields = dict(impl="pkg.mod.Wrapper", keys="kmw", benchmark=simple_spec(2, 1, 2, 7, SCRIPTS, "gym"),
                  split="test", k=3, max_episode_length=4, reward_scales={"reach-v3": -0.5},
                  calls="+ r7 (s0 s1)*3 +r @1 r s0 p0,1 R3 S1 =0,1 d5,92 z",
                  actions=((0.5, -0.25, 1.0, 0.0), (-1.0, 0.125, -0.5, 0.75)), target="KMW-LOG-2")
    return Reproduction(**{**fields, **changes})


@pytest.mark.parametrize("rep", [_repro(), _repro(benchmark=("ml10", False), keys="pkg.keys:MINE",
                                                   reward_scales={}, target=None),
                                 _repro(benchmark=("reach-v3", True), keys="amago")],
                         ids=["scripted", "metaworld", "single-task"])
def test_reproduction_data_round_trips(rep: Reproduction) -> None:
    data = json.loads(json.dumps(rep.to_json()))
    assert Reproduction.from_json(data) == rep
    assert Reproduction.from_json(data).source() == rep.source()
    assert rep.imports()[0] == ("candidate", "pkg.mod.Wrapper")
    assert len(rep.imports()) == (2 if rep.keys == "pkg.keys:MINE" else 1)


class LateFlag(KEpisodeMetaworld):
    """Bug: the soft-reset flag at the end of an attempt is 0.0 (KMW-SR-1)."""

    def get_obs(self, og_obs, soft_reset):
        return super().get_obs(og_obs, soft_reset and self._attempt == 0)


def test_a_violation_carries_its_reproduction_as_data() -> None:
    """The data a violation carries validates as the replay command validates it, and the
    Python made from it is the text the violation shows."""
    bench = ScriptedBenchmark(simple_spec(scripts=SCRIPTS))
    plan = TrialPlan("train", 3, 4, [5], [np.float32([0.5, -0.25, 1, 0])],
                     {"reach-v3": 2.0})
    session = Session(LateFlag, bench, plan, KMW_KEYS, "KMW-SR-1", OBS_DIM,
                      impl="tests.test_replay.LateFlag")
    with pytest.raises(ContractViolation) as info:
        session.run_trial(5)
    data = info.value.reproduction_data
    assert data is not None and data["format"] == 1 and data["keys"] == "kmw"
    rep = Reproduction.from_json(json.loads(json.dumps(data)))
    assert rep.source() == info.value.reproduction
    assert rep.calls == "+ r5 s0*2" and rep.reward_scales == {"reach-v3": 2.0}


@pytest.mark.parametrize(("calls", "message"), [
    ("s0*99999999999", f"a repeat count must be from 1 to {MAX_CALLS}"),
    ("s0*0", "a repeat count must be from 1"),
    ("(s0*1000)*1001", f"more than {MAX_CALLS} calls"),
    ("+ d0,1000001", f"more than {MAX_CALLS} calls"),
    ("(" * 9 + "s0" + ")" * 9, "brackets nested deeper than 8"),
    ("r-1", "unknown call 'r-1'"),
    ("s", "unknown call 's'"),
    ("s0*2*3", "unknown call 's0*2*3'"),
    ("s\u0661", "unknown call"),  # a non-ASCII digit
    ("q7", "unknown call 'q7'"),
    ("+ +rL0", "unknown call '+rL0'"),  # a second candidate's own L is at least 1
    ("+ +rl4", "unknown call '+rl4'"),
    ("(s0", "unbalanced '('"),
    ("s0)", "unbalanced ')'"),
    ("()*2", "an empty bracket"),
    ("", "no call"),
    ("s0", "call 1 's0': before a + call builds a candidate"),
    ("+ r0 s2", "call 3 's2': no action 2 (2 actions)"),
    ("+ @1", "call 2 '@1': no candidate 1 (1 built before it)"),
    ("+ + p0,0", "pairs a candidate with itself"),
    ("+ r0 S0", "before a p call pairs two candidates"),
    ("+ + r0 =0,1", "compares a candidate before it was reset or stepped"),
    ("+ r9223372036854775808", "a seed must be at most 9223372036854775807"),
])
def test_calls_are_parsed_strictly(calls: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)) as info:
        check_calls(parse(calls), 2)
    assert "\n" not in str(info.value)


def test_the_largest_calls_are_accepted() -> None:
    ops = parse(f"+ r{2**63 - 1} (s0 s1)*{MAX_CALLS // 2 - 1}")
    assert len(ops) == MAX_CALLS
    check_calls(ops, 2)


CANDIDATE_MODULE = """
import pathlib
pathlib.Path("imported").write_text("")
from kmw import KEpisodeMetaworld as Wrapper
"""


@pytest.mark.parametrize("function", [replay, replay_calls])
@pytest.mark.parametrize(("calls", "actions", "message"), [
    ("+ r-1 s0", [[0.5, 0, 0, 0]], "unknown call 'r-1'"),
    ("+ r0 s1", [[0.5, 0, 0, 0]], "no action 1"),
    ("+ r0 s0", [[float("nan"), 0, 0, 0]], "actions[0] must be a flat list of 1 to 64 finite"),
    ("+ r0 s0", "abcd", "actions must be a list"),
])
def test_replay_checks_its_arguments_before_importing_the_candidate(
        tmp_path, monkeypatch, function, calls, actions, message) -> None:
    (tmp_path / "replay_cand_direct.py").write_text(CANDIDATE_MODULE)
    monkeypatch.chdir(tmp_path)
    kwargs = {"target": "KMW-SR-1"} if function is replay else {}
    with pytest.raises(ValueError, match=re.escape(message)):
        function("replay_cand_direct.Wrapper", simple_spec(), "test", 2, 3, calls, actions,
                 **kwargs)
    assert not (tmp_path / "imported").exists()


REPORT_OF = """{{"plugin_version": "x", "requirements": {{"KMW-SR-1": {{"outcome": "fail",
  "failing_example": "t: [KMW-SR-1] late", "reproductions": [{{"test": "t",
  "reproduction": {data}}}]}}}}}}"""


def test_printing_a_reproduction_imports_nothing(tmp_path) -> None:
    (tmp_path / "replay_cand_print.py").write_text(CANDIDATE_MODULE)
    data = _repro(impl="replay_cand_print.Wrapper", keys="replay_cand_print:KEYS").to_json()
    (tmp_path / "r.json").write_text(REPORT_OF.format(data=json.dumps(data)))
    shown = subprocess.run([sys.executable, "-m", "conformance.replay", "r.json", "KMW-SR-1"],
                           cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[0] == (
        "# --run imports the candidate replay_cand_print.Wrapper and the key scheme "
        "replay_cand_print:KEYS; nothing else from the report is run")
    assert "impl = 'replay_cand_print.Wrapper'" in shown.stdout
    assert not (tmp_path / "imported").exists()


CUSTOM_KEYS = """
from conformance.engine.keys import KeyScheme

AMAGO_LIKE = KeyScheme(name="amago-like", success_template="{P} Trial {i} Success",
                       total_successes_template="{P} Total Successes")
"""


def test_a_reproduction_names_a_custom_key_scheme_by_its_path(tmp_path) -> None:
    """The data names ``--kmw-keys``'s dotted path (not the scheme's ``name``), so the replay
    resolves the same scheme: shown before it is imported."""
    (tmp_path / "replay_keys_mod.py").write_text(CUSTOM_KEYS)
    env = {**ENV, "PYTHONPATH": f"{ROOT}{os.pathsep}{tmp_path}"}
    report = tmp_path / "report.json"
    subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                    "--kmw-impl=tests.mutants.amago_style.Wrapper", "--kmw-env-api=gym",
                    "--kmw-keys=replay_keys_mod.AMAGO_LIKE", "-q", "-k", "att_5",
                    f"--kmw-report={report}"], cwd=ROOT, env=env, capture_output=True,
                   text=True, timeout=600)
    entry = json.loads(report.read_text())["requirements"]["KMW-ATT-5"]
    assert entry["reproductions"][0]["reproduction"]["keys"] == "replay_keys_mod.AMAGO_LIKE"
    run = subprocess.run([sys.executable, "-m", "conformance.replay", str(report), "KMW-ATT-5",
                          "--run"], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.stderr.startswith(
        "replaying KMW-ATT-5: importing the candidate tests.mutants.amago_style.Wrapper and the "
        "key scheme replay_keys_mod.AMAGO_LIKE\n"), run.stderr[-2000:]
    assert run.returncode == 1 and "reproduced: [KMW-ATT-5]" in run.stderr
