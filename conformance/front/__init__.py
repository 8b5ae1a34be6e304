"""The pytest front: options, wiring, verdicts and reports around :mod:`conformance.engine`.

- :mod:`~conformance.front.plugin`: the ``--kmw-*`` options, collection of ``conformance/suite``,
  the ``kmw_config`` fixture, per-requirement verdicts, the terminal summary (the pytest11
  entry point);
- :mod:`~conformance.front.config`: :class:`SuiteConfig`, what a run checks;
- :mod:`~conformance.front.profiles`: the hypothesis profiles and example database;
- :mod:`~conformance.front.verdicts`: a test's outcome as per-requirement verdicts;
- :mod:`~conformance.front.report`: the JSON report and Markdown summary;
- :mod:`~conformance.front.xfail`: the per-requirement xfail file;
- :mod:`~conformance.front.timeouts` and :mod:`~conformance.front.faults`: time limits, and
  crashed or hung candidates under pytest-xdist.
"""
