"""Pictures: a run's adaptation curve (``kmw run --plot``) and an aggregate's (``kmw aggregate --plot``).

Both need matplotlib (the ``plot`` extra: ``pip install "kmw[plot]"``); :func:`require_matplotlib`
says so. Drawing never fails on the figures themselves: 0, 1 or 2 trials, all-fail or
all-success, NaN returns and 45 classes all draw. The rules:

* success and return are drawn against the attempt; the **pooled** and the **class-mean**
  curves share one panel (each named in the legend), which sits outside the data, right of the
  panels;
* with up to :data:`HANDFUL` classes each class gets its own thin curve in the same panels,
  dodged sideways so that no two series sit on top of each other; with more, the classes are a
  class-by-attempt heatmap (success and mean return, each cell labelled) under the panels;
* no interval is drawn from fewer than :data:`kmw.intervals.MIN_TRIALS_FOR_INTERVAL` trials,
  and a note under the figure names the series drawn without one; a return interval is clipped
  at 0 when no return is negative (a t interval can reach below 0, a mean of such returns not).

Files are written with the project's writer (``kmw._files.write_bytes_atomic``): ``.png``,
``.svg`` or ``.pdf`` by suffix, with no creation date, so the same figures give the same file.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kmw._files import write_bytes_atomic
from kmw.intervals import MIN_TRIALS_FOR_INTERVAL

if TYPE_CHECKING:
    from kmw.aggregate import Aggregate, Comparison
    from kmw.results import Results

__all__ = [
    "HANDFUL",
    "PLOT_INSTALL_HINT",
    "PLOT_SUFFIXES",
    "aggregate_figure",
    "plot_aggregate",
    "plot_results",
    "require_matplotlib",
    "results_figure",
]

PLOT_SUFFIXES = (".png", ".svg", ".pdf")
PLOT_INSTALL_HINT = 'pip install "kmw[plot]"'
#: Up to this many classes are drawn as curves in the main panels; more become a heatmap.
HANDFUL = 5

Pair = tuple[float, float]


def require_matplotlib() -> None:
    """Raise ``ImportError`` with the install hint unless matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError(f"plotting needs matplotlib, which is not installed: {PLOT_INSTALL_HINT}") from exc


def _format_of(path: Path) -> str:
    fmt = path.suffix.lower()
    if fmt not in PLOT_SUFFIXES:
        raise ValueError(f"{path}: expected a {', '.join(PLOT_SUFFIXES)} file name")
    return fmt


def _pyplot() -> Any:
    require_matplotlib()
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path, fmt: str) -> Path:
    buf = io.BytesIO()
    # No creation date: the same results give the same file.
    meta = {".png": {"Software": None}, ".svg": {"Date": None}}.get(fmt, {"CreationDate": None})
    fig.savefig(buf, format=fmt[1:], dpi=100, metadata=meta)
    return write_bytes_atomic(path, buf.getvalue())


def _finite(values: Sequence[float | None]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(v)]


def _errors(y: Sequence[float], cis: Sequence[Pair | None], floor: float | None) -> np.ndarray | None:
    """``yerr`` rows (below, above) for ``errorbar``: never negative, 0 where there is no
    interval or it is not finite; ``None`` when no point has an interval."""
    if all(c is None for c in cis):
        return None
    err = np.zeros((2, len(y)))
    for j, (m, c) in enumerate(zip(y, cis)):
        if c is None or not (math.isfinite(m) and math.isfinite(c[0]) and math.isfinite(c[1])):
            continue
        lo = c[0] if floor is None else max(c[0], floor)
        err[0, j], err[1, j] = max(0.0, m - lo), max(0.0, c[1] - m)
    return err


def _limits(ax: Any, values: Sequence[float], floor: float | None) -> None:
    """y limits from the finite ``values`` (means and interval ends), with a margin."""
    finite = _finite(values)
    if not finite:
        ax.set_ylim(0.0, 1.0)
        return
    lo, hi = min(finite), max(finite)
    if floor is not None:
        lo = max(lo, floor)
    pad = 0.06 * (hi - lo) if hi > lo else max(1.0, abs(hi) * 0.1)
    ax.set_ylim(lo - pad, hi + pad)


class _Series:
    """One curve: name, trials behind it, per-attempt values and intervals, style."""

    def __init__(
        self,
        label: str,
        trials: int,
        succ: Sequence[float],
        succ_ci: Sequence[Pair | None],
        ret: Sequence[float],
        ret_ci: Sequence[Pair | None],
        style: dict[str, Any],
        intervals: bool,
    ) -> None:
        self.label, self.trials, self.style = label, trials, style
        self.succ, self.ret = list(succ), list(ret)
        self.succ_ci = list(succ_ci) if intervals else [None] * len(succ)
        self.ret_ci = list(ret_ci) if intervals else [None] * len(ret)


def plot_results(results: Results, path: str | os.PathLike[str], title: str | None = None) -> Path:
    """Draw ``results``' adaptation curve to ``path`` (see the module docstring); return the
    path written (a symlink's target for a symlink)."""
    path = Path(path)
    fmt = _format_of(path)
    return _save_closed(results_figure(results, title), path, fmt)


def _save_closed(fig: Any, path: Path, fmt: str) -> Path:
    try:
        return _save(fig, path, fmt)
    finally:
        _pyplot().close(fig)


def results_figure(results: Results, title: str | None = None) -> Any:
    """The matplotlib ``Figure`` of ``results``' adaptation curve (the caller closes it)."""
    plt = _pyplot()
    k = results.k
    x = np.arange(1, k + 1)
    classes = results.tasks
    mean = results.class_mean
    n_classes = len(classes) + len(mean.missing)
    heatmap = n_classes > HANDFUL
    all_returns = [r for t in results.trials for r in t.returns]
    floor = 0.0 if all_returns and min(all_returns) >= 0 else None  # NaN compares False: no floor

    series: list[_Series] = []
    short: list[str] = []  # series drawn without an interval because of too few trials
    cmap = plt.get_cmap("tab10")
    if len(classes) > 1 and not heatmap:
        for idx, (name, g) in enumerate(classes.items()):
            ok = g.trials >= MIN_TRIALS_FOR_INTERVAL
            if not ok:
                short.append(f"{name} (n={g.trials})")
            series.append(
                _Series(
                    f"{name} (n={g.trials})",
                    g.trials,
                    g.success_rate,
                    g.success_ci95,
                    g.mean_return,
                    g.return_ci95,
                    {
                        "color": cmap(idx % 10),
                        "linewidth": 1.0,
                        "alpha": 0.85,
                        "capsize": 2,
                        "marker": "o",
                        "markersize": 3.5,
                    },
                    ok,
                )
            )
    pooled = results.pooled
    ok = pooled.trials >= MIN_TRIALS_FOR_INTERVAL
    if not ok:
        short.append(f"pooled (n={pooled.trials})")
    only = next(iter(classes)) if len(classes) == 1 else None
    series.append(
        _Series(
            f"{only} (n={pooled.trials})" if only else f"pooled: all trials (n={pooled.trials})",
            pooled.trials,
            pooled.success_rate,
            pooled.success_ci95,
            pooled.mean_return,
            pooled.return_ci95,
            {"color": "black", "linewidth": 2.2, "capsize": 4, "marker": "o", "zorder": 3},
            ok,
        )
    )
    if len(mean.classes) > 1:
        has = mean.method is not None
        if not has:
            short.append("class mean (a class has fewer than 3 trials)")
        series.append(
            _Series(
                f"class mean: {len(mean.classes)} classes weighted equally",
                mean.trials,
                mean.success_rate,
                mean.success_ci95,
                mean.mean_return,
                mean.return_ci95,
                {
                    "color": "tab:red",
                    "linewidth": 2.0,
                    "linestyle": "--",
                    "capsize": 4,
                    "marker": "s",
                    "zorder": 3,
                },
                has,
            )
        )

    rows = max(1, len(classes) + len(mean.missing)) if heatmap else 0
    heights = [3.4] + ([0.6 + 0.2 * rows] if heatmap else [])
    fig = plt.figure(figsize=(10.5, sum(heights) + 0.9), layout="constrained")
    try:
        grid = fig.add_gridspec(len(heights) + 1, 2, height_ratios=[*heights, 0.45])
        ax_s, ax_r = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1])
        step = min(0.08, 0.5 / max(1, len(series)))
        ret_values: list[float] = []
        for idx, s in enumerate(series):
            dx = (idx - (len(series) - 1) / 2) * step
            ax_s.errorbar(x + dx, s.succ, yerr=_errors(s.succ, s.succ_ci, None), label=s.label, **s.style)
            ax_r.errorbar(x + dx, s.ret, yerr=_errors(s.ret, s.ret_ci, floor), **s.style)
            ret_values += s.ret + [v for c in s.ret_ci if c is not None for v in c]
        ax_s.set_ylim(-0.05, 1.05)
        _limits(ax_r, ret_values, floor)
        ax_s.set_ylabel("success rate")
        ax_r.set_ylabel("mean return")
        for ax in (ax_s, ax_r):
            ax.set_xlabel("attempt")
            ax.set_xticks(x)
            ax.set_xlim(0.5, k + 0.5)
            ax.grid(True, alpha=0.3)
        fig.legend(loc="outside right upper", fontsize=8, frameon=False)
        if heatmap:
            _heatmaps(fig, grid[1, :], results, plt)
        notes = [
            "intervals (95%): class and pooled success Wilson, return t; class mean stratified bootstrap"
            + ("; return intervals clipped at 0 (no return is negative)" if floor is not None else "")
        ]
        if short:
            notes.append(
                f"no interval drawn (fewer than {MIN_TRIALS_FOR_INTERVAL} trials): " + ", ".join(short)
            )
        _notes(fig, grid[-1, :], notes)
        if title:
            fig.suptitle(title, fontsize=10)
        return fig
    except BaseException:
        plt.close(fig)
        raise


def _heatmaps(fig: Any, cell: Any, results: Results, plt: Any) -> None:
    """Class-by-attempt heatmaps of success and mean return in ``cell`` (one row per class of
    the split, classes without trials grey)."""
    k = results.k
    groups = results.tasks
    names = sorted([*groups, *results.class_mean.missing])
    succ = np.full((len(names), k), np.nan)
    ret = np.full((len(names), k), np.nan)
    labels = []
    for i, name in enumerate(names):
        g = groups.get(name)
        labels.append(f"{name} (n={g.trials if g else 0})")
        if g is not None:
            succ[i], ret[i] = g.success_rate, g.mean_return
    sub = cell.subgridspec(1, 2, wspace=0.05)
    for j, (data, label, vmin, vmax, fmt) in enumerate(
        (
            (succ, "success rate", 0.0, 1.0, "{:.2f}"),
            (ret, "mean return", None, None, "{:.0f}"),
        )
    ):
        ax = fig.add_subplot(sub[0, j])
        cmap = plt.get_cmap("viridis").with_extremes(bad="0.85")
        finite = data[np.isfinite(data)]
        lo = vmin if vmin is not None else (float(finite.min()) if finite.size else 0.0)
        hi = vmax if vmax is not None else (float(finite.max()) if finite.size else 1.0)
        if hi <= lo:
            hi = lo + 1.0
        im = ax.imshow(
            np.ma.masked_invalid(data), aspect="auto", cmap=cmap, vmin=lo, vmax=hi, interpolation="nearest"
        )
        ax.set_xticks(range(k), [f"{a + 1}" for a in range(k)])
        ax.set_xlabel(f"attempt ({label} per class)")
        ax.set_yticks(range(len(names)), labels if j == 0 else [""] * len(names), fontsize=7)
        size = 7 if len(names) <= 60 else 5
        for r in range(len(names)):
            for c in range(k):
                v = data[r, c]
                text = "no trials" if names[r] not in groups else fmt.format(v)
                shade = (v - lo) / (hi - lo) if math.isfinite(v) else 1.0
                ax.text(
                    c,
                    r,
                    text,
                    ha="center",
                    va="center",
                    fontsize=size,
                    color="white" if shade < 0.55 else "black",
                )
        fig.colorbar(im, ax=ax, shrink=0.6, pad=0.01)


def _notes(fig: Any, cell: Any, lines: list[str]) -> None:
    ax = fig.add_subplot(cell)
    ax.axis("off")
    ax.text(0.0, 1.0, "\n".join(lines), ha="left", va="top", fontsize=7, wrap=True, transform=ax.transAxes)


def plot_aggregate(
    agg: Aggregate,
    path: str | os.PathLike[str],
    title: str | None = None,
    comparison: Comparison | None = None,
) -> Path:
    """Draw an aggregate (``kmw aggregate --plot``) to ``path``: success per attempt, the IQM
    and the mean over runs x classes with their 95% stratified-bootstrap intervals, each run's
    class-mean curve thin behind them; with ``comparison`` the other group's IQM and mean too,
    and a second panel with the probability of improvement per attempt."""
    path = Path(path)
    fmt = _format_of(path)
    return _save_closed(aggregate_figure(agg, title, comparison), path, fmt)


def aggregate_figure(agg: Aggregate, title: str | None = None, comparison: Comparison | None = None) -> Any:
    """The matplotlib ``Figure`` of :func:`plot_aggregate` (the caller closes it)."""
    plt = _pyplot()
    k = agg.k
    x = np.arange(1, k + 1)
    # per group: (aggregate, colour of its IQM and runs, colour of its mean, label prefix)
    groups = [(agg, "black", "tab:red", "A: " if comparison else "")]
    if comparison is not None:
        groups.append((comparison.b, "tab:blue", "tab:cyan", "B: "))
    fig = plt.figure(figsize=(10.5 if comparison else 7.0, 4.3), layout="constrained")
    try:
        grid = fig.add_gridspec(2, 2 if comparison else 1, height_ratios=[3.6, 0.5])
        ax = fig.add_subplot(grid[0, 0])
        n_series = 2 * len(groups)
        step = min(0.08, 0.5 / n_series)
        idx = 0
        for g, color, mean_color, prefix in groups:
            for curve in g.run_curves():
                ax.plot(x, curve, color=color, alpha=0.25, linewidth=0.8)
            for stat, style in (("iqm", "-"), ("mean", "--")):
                est = g.estimates[stat][:k]
                cis = list(zip(g.lows[stat][:k], g.highs[stat][:k]))
                dx = (idx - (n_series - 1) / 2) * step
                idx += 1
                ax.errorbar(
                    x + dx,
                    est,
                    yerr=_errors(est, cis, None),
                    color=color if stat == "iqm" else mean_color,
                    linestyle=style,
                    marker="o" if stat == "iqm" else "s",
                    capsize=4,
                    linewidth=2,
                    label=f"{prefix}{'IQM' if stat == 'iqm' else 'mean'} of {g.runs} runs x "
                    f"{len(g.classes)} class{'' if len(g.classes) == 1 else 'es'}",
                )
        ax.plot([], [], color="0.5", alpha=0.5, linewidth=0.8, label="each run's class mean")
        ax.set_ylim(-0.05, 1.05)
        ax.set_xlim(0.5, k + 0.5)
        ax.set_xticks(x)
        ax.set_xlabel("attempt")
        ax.set_ylabel("success rate")
        ax.grid(True, alpha=0.3)
        if comparison is not None:
            ax2 = fig.add_subplot(grid[0, 1])
            poi = comparison.poi[:k]
            err = _errors(poi, list(zip(comparison.poi_low[:k], comparison.poi_high[:k])), None)
            ax2.errorbar(
                x,
                poi,
                yerr=err,
                color="tab:purple",
                marker="D",
                capsize=4,
                linewidth=2,
                label="P(A > B), 95% interval",
            )
            ax2.axhline(0.5, color="0.4", linewidth=0.8, linestyle=":")
            ax2.set_ylim(-0.05, 1.05)
            ax2.set_xlim(0.5, k + 0.5)
            ax2.set_xticks(x)
            ax2.set_xlabel("attempt")
            ax2.set_ylabel("probability of improvement")
            ax2.grid(True, alpha=0.3)
        fig.legend(loc="outside right upper", fontsize=8, frameon=False)
        _notes(
            fig,
            grid[1, :],
            [
                "scores: each run's success rate per class; IQM: mean of the middle 50% of the "
                "runs x classes scores;\nintervals: 95% percentile stratified bootstrap (runs resampled "
                f"within each class, {agg.reps} resamples; Agarwal et al. 2021)"
            ],
        )
        if title:
            fig.suptitle(title, fontsize=10)
        return fig
    except BaseException:
        plt.close(fig)
        raise
