"""pytest plugin (``-p tests.mutants._quick_profile``): profiles for the project's own tests.

``kmw-quick``: the suite's ``kmw-ci`` with ``$KMW_QUICK_EXAMPLES`` random examples per property
(default 8) after the explicit schedule classes:
``tests/kill_matrix.py --profile kmw-quick --examples N``. The kill matrix itself runs the
suite's own profiles (``kmw-dev`` by default, ``kmw-ci`` in the slow determinism test).
"""

import os

from hypothesis import settings
from hypothesis.database import DirectoryBasedExampleDatabase

from conformance.front.profiles import CI, DEV, register_profiles

register_profiles()
settings.register_profile(
    "kmw-quick",
    parent=settings.get_profile(CI),
    max_examples=int(os.environ.get("KMW_QUICK_EXAMPLES", "8")),
)

# ``kmw-explore``: what a user's own profile may look like: not derandomized, with an example
# database (the plugin gives it a per-candidate directory). ``tests/test_example_database.py``
# uses it to check that each requirement keeps its own saved failures.
settings.register_profile(
    "kmw-explore",
    parent=settings.get_profile(DEV),
    derandomize=False,
    database=DirectoryBasedExampleDatabase(".hypothesis/examples"),
)
# ``kmw-explore-long``: the same with 500 examples, for a search that must find a bug only
# random exploration can (``tests/test_example_database.py``'s first run): a search stops at
# its first failure, so the extra examples cost time only when there is nothing to find.
settings.register_profile(
    "kmw-explore-long",
    parent=settings.get_profile("kmw-explore"),
    max_examples=500,
)
