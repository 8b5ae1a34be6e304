"""Broken wrappers the conformance suite must catch: one realistic bug per module.

Each module exposes ``Wrapper`` (the candidate, called like ``kmw.KEpisodeMetaworld``),
``BREAKS`` (the requirement IDs of ``conformance/SPEC.md`` its bug breaks: MUST IDs must fail,
SHOULD IDs must show as should-findings) and a one-line docstring naming the bug. A module may
also set ``OPTIONS`` (extra pytest options the suite runs it with, e.g. another key scheme).
``BREAKS`` names the requirements the bug breaks *first-hand*: the rule SPEC.md states that the
candidate's own output contradicts at the step where the bug shows. It leaves out what follows
from an attempt boundary or a trial end put in the wrong place (after a missed boundary the
flags, observations and logs of the boundary that never came are not separately broken; the
suite's model stops following the trial there and checks them on other examples), and what a
missing action makes undefined (with no env reset between attempts there is no reset
observation to compare, KMW-SR-2; the missing reset is KMW-SR-4).

Most are small subclasses of the reference, ``kmw.KEpisodeMetaworld``, overriding one of the
hooks its ``__init__``/``reset``/``step`` are written in (``docs/wrapper.md``, "Extension
points"); the reference itself is the kill matrix's unmutated control and must pass everything.
"""

from __future__ import annotations

import pkgutil
from pathlib import Path


def mutant_names() -> list[str]:
    """Every mutant module's name (modules starting with ``_`` are helpers), sorted."""
    here = [str(Path(__file__).parent)]
    return sorted(m.name for m in pkgutil.iter_modules(here) if not m.name.startswith("_"))
