"""Argument checks shared by the wrappers: each raises ``ValueError`` naming what was expected."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

SPLITS = ("train", "test")


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


def check_action(action: Any, shape: tuple[int, ...]) -> np.ndarray:
    """Return ``action`` as a float array of ``shape`` with finite entries, else raise ``ValueError``."""
    try:
        arr = np.asarray(action, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"action must be a numeric array of shape {shape}, got {action!r}") from exc
    if arr.shape != shape:
        raise ValueError(f"action must have shape {shape}, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"action must be finite (no NaN or inf), got {arr.tolist()}")
    return arr
