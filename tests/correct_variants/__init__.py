"""Correct wrappers written independently from ``conformance/SPEC.md`` (none derives from kmw).

The conformance suite must pass each of them with no failure and no SHOULD finding; a flagged
variant is a false positive of the suite. Each module exposes ``Wrapper`` and may set
``OPTIONS`` (extra pytest options it is checked with, e.g. ``--kmw-env-api=gym``).
"""

from __future__ import annotations

import pkgutil
from pathlib import Path


def variant_names() -> list[str]:
    """Every variant module's name, sorted."""
    here = [str(Path(__file__).parent)]
    return sorted(m.name for m in pkgutil.iter_modules(here) if not m.name.startswith("_"))
