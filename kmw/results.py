"""What ``kmw.evaluate`` returns: every trial, and the figures per class, pooled and class-mean.

:class:`Results` holds the counted trials (:class:`kmw.rollout.TrialResult`) and the run's
settings; the figures are computed from the trials on demand:

* ``tasks``: one :class:`GroupStats` per class (success rate per attempt with a 95% Wilson
  interval, mean return with its standard error and t interval, the adaptation gain attempt k -
  attempt 1 with Newcombe's paired interval for success and a paired t interval for return);
* ``pooled`` (the JSON's ``"all"``): the same over all trials **pooled**, every trial one draw
  from the run's mix of classes, so a class weighs as much as it has trials;
* ``class_mean``: :class:`ClassMeanStats`, the **mean over classes** of the per-class figures,
  every class weighted equally (Meta-World's ``evaluation()`` averages classes this way). With
  one class it is that class's figures; with several, its 95% intervals come from the
  stratified bootstrap (:mod:`kmw.bootstrap`: trials resampled within each class), and only
  when every class has at least :data:`MIN_TRIALS_FOR_INTERVAL` trials.

With the same number of trials in every class (``per_class``) the two means are equal; with
trials drawn at random they differ as the draw favoured some classes.

``Results.to_dict()`` is the JSON (:data:`FORMAT_VERSION`, documented in docs/cli.md) and
:func:`results_from_dict` reads it back, also from files written before format 2.
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kmw.bootstrap import stratified_interval
from kmw.intervals import (
    MIN_TRIALS_FOR_INTERVAL,
    newcombe_paired_interval,
    standard_error,
    t_interval,
    wilson_interval,
)
from kmw.rollout import TrialResult

__all__ = [
    "FORMAT_VERSION",
    "MIN_TRIALS_FOR_INTERVAL",
    "STATISTICS_NOTE",
    "ClassMeanStats",
    "GroupStats",
    "Results",
    "results_from_dict",
]

#: Version of the JSON ``to_dict`` writes (files without ``"format_version"`` are version 1).
FORMAT_VERSION = 2
#: Seed of the class mean's bootstrap: the same trials give the same interval.
BOOTSTRAP_SEED = 0

Pair = tuple[float, float]


def _pair(x: Pair | None) -> list[float] | None:
    return None if x is None else [float(x[0]), float(x[1])]


@dataclass
class GroupStats:
    """The figures of one class (or of all trials pooled), per attempt; 95% intervals.

    ``gain_*`` compare attempt k with attempt 1 over the same trials (``None`` when k = 1);
    ``return_se``/``return_ci95``/``gain_return_ci95`` are ``None`` with a single trial.
    """

    name: str
    trials: int
    success_rate: list[float]
    success_ci95: list[Pair]
    mean_return: list[float]
    return_se: list[float | None]
    return_ci95: list[Pair | None]
    gain_success: float | None = None
    gain_success_ci95: Pair | None = None
    gain_return: float | None = None
    gain_return_se: float | None = None
    gain_return_ci95: Pair | None = None

    @classmethod
    def of(cls, name: str, trials: list[TrialResult], k: int) -> GroupStats:
        n = len(trials)
        succ = np.array([t.successes for t in trials], dtype=np.float64).reshape(n, k)
        rets = np.array([t.returns for t in trials], dtype=np.float64).reshape(n, k)
        g = cls(
            name=name,
            trials=n,
            success_rate=[float(x) for x in succ.mean(axis=0)],
            success_ci95=[wilson_interval(float(succ[:, j].sum()), n) for j in range(k)],
            mean_return=[float(x) for x in rets.mean(axis=0)],
            return_se=[standard_error(rets[:, j]) for j in range(k)],
            return_ci95=[t_interval(rets[:, j]) for j in range(k)],
        )
        if k > 1:
            est, lo, hi = newcombe_paired_interval(succ[:, -1], succ[:, 0])
            g.gain_success, g.gain_success_ci95 = est, (lo, hi)
            diff = rets[:, -1] - rets[:, 0]
            g.gain_return, g.gain_return_se = float(diff.mean()), standard_error(diff)
            g.gain_return_ci95 = t_interval(diff)
        return g

    def to_dict(self) -> dict[str, Any]:
        k = len(self.success_rate)
        out: dict[str, Any] = {
            "trials": self.trials,
            "success_rate": self.success_rate,
            "success_ci95": [_pair(x) for x in self.success_ci95],
            "mean_return": self.mean_return,
            "return_se": self.return_se,
            "return_ci95": [_pair(x) for x in self.return_ci95],
            "adaptation_gain": None,
        }
        if k > 1:
            out["adaptation_gain"] = {
                "attempts": [k, 1],
                "trials": self.trials,
                "success": {
                    "estimate": self.gain_success,
                    "ci95": _pair(self.gain_success_ci95),
                    "method": "newcombe-paired-hybrid-score",
                },
                "return": {
                    "estimate": self.gain_return,
                    "se": self.gain_return_se,
                    "ci95": _pair(self.gain_return_ci95),
                    "method": "paired-t",
                    "df": self.trials - 1,
                },
            }
        return out


@dataclass
class ClassMeanStats:
    """The mean over classes of the per-class figures, each class weighted equally.

    ``classes``: the classes with trials (the mean is over them); ``missing``: classes of the
    split without a trial (not in the mean). ``method`` is ``"one-class"`` (the class's own
    intervals), ``"stratified-bootstrap-percentile"``, or ``None`` (no intervals: a class has
    fewer than :data:`MIN_TRIALS_FOR_INTERVAL` trials); ``interval`` says it in words.
    """

    classes: list[str]
    missing: list[str]
    trials: int
    success_rate: list[float]
    success_ci95: list[Pair | None]
    mean_return: list[float]
    return_ci95: list[Pair | None]
    gain_success: float | None
    gain_success_ci95: Pair | None
    gain_return: float | None
    gain_return_ci95: Pair | None
    interval: str
    method: str | None

    @classmethod
    def of(
        cls, groups: dict[str, list[TrialResult]], k: int, split_classes: list[str] | None
    ) -> ClassMeanStats:
        names = sorted(groups)
        missing = [c for c in (split_classes or []) if c not in groups]
        # per class: rows succ_1..succ_k, ret_1..ret_k, succ gain, return gain; columns: trials
        strata = []
        for c in names:
            s = np.array([t.successes for t in groups[c]], dtype=np.float64).reshape(-1, k)
            r = np.array([t.returns for t in groups[c]], dtype=np.float64).reshape(-1, k)
            strata.append(np.vstack([s.T, r.T, s[:, -1] - s[:, 0], r[:, -1] - r[:, 0]]))
        est = _class_mean(*strata)
        lows = highs = None
        method: str | None = None
        if len(names) == 1:
            g = GroupStats.of(names[0], groups[names[0]], k)
            interval = "the one class's own intervals (Wilson; t; Newcombe paired; paired t)"
            method = "one-class"
            s_ci: list[Pair | None] = list(g.success_ci95)
            r_ci: list[Pair | None] = list(g.return_ci95)
            gs_ci, gr_ci = g.gain_success_ci95, g.gain_return_ci95
        else:
            fewest = min(len(groups[c]) for c in names)
            if fewest >= MIN_TRIALS_FOR_INTERVAL:
                lows, highs = stratified_interval(strata, _class_mean, seed=BOOTSTRAP_SEED)
                method = "stratified-bootstrap-percentile"
                interval = (
                    "95% percentile interval of the stratified bootstrap (trials resampled within "
                    "each class; scipy.stats.bootstrap)"
                )
            else:
                interval = (
                    f"none: a class has {fewest} trial{'s' if fewest != 1 else ''}, fewer than "
                    f"{MIN_TRIALS_FOR_INTERVAL}"
                )

            def ci(row: int) -> Pair | None:
                if lows is None or highs is None:
                    return None
                return _within(float(est[row]), float(lows[row]), float(highs[row]))

            s_ci = [ci(j) for j in range(k)]
            r_ci = [ci(k + j) for j in range(k)]
            gs_ci, gr_ci = ci(2 * k), ci(2 * k + 1)
        return cls(
            classes=names,
            missing=missing,
            trials=sum(len(v) for v in groups.values()),
            success_rate=[float(x) for x in est[:k]],
            success_ci95=s_ci,
            mean_return=[float(x) for x in est[k : 2 * k]],
            return_ci95=r_ci,
            gain_success=float(est[2 * k]) if k > 1 else None,
            gain_success_ci95=gs_ci if k > 1 else None,
            gain_return=float(est[2 * k + 1]) if k > 1 else None,
            gain_return_ci95=gr_ci if k > 1 else None,
            interval=interval,
            method=method,
        )

    def to_dict(self) -> dict[str, Any]:
        k = len(self.success_rate)
        out: dict[str, Any] = {
            "averaging": "class-mean",
            "classes": len(self.classes),
            "classes_without_trials": self.missing,
            "trials": self.trials,
            "success_rate": self.success_rate,
            "success_ci95": [_pair(x) for x in self.success_ci95],
            "mean_return": self.mean_return,
            "return_ci95": [_pair(x) for x in self.return_ci95],
            "interval": self.interval,
            "interval_method": self.method,
            "adaptation_gain": None,
        }
        if k > 1:
            out["adaptation_gain"] = {
                "attempts": [k, 1],
                "success": {"estimate": self.gain_success, "ci95": _pair(self.gain_success_ci95)},
                "return": {"estimate": self.gain_return, "ci95": _pair(self.gain_return_ci95)},
            }
        return out


def _class_mean(*strata: np.ndarray, axis: int = -1) -> np.ndarray:
    """The mean over strata of each stratum's mean along ``axis`` (the bootstrap statistic)."""
    return np.mean([np.mean(s, axis=axis) for s in strata], axis=0)


def _within(estimate: float, low: float, high: float) -> Pair:
    """A percentile interval widened, if rounding left it out, to hold the estimate."""
    if math.isnan(estimate):
        return low, high
    return min(low, estimate), max(high, estimate)


STATISTICS_NOTE = {
    "success_ci95": "95% Wilson score interval of the success rate over the trials",
    "return_se": "standard error of the mean return (sample sd / sqrt(trials))",
    "return_ci95": "95% t interval of the mean return (trials - 1 degrees of freedom)",
    "adaptation_gain": "attempt k minus attempt 1 over the same trials (paired); success: "
    "Newcombe's hybrid score interval for paired proportions (1998, method 10); return: "
    "paired t interval",
    "all": "POOLED: every counted trial is one draw from the run's mix of classes (a class "
    "weighs as much as it has trials)",
    "class_mean": "CLASS MEAN: the mean over classes of each class's figure, every class "
    "weighted equally (Meta-World's evaluation() averages this way); 95% intervals from the "
    "stratified bootstrap (trials resampled within each class, percentile method, 10000 "
    "resamples), only when every class has at least 3 trials",
}


@dataclass
class Results:
    """What :func:`kmw.evaluate` returns: every counted trial and the run's settings and timing.

    ``tasks`` (per class, sorted by name), ``pooled`` and ``class_mean`` hold the statistics
    (see the module docstring); ``to_dict()`` is the JSON ``kmw run --json`` writes;
    ``format_table()`` the text table; ``plot(path)`` the adaptation curve (needs matplotlib:
    ``pip install "kmw[plot]"``). ``settings["classes"]``, when present, lists the split's
    classes (so classes without a trial show as such).
    """

    k: int
    trials: list[TrialResult]
    steps: int = 0
    seconds: float = 0.0
    settings: dict[str, Any] = field(default_factory=dict)

    def _groups(self) -> dict[str, list[TrialResult]]:
        groups: dict[str, list[TrialResult]] = {}
        for t in self.trials:
            groups.setdefault(t.task, []).append(t)
        return {name: groups[name] for name in sorted(groups)}

    @functools.cached_property
    def tasks(self) -> dict[str, GroupStats]:
        return {name: GroupStats.of(name, ts, self.k) for name, ts in self._groups().items()}

    @functools.cached_property
    def pooled(self) -> GroupStats:
        return GroupStats.of("all", self.trials, self.k)

    @functools.cached_property
    def class_mean(self) -> ClassMeanStats:
        return ClassMeanStats.of(self._groups(), self.k, self.classes)

    @property
    def classes(self) -> list[str] | None:
        """The split's classes, if the settings say (``None`` for a JSON file of format 1)."""
        classes = self.settings.get("classes")
        return list(classes) if classes is not None else None

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.seconds if self.seconds > 0 else math.inf

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "kmw-run",
            "format_version": FORMAT_VERSION,
            **self.settings,
            "k": self.k,
            "trials": len(self.trials),
            "tasks": {name: g.to_dict() for name, g in self.tasks.items()},
            "all": {"averaging": "pooled", **self.pooled.to_dict()},
            "class_mean": self.class_mean.to_dict(),
            "statistics": STATISTICS_NOTE,
            "trial_results": [
                {"task": t.task, "task_index": t.task_index, "successes": t.successes, "returns": t.returns}
                for t in self.trials
            ],
            "steps": self.steps,
            "seconds": self.seconds,
            "steps_per_second": self.steps_per_second,
        }

    def format_table(self) -> str:
        from kmw.table import format_table

        return format_table(self)

    def plot(self, path: str | os.PathLike[str], title: str | None = None) -> Path:
        from kmw.plotting import plot_results

        return plot_results(self, path, title)


#: Keys of ``to_dict()`` that are figures computed from the trials, not settings.
_COMPUTED = {
    "format",
    "format_version",
    "k",
    "trials",
    "tasks",
    "all",
    "class_mean",
    "statistics",
    "trial_results",
    "steps",
    "seconds",
    "steps_per_second",
}


def results_from_dict(data: Any, source: str = "the run") -> Results:
    """:class:`Results` from a ``to_dict()`` (``kmw run --json``) dictionary, format 1 or 2.

    Only ``"k"`` and ``"trial_results"`` (each with ``"task"``, ``"successes"``, ``"returns"``
    of k numbers; ``"task_index"`` optional) are read as data; the figures are recomputed from
    them; every other key but the computed ones is kept as a setting. Raises ``ValueError``
    (one line, naming ``source``) for anything else.
    """
    if not isinstance(data, dict):
        raise ValueError(
            f"{source}: expected a JSON object (a kmw run --json file), got {type(data).__name__}"
        )
    version = data.get("format_version", 1)
    if version not in (1, FORMAT_VERSION):
        raise ValueError(
            f"{source}: format_version {version!r} is not one this kmw reads (1, {FORMAT_VERSION})"
        )
    k = data.get("k")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"{source}: 'k' must be an integer >= 1, got {k!r}")
    rows = data.get("trial_results")
    if not isinstance(rows, list) or not rows:
        raise ValueError(f"{source}: 'trial_results' must be a non-empty list of trials")
    trials = [_trial_from_dict(row, k, f"{source}: trial_results[{i}]") for i, row in enumerate(rows)]
    settings = {key: value for key, value in data.items() if key not in _COMPUTED}
    steps = data.get("steps", 0)
    seconds = data.get("seconds", 0.0)
    return Results(
        k,
        trials,
        steps if isinstance(steps, int) and not isinstance(steps, bool) else 0,
        float(seconds) if isinstance(seconds, int | float) and not isinstance(seconds, bool) else 0.0,
        settings,
    )


def _trial_from_dict(row: Any, k: int, where: str) -> TrialResult:
    if not isinstance(row, dict):
        raise ValueError(f"{where}: expected an object with task, successes and returns")
    task = row.get("task")
    if not isinstance(task, str) or not task:
        raise ValueError(f"{where}: 'task' must be a class name, got {task!r}")
    values = {}
    for key in ("successes", "returns"):
        xs = row.get(key)
        if (
            not isinstance(xs, list)
            or len(xs) != k
            or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in xs)
        ):
            raise ValueError(f"{where}: {key!r} must be a list of {k} numbers (k = {k}), got {xs!r}")
        values[key] = [float(x) for x in xs]
    if any(s not in (0.0, 1.0) for s in values["successes"]):
        raise ValueError(f"{where}: 'successes' must be 0 or 1, got {values['successes']!r}")
    index = row.get("task_index")
    if index is not None and (isinstance(index, bool) or not isinstance(index, int) or index < 0):
        raise ValueError(f"{where}: 'task_index' must be an integer >= 0 or null, got {index!r}")
    return TrialResult(task, values["successes"], values["returns"], index)
