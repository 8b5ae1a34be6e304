"""The checking engine: everything that checks a candidate wrapper, without pytest or kmw.

- :mod:`~conformance.engine.spec` reads ``conformance/SPEC.md`` (the requirements);
- :mod:`~conformance.engine.scripted` is the scripted benchmark (exact, controllable envs);
- :mod:`~conformance.engine.spy` records every call a candidate makes on a benchmark's envs;
- :mod:`~conformance.engine.model` is the trusted model of one trial (:class:`TrialModel`),
  which turns a candidate's outputs and env calls into findings against requirement IDs;
- :mod:`~conformance.engine.harness` drives a candidate beside the model (:class:`Session`);
- :mod:`~conformance.engine.plan`, :mod:`~conformance.engine.strategies` and
  :mod:`~conformance.engine.coverage` say what to run: plain trial plans, hypothesis
  strategies, and the schedule classes every property runs first;
- :mod:`~conformance.engine.properties` holds one check per requirement, raising
  :class:`~conformance.engine.violations.ContractViolation` (or
  :class:`~conformance.engine.violations.NotChecked`);
- :mod:`~conformance.engine.reproduction` turns a recorded example into Python (and data) that
  reproduces it, and :mod:`~conformance.engine.replay` runs it again;
- :mod:`~conformance.engine.keys` and :mod:`~conformance.engine.loader` resolve logging-key
  schemes and dotted paths.

The pytest front (:mod:`conformance.front`) turns these checks into tests, verdicts and
reports. The engine imports neither it nor :mod:`kmw` (``tests/test_layering.py``): real
Meta-World benchmarks come in through the configuration (``config.real_benchmark``).
"""
