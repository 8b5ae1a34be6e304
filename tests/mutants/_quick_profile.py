"""pytest plugin (``-p tests.mutants._quick_profile``): the kill matrix's hypothesis profiles.

- ``kmw-matrix``: the suite's ``kmw-ci`` (derandomized) with 30 examples per property instead
  of 100. The matrix runs the whole suite once per candidate (50-odd runs), so CI can afford
  about a third of ``kmw-ci`` per run; at 30 every mutant is caught as declared, at 20 one
  (``success_ends_attempt``) is missed, so 30 is the floor. ``tests/kill_matrix.py`` and
  ``tests/test_mutants.py`` use it by default.
- ``kmw-quick``: ``$KMW_QUICK_EXAMPLES`` examples (default 8), for iterating on a mutant:
  ``tests/kill_matrix.py --profile kmw-quick --examples N``.
"""

import os

from hypothesis import settings

from conformance.profiles import CI, register_profiles

register_profiles()
settings.register_profile("kmw-matrix", parent=settings.get_profile(CI), max_examples=30)
settings.register_profile(
    "kmw-quick",
    parent=settings.get_profile(CI),
    max_examples=int(os.environ.get("KMW_QUICK_EXAMPLES", "8")),
)
