"""pytest plugin (``-p tests.mutants._quick_profile``): profiles for the project's own tests.

``kmw-quick``: the suite's ``kmw-ci`` with ``$KMW_QUICK_EXAMPLES`` random examples per property
(default 8) after the explicit schedule classes:
``tests/kill_matrix.py --profile kmw-quick --examples N``. ``kmw-thin``: the suite's
``kmw-dev`` with no random examples at all (``phases`` without ``Phase.generate``), so a
property runs its explicit cases (the schedule classes) alone: the thin kill matrix of the
fast tier (``tests/test_mutants.py``). The whole-suite matrices run the suite's own profiles
(``kmw-dev`` and ``kmw-ci``, marker ``slow``).
"""

import os

from hypothesis import Phase, settings
from hypothesis.database import DirectoryBasedExampleDatabase

from conformance.front.profiles import CI, DEV, register_profiles

register_profiles()
settings.register_profile(
    "kmw-quick",
    parent=settings.get_profile(CI),
    max_examples=int(os.environ.get("KMW_QUICK_EXAMPLES", "8")),
)

settings.register_profile(
    "kmw-thin",
    parent=settings.get_profile(DEV),
    phases=tuple(p for p in settings.get_profile(DEV).phases if p is not Phase.generate),
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
