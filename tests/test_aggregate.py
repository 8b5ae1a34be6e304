"""Several runs aggregated (kmw/metrics.py, kmw/bootstrap.py, kmw/aggregate.py, ``kmw aggregate``):
IQM and mean against scipy, the probability of improvement by hand, the bootstrap's
stratification, compatibility of old ``--json`` files, the command line, and two real runs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.engine.spec import contract_version
from kmw import metrics
from kmw.aggregate import RunError, aggregate_runs, compare, load_run, run_contract_version
from kmw.bootstrap import stratified_interval
from kmw.cli import main

PROPS = settings(max_examples=150, deadline=None, derandomize=True)
REPS = 500


def run_dict(rates: dict[str, list[float]], trials: int = 4, **over) -> dict:
    """A ``kmw run --json`` dict (format 2): per class, attempt j succeeds in the first
    ``round(rates[c][j] * trials)`` of ``trials`` trials."""
    k = len(next(iter(rates.values())))
    rows = [
        {"task": c, "task_index": i, "successes": [1.0 if i < round(p * trials) else 0.0 for p in ps],
         "returns": [10.0 * (j + 1) for j in range(k)]}
        for c, ps in rates.items() for i in range(trials)
    ]  # fmt: skip
    return {
        "format": "kmw-run", "format_version": 2, "benchmark": "ml10", "split": "test",
        "classes": sorted(rates), "k": k, "max_episode_length": 500, "contract_version": 2,
        "policy": "p", "benchmark_seed": 0, "trials": len(rows), "trial_results": rows, **over,
    }  # fmt: skip


def write(tmp_path: Path, name: str, data: dict) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


# -- metrics ---------------------------------------------------------------------------------------

scores = st.integers(1, 8).flatmap(
    lambda runs: st.lists(st.lists(st.floats(0, 1), min_size=runs, max_size=runs), min_size=1, max_size=6)
)


@PROPS
@given(scores)
def test_iqm_and_mean_are_scipys_over_the_flattened_matrix(columns) -> None:
    cols = [np.array(c) for c in columns]
    flat = np.concatenate(cols)
    assert metrics.iqm(*cols) == pytest.approx(scipy.stats.trim_mean(flat, 0.25), abs=1e-12)
    assert metrics.mean(*cols) == pytest.approx(flat.mean(), abs=1e-12)


def test_probability_of_improvement_by_hand() -> None:
    # class 1: A (0.2, 0.6) vs B (0.4): 0.2 < 0.4, 0.6 > 0.4 -> 1/2
    # class 2: A (1.0, 1.0) vs B (1.0): ties -> 1/2
    a = [np.array([0.2, 0.6]), np.array([1.0, 1.0])]
    b = [np.array([0.4]), np.array([1.0])]
    assert metrics.probability_of_improvement(a, b) == pytest.approx(0.5)
    assert metrics.probability_of_improvement([np.array([0.9])], [np.array([0.1, 0.2])]) == 1.0


@PROPS
@given(scores, st.integers(1, 5))
def test_probability_of_improvement_is_complementary(columns, nb) -> None:
    a = [np.array(c) for c in columns]
    b = [np.linspace(0, 1, nb) for _ in columns]
    p, q = metrics.probability_of_improvement(a, b), metrics.probability_of_improvement(b, a)
    assert 0.0 <= p <= 1.0 and p + q == pytest.approx(1.0)
    assert metrics.probability_of_improvement(a, a) == pytest.approx(0.5)


# -- the bootstrap ---------------------------------------------------------------------------------


def test_the_bootstrap_is_stratified() -> None:
    """Class 1 always scores 0 and class 2 always 1: a resample that keeps every class keeps the
    mean at exactly 0.5; one that pooled the runs would not."""
    strata = [np.zeros(3), np.ones(3)]
    lo, hi = stratified_interval(strata, metrics.mean, reps=REPS, seed=0)
    assert (lo, hi) == (0.5, 0.5)


def test_the_bootstrap_is_reproducible_from_its_seed_and_covers() -> None:
    rng = np.random.default_rng(1)
    strata = [rng.uniform(0, 1, 5) for _ in range(4)]
    one = stratified_interval(strata, metrics.iqm, reps=REPS, seed=7)
    assert one == stratified_interval(strata, metrics.iqm, reps=REPS, seed=7)
    assert one[0] <= metrics.iqm(*strata) <= one[1]
    # coverage of the true mean of the class means: nominal 95%, but percentile intervals from 5
    # runs per class under-cover (the bootstrap's spread is the sample's, about sqrt(4/5) of the
    # truth): 0.875 with these seeds
    covered, reps = 0, 200
    for i in range(reps):
        draw = np.random.default_rng(i)
        strata = [draw.normal(mu, 0.2, 5) for mu in (0.2, 0.5, 0.7)]
        lo, hi = stratified_interval(strata, metrics.mean, reps=400, seed=i)
        covered += lo <= (0.2 + 0.5 + 0.7) / 3 <= hi
    assert 0.83 <= covered / reps <= 0.97


# -- aggregating runs ------------------------------------------------------------------------------


def test_aggregate_of_three_runs_by_hand(tmp_path) -> None:
    runs = [
        run_dict({"a-v3": [0.0, 0.5], "b-v3": [0.25, 1.0]}),
        run_dict({"a-v3": [0.25, 0.5], "b-v3": [0.5, 0.75]}),
        run_dict({"a-v3": [0.0, 0.25], "b-v3": [1.0, 1.0]}),
    ]
    agg = aggregate_runs([write(tmp_path, f"r{i}.json", r) for i, r in enumerate(runs)], reps=REPS)
    attempt1 = np.array([0.0, 0.25, 0.25, 0.5, 0.0, 1.0])
    gain = np.array([0.5, 0.75, 0.25, 0.25, 0.25, 0.0])
    assert agg.estimates["mean"][0] == pytest.approx(attempt1.mean())
    assert agg.estimates["iqm"][0] == pytest.approx(scipy.stats.trim_mean(attempt1, 0.25))
    assert agg.estimates["mean"][2] == pytest.approx(gain.mean())
    for s in ("iqm", "mean"):
        assert (agg.lows[s] <= agg.estimates[s]).all() and (agg.estimates[s] <= agg.highs[s]).all()
    text = agg.format()
    assert "IQM" in text and "mean" in text and "gain@2-1" in text and "stratified bootstrap" in text
    assert agg.to_dict()["statistics"]["iqm"]["succ@1"]["ci95"][0] <= agg.estimates["iqm"][0]
    assert agg.describe().startswith("3 runs of ml10 test (k=2, max_episode_length=500, contract 2)")


def test_a_run_file_of_format_1_aggregates_with_one_of_format_2(tmp_path) -> None:
    """Files written before format 2 have no "format_version", "classes" or "contract_version"
    (and no "task_index"); their contract version comes from the kmw version that wrote them."""
    new = run_dict({"a-v3": [0.5, 0.5], "b-v3": [0.0, 1.0]})
    old = {k: v for k, v in run_dict({"a-v3": [0.25, 0.5], "b-v3": [0.5, 0.5]}).items()
           if k not in ("format", "format_version", "classes", "contract_version")}  # fmt: skip
    old["versions"] = {"kmw": "0.2.0", "metaworld": "3.1.1", "python": "3.11.7"}
    for row in old["trial_results"]:
        del row["task_index"]
    old_path = write(tmp_path, "old.json", old)
    assert run_contract_version(load_run(old_path)) == 2
    agg = aggregate_runs([write(tmp_path, "new.json", new), old_path], reps=REPS)
    assert agg.classes == ["a-v3", "b-v3"] and agg.runs == 2
    old["versions"]["kmw"] = "0.1.0"
    with pytest.raises(RunError, match="has contract_version 1 but .* has 2"):
        aggregate_runs([write(tmp_path, "new.json", new), write(tmp_path, "old.json", old)], reps=REPS)


def test_compare_a_better_group(tmp_path) -> None:
    good = [
        run_dict({"a-v3": [0.75, 1.0], "b-v3": [0.5, 1.0]}),
        run_dict({"a-v3": [1.0, 1.0], "b-v3": [0.75, 0.75]}),
    ]
    bad = [
        run_dict({"a-v3": [0.0, 0.25], "b-v3": [0.0, 0.0]}),
        run_dict({"a-v3": [0.25, 0.0], "b-v3": [0.25, 0.5]}),
    ]
    a = aggregate_runs([write(tmp_path, f"g{i}.json", r) for i, r in enumerate(good)], reps=REPS)
    b = aggregate_runs([write(tmp_path, f"b{i}.json", r) for i, r in enumerate(bad)], reps=REPS)
    c = compare(a, b)
    assert c.poi[0] == 1.0 and c.poi_low[0] == 1.0 and c.poi_high[0] == 1.0  # every pair, every resample
    assert compare(b, a).poi[1] == 0.0
    assert "P(A > B)" in c.format() and c.to_dict()["probability_of_improvement"]["succ@1"]["estimate"] == 1.0


# -- kmw aggregate ---------------------------------------------------------------------------------


def test_kmw_aggregate_prints_iqm_and_mean_with_intervals_and_plots(tmp_path, capsys) -> None:
    pytest.importorskip("matplotlib")
    a = [write(tmp_path, f"a{i}.json", run_dict({"a-v3": [0.25 * i, 0.5], "b-v3": [0.5, 0.25 * i]}))
         for i in range(3)]  # fmt: skip
    b = [
        write(tmp_path, f"b{i}.json", run_dict({"a-v3": [0.0, 0.25 * i], "b-v3": [0.25, 0.0]}))
        for i in range(2)
    ]
    png = tmp_path / "agg.png"
    code = main(["aggregate", *map(str, a), "--vs", *map(str, b), "--plot", str(png), "--reps", str(REPS)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "A = 3 runs of ml10 test" in out and "B = 2 runs of ml10 test" in out
    assert out.count("IQM  ") == 2 and "probability of improvement P(A > B)" in out
    assert png.read_bytes().startswith(b"\x89PNG")


def test_kmw_aggregate_without_scipy_says_how_to_install_it(tmp_path, capsys, monkeypatch) -> None:
    paths = [str(write(tmp_path, f"r{i}.json", run_dict({"a-v3": [0.5]}))) for i in range(2)]
    for name in [m for m in sys.modules if m == "scipy" or m.startswith("scipy.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "scipy", None)
    assert main(["aggregate", *paths]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and 'pip install "scipy>=1.15"' in err


@pytest.mark.parametrize(
    ("benchmark", "num_envs", "classes"),
    [("reach-v3", 1, "1 class"), pytest.param("ml10", 2, "5 classes", marks=pytest.mark.slow)],
)
def test_two_real_runs_aggregate(tmp_path, capsys, benchmark, num_envs, classes) -> None:
    """The issue's done-when: ``kmw aggregate`` prints the IQM and the mean with intervals for
    two runs (real Meta-World; ML10's test split, one trial per class per run, under ``slow``)."""
    paths = []
    for seed in (0, 1):
        path = tmp_path / f"seed{seed}.json"
        argv = ["run", benchmark, "--policy", "random", "--per-class", "1", "--k", "2"]
        argv += ["--max-episode-length", "3", "--seed", str(seed), "--num-envs", str(num_envs)]
        assert main([*argv, "--no-progress", "--json", str(path)]) == 0
        paths.append(str(path))
    capsys.readouterr()
    assert main(["aggregate", *paths, "--reps", str(REPS)]) == 0
    out = capsys.readouterr().out
    lines = {ln.split()[0]: ln for ln in out.splitlines() if ln.startswith(("IQM ", "mean "))}
    assert set(lines) == {"IQM", "mean"}
    for line in lines.values():  # succ@1, succ@2, gain: each an estimate and an interval
        assert line.count("[") == 3 and line.count("]") == 3
    what = (f"2 runs of {benchmark} test (k=2, max_episode_length=3, contract "
            f"{contract_version()}), {classes}, 1 trial per class")
    assert what in out
