"""95% intervals of one run's figures (numpy only): Wilson, Newcombe's paired, Student t.

Every interval function returns bounds that hold the estimate and stay inside the range of
possible values: a proportion's interval inside [0, 1], a difference of proportions' inside
[-1, 1]. Floating point alone would break this at the ends (the raw Wilson formula gives a lower
bound of 2.8e-17 for 0 successes out of 3 and an upper bound just below 1 for n out of n), and
a plot's error bars of negative length make matplotlib refuse to draw; so the bounds are
clamped, and exactly 0 (1) successes give a lower (upper) bound of exactly 0 (1).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "Z95",
    "newcombe_paired_interval",
    "standard_error",
    "t_interval",
    "t_quantile_975",
    "wilson_interval",
]

#: The standard normal's 0.975 quantile.
Z95 = 1.959963984540054

# Student t 0.975 quantiles for 1..30 degrees of freedom.
_T975 = (
    12.706204736, 4.302652730, 3.182446305, 2.776445105, 2.570581836, 2.446911851,
    2.364624252, 2.306004135, 2.262157163, 2.228138852, 2.200985160, 2.178812830,
    2.160368656, 2.144786688, 2.131449546, 2.119905299, 2.109815578, 2.100922040,
    2.093024054, 2.085963447, 2.079613845, 2.073873068, 2.068657610, 2.063898562,
    2.059538553, 2.055529439, 2.051830516, 2.048407142, 2.045229642, 2.042272456,
)  # fmt: skip


#: Fewest trials an interval is given for: the class mean gets one only when every class has at
#: least this many, and the plot draws none from fewer.
MIN_TRIALS_FOR_INTERVAL = 3


def t_quantile_975(df: int) -> float:
    """Student t's 0.975 quantile with ``df`` degrees of freedom: a table up to 30, then the
    Cornish-Fisher expansion (error below 1e-6 there)."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    if df <= len(_T975):
        return _T975[df - 1]
    z, v = Z95, float(df)
    return (
        z
        + (z**3 + z) / (4 * v)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * v**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * v**3)
        + (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / (92160 * v**4)
    )


def _inside(estimate: float, low: float, high: float, lo_end: float, hi_end: float) -> tuple[float, float]:
    """``(low, high)`` clamped to ``[lo_end, hi_end]`` and widened to hold ``estimate``."""
    return min(max(lo_end, low), estimate), max(min(hi_end, high), estimate)


def wilson_interval(successes: float, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for a proportion of ``successes`` out of ``n`` (n >= 1).

    ``0 <= low <= successes / n <= high <= 1``; 0 successes give ``low == 0.0`` and n give
    ``high == 1.0`` exactly.
    """
    if n < 1 or not 0 <= successes <= n:
        raise ValueError(f"expected 0 <= successes <= n and n >= 1, got {successes} of {n}")
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low, high = _inside(p, centre - half, centre + half, 0.0, 1.0)
    return (0.0 if successes == 0 else low), (1.0 if successes == n else high)


def newcombe_paired_interval(
    later: np.ndarray, earlier: np.ndarray, z: float = Z95
) -> tuple[float, float, float]:
    """``(estimate, low, high)`` for ``mean(later) - mean(earlier)`` of paired 0/1 outcomes:
    Newcombe's (1998) hybrid score interval for paired proportions (method 10).

    ``-1 <= low <= estimate <= high <= 1``.
    """
    x, y = np.asarray(later) > 0.5, np.asarray(earlier) > 0.5
    n = len(x)
    if n < 1 or len(y) != n:
        raise ValueError(f"expected two equal-length non-empty samples, got {len(x)} and {len(y)}")
    r, s = int(np.sum(x & y)), int(np.sum(x & ~y))
    t, u = int(np.sum(~x & y)), int(np.sum(~x & ~y))
    p1, p2 = (r + s) / n, (r + t) / n
    l1, u1 = wilson_interval(r + s, n, z)
    l2, u2 = wilson_interval(r + t, n, z)
    a = (r + s) * (t + u) * (r + t) * (s + u)
    b = r * u - s * t
    c = b - n / 2 if b > n / 2 else (b if b < 0 else 0.0)
    phi = c / math.sqrt(a) if a > 0 else 0.0
    d = p1 - p2
    low = d - math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    high = d + math.sqrt(max(0.0, (p2 - l2) ** 2 - 2 * phi * (p2 - l2) * (u1 - p1) + (u1 - p1) ** 2))
    low, high = _inside(d, low, high, -1.0, 1.0)
    return d, low, high


def standard_error(x: np.ndarray) -> float | None:
    """The standard error of the mean of ``x`` (sample sd / sqrt(n)); ``None`` below 2 values."""
    return float(np.std(x, ddof=1) / math.sqrt(len(x))) if len(x) >= 2 else None


def t_interval(x: np.ndarray) -> tuple[float, float] | None:
    """The 95% Student t interval of the mean of ``x`` (n - 1 degrees of freedom); ``None``
    below 2 values. NaN in ``x`` gives NaN bounds."""
    se = standard_error(x)
    if se is None:
        return None
    half = t_quantile_975(len(x) - 1) * se
    m = float(np.mean(x))
    return m - half, m + half
