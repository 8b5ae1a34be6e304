"""The conformance suite: property tests run by ``pytest --kmw-impl=DOTTED.PATH``.

Each test is marked ``@pytest.mark.kmw_requirement("KMW-...")`` with the SPEC.md requirements it
enforces and takes the candidate from the ``kmw_config`` fixture. Without ``--kmw-impl`` every
test here is skipped.
"""
