"""pytest plugin (``-p tests.mutants._quick_profile``): a smaller hypothesis profile for iterating.

Registers ``kmw-quick``: the suite's ``kmw-ci`` (derandomized) with ``$KMW_QUICK_EXAMPLES``
examples per property (default 8). ``tests/kill_matrix.py --profile kmw-quick [--examples N]``
loads it, to see how the kill rate depends on the example count. Not for CI.
"""

import os

from hypothesis import settings

from conformance.profiles import CI, register_profiles

register_profiles()
settings.register_profile(
    "kmw-quick",
    parent=settings.get_profile(CI),
    max_examples=int(os.environ.get("KMW_QUICK_EXAMPLES", "8")),
)
