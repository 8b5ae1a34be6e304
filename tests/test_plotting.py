"""The pictures (kmw/plotting.py) never fail and are readable: hypothesis over (successes, n),
the extremes (0, 1, 2 trials, all-fail, all-success, NaN and negative returns, a class without
trials, 45 classes), the legend outside the data, no interval from fewer than 3 trials, return
intervals not below 0. Synthetic trials: no Meta-World needed."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kmw.aggregate import aggregate_runs, compare
from kmw.results import Results
from kmw.rollout import TrialResult

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg", force=True)

from kmw.plotting import aggregate_figure, plot_aggregate, plot_results, results_figure  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


def make(
    per_class: dict[str, list[tuple[list[float], list[float]]]], k: int, classes: list[str] | None = None
) -> Results:
    trials = [TrialResult(c, list(s), list(r)) for c, rows in per_class.items() for s, r in rows]
    settings_ = {"classes": classes if classes is not None else sorted(per_class)}
    return Results(k, trials, settings=settings_)


def counts_run(successes: list[int], n: int, returns: float = 100.0) -> Results:
    """One class, n trials; attempt j succeeds in the first successes[j] trials."""
    k = len(successes)
    rows = [([1.0 if i < s else 0.0 for s in successes], [returns + i for _ in successes]) for i in range(n)]
    return make({"reach-v3": rows}, k)


def texts(fig) -> str:
    return "\n".join(t.get_text() for t in fig.findobj(matplotlib.text.Text))


def draw(results: Results, tmp_path: Path, name: str = "c.png") -> Path:
    path = tmp_path / name
    plot_results(results, path, title="t")
    assert path.read_bytes().startswith(PNG)
    return path


def test_error_bars_are_never_negative_for_any_successes_out_of_n_up_to_200() -> None:
    """What made matplotlib refuse the plot, checked for every (successes, n) without drawing."""
    from kmw.intervals import wilson_interval
    from kmw.plotting import _errors

    for n in range(1, 201):
        rates = [s / n for s in range(n + 1)]
        err = _errors(rates, [wilson_interval(s, n) for s in range(n + 1)], None)
        assert err is not None and (err >= 0).all(), n


@settings(max_examples=4, deadline=None, derandomize=True)
@given(
    st.integers(1, 200).flatmap(
        lambda n: st.tuples(st.lists(st.integers(0, n), min_size=1, max_size=3), st.just(n))
    )
)
def test_the_plot_draws_for_any_successes_out_of_n(tmp_path_factory, sn) -> None:
    successes, n = sn
    draw(counts_run(successes, n), tmp_path_factory.mktemp("p"))


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(
    st.integers(1, 200).flatmap(
        lambda n: st.tuples(st.lists(st.integers(0, n), min_size=1, max_size=4), st.just(n))
    )
)
def test_the_plot_draws_for_any_successes_out_of_n_thoroughly(tmp_path_factory, sn) -> None:
    successes, n = sn
    draw(counts_run(successes, n), tmp_path_factory.mktemp("p"))


def test_the_issues_tiny_all_fail_run_draws(tmp_path) -> None:
    """``wilson_interval(0, 3)``'s lower bound was 2.8e-17: an error bar of negative length."""
    draw(counts_run([0], 3), tmp_path)
    draw(counts_run([3, 3], 3), tmp_path, "all-success.png")


@pytest.mark.parametrize("n", [1, 2])
def test_no_interval_from_fewer_than_3_trials_and_it_says_so(n) -> None:
    fig = results_figure(counts_run([0, 1 if n > 1 else 0], n, returns=50.0))
    try:
        for ax in fig.axes[:2]:
            for coll in ax.collections:  # errorbar's bars are LineCollections
                assert all(np.ptp(seg[:, 1]) == 0 for seg in coll.get_segments())
        assert f"no interval drawn (fewer than 3 trials): reach-v3 (n={n})" in texts(fig) or (
            f"pooled (n={n})" in texts(fig)
        )
    finally:
        matplotlib.pyplot.close(fig)


def test_return_intervals_stop_at_0_when_no_return_is_negative() -> None:
    rows = [([0.0], [r]) for r in (0.0, 0.0, 0.0, 3000.0)]  # t interval reaches far below 0
    fig = results_figure(make({"a-v3": rows, "b-v3": rows}, 1))
    try:
        ax_r = fig.axes[1]
        lows = [seg[:, 1].min() for coll in ax_r.collections for seg in coll.get_segments()]
        assert lows and min(lows) >= 0.0
        assert "clipped at 0" in texts(fig)
    finally:
        matplotlib.pyplot.close(fig)


def test_negative_and_nan_returns_draw(tmp_path) -> None:
    rows = [([0.0, 1.0], [-5.0, float("nan")]), ([1.0, 1.0], [-1.0, 2.0]), ([0.0, 0.0], [-3.0, 1.0])]
    draw(make({"a-v3": rows, "b-v3": rows}, 2), tmp_path)
    all_nan = [([0.0], [float("nan")])] * 3
    draw(make({"a-v3": all_nan}, 1), tmp_path, "nan.png")


def test_the_legend_sits_outside_the_data_and_the_series_do_not_overlap() -> None:
    rng = np.random.default_rng(0)
    per_class = {
        f"c{i}-v3": [
            (list(rng.integers(0, 2, 3).astype(float)), list(rng.uniform(0, 500, 3))) for _ in range(4)
        ]
        for i in range(5)
    }
    fig = results_figure(make(per_class, 3))
    try:
        fig.canvas.draw()
        legend = fig.legends[0].get_window_extent()
        for ax in fig.axes[:2]:
            assert not legend.overlaps(ax.get_window_extent())
        # 5 classes + pooled + class mean: 7 series, each at its own x (dodged), in both panels
        for ax in fig.axes[:2]:
            xs = [round(float(c.lines[0].get_xdata()[0]), 6) for c in ax.containers]
            assert len(xs) == 7 and len(set(xs)) == 7
        labels = [t.get_text() for t in fig.legends[0].get_texts()]
        assert any(lb.startswith("pooled: all trials") for lb in labels)
        assert any(lb.startswith("class mean: 5 classes weighted equally") for lb in labels)
    finally:
        matplotlib.pyplot.close(fig)


def test_45_classes_become_a_heatmap_with_a_class_without_trials(tmp_path) -> None:
    names = [f"task{i:02d}-v3" for i in range(45)]
    per_class = {
        name: [([float(i % 2), 1.0], [10.0 * i, 20.0])] * (1 + i % 3) for i, name in enumerate(names[:-1])
    }
    res = make(per_class, 2, classes=names)
    fig = results_figure(res)
    try:
        images = [ax for ax in fig.axes if ax.images]
        assert len(images) == 2  # success and return heatmaps
        labels = [t.get_text() for t in images[0].get_yticklabels()]
        assert len(labels) == 45 and f"{names[-1]} (n=0)" in labels
        assert "no trials" in texts(fig)
        # the main panels hold only the pooled and class-mean series (the classes are below)
        assert len(fig.axes[0].containers) == 2
        fig.savefig(tmp_path / "45.png", dpi=100)  # the drawing itself: layout, text, colour bars
    finally:
        matplotlib.pyplot.close(fig)
    assert (tmp_path / "45.png").read_bytes().startswith(PNG)


@pytest.mark.parametrize("suffix", [".svg", ".pdf"])
def test_other_formats(tmp_path, suffix) -> None:
    path = tmp_path / f"c{suffix}"
    plot_results(counts_run([1, 2], 4), path)
    assert path.stat().st_size > 0
    with pytest.raises(ValueError, match="expected a .png, .svg, .pdf file name"):
        plot_results(counts_run([1], 4), tmp_path / "c.jpg")


def _run_dict(scores: list[list[float]], k: int = 2) -> Results:
    """A run of two classes whose attempt-j success rates over 4 trials are ``scores[c][j]``."""
    per_class = {}
    for c, rates in enumerate(scores):
        per_class[f"c{c}-v3"] = [
            ([1.0 if i < round(4 * p) else 0.0 for p in rates], [1.0] * k) for i in range(4)
        ]
    res = make(per_class, k)
    res.settings.update(benchmark="ml10", split="test", max_episode_length=500, contract_version=2)
    return res


def test_the_aggregate_plot_draws_with_and_without_a_comparison(tmp_path) -> None:
    a = aggregate_runs(
        [_run_dict([[0.25, 0.5], [0.0, 0.75]]), _run_dict([[0.5, 1.0], [0.25, 0.5]])], reps=200
    )
    b = aggregate_runs(
        [_run_dict([[0.0, 0.0], [0.25, 0.25]]), _run_dict([[0.0, 0.25], [0.0, 0.0]])], reps=200
    )
    plot_aggregate(a, tmp_path / "a.png", title="a")
    plot_aggregate(a, tmp_path / "ab.png", title="a vs b", comparison=compare(a, b))
    assert (tmp_path / "a.png").read_bytes().startswith(PNG) and (
        tmp_path / "ab.png"
    ).read_bytes().startswith(PNG)
    fig = aggregate_figure(a, comparison=compare(a, b))
    try:
        fig.canvas.draw()
        legend = fig.legends[0].get_window_extent()
        assert not any(legend.overlaps(ax.get_window_extent()) for ax in fig.axes[:2])
        assert "P(A > B), 95% interval" in [t.get_text() for t in fig.legends[0].get_texts()]
    finally:
        matplotlib.pyplot.close(fig)
    assert not math.isnan(float(a.estimates["iqm"][0]))
