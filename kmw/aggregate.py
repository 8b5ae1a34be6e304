"""Several runs of one agent aggregated as a paper reports them: ``kmw aggregate``.

A run is a ``kmw run --json`` file (or a :class:`kmw.results.Results`), typically one per
training seed. :func:`aggregate_runs` turns N runs of the same benchmark, split, k, attempt
length and contract version into a score matrix (run x class: the run's success rate on the
class, per attempt, and its adaptation gain attempt k - attempt 1) and reports, per attempt and
for the gain, the **IQM** and the **mean** of the scores with 95% intervals from the
**stratified bootstrap** (runs resampled within each class), following Agarwal et al. (2021),
"Deep Reinforcement Learning at the Edge of the Statistical Precipice" (:mod:`kmw.metrics`,
:mod:`kmw.bootstrap`). :func:`compare` gives the **probability of improvement** of one group of
runs over another, with its interval.

Every run must hold every class of the split (a run of ``kmw run --per-class N`` does; a run of
random draws may miss some); runs that differ in what they measure are refused (``RunError``,
one line). Files written before format 2 (no ``"classes"``, no ``"contract_version"``) are read
too: their classes are those their trials ran, and their contract version is inferred from the
kmw version that wrote them (0.1: 1, 0.2: 2).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import kmw.metrics as metrics
from kmw.bootstrap import DEFAULT_REPS, stratified_interval
from kmw.results import Results, results_from_dict

__all__ = [
    "MATCHED",
    "Aggregate",
    "Comparison",
    "RunError",
    "aggregate_runs",
    "compare",
    "load_run",
    "run_contract_version",
]

#: What runs must share to be aggregated or compared.
MATCHED = ("benchmark", "split", "k", "max_episode_length", "contract_version")

#: Contract version by the kmw version that wrote a file without ``"contract_version"``.
_CONTRACT_OF_KMW = {"0.1": 1, "0.2": 2}


class RunError(ValueError):
    """A run file that cannot be read, or runs that cannot be aggregated; one line."""


def load_run(path: str | os.PathLike[str]) -> Results:
    """The run in the ``kmw run --json`` file ``path``; ``RunError`` naming the file and what
    is wrong (missing, unreadable, not JSON, not a run)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RunError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise RunError(f"{path}: is a directory, expected a kmw run --json file") from None
    except UnicodeDecodeError as exc:
        raise RunError(f"{path}: not UTF-8 text (byte {exc.start}): expected a kmw run --json file") from None
    except OSError as exc:
        raise RunError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RunError(f"{path}: not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:
        raise RunError(f"{path}: not a kmw run --json file (nested too deeply)") from None
    try:
        results = results_from_dict(data, str(path))
    except ValueError as exc:
        raise RunError(str(exc)) from None
    for key in ("benchmark", "split"):
        if not isinstance(results.settings.get(key), str):
            raise RunError(f"{path}: {key!r} must be a string, got {results.settings.get(key)!r}")
    length = results.settings.get("max_episode_length")
    if isinstance(length, bool) or not isinstance(length, int):
        raise RunError(f"{path}: 'max_episode_length' must be an integer, got {length!r}")
    return results


def run_contract_version(results: Results) -> int | None:
    """The contract version a run was made under: its ``"contract_version"``, else inferred
    from ``versions.kmw`` (0.1: 1, 0.2: 2), else ``None`` (not recorded)."""
    recorded = results.settings.get("contract_version")
    if isinstance(recorded, int) and not isinstance(recorded, bool):
        return recorded
    versions = results.settings.get("versions")
    kmw_version = versions.get("kmw") if isinstance(versions, dict) else None
    if isinstance(kmw_version, str):
        m = re.match(r"(\d+\.\d+)", kmw_version)
        if m:
            return _CONTRACT_OF_KMW.get(m.group(1))
    return None


def _key(results: Results) -> dict[str, Any]:
    return {
        "benchmark": results.settings.get("benchmark"),
        "split": results.settings.get("split"),
        "k": results.k,
        "max_episode_length": results.settings.get("max_episode_length"),
        "contract_version": run_contract_version(results),
    }


def _check_same(keys: Sequence[dict[str, Any]], sources: Sequence[str]) -> dict[str, Any]:
    """The runs' common key (:data:`MATCHED`); ``RunError`` naming the first difference."""
    first = keys[0]
    for key, source in zip(keys[1:], sources[1:]):
        for name in MATCHED:
            if key[name] != first[name]:

                def shown(v: Any) -> str:
                    return "not recorded" if v is None else str(v)

                raise RunError(
                    f"{source} has {name} {shown(key[name])} but {sources[0]} has {shown(first[name])}: "
                    f"runs must share {', '.join(MATCHED)}"
                )
    return first


def _classes(runs: Sequence[Results], sources: Sequence[str]) -> list[str]:
    """The split's classes (from the files, or the union of the classes their trials ran),
    each of which every run must have a trial of."""
    listed = [r.classes for r in runs if r.classes is not None]
    classes = set(listed[0]) if listed else set()
    for run in runs:
        classes |= set(run.tasks)
    for run, source in zip(runs, sources):
        if run.classes is not None and set(run.classes) != classes:
            extra = sorted(classes ^ set(run.classes))
            raise RunError(f"{source}: its split's classes differ from the other runs' ({', '.join(extra)})")
        missing = sorted(classes - set(run.tasks))
        if missing:
            raise RunError(
                f"{source} has no trial of {len(missing)} of the {len(classes)} classes "
                f"({', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''}): every run needs "
                "every class (kmw run --per-class N)"
            )
    return sorted(classes)


@dataclass
class Aggregate:
    """N runs aggregated: per attempt and for the gain, the IQM and the mean of the run x class
    scores with 95% stratified-bootstrap intervals.

    ``scores[r, c, j]``: run r's success rate on class c at attempt j + 1 (j < k), and at
    ``j = k`` its gain (attempt k minus attempt 1; 0 when k = 1). ``estimates``, ``lows`` and
    ``highs`` map ``"iqm"`` and ``"mean"`` to arrays of k + 1 (the attempts, then the gain).
    """

    key: dict[str, Any]
    classes: list[str]
    sources: list[str]
    policies: list[str]
    trials_per_class: list[int]
    scores: np.ndarray
    estimates: dict[str, np.ndarray]
    lows: dict[str, np.ndarray]
    highs: dict[str, np.ndarray]
    reps: int
    seed: int | None
    notes: list[str] = field(default_factory=list)

    @property
    def k(self) -> int:
        return int(self.key["k"])

    @property
    def runs(self) -> int:
        return self.scores.shape[0]

    def strata(self) -> list[np.ndarray]:
        """One array per class: its scores, shape ``(k + 1, runs)``."""
        return [self.scores[:, c, :].T for c in range(len(self.classes))]

    def run_curves(self) -> np.ndarray:
        """Each run's class-mean success per attempt, shape ``(runs, k)``."""
        return self.scores[:, :, : self.k].mean(axis=1)

    def describe(self) -> str:
        """One line: what was aggregated."""
        key = self.key
        per = sorted(set(self.trials_per_class))
        trials = f"{per[0]}" if len(per) == 1 else f"{per[0]} to {per[-1]}"
        pol = self.policies[0] if len(set(self.policies)) == 1 else f"{len(set(self.policies))} policies"
        return (
            f"{self.runs} runs of {key['benchmark']} {key['split']} (k={key['k']}, "
            f"max_episode_length={key['max_episode_length']}, contract "
            f"{key['contract_version'] if key['contract_version'] is not None else 'not recorded'}), "
            f"{_plural(len(self.classes), 'class', 'classes')}, {trials} trial{'' if per == [1] else 's'} "
            f"per class per run, policy {pol}"
        )

    def format(self) -> str:
        """The table ``kmw aggregate`` prints."""
        k = self.k
        heads = [f"succ@{j + 1}" for j in range(k)] + ([f"gain@{k}-1"] if k > 1 else [])
        rows = [
            (
                label,
                [
                    _cell(self.estimates[s][j], self.lows[s][j], self.highs[s][j], j == k)
                    for j in range(len(heads))
                ],
            )
            for s, label in (("iqm", "IQM"), ("mean", "mean"))
        ]
        n = self.runs * len(self.classes)
        lines = [
            f"success rate per attempt over {self.runs} runs x "
            f"{_plural(len(self.classes), 'class', 'classes')} = {n} scores "
            "[95% stratified-bootstrap interval]"
        ]
        lines += _grid("statistic", heads, rows)
        lines.append(
            f"IQM: mean of the middle 50% of the {n} run x class scores (Agarwal et al. 2021); mean: "
            "mean of all of them (the class mean, averaged over runs)"
        )
        lines.append(
            f"intervals: percentile, stratified bootstrap (runs resampled within each class), "
            f"{self.reps} resamples, seed {self.seed}; scipy.stats.bootstrap"
        )
        lines += self.notes
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        k = self.k
        names = [f"succ@{j + 1}" for j in range(k)] + ["gain"]
        return {
            **self.key,
            "runs": self.sources,
            "classes": self.classes,
            "statistics": {
                s: {
                    n: {
                        "estimate": float(self.estimates[s][j]),
                        "ci95": [float(self.lows[s][j]), float(self.highs[s][j])],
                    }
                    for j, n in enumerate(names)
                }
                for s in ("iqm", "mean")
            },
            "interval": "stratified-bootstrap-percentile",
            "reps": self.reps,
            "seed": self.seed,
        }


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _cell(est: float, lo: float, hi: float, signed: bool) -> str:
    f = "+.2f" if signed else ".2f"
    return f"{est:{f}} [{lo:{f}}, {hi:{f}}]"


def _grid(first: str, heads: list[str], rows: list[tuple[str, list[str]]]) -> list[str]:
    name_w = max(len(first), *(len(r[0]) for r in rows))
    widths = [max(len(h), *(len(r[1][j]) for r in rows)) for j, h in enumerate(heads)]
    head = (f"{first:<{name_w}}  " + "  ".join(f"{h:<{w}}" for h, w in zip(heads, widths))).rstrip()
    out = [head, "-" * len(head)]
    for name, cells in rows:
        out.append((f"{name:<{name_w}}  " + "  ".join(f"{c:<{w}}" for c, w in zip(cells, widths))).rstrip())
    return out


def _iqm_and_mean(*strata: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.stack([metrics.iqm(*strata, axis=axis), metrics.mean(*strata, axis=axis)])


def _scores(run: Results, classes: list[str]) -> np.ndarray:
    """``(classes, k + 1)``: per class, the success rate per attempt and the gain."""
    k = run.k
    out = np.zeros((len(classes), k + 1))
    for c, name in enumerate(classes):
        g = run.tasks[name]
        out[c, :k] = g.success_rate
        out[c, k] = g.success_rate[-1] - g.success_rate[0]
    return out


def aggregate_runs(
    runs: Sequence[Results | str | os.PathLike[str]],
    *,
    reps: int = DEFAULT_REPS,
    seed: int | None = 0,
    sources: Sequence[str] | None = None,
) -> Aggregate:
    """Aggregate ``runs`` (``Results`` or paths of ``kmw run --json`` files; at least 2) as
    the module docstring says. ``RunError`` (one line) for a file that is not a run, runs that
    differ in benchmark, split, k, max_episode_length or contract version, or a run without a
    trial of some class. ``reps`` resamples, drawn from ``seed``."""
    loaded, names = [], []
    for i, run in enumerate(runs):
        if isinstance(run, Results):
            loaded.append(run)
            names.append(sources[i] if sources is not None else f"run {i + 1}")
        else:
            loaded.append(load_run(run))
            names.append(str(run))
    if len(loaded) < 2:
        raise RunError(f"aggregating needs at least 2 runs (got {len(loaded)}): the bootstrap resamples runs")
    if isinstance(reps, bool) or not isinstance(reps, int) or reps < 100:
        raise RunError(f"reps must be an integer >= 100, got {reps!r}")
    key = _check_same([_key(r) for r in loaded], names)
    classes = _classes(loaded, names)
    scores = np.stack([_scores(r, classes) for r in loaded])  # (runs, classes, k + 1)
    strata = [scores[:, c, :].T for c in range(len(classes))]
    est = _iqm_and_mean(*strata)
    lo, hi = stratified_interval(strata, _iqm_and_mean, reps=reps, seed=seed)
    lo, hi = np.minimum(lo, est), np.maximum(hi, est)
    notes = []
    seeds = sorted({str(r.settings.get("benchmark_seed")) for r in loaded})
    if len(seeds) > 1:
        notes.append(f"note: the runs used different benchmark seeds ({', '.join(seeds)})")
    return Aggregate(
        key=key,
        classes=classes,
        sources=names,
        policies=[str(r.settings.get("policy")) for r in loaded],
        trials_per_class=[len([t for t in r.trials if t.task == c]) for r in loaded for c in classes],
        scores=scores,
        estimates={"iqm": est[0], "mean": est[1]},
        lows={"iqm": lo[0], "mean": lo[1]},
        highs={"iqm": hi[0], "mean": hi[1]},
        reps=reps,
        seed=seed,
        notes=notes,
    )


@dataclass
class Comparison:
    """Group A against group B: per attempt and for the gain, P(A > B) and its 95% interval."""

    a: Aggregate
    b: Aggregate
    poi: np.ndarray
    poi_low: np.ndarray
    poi_high: np.ndarray

    def format(self) -> str:
        k = self.a.k
        heads = [f"succ@{j + 1}" for j in range(k)] + ([f"gain@{k}-1"] if k > 1 else [])
        cells = [_cell(self.poi[j], self.poi_low[j], self.poi_high[j], False) for j in range(len(heads))]
        lines = [
            f"probability of improvement P(A > B): A = {self.a.runs} runs, B = {self.b.runs} runs "
            "[95% stratified-bootstrap interval]"
        ]
        lines += _grid("", heads, [("P(A > B)", cells)])
        lines.append(
            "P(A > B): the chance that a run of A scores higher than a run of B on a class drawn at "
            "random (ties count 1/2), averaged over classes (Agarwal et al. 2021); 0.5: no difference"
        )
        lines.append(
            f"intervals: percentile, stratified bootstrap (runs of A and of B resampled within each "
            f"class), {self.a.reps} resamples, seed {self.a.seed}"
        )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        k = self.a.k
        names = [f"succ@{j + 1}" for j in range(k)] + ["gain"]
        return {
            "probability_of_improvement": {
                n: {"estimate": float(self.poi[j]), "ci95": [float(self.poi_low[j]), float(self.poi_high[j])]}
                for j, n in enumerate(names)
            }
        }


def compare(a: Aggregate, b: Aggregate) -> Comparison:
    """P(A > B) per attempt and for the gain (:func:`kmw.metrics.probability_of_improvement`),
    with a 95% stratified-bootstrap interval (runs of A and of B resampled within each class,
    ``a``'s resamples and seed). ``RunError`` if the two measure different things."""
    _check_same([a.key, b.key], [a.sources[0], b.sources[0]])
    if a.classes != b.classes:
        raise RunError(f"{b.sources[0]}: its classes differ from {a.sources[0]}'s")
    m = len(a.classes)
    strata = a.strata() + b.strata()

    def stat(*s: np.ndarray, axis: int = -1) -> np.ndarray:
        return metrics.probability_of_improvement(s[:m], s[m:])

    est = stat(*strata)
    lo, hi = stratified_interval(strata, stat, reps=a.reps, seed=a.seed)
    return Comparison(a, b, est, np.minimum(lo, est), np.maximum(hi, est))
