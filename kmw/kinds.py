"""Meta-World's benchmark kinds: the one table kmw takes them from.

``KINDS`` names every kind kmw knows, each the name of its Meta-World class
(``metaworld.ML1``, ``metaworld.ML10``, ...); the gymnasium ids (``kmw.registration``), the
benchmark names (``kmw.benchmarks``), the task cache (``kmw.cache``) and ``kmw run`` all read
it. Importing this module does not import Meta-World (registering the ids must stay cheap).
"""

from __future__ import annotations

from typing import Any

#: Every benchmark kind, each the name of its ``metaworld`` class; ML1 is one task's benchmark.
KINDS: tuple[str, ...] = ("ML1", "ML10", "ML25", "ML45")
#: The multi-task benchmarks' user-facing names (``"ml10"``, ...); an ML1 benchmark is named
#: by its task (``"reach-v3"``).
ML_BENCHMARKS: tuple[str, ...] = tuple(kind.lower() for kind in KINDS if kind != "ML1")


def check_kind(kind: Any) -> str:
    """Return ``kind`` if it is one of :data:`KINDS`, else raise ``ValueError``."""
    if not isinstance(kind, str) or kind not in KINDS:
        raise ValueError(f"benchmark kind must be one of {sorted(KINDS)}, got {kind!r}")
    return kind


def benchmark_class(kind: str) -> type:
    """The Meta-World class of benchmark ``kind`` (``metaworld.ML10`` for ``"ML10"``)."""
    import metaworld

    return getattr(metaworld, check_kind(kind))
