"""The ``kmw_conformance`` pytest plugin: ``pytest --kmw-impl=pkg.mod.Wrapper``.

With ``--kmw-impl`` and no test paths, pytest runs the conformance suite (``conformance/suite/``
of the installed package) against the candidate, and nothing else. Without ``--kmw-impl`` the
plugin changes nothing: no collection change, no timeouts; suite tests collected explicitly
skip with "needs --kmw-impl". Options, exit codes, the report schema and the xfail file format
are documented in ``docs/plugin.md``.

The work is split over small modules: ``loader`` (import the candidate), ``keys`` (logging-key
schemes), ``spec`` (SPEC.md's table), ``xfail`` (the xfail file), ``profiles`` (hypothesis
profiles and database), ``timeouts`` (``--kmw-timeout``), ``verdicts`` (one test's result per
requirement), ``report`` (merge and write the JSON report). This module wires them into hooks.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import threading
import warnings
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from conformance.engine.keys import BUILTIN_SCHEMES, KeySchemeError
from conformance.engine.loader import LoadError, load_candidate
from conformance.engine.spec import Requirement, SpecError, contract_version, load_spec
from conformance.engine.violations import NotChecked
from conformance.front.config import BACKENDS, ENV_APIS, SuiteConfig, real_backend_problem
from conformance.front.faults import (
    CrashTracker,
    hard_stop,
    item_property,
    suite_requirements,
)
from conformance.front.isolation import Isolation
from conformance.front.report import (
    DESELECTED_PROPERTY,
    FAIL,
    Aggregator,
    append_summary,
    build_report,
    decode,
    encode,
    markdown,
    plugin_version,
    write_json_atomic,
)
from conformance.front.timeouts import (
    WATCHDOG,
    KmwTimeout,
    available,
    backstop,
    backstop_seconds,
    check_seconds,
    grace_seconds,
    hung_message,
    outer_alarm,
    time_limit,
    timeout_message,
)
from conformance.front.verdicts import (
    NOT_CHECKED,
    PASS,
    CandidateOutcomeError,
    Verdict,
    bound_exception,
    decide_failure,
    observed_verdicts,
    trim,
    uniform,
)
from conformance.front.xfail import XfailFileError, load_xfail_file

#: The conformance suite's directory, found through the installed package.
SUITE_DIR = Path(__file__).resolve().parents[1] / "suite"
#: The marker naming the requirement IDs a test enforces.
MARKER = "kmw_requirement"
NEEDS_IMPL = "needs --kmw-impl=DOTTED.PATH (the conformance suite runs against a candidate)"
DEFAULT_TIMEOUT = 120.0
#: Longest captured output (stdout, stderr, log) of a test kept for the terminal.
MAX_SECTION = 20_000
#: The environment variable GitHub Actions sets to the step summary's file.
GITHUB_SUMMARY_VAR = "GITHUB_STEP_SUMMARY"
#: Requirements seen failing only in other requirements' tests whose example the terminal
#: summary shows in full (the rest get a line each; the report keeps every one).
MAX_SEEN_IN_FULL = 2


class ShouldFindingWarning(UserWarning):
    """A candidate breaks a SHOULD requirement (reported, not failed, without --kmw-strict)."""


@dataclass
class KmwState:
    """Everything the hooks need during a ``--kmw-impl`` run (kept in ``config.stash``)."""

    suite_config: SuiteConfig
    spec: dict[str, Requirement]
    xfails: dict[str, str]
    timeout: float
    report_path: Path | None
    hypothesis_profile: str | None
    aggregator: Aggregator
    all_items: list[pytest.Item] = field(default_factory=list)
    timeout_unavailable_warned: bool = False
    #: Where the Markdown summary is appended: ``--kmw-summary``, else ``$GITHUB_STEP_SUMMARY``.
    summary_path: Path | None = None
    #: Requirement ID -> the suite tests marked with it that this process deselected; sent
    #: once, on a setup report (``DESELECTED_PROPERTY``), so the controller knows them.
    deselected: dict[str, list[str]] = field(default_factory=dict)
    deselected_sent: bool = False


STATE = pytest.StashKey[KmwState]()
ALL_ITEMS = pytest.StashKey[list]()
#: Node ID -> place in the collection (every xdist worker collects the same items in order).
ORDER = pytest.StashKey[dict]()


def _timeout_arg(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if value == 0 and any(c in "123456789" for c in text.lower().partition("e")[0]):
        raise argparse.ArgumentTypeError(f"{text!r} is too small to be a time limit (it rounds "
                                         "to 0, which means no limit; give 0 for that)")
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds >= 0, got {text!r}")
    try:
        return check_seconds(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kmw", "k-episode Meta-World conformance (docs/plugin.md)")
    group.addoption(
        "--kmw-impl",
        default=None,
        metavar="DOTTED.PATH",
        help="run the conformance suite against this candidate: pkg.mod.Attr or pkg.mod:Attr, "
        "a class or factory called as Candidate(benchmark, split, k_episodes, "
        "max_episode_length=500). Without test paths only the suite runs.",
    )
    group.addoption(
        "--kmw-backend",
        default=BACKENDS[0],
        choices=BACKENDS,
        help="benchmark the candidate is driven with: scripted (fast, default) or metaworld",
    )
    group.addoption(
        "--kmw-env-api",
        default=ENV_APIS[0],
        choices=ENV_APIS,
        help="API of the scripted benchmark's envs: gymnasium (Meta-World 3, default) or gym "
        "(Meta-World 2)",
    )
    group.addoption(
        "--kmw-keys",
        default="kmw",
        metavar="SCHEME",
        help="logging-key scheme: kmw (default, SPEC.md's names), amago, or DOTTED.PATH to a "
        "conformance.engine.keys.KeyScheme",
    )
    group.addoption(
        "--kmw-strict",
        action="store_true",
        default=False,
        help="SHOULD findings fail instead of being reported",
    )
    group.addoption(
        "--kmw-timeout",
        type=_timeout_arg,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"per-test time limit; a test over it fails (default {DEFAULT_TIMEOUT:g}; 0 disables)",
    )
    group.addoption(
        "--kmw-report",
        default=None,
        metavar="PATH",
        help="write the JSON conformance report (every requirement's outcome) to PATH",
    )
    group.addoption(
        "--kmw-summary",
        default=None,
        metavar="PATH",
        help="append the per-requirement table as Markdown to PATH (default: "
        "$GITHUB_STEP_SUMMARY when it is set)",
    )
    group.addoption(
        "--kmw-xfail",
        default=None,
        metavar="FILE",
        help="requirement IDs the candidate is known to break, one per line "
        "'KMW-XXX-N  reason' ('#' comments)",
    )


# --------------------------------------------------------------------------- configuration


def _random_examples(backend: str) -> int:
    """Random examples per property in this run: the loaded hypothesis profile's, as the
    backend caps them (imported here: the plugin loads hypothesis only with ``--kmw-impl``)."""
    from hypothesis import settings

    from conformance.engine.properties import random_examples

    return random_examples(backend, settings())


def _state(config: pytest.Config) -> KmwState | None:
    return config.stash.get(STATE, None)


def _usage(message: str) -> pytest.UsageError:
    return pytest.UsageError(message)


def _checked_report_path(config: pytest.Config, here: Path) -> Path | None:
    """``--kmw-report`` relative to ``here``, checked writable now (not after the whole run)."""
    given = config.getoption("kmw_report")
    if not given:
        return None
    from kmw._files import OutputPathError, check_writable

    path = here / given
    try:
        check_writable(path, create_parents=True)  # the report's missing directories are made
    except (OutputPathError, OSError) as e:
        raise _usage(f"--kmw-report: {e}") from None
    return path


def _checked_summary_path(config: pytest.Config, here: Path) -> Path | None:
    """``--kmw-summary`` relative to ``here``, checked writable now; else
    ``$GITHUB_STEP_SUMMARY`` (not checked: an unwritable one is said at the end, not fatal)."""
    given = config.getoption("kmw_summary")
    if not given:
        env = os.environ.get(GITHUB_SUMMARY_VAR, "")
        return Path(env) if env else None
    from kmw._files import OutputPathError, check_writable

    path = here / given
    try:
        check_writable(path, create_parents=True)
    except (OutputPathError, OSError) as e:
        raise _usage(f"--kmw-summary: {e}") from None
    return path


def _same_file(a: Path, b: Path) -> bool:
    """True if ``a`` and ``b`` name the same file (after resolving symlinks, ``..``, hard links)."""
    if a.resolve() == b.resolve():
        return True
    try:
        return a.samefile(b)
    except OSError:
        return False


def _build_state(config: pytest.Config, impl: str) -> KmwState:
    here = config.invocation_params.dir
    try:
        spec = load_spec()
    except (SpecError, OSError) as e:
        raise _usage(f"conformance/SPEC.md is unreadable: {e}") from None
    backend, env_api = config.getoption("kmw_backend"), config.getoption("kmw_env_api")
    if backend == "metaworld" and env_api != ENV_APIS[0]:
        raise _usage(
            f"--kmw-env-api={env_api} has no effect with --kmw-backend=metaworld (the env API "
            "is that of the installed Meta-World); it only applies to --kmw-backend=scripted"
        )
    if backend == "metaworld" and (problem := real_backend_problem()):
        raise _usage(problem)
    report_path = _checked_report_path(config, here)
    summary_path = _checked_summary_path(config, here)
    if summary_path is not None and report_path is not None and _same_file(summary_path,
                                                                           report_path):
        raise _usage(f"the Markdown summary ({summary_path}) and --kmw-report are the same "
                     "file: the report would replace the summary")
    try:
        with os_exit_guarded():  # an os._exit() at import must not end the run unreported
            candidate = load_candidate(impl, search_dir=here)
    except LoadError as e:  # os._exit() at import too: the guard raises OsExitCalled
        raise _usage(str(e)) from None
    from conformance.front.schemes import checked_key_scheme  # numpy, gymnasium: only now

    try:
        keys = checked_key_scheme(config.getoption("kmw_keys"), here,
                                  float(config.getoption("kmw_timeout")))
    except KeySchemeError as e:
        raise _usage(f"{e} (built-in schemes: {', '.join(BUILTIN_SCHEMES)})") from None
    xfails: dict[str, str] = {}
    xfail_path = config.getoption("kmw_xfail")
    if xfail_path is not None:
        if report_path is not None and _same_file(here / xfail_path, report_path):
            raise _usage(
                f"--kmw-report={config.getoption('kmw_report')} and --kmw-xfail={xfail_path} "
                "are the same file: the report would overwrite the xfail file"
            )
        if summary_path is not None and _same_file(here / xfail_path, summary_path):
            raise _usage(f"the Markdown summary ({summary_path}) and --kmw-xfail={xfail_path} "
                         "are the same file: the summary would be appended to the xfail file")
        try:
            xfails = load_xfail_file(here / xfail_path, spec)
        except XfailFileError as e:
            raise _usage(f"--kmw-xfail: {e}") from None
    return KmwState(
        suite_config=SuiteConfig(
            candidate=candidate,
            impl=impl,
            backend=backend,
            env_api=env_api,
            keys=keys,
            strict=bool(config.getoption("kmw_strict")),
        ),
        spec=spec,
        xfails=xfails,
        timeout=float(config.getoption("kmw_timeout")),
        report_path=report_path,
        hypothesis_profile=None,
        aggregator=Aggregator(spec, {} if config.getoption("runxfail", False) else xfails,
                              declared=unchecked_by_keys(keys, spec)),
        summary_path=summary_path,
    )


def unchecked_by_keys(keys: Any, spec: dict[str, Requirement]) -> dict[str, str]:
    """The requirements the key scheme leaves unchecked on purpose (it has no key for them,
    or not all of them), with why: choosing the scheme with ``--kmw-keys`` declares them, so
    their not-checked outcome does not fail the run (docs/plugin.md)."""
    from conformance.engine.model import unkeyed_reason

    out = {}
    for rid in spec:
        reason = unkeyed_reason(keys, rid, None)
        if reason is not None:
            out[rid] = f"{reason} (declared by --kmw-keys={getattr(keys, 'name', keys)})"
    return out


#: Packages whose assertions pytest need not rewrite in a conformance run. hypothesis's own
#: pytest11 entry point marks its ~75 modules for rewriting (about 1.4 s per process, every
#: run, when bytecode is not cached); kmw and the engine raise errors, they do not assert.
#: The suite's test files are still rewritten (they match ``python_files``).
NOT_REWRITTEN = ("hypothesis", "kmw", "conformance")


def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    if getattr(early_config.known_args_namespace, "kmw_impl", None):
        _skip_rewriting(early_config, NOT_REWRITTEN)


def _skip_rewriting(config: pytest.Config, names: tuple[str, ...]) -> None:
    """Unmark ``names`` for assertion rewriting (pytest internals: without them, nothing)."""
    try:
        from _pytest.assertion.rewrite import assertstate_key

        hook = config.stash[assertstate_key].hook
        marked, cache = hook._must_rewrite, hook._marked_for_rewrite_cache
    except (ImportError, KeyError, AttributeError):
        return
    for name in names:
        marked.discard(name)
    cache.clear()


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(*ids): the SPEC.md requirement IDs a conformance property enforces",
    )
    impl = config.getoption("kmw_impl")
    wanted_profile = config.getoption("hypothesis_profile", None) or ""
    if impl is not None or wanted_profile.startswith("kmw-"):
        # tryfirst: before hypothesis's pytest_configure loads --hypothesis-profile. Not at
        # import time, so that plain pytest runs do not pay for importing hypothesis.
        from conformance.front import profiles

        profiles.register_profiles()
        if impl is not None:
            profiles.pin_generation()  # the same draws whatever modules the options import
    if config.getoption("help", False) or config.getoption("version", False):
        return
    if impl is None:
        for opt in ("kmw_report", "kmw_xfail", "kmw_summary"):
            if config.getoption(opt) is not None:
                raise _usage(f"--{opt.replace('_', '-')} needs --kmw-impl=DOTTED.PATH")
        return
    state = _build_state(config, impl)
    config.stash[STATE] = state
    config.pluginmanager.register(KmwSession(config, state), "kmw-session")
    config.pluginmanager.register(Isolation(config, lambda item: bool(requirement_ids(item))),
                                  "kmw-isolation")

    # No test paths given (nothing on the command line, or only ini testpaths): run the suite.
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        if not SUITE_DIR.joinpath("__init__.py").is_file():
            raise _usage(
                f"the conformance suite is not installed: no {SUITE_DIR} (the package was built "
                "without its conformance.suite subpackage); reinstall kmw, or give test paths"
            )
        config.args = [str(SUITE_DIR)]

    from conformance.front import profiles

    chosen = config.getoption("hypothesis_profile", None)
    if not chosen:
        chosen = profiles.default_profile()
        from hypothesis import settings

        settings.load_profile(chosen)
    state.hypothesis_profile = chosen


def pytest_sessionstart(session: pytest.Session) -> None:
    state = _state(session.config)
    if state is None:
        return
    # After every pytest_configure (hypothesis's loads --hypothesis-profile there).
    from conformance.front import profiles

    cfg = state.suite_config
    profiles.use_candidate_database(
        profiles.database_dir(session.config.rootpath, cfg.impl, cfg.backend, cfg.env_api)
    )


def suite_arguments(request: pytest.FixtureRequest) -> tuple[SuiteConfig, str]:
    """What a property of the shipped suite runs on: ``(the suite's configuration, the one
    requirement ID its test is marked with)``.

    Taken from ``request`` (pytest's own fixture, which nothing can shadow), not from fixtures:
    a user's ``conftest.py`` may define fixtures of any name, ``kmw_config`` included, without
    reaching the suite. The project's in-process runner hands in an object whose
    ``kmw_suite_arguments`` attribute holds the pair.
    """
    given = getattr(request, "kmw_suite_arguments", None)
    if given is not None:
        return given
    state = _state(request.config)
    if state is None:
        pytest.skip(NEEDS_IMPL)
    ids = requirement_ids(request.node)
    if len(ids) != 1:
        pytest.fail(f"a suite property needs exactly one {MARKER} mark on "
                    f"{request.node.nodeid}, found {ids or 'none'}", pytrace=False)
    return state.suite_config, ids[0]


@pytest.fixture(scope="session")
def kmw_config(request: pytest.FixtureRequest) -> SuiteConfig:
    """The conformance suite's configuration (``conformance.front.config.SuiteConfig``).

    Skips the requesting test when pytest was run without ``--kmw-impl``.
    """
    state = _state(request.config)
    if state is None:
        pytest.skip(NEEDS_IMPL)
    return state.suite_config


@pytest.fixture
def kmw_target(request: pytest.FixtureRequest) -> str:
    """The requirement ID the requesting test is marked with (``@pytest.mark.kmw_requirement``):
    the one place a suite test names what it checks."""
    ids = requirement_ids(request.node)
    if len(ids) != 1:
        pytest.fail(f"kmw_target needs exactly one kmw_requirement mark on {request.node.nodeid}, "
                    f"found {ids or 'none'}", pytrace=False)
    return ids[0]


# --------------------------------------------------------------------------- collection


def requirement_ids(item: pytest.Item) -> list[str]:
    """The requirement IDs ``item`` is marked with, in order, without repeats."""
    return marked_ids(item.iter_markers(MARKER))


def marked_ids(marks: Iterable[pytest.Mark]) -> list[str]:
    """The requirement IDs of ``kmw_requirement`` marks, in order, without repeats."""
    ids: list[str] = []
    for mark in marks:
        for rid in mark.args:
            if str(rid) not in ids:
                ids.append(str(rid))
    return ids


def collected_items(session: pytest.Session) -> list[pytest.Item]:
    """Every item collected in ``session``, including ones later deselected (``-k``, ``-m``)."""
    return session.config.stash.get(ALL_ITEMS, None) or list(session.items)


def _in_suite(item: pytest.Item) -> bool:
    try:
        Path(item.path).resolve().relative_to(SUITE_DIR)
    except ValueError:
        return False
    return True


def report_name(item: pytest.Item) -> str:
    """``conformance/suite/<file>::<test>`` for suite tests (stable across machines), else
    the node ID."""
    path = Path(item.path).resolve()
    try:
        rel = path.relative_to(SUITE_DIR.parent.parent).as_posix()
    except ValueError:
        return item.nodeid
    _, sep, rest = item.nodeid.partition("::")
    return f"{rel}{sep}{rest}"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    state = _state(config)
    config.stash[ALL_ITEMS] = list(items)
    config.stash[ORDER] = {item.nodeid: n for n, item in enumerate(items)}
    if state is None:
        skip = pytest.mark.skip(reason=NEEDS_IMPL)
        for item in items:
            if _in_suite(item):
                item.add_marker(skip)
        return
    # The xfail file marks requirements, not tests: a listed requirement's failing cases show
    # as xfailed (``_call_verdicts``), its passing cases pass, and the requirement is a stale
    # entry only when none of its cases failed (``Aggregator``, at the end of the session).


# --------------------------------------------------------------------------- running


#: Set on the skip a suite test ends in when the engine says it could not check its
#: requirement (``NotChecked``): the only skip a suite test may end in under ``--kmw-impl``.
#: Any other pytest outcome raised during a suite test's call is the candidate's doing and its
#: failure (:func:`candidate_outcome`).
NOT_CHECKED_SKIP = "_kmw_not_checked"


def not_checked_skip(reason: str) -> BaseException:
    """pytest's skip for a requirement the suite could not check (shown at the test)."""
    exc = pytest.skip.Exception(reason, _use_item_location=True)
    setattr(exc, NOT_CHECKED_SKIP, True)
    return exc


def _is_not_checked_skip(exc: BaseException) -> bool:
    return getattr(exc, NOT_CHECKED_SKIP, False) is True


class OsExitCalled(Exception):
    """Raised instead of ending the process when the candidate's code calls ``os._exit``
    during the suite (see :func:`os_exit_guarded`)."""


@contextlib.contextmanager
def os_exit_guarded() -> Iterator[None]:
    """While the candidate's code runs, ``os._exit(status)`` raises :class:`OsExitCalled` in the
    main thread instead of ending the process (which would end a run with the candidate's
    status, possibly 0, and no table); other threads (the watchdog) keep the real one."""
    modules = [os, *filter(None, [sys.modules.get("posix")])]  # os._exit is posix._exit
    real = os._exit

    def guarded(status: int) -> None:
        if threading.current_thread() is not threading.main_thread():
            real(status)
        raise OsExitCalled(f"os._exit({status!r}) was called")

    for module in modules:
        module._exit = guarded
    try:
        yield
    finally:
        for module in modules:
            module._exit = real


def candidate_outcome(exc: BaseException) -> BaseException:
    """``exc`` raised during a suite test's call, as what the test should end in: a pytest
    outcome or exit that the suite did not raise itself becomes :class:`CandidateOutcomeError`
    (a failure naming it); anything else is returned as is."""
    if _is_not_checked_skip(exc) or not isinstance(
            exc, (pytest.skip.Exception, pytest.fail.Exception, pytest.exit.Exception, SystemExit,
                  OsExitCalled)):
        return exc
    name = "os._exit" if isinstance(exc, OsExitCalled) else type(exc).__name__
    detail = str(getattr(exc, "msg", None) or exc)
    error = CandidateOutcomeError(
        f"the candidate raised {name} ({detail[:300]}) during the test: an exception from the "
        f"candidate's code is its failure, pytest's skip/xfail/fail/exit outcomes and "
        f"sys.exit() too")
    error.__cause__ = exc
    return error


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Generator[None, Any, Any]:
    # The engine says "could not check" with its own exception (it does not import pytest).
    try:
        return (yield)
    except NotChecked as exc:
        raise not_checked_skip(str(exc)) from None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    state = _state(item.config)
    if state is None or not requirement_ids(item):
        return (yield)
    timeout = state.timeout
    if timeout > 0 and not available():
        if not state.timeout_unavailable_warned:
            state.timeout_unavailable_warned = True
            warnings.warn(
                "--kmw-timeout needs SIGALRM in the main thread; no time limit in this process",
                stacklevel=1,
            )
        timeout = 0.0
    outer = outer_alarm()
    if timeout > 0 and 0 < outer < timeout:
        timeout = outer  # a smaller limit armed outside kmw (pytest-timeout) wins
    with contextlib.ExitStack() as stack:
        stack.enter_context(os_exit_guarded())
        limit: dict[str, Any] = {"fired": False}
        if timeout > 0:
            session = item.config.pluginmanager.get_plugin("kmw-session")
            # Escalation for a test that does not stop at the exception (catches BaseException,
            # ignores SIGALRM, blocks in C): the watchdog's hard stop after the grace period,
            # and faulthandler's exit (no GIL needed) after another one.
            WATCHDOG.arm(timeout + grace_seconds(timeout), lambda: session.hard_stop(item))
            stack.callback(WATCHDOG.disarm)
            stack.enter_context(backstop(session.backstop_after, session.backstop_fd))
            limit = stack.enter_context(time_limit(timeout))
        try:
            result = yield
        except BaseException as exc:
            # The interruption may surface as another exception (hypothesis can raise its own
            # error while unwinding from it): the limit having fired is what counts.
            if limit["fired"]:
                raise pytest.fail.Exception(timeout_message(timeout, limit["outer"]),
                                            pytrace=False) from None
            converted = candidate_outcome(exc)
            if converted is exc:
                raise
            raise converted from None
    if limit["fired"]:
        # The test swallowed the interruption (e.g. unittest's TestCase.run records it).
        pytest.fail(timeout_message(timeout, limit["outer"]), pytrace=False)
    return result


def _short(text: str, limit: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def short_violation(longreprtext: str) -> str | None:
    """A failure's violation in one line (its ``[KMW-...]`` line), from pytest's rendering of
    it; ``None`` if it shows no violation."""
    first = next((line[1:].strip() for line in longreprtext.splitlines()
                  if line.startswith("E ")), "")
    return first[first.index("[KMW-"):] if "[KMW-" in first else None


class ShortRepr:
    """A failure shown as one line (see ``KmwSession._note_output``), keeping the crash
    location pytest's short summary and junitxml read."""

    def __init__(self, text: str, reprcrash: Any) -> None:
        self.text, self.reprcrash = text, reprcrash

    def toterminal(self, tw: Any) -> None:
        tw.line(self.text)

    def __str__(self) -> str:
        return self.text


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _warn_findings(item: pytest.Item, verdicts: list[Verdict], impl: str) -> None:
    for v in verdicts:
        message = ShouldFindingWarning(
            f"{v.req_id} (SHOULD) not met by {impl}: {v.reason} — "
            "reported as a SHOULD finding (--kmw-strict makes it fail)"
        )
        try:
            warnings.warn_explicit(
                message,
                ShouldFindingWarning,
                filename=str(item.path),
                lineno=(item.location[1] or 0) + 1,
            )
        except Warning:
            pass  # warnings turned into errors (-W error): the terminal summary still shows it


def _call_verdicts(
    item: pytest.Item,
    call: pytest.CallInfo[None],
    report: pytest.TestReport,
    state: KmwState,
    reqs: list[str],
) -> list[Verdict]:
    xfails = {} if item.config.getoption("runxfail", False) else state.xfails
    excinfo = call.excinfo
    if excinfo is None:
        return uniform(reqs, PASS, None)
    exc = excinfo.value
    if _is_not_checked_skip(exc):
        return uniform(reqs, NOT_CHECKED, str(exc.msg))
    decision = decide_failure(
        reqs, exc, state.spec, xfails, state.suite_config.strict, report.longreprtext
    )
    if decision.shown == "failed":
        report.outcome = "failed"
        if hasattr(report, "wasxfail"):
            del report.wasxfail
        if isinstance(exc, KmwTimeout):
            report.longrepr = f"Failed: {exc}"
    elif decision.shown == "xfailed":
        report.outcome = "skipped"
        report.wasxfail = decision.xfail_reason
    else:
        report.outcome = "passed"
        report.longrepr = None
        if hasattr(report, "wasxfail"):
            del report.wasxfail
        _warn_findings(item, decision.findings, state.suite_config.impl)
    return decision.verdicts


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    if call.excinfo is not None and _state(item.config) is not None:
        # Before pytest renders it: a huge message would be copied many times over.
        bound_exception(call.excinfo.value)
    report = yield
    state = _state(item.config)
    if state is None:
        return report
    if any(len(content) > MAX_SECTION for _, content in report.sections):
        report.sections = [(title, trim(content, MAX_SECTION)) for title, content in report.sections]
    reqs = requirement_ids(item)
    if not reqs:
        return report
    if report.when == "setup":  # what the xdist controller needs if the worker crashes
        report.user_properties.append(item_property(report_name(item), reqs))
        if not state.deselected_sent:
            state.deselected_sent = True
            report.user_properties.append((DESELECTED_PROPERTY, json.dumps(state.deselected)))
    verdicts: list[Verdict] = []
    if report.when == "call":
        # Not at import: pytest loads this plugin in every run, most without --kmw-impl.
        from conformance.engine.coverage import EXERCISED
        from conformance.engine.violations import OBSERVED

        xfails = {} if item.config.getoption("runxfail", False) else state.xfails
        verdicts = [replace(v, schedule_classes=tuple(EXERCISED.take(v.req_id)))
                    for v in _call_verdicts(item, call, report, state, reqs)]
        verdicts += observed_verdicts(OBSERVED.take(), reqs, state.spec, xfails,
                                      state.suite_config.strict)
    elif hasattr(report, "wasxfail") and report.skipped:
        # An error in setup/teardown is not the failure the xfail file expects.
        del report.wasxfail
        report.outcome = "failed"
        verdicts = uniform(
            reqs, "fail", f"error in {report.when} of the test", trim(report.longreprtext)
        )
    elif report.skipped:  # setup: skip marks, skipping fixtures
        verdicts = uniform(reqs, NOT_CHECKED, _skip_reason(report))
    elif report.failed:
        verdicts = uniform(
            reqs, "fail", f"error in {report.when} of the test", trim(report.longreprtext)
        )
    if verdicts:
        order = item.config.stash.get(ORDER, {}).get(item.nodeid)
        report.user_properties.append(encode(report_name(item), verdicts, order))
    return report


def pytest_deselected(items: list[pytest.Item]) -> None:
    """Remember the suite tests ``-k``/``-m``/node IDs deselected, per requirement: a
    requirement none (or only some) of whose tests ran is not checked (``Aggregator``)."""
    state = _state(items[0].config) if items else None
    if state is None:
        return
    for item in items:
        for rid in requirement_ids(item):
            state.deselected.setdefault(rid, []).append(report_name(item))


class KmwSession:
    """Hooks of a ``--kmw-impl`` run that need its state: merge verdicts, summarise, report.

    Registered in ``pytest_configure`` only when ``--kmw-impl`` is given. Merging runs in the
    lone process, on every xdist worker and on the controller (which receives the workers'
    reports with their ``user_properties``); only the controller or lone process writes.
    """

    def __init__(self, config: pytest.Config, state: KmwState) -> None:
        self.config = config
        self.state = state
        # The terminal's stderr (pytest_configure runs with output capture suspended), for the
        # hard stop's stack dump.
        self.stderr_fd = os.dup(2)
        # faulthandler's one timer belongs to pytest's faulthandler_timeout when that is set.
        self.backstop_fd: int | None = (
            None if float(config.getini("faulthandler_timeout") or 0) > 0 else self.stderr_fd
        )
        self.backstop_after = backstop_seconds(state.timeout)
        self.faults = CrashTracker(
            lambda nodeid: suite_requirements(config.rootpath, nodeid, SUITE_DIR, MARKER),
            None if self.backstop_fd is None or state.timeout <= 0 else self.backstop_after,
            state.timeout,
        )
        #: Requirements whose failure was shown in full; later ones are shortened.
        self.shown_in_full: set[str] = set()
        self.shortened = 0
        self.summary_error: str | None = None
        self.report_error: str | None = None

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        try:
            os.close(self.stderr_fd)
        except OSError:
            pass

    def hard_stop(self, item: pytest.Item) -> None:
        """The watchdog's action for a test that did not stop at --kmw-timeout (ends the
        process; see ``conformance.front.faults.hard_stop``)."""

        def finish() -> None:
            if self.is_worker:
                return  # the controller reports the test (sent) and the worker's end
            self.write_report(int(pytest.ExitCode.TESTS_FAILED))
            self.write_summary(int(pytest.ExitCode.TESTS_FAILED))
            tr = self.config.pluginmanager.get_plugin("terminalreporter")
            if tr is not None:
                tr.ensure_newline()
                self.pytest_terminal_summary(tr)
                tr.write_line("kmw: the run was hard-stopped: later tests did not run")

        hard_stop(item, hung_message(self.state.timeout), self.stderr_fd, report_name(item),
                  requirement_ids(item), finish)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        self.faults.node_down(node, error)

    @pytest.hookimpl(optionalhook=True)
    def pytest_handlecrashitem(self, crashitem: str, report: pytest.TestReport, sched: Any) -> None:
        self.faults.crashed(crashitem, report)

    @property
    def is_worker(self) -> bool:
        return hasattr(self.config, "workerinput")

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        self.faults.started(nodeid)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.faults.observe(report)
        self.state.aggregator.add_user_properties(report.user_properties)
        if not self.is_worker:
            self._note_output(report)

    def _note_output(self, report: pytest.TestReport) -> None:
        """Shorten a failure of a requirement already shown in full to its violation's first
        line (the terminal shows the first failure of each requirement in full; -vv all of them;
        the JSON report keeps every failing example)."""
        if report.when != "call" or not report.failed:
            return
        failed = {v.req_id for _, vs, _ in decode(report.user_properties) for v in vs
                  if v.outcome == FAIL}
        short = short_violation(report.longreprtext) if failed else None
        if short is None:
            return
        # The short test summary's line: the violation, not pytest's first line of the
        # exception (which under CI is the whole multi-line message).
        crash = getattr(report.longrepr, "reprcrash", None)
        if crash is not None and hasattr(crash, "message"):
            crash.message = short
        if not failed <= self.shown_in_full or self.config.get_verbosity() >= 2:
            self.shown_in_full |= failed
            return
        report.longrepr = ShortRepr(short, crash)  # type: ignore[assignment]
        self.shortened += 1

    def options(self) -> dict[str, Any]:
        cfg = self.state.suite_config
        return {
            "backend": cfg.backend,
            "env_api": cfg.env_api,
            "keys": self.config.getoption("kmw_keys"),
            "strict": cfg.strict,
            "hypothesis_profile": self.state.hypothesis_profile,
            "random_examples": _random_examples(cfg.backend),
            "timeout": self.state.timeout,
            "xfail_file": self.config.getoption("kmw_xfail"),
        }

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.is_worker:
            return
        self.state.aggregator.stopped_early = bool(session.shouldstop or session.shouldfail)
        # Exit 0 means every MUST requirement was checked and held (SPEC.md, "What a run's
        # exit status means"): a MUST that failed (a finding seen by any test included), came
        # out a stale xfail entry, or was not checked, fails a run pytest would pass.
        if (self.state.aggregator.unmet() and exitstatus == pytest.ExitCode.OK
                and not self.config.getoption("collectonly", False)):
            exitstatus = session.exitstatus = pytest.ExitCode.TESTS_FAILED
        self.exit_status = int(exitstatus)
        self.write_report(int(exitstatus))
        self.write_summary(int(exitstatus))

    def write_summary(self, exit_status: int) -> None:
        """Append the Markdown table to ``--kmw-summary`` or ``$GITHUB_STEP_SUMMARY``, if any
        (a failure to write it is said on the terminal, it does not change the outcome)."""
        path = self.state.summary_path
        if path is None:
            return
        text = markdown(self.state.aggregator.requirements(),
                        candidate=self.state.suite_config.impl, options=self.options(),
                        exit_status=exit_status)
        try:
            append_summary(path, text)
        except OSError as e:
            self.summary_error = f"kmw: could not append the Markdown summary to {path}: {e}"

    def write_report(self, exit_status: int) -> None:
        """Write the JSON report (if ``--kmw-report``) from the verdicts received so far (a
        failure to write it, e.g. the path became a symlink loop during the run, is said on
        the terminal in one line)."""
        if self.state.report_path is None:
            return
        data = build_report(
            aggregator=self.state.aggregator,
            contract_version=contract_version(),
            plugin_version=plugin_version(),
            candidate=self.state.suite_config.impl,
            options=self.options(),
            exit_status=exit_status,
        )
        try:
            write_json_atomic(self.state.report_path, data)
        except OSError as e:
            self.report_error = (f"kmw: could not write the report to {self.state.report_path}: "
                                 f"{e.strerror or e}")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """The run's verdict: candidate warnings, SHOULD findings, the violations seen while
        checking other requirements, one line per requirement and what the exit status means.
        Reads the merged verdicts only: no candidate code runs here."""
        if self.is_worker or self.config.getoption("collectonly", False):
            return
        tr = terminalreporter
        agg = self.state.aggregator
        reqs = agg.requirements()
        build = reqs.get("KMW-IFC-6")
        if build is not None and build["outcome"] == FAIL:
            tr.write_sep("=", "kmw: the candidate cannot be built for some valid arguments",
                         red=True)
            tr.write_line(f"{_short(build['reason'] or '', 400)}: the other requirements were "
                          "checked where it could be built", red=True)
        self._warnings_summary(tr)
        findings: dict[tuple[str, str], list[str]] = {}
        for rid, test, v in agg.findings():  # one line per distinct finding
            findings.setdefault((rid, trim(v.reason or "", 500)), []).append(test)
        if findings:
            tr.write_sep("=", "kmw SHOULD findings", yellow=True)
            for (rid, reason), tests in findings.items():
                more = f" and {len(tests) - 1} more" if len(tests) > 1 else ""
                tr.write_line(f"{rid} SHOULD not met: {reason} ({tests[0]}{more})", yellow=True)
            tr.write_line("SHOULD findings are reported, not failed; --kmw-strict makes them fail.")
        self._seen_elsewhere(tr)
        options = self.options()
        tr.write_sep("=", f"kmw conformance of {self.state.suite_config.impl}")
        tr.write_line(f"profile {options['hypothesis_profile']}: the schedule classes, then "
                      f"{options['random_examples']} random example(s) per property; backend "
                      f"{options['backend']}; keys {options['keys']}")
        width = max(len(r) for r in reqs)
        colours = {"pass": "green", "fail": "red", "should-finding": "yellow"}
        for rid, entry in reqs.items():
            line = f"{rid:<{width}}  {entry['level']:<6}  {entry['outcome']}"
            if entry["outcome"] != "pass" and entry["reason"]:
                line += f"  ({_short(entry['reason'])})"
            colour = colours.get(entry["outcome"])
            tr.write_line(line, **({colour: True} if colour else {}))
        if self.shortened:
            tr.write_line(f"kmw: {self.shortened} failure(s) of a requirement already shown in "
                          "full are shortened to their violation (-vv shows them in full)")
        unmet = agg.unmet()
        if unmet:
            tr.write_line(f"kmw: NOT CONFORMANT: {len(unmet)} MUST requirement(s) not met, the "
                          "run fails (exit 0 only when every MUST was checked and held):",
                          red=True, bold=True)
            by_cause: dict[str, list[str]] = {}
            for rid, why in unmet.items():  # failures: see the table; not checked: the cause
                cause = "fail" if why.startswith(FAIL + ":") else _short(why, 160)
                by_cause.setdefault(cause, []).append(rid)
            for cause, rids in by_cause.items():
                tr.write_line(f"  {', '.join(rids)}: {cause}", red=True)
        elif getattr(self, "exit_status", 0) == 0:
            tr.write_line("kmw: CONFORMANT: every MUST requirement was checked and held"
                          + (" (but for those listed in --kmw-xfail or left unchecked by "
                             "--kmw-keys)" if any(e["outcome"] != PASS and e["level"] == "MUST"
                                                  for e in reqs.values()) else ""),
                          green=True, bold=True)
        if self.report_error:
            tr.write_line(self.report_error, red=True)
        elif self.state.report_path is not None:
            tr.write_line(f"kmw report written to {self.state.report_path}")
        if self.summary_error:
            tr.write_line(self.summary_error, yellow=True)

    def _seen_elsewhere(self, tr: Any) -> None:
        """The first failing example of each requirement that failed only in other
        requirements' tests (pytest's failure list shows a test's own requirement only): in
        full for the first few, then a line each."""
        seen = self.state.aggregator.seen_only_elsewhere()
        if not seen:
            return
        tr.write_sep("=", "kmw: violations seen while checking other requirements", red=True)
        for n, (rid, test, verdict) in enumerate(seen):
            if n < MAX_SEEN_IN_FULL:
                tr.write_line(f"{test}:")
                tr.write_line(trim(verdict.failing_example or verdict.reason or rid, 3000))
            else:
                tr.write_line(f"{rid}: {_short(verdict.reason or '', 150)} ({test})")

    def _warnings_summary(self, tr: Any) -> None:
        """One line per distinct warning the candidate raised in suite tests, with its count
        (``conformance.front.isolation`` records them)."""
        isolation = self.config.pluginmanager.get_plugin("kmw-isolation")
        lines = isolation.counts.summary_lines() if isolation is not None else []
        if not lines:
            return
        tr.write_sep("=", "kmw: warnings from the candidate", yellow=True)
        for line in lines:
            tr.write_line(line)
