"""Argument checks shared by the wrappers: each raises ``ValueError`` naming what was expected."""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np

SPLITS = ("train", "test")
#: Benchmark seeds must be below this: Meta-World seeds numpy (which takes seeds below 2**32)
#: with the seed, and ML1's test split with ``seed + 1``.
MAX_SEED = 2**32 - 1

#: numpy's ComplexWarning (``numpy.exceptions`` only exists from numpy 1.25 on).
_ComplexWarning = getattr(np, "exceptions", np).ComplexWarning


def check_split(split: Any) -> str:
    """Return ``split`` if it is ``"train"`` or ``"test"``, else raise ``ValueError``."""
    if split not in SPLITS:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    return split


def check_positive_int(name: str, value: Any) -> int:
    """Return ``value`` as an ``int`` if it is an integer >= 1 (bools excluded), else raise ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer >= 1, got {value!r} ({type(value).__name__})")
    if value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def check_seed(seed: Any, name: str = "seed") -> int | None:
    """Return the benchmark seed ``seed`` as an ``int`` if it is an integer in
    ``[0, MAX_SEED)`` (bools excluded), ``None`` if it is ``None`` (an unseeded build), else
    raise ``ValueError`` naming the argument ``name``."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < MAX_SEED:
        raise ValueError(
            f"{name} must be None or an integer in [0, 2**32 - 1), got {seed!r} "
            f"({type(seed).__name__}): the seed must be an integer Meta-World can seed numpy "
            "with (ML1's test split uses seed + 1)"
        )
    return int(seed)


#: Trial seeds (``kmw run --seed``, ``kmw.evaluate(seed=...)``) must be below this.
MAX_RUN_SEED = 2**31 - 1


def check_run_seed(seed: Any, name: str = "seed") -> int | None:
    """Return ``seed`` as an ``int`` if it is an integer in ``[0, 2**31 - 1)`` (bools
    excluded), ``None`` if it is ``None``, else raise ``ValueError`` naming ``name``.

    The one rule for the seeds of a run (``kmw run --seed``/``--benchmark-seed``, and
    ``kmw.evaluate``'s ``seed`` and ``benchmark_seed``)."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < MAX_RUN_SEED:
        raise ValueError(
            f"{name} must be None or an integer in [0, 2**31 - 1), got {seed!r} ({type(seed).__name__})"
        )
    return int(seed)


def check_action(action: Any, shape: tuple[int, ...], dtype: Any = np.float64) -> np.ndarray:
    """Return ``action`` as an array of ``shape`` and ``dtype`` (the env's action dtype) with
    finite entries, else raise ``ValueError``.

    Finiteness is checked *after* the cast, so a value too large for ``dtype`` (``1e300`` for
    float32) is rejected rather than handed on as ``inf``. Complex actions are rejected (a cast
    would silently drop the imaginary part).
    """
    if (type(action) is np.ndarray and action.dtype == dtype and action.dtype.kind == "f"
            and action.shape == shape and np.isfinite(action).all()):
        return action.copy()  # the common case, already right: no cast, nothing to warn about
    try:
        raw = np.asarray(action)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"action must be a numeric array of shape {shape}, got {action!r}") from exc
    if np.iscomplexobj(raw) or (
        raw.dtype == object and any(isinstance(x, (complex, np.complexfloating)) for x in raw.flat)
    ):
        raise ValueError(f"action must be real, got a complex array ({raw.dtype}): {raw.tolist()}")
    try:
        with warnings.catch_warnings():
            # An object array holding complex numbers: a cast would warn and drop the imaginary part.
            warnings.simplefilter("error", _ComplexWarning)
            with np.errstate(over="ignore", invalid="ignore"):  # overflow -> inf, caught below
                arr = np.asarray(raw, dtype=np.float64).astype(dtype, copy=False)
    except _ComplexWarning as exc:
        raise ValueError(f"action must be real, got complex values: {action!r}") from exc
    except (TypeError, ValueError) as exc:
        raise ValueError(f"action must be a numeric array of shape {shape}, got {action!r}") from exc
    if arr.shape != shape:
        raise ValueError(f"action must have shape {shape}, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        dt = np.dtype(dtype).name
        raise ValueError(
            f"action must be finite in the action space's dtype {dt} (no NaN, inf or value "
            f"beyond its range), got {np.asarray(raw).tolist()} -> {arr.tolist()}"
        )
    return arr
