"""Stratified bootstrap intervals (``scipy.stats.bootstrap``), as Agarwal et al. (2021) use them.

"Deep Reinforcement Learning at the Edge of the Statistical Precipice" (Agarwal, Schwarzer,
Castro, Courville, Bellemare; NeurIPS 2021; their library is ``rliable``) reports aggregate
scores with 95% percentile intervals from a *stratified* bootstrap: the runs are resampled with
replacement within each task (stratum) separately, so every resample keeps every task. Here the
strata are a split's classes, and what is resampled within a class is either runs (``kmw
aggregate``) or trials (one run's class mean).

``scipy.stats.bootstrap`` does exactly this when it is given one sample per stratum with
``paired=False``: it resamples each sample independently. :func:`stratified_interval` calls it
with the percentile method (rliable's default), a generator seeded with ``seed`` (the same
data and seed give the same interval) and a statistic that sees all strata at once.

scipy is a runtime dependency of kmw (Meta-World itself requires it); :func:`require_scipy`
turns its absence into an ``ImportError`` with the install hint.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["DEFAULT_REPS", "SCIPY_INSTALL_HINT", "require_scipy", "stratified_interval"]

#: Bootstrap resamples by default (rliable's examples use 2,000 to 50,000).
DEFAULT_REPS = 10_000
SCIPY_INSTALL_HINT = 'pip install "scipy>=1.15"'
_BATCH_FLOATS = 4_000_000


def require_scipy() -> Any:
    """``scipy.stats``, or ``ImportError`` with the install hint if scipy is missing."""
    try:
        import scipy.stats
    except ImportError as exc:
        raise ImportError(
            f"this needs scipy (scipy.stats.bootstrap), which is not installed: {SCIPY_INSTALL_HINT}"
        ) from exc
    return scipy.stats


def stratified_interval(
    strata: Sequence[np.ndarray],
    statistic: Callable[..., np.ndarray],
    *,
    reps: int = DEFAULT_REPS,
    seed: int | None = 0,
    confidence: float = 0.95,
) -> tuple[np.ndarray, np.ndarray]:
    """``(low, high)``: the percentile interval of ``statistic`` under the stratified bootstrap.

    ``strata``: one array per stratum, the resampled units on the last axis (every stratum
    needs 2 units or more); leading axes are carried along (several figures resampled
    together, e.g. every attempt of the same trials). ``statistic(*strata, axis=-1)`` must
    accept the strata with extra leading resample axes and reduce the last one. The bounds
    have the statistic's shape.
    """
    stats = require_scipy()
    data = tuple(np.asarray(s, dtype=np.float64) for s in strata)
    units = sum(s.size for s in data)  # floats one resample holds: keep a batch near 32 MB
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy's DegenerateDataWarning: all resamples equal
        res = stats.bootstrap(
            data,
            statistic,
            n_resamples=int(reps),
            batch=max(1, min(int(reps), _BATCH_FLOATS // max(units, 1))),
            paired=False,
            vectorized=True,
            axis=-1,
            confidence_level=confidence,
            method="percentile",
            rng=np.random.default_rng(seed),
        )
    return np.asarray(res.confidence_interval.low), np.asarray(res.confidence_interval.high)
