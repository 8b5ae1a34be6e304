"""Benchmarks by name: ``"ml10"``, ``"ml25"``, ``"ml45"``, or an ML1 task name (``"reach-v3"``).

``make_benchmark`` loads a benchmark's tasks from the task cache (``kmw.cache``) after the first
build, so a named benchmark takes milliseconds instead of Meta-World's build time.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import metaworld

import kmw.cache as task_cache
from kmw._validation import check_seed
from kmw.kinds import ML_BENCHMARKS, benchmark_class
from kmw.support import unusable_error


def ml1_task_names() -> list[str]:
    """Every task name ML1 accepts (Meta-World's v3 environments), sorted."""
    return sorted(metaworld.ML1.ENV_NAMES)


@dataclass(frozen=True)
class BenchmarkName:
    """A resolved benchmark name: ``kind`` is one of ``kmw.kinds.KINDS`` (``"ML1"``,
    ``"ML10"``, ...); ``task`` is the ML1 task name (``None`` for the others)."""

    kind: str
    task: str | None = None

    def __str__(self) -> str:
        return self.task if self.task is not None else self.kind.lower()


def resolve_benchmark_name(name: str) -> BenchmarkName:
    """Resolve a user-facing benchmark name, case-insensitively.

    ``"ml10"``/``"ml25"``/``"ml45"`` name those benchmarks; any Meta-World v3 task name
    (``"reach-v3"``) names its ML1 benchmark. A v2 task name (``"reach-v2"``) maps to its v3
    task with a ``UserWarning``. Anything else raises ``ValueError`` listing the valid names.
    """
    if not isinstance(name, str):
        raise ValueError(f"benchmark name must be a string, got {name!r}")  # noqa: TRY004
    key = name.strip().lower()
    if key in ML_BENCHMARKS:
        return BenchmarkName(key.upper())
    tasks = ml1_task_names()
    if key in tasks:
        return BenchmarkName("ML1", key)
    if key.endswith("-v2") and key[:-3] + "-v3" in tasks:
        v3 = key[:-3] + "-v3"
        warnings.warn(
            f"{name!r} is a Meta-World v2 task name; using its v3 task {v3!r}",
            UserWarning,
            stacklevel=2,
        )
        return BenchmarkName("ML1", v3)
    raise ValueError(
        f"unknown benchmark {name!r}: expected one of {', '.join(ML_BENCHMARKS)}, "
        f"or an ML1 task name: {', '.join(tasks)}"
    )


def build_benchmark(name: BenchmarkName, seed: int | None = 0) -> Any:
    """Build the Meta-World benchmark ``name`` with ``seed`` (slow: ML45 takes about a minute).

    kmw's one builder: ``make_benchmark`` hands it to the task cache for a cache miss. Raises
    ``kmw.support.MetaworldUnusable`` (one line naming what to install) when the installed
    packages cannot build Meta-World's envs."""
    cls = benchmark_class(name.kind)
    try:
        return cls(name.task, seed=seed) if name.kind == "ML1" else cls(seed=seed)
    except Exception as exc:
        unusable = unusable_error(exc)
        if unusable is not None:
            raise unusable from exc
        raise


def make_benchmark(name: str | BenchmarkName, seed: int | None = 0, *, cache: bool = True) -> Any:
    """The Meta-World benchmark called ``name``, with its tasks drawn from ``seed``.

    The result is a real ``metaworld.ML1/ML10/ML25/ML45`` object whose classes and tasks equal,
    byte for byte, what Meta-World builds for that seed. The tasks are built once per
    (Meta-World version, name, seed) and stored in the task cache (``kmw.cache``: under
    ``$KMW_CACHE_DIR``, else ``$XDG_CACHE_HOME/kmw``, else ``~/.cache/kmw``), so later calls
    load them in milliseconds instead of building (ML10 about 20 s, ML45 about a minute).
    ``cache=False`` or ``seed=None`` (Meta-World's unseeded build) bypass the cache.
    """
    resolved = name if isinstance(name, BenchmarkName) else resolve_benchmark_name(name)
    seed = check_seed(seed)
    if not cache or seed is None:
        return build_benchmark(resolved, seed=seed)
    return task_cache.load_or_build(
        resolved.kind, resolved.task, seed, build=lambda: build_benchmark(resolved, seed=seed)
    )
