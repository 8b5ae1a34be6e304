"""The conformance suite run on a candidate inside this process, with the plugin's verdicts.

``python -m pytest --kmw-impl=X`` collects ``conformance/suite/`` and, for each test, hands the
exception of its call to ``conformance.front.verdicts.decide_failure`` and the verdicts to a
``conformance.front.report.Aggregator``. :func:`run_suite` does the same without pytest's
collection: it calls every suite test function marked ``kmw_requirement`` directly, in pytest's
collection order (files by name, functions in definition order, ``@pytest.mark.parametrize``
expanded in order), with the ``kmw_config`` / ``kmw_target`` arguments the plugin's fixtures
would give, under the hypothesis profile the subprocess would load, and returns the JSON report
``build_report`` makes (the ``--kmw-report`` shape) with the exit status pytest would have had.

What it does not do (the subprocess runs of ``tests/test_mutants.py`` check the plugin wiring
end to end): the terminal table, the xfail file, the Markdown summary, xdist crash handling and
the watchdog (the ``--kmw-timeout`` time limit itself does apply), and the suite tests that carry
no requirement mark (``test_spec_coverage.py``: they check the suite, not the candidate).

Process-wide state is set and restored around each run: the hypothesis profile, hypothesis's
pinned generation (``profiles.pin_generation``) and ``coverage.EXERCISED``. The real Meta-World
benchmarks the ``metaworld`` backend caches (``engine/properties.py::_REAL_BENCHMARKS``) are
kept: a subprocess run builds them once too, and reuses them for every test.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import itertools
import pkgutil
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import settings

import conformance.suite
from conformance.engine.coverage import EXERCISED
from conformance.engine.keys import resolve_key_scheme
from conformance.engine.loader import load_candidate
from conformance.engine.properties import random_examples
from conformance.engine.spec import contract_version, load_spec
from conformance.engine.violations import OBSERVED, NotChecked
from conformance.front import profiles
from conformance.front.config import BACKENDS, ENV_APIS, SuiteConfig
from conformance.front.plugin import (
    DEFAULT_TIMEOUT,
    MARKER,
    candidate_outcome,
    marked_ids,
    os_exit_guarded,
    unchecked_by_keys,
)
from conformance.front.report import Aggregator, build_report, encode, plugin_version
from conformance.front.timeouts import available, time_limit
from conformance.front.verdicts import (
    FAIL,
    NOT_CHECKED,
    PASS,
    Verdict,
    bound_exception,
    decide_failure,
    observed_verdicts,
    uniform,
)

#: The repository root (``conformance/suite/..``/..): where report names are relative to.
ROOT = Path(conformance.suite.__file__).resolve().parents[2]
SUITE_DIR = Path(conformance.suite.__file__).resolve().parent
#: The profiles of the project's own tests (registered by ``tests/mutants/_quick_profile.py``,
#: which the subprocess loads with ``-p``).
TEST_PROFILE_PLUGIN = "tests.mutants._quick_profile"


@dataclass(frozen=True)
class SuiteCall:
    """One suite test as pytest would collect it: ``name`` its report name
    (``conformance/suite/<file>::<test>[<id>]``), ``reqs`` its ``kmw_requirement`` IDs,
    ``params`` the arguments of its parametrization."""

    name: str
    func: Callable[..., Any]
    reqs: tuple[str, ...]
    params: tuple[tuple[str, Any], ...] = ()

    def __call__(self, config: SuiteConfig) -> None:
        if len(self.reqs) != 1:
            raise TypeError(f"a suite property needs exactly one {MARKER} mark on {self.name}")
        # What ``suite_arguments(request)`` reads: the configuration and the marked requirement.
        fixtures = {"request": SimpleNamespace(kmw_suite_arguments=(config, self.reqs[0]))}
        kwargs = dict(self.params)
        for arg in inspect.signature(self.func).parameters:
            if arg in kwargs:
                continue
            if arg not in fixtures:
                raise TypeError(f"{self.name} asks for fixture {arg!r}, which the in-process "
                                "runner does not provide")
            kwargs[arg] = fixtures[arg]
        with os_exit_guarded():
            self.func(**kwargs)


def _marks(func: Callable[..., Any], name: str) -> list[Any]:
    # pytestmark lists the marks nearest the function first, as item.iter_markers gives them.
    return [m for m in getattr(func, "pytestmark", []) if m.name == name]


def _requirement_ids(func: Callable[..., Any]) -> tuple[str, ...]:
    return tuple(marked_ids(_marks(func, MARKER)))


def _id_of(value: Any, argname: str, index: int) -> str:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return str(value)
    return f"{argname}{index}"


def _parametrizations(func: Callable[..., Any]) -> list[tuple[str, tuple[tuple[str, Any], ...]]]:
    """``[(id, ((argname, value), ...)), ...]`` for ``func``'s ``parametrize`` marks, in
    pytest's order (one ``("", ())`` when it has none)."""
    axes = []
    # pytest applies the mark nearest the function first; its ids come first in the item's id.
    for mark in _marks(func, "parametrize"):
        argnames, argvalues = mark.args[0], mark.args[1]
        names = [n.strip() for n in argnames.split(",")] if isinstance(argnames, str) \
            else list(argnames)
        ids = mark.kwargs.get("ids")
        axis = []
        for i, raw in enumerate(argvalues):
            if hasattr(raw, "values") and hasattr(raw, "marks"):  # pytest.param(...)
                if raw.marks:
                    raise TypeError(f"{func.__name__}: marks on parameters are not supported")
                values, given_id = tuple(raw.values), raw.id
            else:
                values = tuple(raw) if len(names) > 1 else (raw,)
                given_id = None
            if given_id is None and ids is not None:
                given_id = ids(raw) if callable(ids) else ids[i]
            if given_id is None:
                given_id = "-".join(_id_of(v, n, i) for n, v in zip(names, values))
            axis.append((str(given_id), tuple(zip(names, values))))
        axes.append(axis)
    if not axes:
        return [("", ())]
    return [("-".join(i for i, _ in combo), tuple(p for _, ps in combo for p in ps))
            for combo in itertools.product(*axes)]


def suite_calls() -> list[SuiteCall]:
    """Every suite test marked ``kmw_requirement``, in pytest's collection order."""
    out = []
    for info in sorted(pkgutil.iter_modules([str(SUITE_DIR)]), key=lambda m: m.name):
        if not info.name.startswith("test_"):
            continue
        module = importlib.import_module(f"conformance.suite.{info.name}")
        rel = Path(module.__file__).resolve().relative_to(ROOT).as_posix()
        for fname, func in vars(module).items():
            if not (fname.startswith("test") and inspect.isfunction(func)
                    and func.__module__ == module.__name__):
                continue
            reqs = _requirement_ids(func)
            if not reqs:
                continue  # test_spec_coverage.py: checks the suite, not the candidate
            for pid, params in _parametrizations(func):
                name = f"{rel}::{fname}" + (f"[{pid}]" if pid else "")
                out.append(SuiteCall(name, func, reqs, params))
    return out


# -- the command line's options and the hypothesis profile -------------------------------------


@dataclass(frozen=True)
class SuiteOptions:
    """The ``--kmw-*`` options a candidate is checked with (``Candidate.options``)."""

    backend: str = BACKENDS[0]
    env_api: str = ENV_APIS[0]
    keys: str = "kmw"
    strict: bool = False
    timeout: float = DEFAULT_TIMEOUT

    @classmethod
    def parse(cls, args: Sequence[str]) -> SuiteOptions:
        """The options of ``args``, pytest-style (``--kmw-keys=amago`` or ``--kmw-keys amago``);
        ``ValueError`` for one the in-process runner does not know (run it as a subprocess)."""
        known = {"--kmw-backend": "backend", "--kmw-env-api": "env_api", "--kmw-keys": "keys",
                 "--kmw-timeout": "timeout"}
        values: dict[str, Any] = {}
        rest = list(args)
        while rest:
            arg = rest.pop(0)
            if arg == "--kmw-strict":
                values["strict"] = True
                continue
            opt, eq, value = arg.partition("=")
            if opt not in known:
                raise ValueError(f"option {arg!r} cannot be run in-process")
            if not eq:
                if not rest:
                    raise ValueError(f"option {arg!r} needs a value")
                value = rest.pop(0)
            values[known[opt]] = float(value) if opt == "--kmw-timeout" else value
        return cls(**values)


@contextlib.contextmanager
def hypothesis_profile(name: str | None) -> Iterator[str]:
    """The profile a ``--hypothesis-profile=name`` suite run loads (``None``: the plugin's
    default, ``profiles.default_profile()``), with generation pinned as the plugin pins it;
    the previous profile and generation are restored afterwards. Yields the profile's name."""
    profiles.register_profiles()
    chosen = name or profiles.default_profile()
    if chosen not in settings._profiles:  # noqa: SLF001 - e.g. kmw-quick, registered on import
        importlib.import_module(TEST_PROFILE_PLUGIN)
    previous = settings.get_current_profile_name()
    with profiles.pinned_generation():
        settings.load_profile(chosen)
        try:
            yield chosen
        finally:
            settings.load_profile(previous)


# -- one run -----------------------------------------------------------------------------------


@dataclass
class SuiteRun:
    """What :func:`run_suite` produced: the report, the exit status pytest would have had, and
    a pytest-style line per failed test (``FAILED <name> - <first line>``)."""

    report: dict[str, Any]
    exit_status: int
    failed: list[str]

    @property
    def outcomes(self) -> dict[str, str]:
        return {rid: r["outcome"] for rid, r in self.report["requirements"].items()}


#: Exceptions pytest does not turn into a test's failure.
_PASS_THROUGH = (KeyboardInterrupt, pytest.exit.Exception)


def call_verdicts(call: SuiteCall, config: SuiteConfig, spec: Any, timeout: float
                  ) -> tuple[list[Verdict], bool]:
    """Run one suite call; its verdicts (as the plugin's ``pytest_runtest_makereport`` gives
    them) and whether pytest would show it failed."""
    reqs = list(call.reqs)
    failed = False
    exc: BaseException | None = None
    limit = timeout if available() else 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the candidate's warnings: pytest would only record them
        try:
            with time_limit(limit) as fired:
                call(config)
        except _PASS_THROUGH:
            raise
        except BaseException as e:  # noqa: BLE001 - pytest's CallInfo catches as much
            exc = e
    if exc is None and fired["fired"]:
        exc = pytest.fail.Exception(f"exceeded --kmw-timeout={timeout:g} s", pytrace=False)
    elif exc is not None and not isinstance(exc, NotChecked):
        exc = candidate_outcome(exc)  # pytest outcomes from the candidate: its failure
    if exc is None:
        verdicts = uniform(reqs, PASS, None)
    elif isinstance(exc, NotChecked):  # the plugin's pytest_pyfunc_call makes it a skip
        verdicts = uniform(reqs, NOT_CHECKED, str(exc))
    else:
        bound_exception(exc)
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        decision = decide_failure(reqs, exc, spec, {}, config.strict, text)
        verdicts = decision.verdicts
        failed = decision.shown == "failed"
    verdicts = [replace(v, schedule_classes=tuple(EXERCISED.take(v.req_id))) for v in verdicts]
    verdicts += observed_verdicts(OBSERVED.take(), reqs, spec, {}, config.strict)
    return verdicts, failed


def run_suite(impl: str, options: SuiteOptions = SuiteOptions(), profile: str | None = None,
              calls: Sequence[SuiteCall] | None = None) -> SuiteRun:
    """The conformance suite on the candidate at dotted path ``impl``, in this process.

    ``calls``: run only these suite tests (default: all); the others count as deselected, as
    ``-k`` deselects them (their requirements "not selected", or "partly checked")."""
    every = suite_calls()
    calls = every if calls is None else list(calls)
    spec = load_spec()
    candidate = load_candidate(impl, search_dir=ROOT)
    keys = resolve_key_scheme(options.keys, search_dir=ROOT)
    config = SuiteConfig(candidate=candidate, impl=impl, backend=options.backend,
                         env_api=options.env_api, keys=keys, strict=options.strict)
    aggregator = Aggregator(spec, {}, declared=unchecked_by_keys(keys, spec))
    ran = {call.name for call in calls}
    order = {call.name: n for n, call in enumerate(every)}  # the place pytest collects it at
    deselected: dict[str, list[str]] = {}
    for call in every:
        if call.name not in ran:
            for rid in call.reqs:
                deselected.setdefault(rid, []).append(call.name)
    aggregator.add_deselected(deselected)
    failed: list[str] = []
    for rid in spec:
        EXERCISED.take(rid)  # nothing recorded by an earlier run is this run's
    OBSERVED.take()
    with hypothesis_profile(profile) as chosen:
        for call in calls:
            verdicts, call_failed = call_verdicts(call, config, spec, options.timeout)
            # Through the plugin's encoding, as an xdist worker's verdicts reach the controller.
            aggregator.add_user_properties([encode(call.name, verdicts, order[call.name])])
            if call_failed:
                first = next((v.reason for v in verdicts if v.outcome == FAIL), "") or ""
                failed.append(f"FAILED {call.name} - {first.splitlines()[0] if first else ''}")
    # As the plugin's pytest_sessionfinish: exit 0 only when every MUST was checked and held.
    exit_status = int(pytest.ExitCode.TESTS_FAILED) if failed or aggregator.unmet() \
        else int(pytest.ExitCode.OK)
    report = build_report(
        aggregator=aggregator,
        contract_version=contract_version(),
        plugin_version=plugin_version(),
        candidate=impl,
        options={
            "backend": options.backend,
            "env_api": options.env_api,
            "keys": options.keys,
            "strict": options.strict,
            "hypothesis_profile": chosen,
            "random_examples": random_examples(options.backend, settings.get_profile(chosen)),
            "timeout": options.timeout,
            "xfail_file": None,
        },
        exit_status=exit_status,
    )
    return SuiteRun(report, exit_status, failed)
