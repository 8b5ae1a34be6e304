"""Aggregate metrics over a matrix of scores (numpy only), as Agarwal et al. (2021) define them.

A *score matrix* has one row per run and one column per class (a split's task class): entry
``[r, c]`` is run r's success rate (or gain) on class c, the mean over its trials of that class.
Every function here takes such a matrix, or a sequence of per-class columns (the form the
stratified bootstrap hands back, resample axes first), and reduces the run and class axes:

* :func:`mean`: the mean of all scores; with every run holding every class this is the mean
  over runs of the per-class mean (Meta-World's way of averaging classes);
* :func:`iqm`: the interquartile mean, the mean of the middle 50% of all scores
  (``scipy.stats.trim_mean(scores, 0.25)`` on the flattened matrix, as ``rliable`` does; the
  same number of scores, ``floor(0.25 * n)``, is cut from each end);
* :func:`probability_of_improvement`: P(X > Y), the probability that a run of algorithm X beats
  a run of Y on a class drawn at random (ties count half), averaged over classes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["iqm", "mean", "probability_of_improvement"]


def _flat(columns: Sequence[np.ndarray], axis: int) -> np.ndarray:
    return np.concatenate([np.moveaxis(c, axis, -1) for c in columns], axis=-1)


def mean(*columns: np.ndarray, axis: int = -1) -> np.ndarray:
    """The mean of all scores: ``columns`` are per-class arrays of runs along ``axis``."""
    return _flat(columns, axis).mean(axis=-1)


def iqm(*columns: np.ndarray, axis: int = -1) -> np.ndarray:
    """The interquartile mean of all scores (see the module docstring)."""
    flat = np.sort(_flat(columns, axis), axis=-1)
    n = flat.shape[-1]
    cut = int(0.25 * n)
    return flat[..., cut : n - cut].mean(axis=-1)


def probability_of_improvement(x: Sequence[np.ndarray], y: Sequence[np.ndarray]) -> np.ndarray:
    """P(X > Y): ``x`` and ``y`` are per-class arrays of runs on the last axis (same classes, in
    the same order; any numbers of runs); leading axes broadcast (bootstrap resamples).

    For each class, the fraction of (run of X, run of Y) pairs where X's score is higher, ties
    counting 1/2; then the mean over classes (Agarwal et al. 2021, section 4.2)."""
    if len(x) != len(y) or not x:
        raise ValueError(f"expected the same classes for both, got {len(x)} and {len(y)}")
    per_class = []
    for xc, yc in zip(x, y):
        a, b = np.asarray(xc)[..., :, None], np.asarray(yc)[..., None, :]
        per_class.append(((a > b) + 0.5 * (a == b)).mean(axis=(-2, -1)))
    return np.mean(per_class, axis=0)
