"""pytest plugin (``-p tests.mutants._quick_profile``): a small hypothesis profile for iterating.

Registers ``kmw-quick`` (8 examples, derandomized) with the same settings as the suite's
``kmw-ci`` otherwise; ``tests/kill_matrix.py --profile kmw-quick`` loads it. Not for CI.
"""

from hypothesis import settings

from conformance.profiles import CI, register_profiles

register_profiles()
settings.register_profile("kmw-quick", parent=settings.get_profile(CI), max_examples=8)
