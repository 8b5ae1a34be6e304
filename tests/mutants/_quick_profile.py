"""pytest plugin (``-p tests.mutants._quick_profile``): a small profile for iterating on mutants.

``kmw-quick``: the suite's ``kmw-ci`` with ``$KMW_QUICK_EXAMPLES`` random examples per property
(default 8) after the explicit schedule classes:
``tests/kill_matrix.py --profile kmw-quick --examples N``. The kill matrix itself runs the
suite's own profiles (``kmw-dev`` by default, ``kmw-ci`` in the slow determinism test).
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
