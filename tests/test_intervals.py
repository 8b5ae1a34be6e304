"""One run's intervals (kmw/intervals.py): Wilson, Newcombe's paired, Student t; checked against
scipy and by properties over every (successes, n), with hypothesis."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from kmw.intervals import (
    newcombe_paired_interval,
    standard_error,
    t_interval,
    t_quantile_975,
    wilson_interval,
)

PROPS = settings(max_examples=300, deadline=None, derandomize=True)


@st.composite
def counts(draw: st.DrawFn, max_n: int = 5000) -> tuple[int, int]:
    n = draw(st.integers(1, max_n))
    return draw(st.integers(0, n)), n


@pytest.mark.parametrize("df", [1, 2, 4, 9, 30, 31, 45, 120, 1000, 10**5])
def test_t_quantile_is_scipys(df: int) -> None:
    assert t_quantile_975(df) == pytest.approx(scipy.stats.t.ppf(0.975, df), abs=1e-6)


def test_wilson_interval_known_values() -> None:
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.27753), abs=1e-5)
    assert wilson_interval(5, 10) == pytest.approx((0.23659, 0.76341), abs=1e-5)
    assert wilson_interval(6, 6) == pytest.approx((0.60967, 1.0), abs=1e-5)


def test_wilson_ends_are_exact_for_every_n_up_to_200() -> None:
    """The issue's cases: the raw formula gave 2.8e-17 for 0 of 3 and an upper bound just below
    1 for n of n (37 and 59 such n up to 200), so error bars got negative lengths."""
    for n in range(1, 201):
        assert wilson_interval(0, n)[0] == 0.0
        assert wilson_interval(n, n)[1] == 1.0
        for s in range(n + 1):
            lo, hi = wilson_interval(s, n)
            assert 0.0 <= lo <= s / n <= hi <= 1.0, (s, n, lo, hi)


@PROPS
@given(counts())
def test_wilson_holds_the_estimate_inside_0_1_and_matches_scipy(sn: tuple[int, int]) -> None:
    s, n = sn
    lo, hi = wilson_interval(s, n)
    assert 0.0 <= lo <= s / n <= hi <= 1.0
    ref = scipy.stats.binomtest(s, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert lo == pytest.approx(ref.low, abs=1e-9) and hi == pytest.approx(ref.high, abs=1e-9)


@PROPS
@given(counts(max_n=400))
def test_wilson_is_symmetric_and_monotone(sn: tuple[int, int]) -> None:
    s, n = sn
    lo, hi = wilson_interval(s, n)
    lo2, hi2 = wilson_interval(n - s, n)
    assert lo == pytest.approx(1 - hi2, abs=1e-12) and hi == pytest.approx(1 - lo2, abs=1e-12)
    if s < n:
        nlo, nhi = wilson_interval(s + 1, n)
        assert nlo >= lo and nhi >= hi


def test_wilson_refuses_impossible_counts() -> None:
    for s, n in ((1, 0), (-1, 3), (4, 3)):
        with pytest.raises(ValueError, match="0 <= successes <= n"):
            wilson_interval(s, n)


@st.composite
def paired(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """Paired 0/1 outcomes from the four cells of their 2x2 table (both, later only, earlier
    only, neither), at least one trial."""
    cells = draw(st.lists(st.integers(0, 120), min_size=4, max_size=4).filter(lambda c: sum(c) > 0))
    later = np.repeat([1.0, 1.0, 0.0, 0.0], cells)
    earlier = np.repeat([1.0, 0.0, 1.0, 0.0], cells)
    order = np.random.default_rng(sum(cells)).permutation(len(later))  # order does not matter
    return later[order], earlier[order]


@PROPS
@given(paired())
def test_newcombe_holds_the_difference_inside_minus_1_1_and_is_antisymmetric(xy) -> None:
    later, earlier = xy
    d, lo, hi = newcombe_paired_interval(later, earlier)
    assert d == pytest.approx(later.mean() - earlier.mean())
    assert -1.0 <= lo <= d <= hi <= 1.0
    d2, lo2, hi2 = newcombe_paired_interval(earlier, later)
    assert (d2, lo2, hi2) == pytest.approx((-d, -hi, -lo), abs=1e-12)


def test_newcombe_paired_interval_properties_and_coverage() -> None:
    ones = np.ones(6)
    d, lo, hi = newcombe_paired_interval(ones, ones)  # no change in 6 trials is no proof of none
    assert d == 0 and lo == pytest.approx(-hi) and 0.3 < hi < 0.5
    x = np.array([1, 1, 1, 0, 1, 0, 1, 1, 0, 1])
    y = np.array([0, 1, 0, 0, 1, 0, 0, 1, 0, 0])
    d, lo, hi = newcombe_paired_interval(x, y)
    assert d == pytest.approx(0.4) and -1 <= lo < d < hi <= 1
    # coverage of the true difference over simulated paired trials (nominal 95%)
    rng = np.random.default_rng(0)
    n, reps, covered = 25, 2000, 0
    probs = np.array([0.3, 0.25, 0.05, 0.4])  # both, later only, earlier only, neither
    true = probs[1] - probs[2]
    for _ in range(reps):
        cell = rng.choice(4, size=n, p=probs)
        later, earlier = np.isin(cell, (0, 1)), np.isin(cell, (0, 2))
        _, lo, hi = newcombe_paired_interval(later, earlier)
        covered += lo <= true <= hi
    assert 0.93 <= covered / reps <= 0.99


def test_newcombe_at_the_extremes_reaches_exactly_plus_minus_1() -> None:
    d, lo, hi = newcombe_paired_interval(np.ones(40), np.zeros(40))
    assert d == 1.0 and hi == 1.0 and lo < 1.0
    d, lo, hi = newcombe_paired_interval(np.zeros(40), np.ones(40))
    assert d == -1.0 and lo == -1.0 and hi > -1.0


@PROPS
@given(st.lists(st.floats(0, 1e4), min_size=2, max_size=50))
def test_t_interval_is_scipys_and_holds_the_mean(xs: list[float]) -> None:
    x = np.array(xs)
    lo, hi = t_interval(x)
    m = float(np.mean(x))
    assert lo <= m <= hi
    if np.std(x) > 0:
        ref = scipy.stats.t.interval(0.95, len(x) - 1, loc=m, scale=scipy.stats.sem(x))
        assert (lo, hi) == pytest.approx(ref, rel=1e-6, abs=1e-9)


def test_one_value_has_no_standard_error_nor_interval() -> None:
    assert standard_error(np.array([3.0])) is None and t_interval(np.array([3.0])) is None
