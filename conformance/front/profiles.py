"""Hypothesis settings profiles for the conformance suite, and the per-candidate example database.

Profiles (select with ``--hypothesis-profile``; all have ``deadline=None``, suppress the
too_slow, data_too_large, filter_too_much and function_scoped_fixture health checks, skip
hypothesis's slow ``explain`` phase, stop at a property's first failure
(``report_multiple_bugs=False``: hypothesis's search for further bugs is cut by the clock, so
it would search less on a loaded machine), and are **derandomized**: every run of a profile
draws the same examples, so one candidate gets the same verdict on every run and machine, and
no example database is read or written — a leftover ``.hypothesis/`` cannot change a verdict):

- ``kmw-dev``: 20 examples per property, fast local runs (the default without ``CI``);
- ``kmw-ci``: 100 examples, ``print_blob=True`` (the default when the ``CI`` environment
  variable is set);
- ``kmw-thorough``: 500 examples.

Random examples come after each property's explicit schedule classes
(:mod:`conformance.engine.coverage`), which every profile runs in full.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from hypothesis import HealthCheck, Phase, settings
from hypothesis.database import DirectoryBasedExampleDatabase

DEV, CI, THOROUGH = "kmw-dev", "kmw-ci", "kmw-thorough"
PROFILES = (DEV, CI, THOROUGH)

_SUPPRESSED = tuple(
    getattr(HealthCheck, name)
    for name in ("too_slow", "data_too_large", "filter_too_much", "function_scoped_fixture")
    if hasattr(HealthCheck, name)
)


def register_profiles() -> None:
    """Register ``kmw-dev``, ``kmw-ci`` and ``kmw-thorough`` with hypothesis (idempotent)."""
    # No explain phase: it re-runs the failing example under sys.settrace, which is slow for
    # properties that step whole trials.
    phases = tuple(p for p in Phase if p is not Phase.explain)
    # Parent: hypothesis's "default" profile, not the current one (which is its "ci" profile,
    # derandomized and without database, whenever a CI variable is set).
    # Stop at the first failure: after one, hypothesis by default searches on for other bugs,
    # but for at most 10 seconds, so a loaded machine would search less than an idle one and
    # could report another minimal example, or miss a second failure (tests/test_verdict_timing.py).
    common = {
        "parent": settings.get_profile("default"),
        "deadline": None,
        "suppress_health_check": _SUPPRESSED,
        "phases": phases,
        "report_multiple_bugs": False,
    }
    settings.register_profile(DEV, max_examples=20, derandomize=True, **common)
    settings.register_profile(CI, max_examples=100, derandomize=True, print_blob=True, **common)
    settings.register_profile(THOROUGH, max_examples=500, derandomize=True, **common)


def default_profile(environ: Mapping[str, str] | None = None) -> str:
    """``kmw-ci`` when the ``CI`` environment variable is set (to anything, as hypothesis
    decides it too), else ``kmw-dev``."""
    env = os.environ if environ is None else environ
    return CI if "CI" in env else DEV


def database_dir(rootdir: Path, impl: str, *variant: str) -> Path:
    """``<rootdir>/.hypothesis/kmw/<sanitised impl>-<short hash>`` for one candidate.

    The hash covers ``impl`` and ``variant`` (backend, env API, ...) so examples found against
    one candidate or setup are not replayed against another.
    """
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", impl).strip("._")[:60] or "impl"
    digest = hashlib.sha256("\x00".join((impl, *variant)).encode()).hexdigest()[:10]
    return rootdir / ".hypothesis" / "kmw" / f"{safe}-{digest}"


def use_candidate_database(path: Path) -> str | None:
    """Load a copy of the current profile whose database is a directory database at ``path``.

    Nothing happens when the current profile has no database (``database=None``, e.g. the
    derandomized ``kmw-ci``). Returns the name of the profile loaded, or ``None``.
    """
    current = settings.get_current_profile_name()
    base = settings.get_profile(current)
    if base.database is None or base.derandomize:
        return None
    name = f"{current}+kmw-db"
    settings.register_profile(name, parent=base, database=DirectoryBasedExampleDatabase(path))
    settings.load_profile(name)
    return name


def pin_generation() -> bool:
    """Make hypothesis's draws depend on the profile alone, not on which modules are imported.

    Hypothesis (6.13x and later) now and then draws a constant it found in the source of the
    *local* modules imported so far (those outside site-packages and the standard library).
    Which modules those are depends on the install (editable or not), on the candidate's own
    code and on the options given (``--kmw-report`` imports one more module), so one profile
    could draw other examples, and give another verdict, from one run to the next. This gives
    hypothesis an empty set of local constants (its built-in ones stay). Returns False when the
    installed hypothesis has no such feature (nothing to do).
    """
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover - an older or reorganised hypothesis
        return False
    if not hasattr(providers, "_get_local_constants") or not hasattr(providers, "Constants"):
        return False
    empty = providers.Constants()
    providers._get_local_constants = lambda: empty
    cache = getattr(providers, "CONSTANTS_CACHE", None)
    if cache is not None and hasattr(cache, "cache"):
        cache.cache.clear()
    return True


@contextlib.contextmanager
def pinned_generation() -> Iterator[None]:
    """:func:`pin_generation` for the duration of a ``with`` block (an in-process suite run
    among other hypothesis tests), then hypothesis's own local constants again."""
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover - pin_generation has nothing to do either
        yield
        return
    saved = getattr(providers, "_get_local_constants", None)
    pin_generation()
    try:
        yield
    finally:
        if saved is not None:
            providers._get_local_constants = saved
        cache = getattr(providers, "CONSTANTS_CACHE", None)
        if cache is not None and hasattr(cache, "cache"):
            cache.cache.clear()
