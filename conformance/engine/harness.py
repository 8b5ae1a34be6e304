"""Drive a candidate beside the trusted model and turn differences into contract violations.

A :class:`Session` is one candidate built on a spied benchmark, with a :class:`TrialModel`
beside it. Each ``reset``/``step`` goes to the candidate, then the model is fed the result and
the env calls the candidate made, and every :class:`Finding` is handled for the property's
*target* requirement:

- a finding of the target raises :class:`ContractViolation` (the property fails);
- a blocking finding of another requirement raises :class:`Blocked`: the model can no longer
  follow the candidate, so the example stops there (that requirement has its own property);
- other findings are ignored by this property.

Every finding of another requirement is also *observed*: the first violation of each
requirement is recorded, with its reproduction, in :data:`~conformance.engine.violations.OBSERVED`
and reported under its own ID (a violation the model sees in any test is a violation).

Every call into candidate code (construction, ``reset``, ``step``, setting ``reward_scales``)
is a boundary: any exception it raises (``SystemExit``, pytest's ``Skipped``, ... but not a
``KeyboardInterrupt`` or the front's time limit, see
:func:`~conformance.engine.violations.raised_by_candidate`) is the candidate's doing. Raised at
construction with valid arguments it is a KMW-IFC-6 finding (:class:`CannotBuild`); raised by
``reset``/``step`` it is a KMW-IFC-1 finding (they return, the contract says), unless the
underlying env raised it (stepped past its limit or its end), which is a finding of its own.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

import numpy as np

from conformance.engine.keys import PREFIX
from conformance.engine.model import ContractContext, Finding, TrialModel
from conformance.engine.plan import TrialPlan
from conformance.engine.reproduction import Reproduction, action_record
from conformance.engine.returned import NO_RESULT as _NO_RESULT
from conformance.engine.returned import ReturnedObjects
from conformance.engine.returned import frozen as _frozen
from conformance.engine.scripted import decode_task, task_label
from conformance.engine.spy import Event, SpyBenchmark
from conformance.engine.violations import (
    OBSERVED,
    ContractViolation,
    hide_frame,
    raised_by_candidate,
)

TRACE_LINES = 40


class Blocked(Exception):
    """Another requirement's blocking finding stopped the example."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(f"[{finding.req_id}] {finding.summary}")
        self.finding = finding


class Rejected(Exception):
    """The candidate rejected its constructor arguments (allowed for some of them)."""

    #: How many were raised in this process (:class:`CheckTally` tells a property's own).
    raised = 0

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        Rejected.raised += 1


def construction_call(plan: TrialPlan) -> str:
    """How a candidate is built for ``plan``, as Python."""
    return (f"Candidate(benchmark, {plan.split!r}, {plan.k}, "
            f"max_episode_length={plan.max_len})")


def describe_error(exc: BaseException) -> str:
    """``Type: message`` of a candidate's exception, in one bounded line (its ``str`` may be
    huge or raise: it is the candidate's code)."""
    if isinstance(exc, SystemExit):
        return f"SystemExit: sys.exit({exc.code!r:.100}) was called"
    try:
        text = str(exc)
    except BaseException as inner:  # noqa: BLE001 - a hostile __str__
        if not raised_by_candidate(inner):
            raise
        text = f"<its str() raised {type(inner).__name__}>"
    text = " ".join(text.split())
    return f"{type(exc).__name__}: {text[:500]}{'...' if len(text) > 500 else ''}"


class CannotBuild(Blocked):
    """The candidate cannot be built with valid arguments (it raised, or returned no env):
    KMW-IFC-6. Nothing can be checked on that example; a property counts it as blocked by
    KMW-IFC-6, whose finding is observed with the construction and the error."""

    def __init__(self, plan: TrialPlan, error: str) -> None:
        self.call = construction_call(plan)
        self.error = error
        super().__init__(Finding("KMW-IFC-6", f"the candidate cannot be built with valid "
                                 f"arguments: {self.call} {error}",
                                 expected="a candidate built on valid arguments", got=error))


def build_candidate(factory: Callable[..., Any], benchmark: Any, plan: TrialPlan) -> Any:
    """``factory(benchmark, split, k, max_episode_length=L)`` across the candidate boundary:
    :class:`CannotBuild` if it raises (see :func:`raised_by_candidate`) or returns something
    without ``reset`` and ``step`` methods."""
    try:
        candidate = factory(benchmark, plan.split, plan.k, max_episode_length=plan.max_len)
    except BaseException as exc:
        if not raised_by_candidate(exc):
            raise
        raise CannotBuild(plan, f"raised {describe_error(exc)}") from exc
    if not (callable(getattr(candidate, "reset", None)) and callable(getattr(candidate, "step", None))):
        what = "None" if candidate is None else f"a {type(candidate).__name__}"  # no repr: theirs
        raise CannotBuild(plan, f"returned {what}, not an env with reset() and step()")
    return candidate


class Recording:
    """The calls made on one example's sessions, in order, kept for a reproduction outside
    pytest (:mod:`conformance.engine.reproduction` formats it, only when a violation is raised).

    ``ops`` holds ``(session index or None, op, argument)`` tuples, cheap to append: ``"+"`` a
    session is built (its argument ``"rotated"`` or ``None``, see :meth:`new_session`), ``"r"``
    ``reset(seed)``, ``"s"`` ``step(action)`` (the action's dtype, shape and bytes), ``"x"`` an
    unchecked step after the end, ``"p"``/``"R"``/``"S"`` a :class:`MidTrialPair` and its calls,
    ``"="``, ``"e"``, ``"d"`` a property's own checks, ``"z"`` a session's last check
    (:meth:`Session.end`).
    Sessions of one example that are compared (KMW-ATT-4, KMW-TSK-3) share one recording.
    ``keys`` names the key scheme (its ``name``); ``scheme`` is the first session's scheme
    object, which a reproduction names by its ``--kmw-keys`` value when it has one.
    """

    __slots__ = ("impl", "keys", "scheme", "benchmark", "plan", "target", "ops", "n_sessions",
                 "mute", "replaying", "_made")

    def __init__(self, impl: str | None = None, keys: Any = None, *,
                 replaying: bool = False) -> None:
        self.impl, self.keys, self.replaying = impl, keys, replaying
        self.scheme: Any = None
        self._made: tuple[tuple[int, str | None], Any] | None = None
        self.benchmark: Any = None
        self.plan: TrialPlan | None = None
        self.target: str | None = None
        self.ops: list[tuple[Any, str, Any]] = []
        self.n_sessions = 0
        self.mute = 0

    def add(self, sid: int | None, op: str, arg: Any = None) -> None:
        if not self.mute:
            self.ops.append((sid, op, arg))

    def new_session(self, factory: Any, benchmark: Any, plan: TrialPlan, target: str | None,
                    built_on: str | None = None, scheme: Any = None) -> int:
        """Record a session built (``built_on="rotated"``: on the first session's benchmark
        with its scripts rotated, :func:`~conformance.engine.scripted.rotated`; ``scheme``: its
        key scheme); its index."""
        if self.n_sessions == 0:
            self.benchmark, self.plan, self.target = benchmark, plan, target
            self.scheme = scheme
            if self.impl is None:
                self.impl = (f"{getattr(factory, '__module__', '?')}."
                             f"{getattr(factory, '__qualname__', '?')}")
        self.n_sessions += 1
        self.add(self.n_sessions - 1, "+", built_on)
        return self.n_sessions - 1

    def _reproduction(self, target: str | None) -> Any:
        """The :class:`~conformance.engine.reproduction.Reproduction` of the calls so far (made once
        per state: a violation asks for its text and its data)."""

        state = (len(self.ops), target)
        if self._made is None or self._made[0] != state:
            self._made = (state, Reproduction.of(self, target))
        return self._made[1]

    def reproduction(self, target: str | None) -> str:
        """Python that makes these calls again and raises the same violation ("" if replaying)."""
        if self.replaying:
            return ""
        try:
            return self._reproduction(target).source()
        except Exception as exc:  # noqa: BLE001 - never hide the violation itself
            return f"# no reproduction: {type(exc).__name__}: {exc}"

    def reproduction_data(self, target: str | None) -> dict[str, Any] | None:
        """:meth:`reproduction` as plain JSON data
        (:meth:`~conformance.engine.reproduction.Reproduction.to_json`), checked as ``python -m
        conformance.replay`` checks it; None if replaying, or if it cannot be made or would not
        pass that check (the text then says why, or is the only reproduction)."""
        if self.replaying:
            return None
        try:
            rep = self._reproduction(target)
            data = rep.to_json()
            rep.from_json(data)
            return data
        except Exception:  # noqa: BLE001 - never hide the violation itself
            return None


class CheckTally:
    """Counts, over a property's examples, how often its target requirement was checked."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.examples = 0
        self.checked = 0
        self.blocked_by: dict[str, int] = {}
        self._rejected_before = Rejected.raised

    @property
    def rejected(self) -> int:
        """Constructions the candidate rejected (:class:`Rejected`) since this tally began."""
        return Rejected.raised - self._rejected_before

    def block(self, blocked: Blocked) -> None:
        """Count an example stopped by another requirement's blocking finding."""
        rid = blocked.finding.req_id
        self.blocked_by[rid] = self.blocked_by.get(rid, 0) + 1

    def not_checked_reason(self) -> str | None:
        """``None`` when the target was checked at least once, else why not: the causes seen
        (another requirement's blocking finding, a rejected construction, the candidate raising),
        named without counts, so that a run meeting the same causes says the same."""
        if self.checked:
            return None
        rejects = ("the candidate rejects max_episode_length above the env's limit, as "
                   "KMW-EPL-2 allows")
        if self.rejected and self.rejected >= self.examples:
            return f"not checked: every construction was rejected ({rejects})"
        found = sorted(r for r in self.blocked_by if r != "KMW-IFC-6")
        causes = []
        if "KMW-IFC-6" in self.blocked_by:
            causes.append("the candidate could not be built where the examples needed it (see "
                          "KMW-IFC-6's outcome)")
        if found:
            which = "that requirement's" if len(found) == 1 else "those requirements'"
            causes.append(f"a blocking finding of {' or '.join(found)} stopped the examples "
                          f"first (see {which} outcome)")
        if self.rejected:
            causes.append(f"constructions were rejected ({rejects})")
        if not causes:
            causes.append("no example reached a call that checks it" if self.examples
                          else "no example ran")
        return f"not checked: no example could check {self.target}: " + "; ".join(causes)


def _read(candidate: Any, name: str) -> Any:
    """``getattr(candidate, name, None)``, ``None`` also when reading it raises (the model then
    cannot use it; the requirements about the attribute read it themselves)."""
    try:
        return getattr(candidate, name, None)
    except BaseException as exc:
        if not raised_by_candidate(exc):
            raise
        return None


class Session:
    """One candidate on one spied benchmark, checked call by call against the model.

    ``shares=other``: this candidate's benchmark is a copy of ``other``'s, sharing its env
    classes as Meta-World's copies do (see :class:`~conformance.engine.spy.SpyBenchmark`); the
    two are *peers*: a call of one that touches the env of the other's running trial is a
    KMW-SR-4 finding of the other (they share an env). ``observe=False``: this session's
    findings of other requirements are not observed (a :class:`MidTrialPair` decides what the
    interrupted candidate's findings are).
    """

    def __init__(
        self,
        candidate_factory: Callable[..., Any],
        benchmark: Any,
        plan: TrialPlan,
        keys: Any,
        target: str | None,
        obs_dim: int,
        *,
        impl: str | None = None,
        recording: Recording | None = None,
        built_on: str | None = None,
        shares: Session | None = None,
        observe: bool = True,
    ) -> None:
        self.recording = recording if recording is not None else Recording(
            impl, getattr(keys, "name", None))
        self.sid = self.recording.new_session(candidate_factory, benchmark, plan, target,
                                              built_on, keys)
        self.spy = SpyBenchmark(benchmark, shares=None if shares is None else shares.spy)
        self.log = self.spy.log
        self.peers: list[Session] = []
        self.foreign: list[Event] = []
        self.plan = plan
        self.target = target
        self.observe = observe
        self.last_findings: list[Finding] = []
        self.trace: deque[Any] = deque(maxlen=TRACE_LINES)
        self.split = plan.split
        self.split_tasks = self.spy.train_tasks if plan.split == "train" else self.spy.test_tasks
        split_classes = self.spy.train_classes if plan.split == "train" else self.spy.test_classes
        self.trace.append(f"Candidate(benchmark, split={plan.split!r}, k_episodes={plan.k}, "
                          f"max_episode_length={plan.max_len})"
                          + (f"; reward_scales={plan.reward_scales}" if plan.reward_scales else ""))
        try:
            self.candidate = build_candidate(candidate_factory, self.spy, plan)
        except CannotBuild as cannot:
            self.log.take()
            self._construction_failed(candidate_factory, benchmark, plan, split_classes, cannot)
        construction_events = self.log.take()
        self.model = TrialModel(ContractContext(
            k=plan.k, max_len=plan.max_len, split=plan.split, obs_dim=obs_dim,
            observation_space=_read(self.candidate, "observation_space"),
            keys=keys, split_tasks=self.split_tasks, split_classes=dict(split_classes),
            reward_scales=dict(plan.reward_scales)))
        if shares is not None:
            self.peers.append(shares)
            shares.peers.append(self)
        self.steps_in_trial = 0
        self.returned = ReturnedObjects()
        findings = self.model.on_construction(construction_events)
        if plan.reward_scales:
            try:
                self.candidate.reward_scales = dict(plan.reward_scales)
            except BaseException as exc:
                if not raised_by_candidate(exc):
                    raise
                findings.append(Finding("KMW-REW-1", "setting candidate.reward_scales on the "
                                        f"instance raised {describe_error(exc)}",
                                        "an attribute the suite can set (SPEC.md, 'The shape "
                                        "being tested')", describe_error(exc)))
        self._handle(findings)

    def _construction_failed(self, factory: Callable[..., Any], benchmark: Any, plan: TrialPlan,
                             split_classes: Any, cannot: CannotBuild) -> NoReturn:
        """Why the candidate could not be built on ``plan``'s arguments, raised.

        An L above an env class's own step limit may be rejected (KMW-EPL-2): when the same
        arguments with L at that limit build, the candidate *rejected* the L (:class:`Rejected`).
        An L equal to the limit may not be: when the same arguments with L one below it build,
        the candidate misreads KMW-EPL-2 (the root), and cannot be built (KMW-IFC-6) follows.
        Anything else is KMW-IFC-6 alone.
        """
        __tracebackhide__ = hide_frame
        limits = [getattr(c, "max_path_length", None) for c in split_classes.values()]
        limit = min((x for x in limits if isinstance(x, int)), default=None)

        def builds(length: int) -> bool:
            try:
                build_candidate(factory, SpyBenchmark(benchmark),
                                dataclasses.replace(plan, max_len=length))
            except CannotBuild:
                return False
            return True

        if limit is not None and plan.max_len > limit and builds(limit):
            raise Rejected(cannot.error) from cannot.__cause__
        findings = [cannot.finding]
        if limit is not None and plan.max_len >= limit > 1 and builds(limit - 1):
            # It builds below the env's limit but not at it: a misread of KMW-EPL-2.
            at_limit = dataclasses.replace(plan, max_len=limit)
            root = Finding("KMW-EPL-2", f"max_episode_length={limit}, equal to the env's own "
                           f"step limit, is rejected at construction (only an L above the limit "
                           f"may be): {construction_call(at_limit)} fails and "
                           f"max_episode_length={limit - 1} builds",
                           expected="a candidate built with L at the env's limit",
                           got=cannot.error)
            findings = [root, dataclasses.replace(cannot.finding, follows=root.req_id)]
        self._handle(findings)
        raise cannot  # not reached: every finding above blocks

    # -- reporting ----------------------------------------------------------------------------

    def where(self) -> str:
        m = self.model
        if not m.in_trial:
            return "before the first reset()"
        return (f"trial step {m.trial_steps} (attempt {m.attempt}, step {m.t} of it; "
                f"k={m.ctx.k}, max_episode_length={m.ctx.max_len})")

    def violation(self, f: Finding) -> ContractViolation:
        """``f`` as a violation of its requirement, here, with the trial so far and a
        reproduction."""
        return ContractViolation(
            f.req_id, f.summary, expected=f.expected, got=f.got,
            where=self.where() if hasattr(self, "model") else "construction",
            trace=self.trace_text(), reproduction=self.recording.reproduction(f.req_id),
            reproduction_data=self.recording.reproduction_data(f.req_id), follows=f.follows)

    def fail(self, summary: str, *, expected: Any = None, got: Any = None,
             req: str | None = None, exc: BaseException | None = None,
             follows: str | None = None) -> NoReturn:
        __tracebackhide__ = hide_frame
        violation = self.violation(Finding(req or self.target, summary, expected, got,
                                           follows=follows))
        if exc is not None:
            raise violation from exc
        raise violation

    def trace_text(self) -> str:
        """The last :data:`TRACE_LINES` lines of the trial log."""
        return "\n".join(str(line) for line in self.trace)

    def _handle(self, findings: list[Finding]) -> None:
        """Observe the findings of other requirements, fail the target's, stop at a blocking
        one (see the module docstring)."""
        __tracebackhide__ = hide_frame
        self.last_findings = findings
        if self.observe:
            for f in findings:
                if f.req_id != self.target and f.req_id not in OBSERVED:
                    OBSERVED.add(self.violation(f))
        if self.target is not None:
            for f in findings:
                if f.req_id == self.target:
                    self.fail(f.summary, expected=f.expected, got=f.got, follows=f.follows)
        for f in findings:
            if f.blocking:
                raise Blocked(f)

    def _check_foreign(self) -> None:
        """A peer's calls that touched this session's trial env since its last call."""
        __tracebackhide__ = hide_frame
        if self.foreign:
            events, self.foreign = self.foreign, []
            self._handle(self.model.on_foreign(events))

    def _tell_peers(self, events: list[Event]) -> None:
        for peer in self.peers:
            m = peer.model
            if m.in_trial and not m.trial_over:
                peer.foreign.extend(e for e in events if e.env_id == m.env_id)

    def _env_error(self, events: list[Event], exc: BaseException, call: str) -> NoReturn:
        """The candidate's ``call`` (``"reset()"``/``"step()"``) raised ``exc``: a finding of
        KMW-IFC-1 (the call must return), or of the env's error when the underlying env raised
        it (stepped past its own limit: KMW-EPL-2; past L: KMW-EPL-1; else KMW-ATT-1)."""
        __tracebackhide__ = hide_frame
        errors = [e for e in events if e.kind == "error"]
        if not errors:
            finding = Finding(self.model._check("KMW-IFC-1"),
                              f"{call} raised {describe_error(exc)}, where the contract "
                              f"expects it to return", "a return value", describe_error(exc))
        else:
            e = errors[0]
            past_limit = (e.limit is not None and e.path_length is not None
                          and e.path_length >= e.limit)
            if past_limit and e.limit < self.plan.max_len:
                req = "KMW-EPL-2"
                summary = (f"the candidate stepped the env past its own limit "
                           f"(max_path_length={e.limit}) and it raised: {describe_error(exc)}")
            elif past_limit:
                req = "KMW-EPL-1"
                summary = (f"the candidate stepped the env past max_episode_length and it "
                           f"raised: {describe_error(exc)}")
            else:
                req = "KMW-ATT-1"
                guess = " (stepped after its end?)" if e.call == "step" else ""
                summary = f"the env raised during {e.call}(){guess}: {describe_error(exc)}"
            finding = Finding(self.model._check(req), summary)
        try:
            self._handle([finding])
        except (ContractViolation, Blocked) as raised:
            raise raised from exc
        raise AssertionError("unreachable: the finding blocks")  # pragma: no cover

    # -- driving ------------------------------------------------------------------------------

    def reset(self, seed: int | None = None) -> Any:
        """``candidate.reset(seed=seed)``, checked."""
        self.recording.add(self.sid, "r", seed)
        __tracebackhide__ = hide_frame
        self.last_findings = []
        self._check_foreign()
        try:
            result = self.candidate.reset(seed=seed)
        except BaseException as exc:
            if not raised_by_candidate(exc):
                raise
            events = self.log.take()
            self._tell_peers(events)
            self._env_error(events, exc, "reset()")
        events = self.log.take()
        self._tell_peers(events)
        findings = self.model.on_reset(result, events, self.candidate)
        findings += self.returned.check(self.model, f"reset(seed={seed})", result, sweep=True)
        obs = result[0] if isinstance(result, tuple) and result else result
        self.trace.append(f"reset(seed={seed}) -> task {self._task_label()}, "
                          f"obs {_describe_obs(obs)}")
        self.steps_in_trial = 0
        self._handle(findings)
        return result

    def step(self, action: np.ndarray) -> Any:
        """``candidate.step(action)``, checked."""
        self.recording.add(self.sid, "s", action_record(action))
        __tracebackhide__ = hide_frame
        m = self.model
        attempt, t = m.attempt, m.t + 1
        self.last_findings = []
        self._check_foreign()
        try:
            result = self.candidate.step(action)
        except BaseException as exc:
            if not raised_by_candidate(exc):
                raise
            events = self.log.take()
            self._tell_peers(events)
            self._env_error(events, exc, "step()")
        events = self.log.take()
        self._tell_peers(events)
        findings = self.model.on_step(result, events, self.candidate)
        findings += self.returned.check(self.model, f"step {self.steps_in_trial + 1} of the trial",
                                        result)
        self.steps_in_trial += 1
        self.trace.append(StepLine(self.steps_in_trial, attempt, t, events, _frozen(result),
                                   getattr(self.model.ctx.keys, "prefix", PREFIX)))
        self._handle(findings)
        return result

    def step_unchecked(self, action: np.ndarray) -> None:
        """``candidate.step(action)`` after the trial's end, its error (if any) and env calls
        ignored (KMW-ATT-5 has its own property)."""
        self.recording.add(self.sid, "x", action_record(action))
        try:
            self.candidate.step(action)
        except BaseException as exc:  # allowed here
            if not raised_by_candidate(exc):
                raise
        self._tell_peers(self.log.take())

    def trial(self, seed: int | None, action_offset: int = 0) -> Iterator[int]:
        """Reset, then step until the trial is over by the model or the candidate, one call at
        a time: yields the number of steps run after each call (the reset's yield is 0)."""
        __tracebackhide__ = hide_frame
        self.reset(seed)
        yield 0
        limit = self.plan.k * self.plan.max_len + 1
        n = 0
        while not self.model.trial_over and n < limit:
            result = self.step(self.plan.action(action_offset + n))
            n += 1
            yield n
            if isinstance(result, tuple) and len(result) == 5 and (result[2] or result[3]):
                break

    def run_trial(self, seed: int | None, action_offset: int = 0) -> int:
        """:meth:`trial` run through; the number of steps run."""
        __tracebackhide__ = hide_frame
        n = 0
        for n in self.trial(seed, action_offset):  # noqa: B007 - the last count is the result
            pass
        return n

    def end(self) -> None:
        """The session's last check: every observation and ``info`` the candidate returned is
        still as it was returned (KMW-OBS-4, KMW-LOG-5)."""
        __tracebackhide__ = hide_frame
        self.recording.add(self.sid, "z")
        self.last_findings = []
        self._handle(self.returned.check(self.model, "the candidate's last call", _NO_RESULT,
                                         everything=True))

    def _task_label(self) -> str:
        task = self.model.task
        if decode_task(task) is not None:
            return task_label(task)
        return f"{self.model.task_name}"


def _describe_obs(obs: Any) -> str:
    try:
        arr = np.asarray(obs, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        return repr(obs)[:60]
    if arr.size == 0:
        return "[]"
    return f"[{', '.join(f'{v:g}' for v in arr[:3])}, ..., flag={arr[-1]:g}]"


class StepLine:
    """One step of the trial log, formatted only when a failure prints it."""

    __slots__ = ("n", "attempt", "t", "events", "result", "prefix")

    def __init__(self, n: int, attempt: int, t: int, events: list[Event], result: Any,
                 prefix: str) -> None:
        self.n, self.attempt, self.t, self.events, self.result = n, attempt, t, events, result
        self.prefix = prefix

    def __str__(self) -> str:
        return _describe_step(self.n, self.attempt, self.t, self.events, self.result, self.prefix)


def _describe_step(n: int, attempt: int, t: int, events: list[Event], result: Any,
                   prefix: str) -> str:
    """One line of the trial log; ``info`` keys containing the key scheme's ``prefix`` (its
    logging keys, and misnamed ones) are shown."""
    env = ", ".join(
        f"env.{e.kind}" + (f"(r={e.reward:g}{', term' if e.terminated else ''}"
                           f"{', trunc' if e.truncated else ''}"
                           f"{', success' if e.info.get('success') else ''})"
                           if e.kind == "step" else "")
        for e in events)
    if isinstance(result, tuple) and len(result) == 5:
        obs, r, term, trunc, info = result
        logged = {k: v for k, v in info.items() if prefix in str(k)} \
            if isinstance(info, dict) else info
        out = (f"-> r={r}, terminated={term}, truncated={trunc}, obs {_describe_obs(obs)}"
               + (f", logged {logged}" if logged else ""))
    else:
        out = f"-> {result!r:.80}"
    return f"step {n} (model: attempt {attempt}, step {t}): [{env}] {out}"


#: Requirements whose findings depend on what a candidate did before, not on the trial state:
#: objects returned earlier changed (only the interrupted candidate has earlier objects).
HISTORY_FINDINGS = frozenset({"KMW-OBS-4", "KMW-LOG-5"})


def _history_dependent(req_id: str) -> bool:
    """Findings :class:`MidTrialPair` does not compare: which task a reset draws (KMW-TSK-*:
    the two candidates' draws may differ legitimately, e.g. when seeds are ignored) and
    :data:`HISTORY_FINDINGS`. Each has its own property."""
    return req_id.startswith("KMW-TSK-") or req_id in HISTORY_FINDINGS


class MidTrialPair:
    """KMW-ATT-4 as a differential check: a candidate reset in the middle of a trial must then
    behave as a fresh candidate does.

    ``interrupted`` and ``fresh`` are two candidates built the same way on equal benchmarks whose
    split has a single task with a single attempt script, so both run the same task on the same
    data whatever they draw. After :meth:`interrupt` (a partial trial on ``interrupted``), every
    call is made on both and the model's findings compared: a finding of the interrupted
    candidate that the fresh one does not have is a KMW-ATT-4 violation (the root: its own
    requirement's finding follows from the reset, and is not observed). Findings both share
    are other requirements' business: the fresh candidate's are observed as usual.
    """

    target = "KMW-ATT-4"

    def __init__(self, fresh: Session, interrupted: Session) -> None:
        self.fresh = fresh
        self.interrupted = interrupted
        self.recording = interrupted.recording
        self.recording.add(None, "p", (fresh.sid, interrupted.sid))

    def interrupt(self, seed: int | None, steps: int, action: Callable[[int], np.ndarray]) -> None:
        """Start a trial on ``interrupted`` and step it ``steps`` times (never to its end)."""
        __tracebackhide__ = hide_frame
        s = self.interrupted
        s.reset(seed)
        for i in range(steps):
            if s.model.trial_over or s.model.t + 1 >= s.plan.max_len and \
                    s.model.attempt == s.plan.k - 1:
                break
            s.step(action(i))

    def _both(self, call: Callable[[Session], Any], what: str) -> None:
        __tracebackhide__ = hide_frame
        blocked = []
        self.recording.mute += 1
        try:
            for session in (self.interrupted, self.fresh):
                try:
                    call(session)
                except Blocked as exc:
                    blocked.append(exc)
        finally:
            self.recording.mute -= 1
        fresh_ids = {f.req_id for f in self.fresh.last_findings}
        extra = [f for f in self.interrupted.last_findings
                 if f.req_id not in fresh_ids and not _history_dependent(f.req_id)]
        if extra:
            f = extra[0]
            s = self.interrupted
            raise ContractViolation(
                self.target,
                f"after a reset() in the middle of a trial, {what}: {f.summary} ({f.req_id}); "
                f"a fresh candidate on the same task does not do that",
                expected=f.expected, got=f.got, where=s.where(),
                trace=s.trace_text(), reproduction=self.recording.reproduction(self.target),
                reproduction_data=self.recording.reproduction_data(self.target))
        if blocked:
            raise blocked[0]

    def reset(self, seed: int | None) -> None:
        """``reset(seed)`` on both (for ``interrupted``, in the middle of its trial)."""
        self.recording.add(None, "R", seed)
        __tracebackhide__ = hide_frame
        self.interrupted.observe = False  # from here on its findings are compared
        self._both(lambda s: s.reset(seed), f"reset(seed={seed})")

    def step(self, action: np.ndarray) -> None:
        """``step(action)`` on both."""
        self.recording.add(None, "S", action_record(action))
        __tracebackhide__ = hide_frame
        n = self.fresh.model.trial_steps + 1
        self._both(lambda s: s.step(action), f"step {n} of the new trial")

    @property
    def trial_over(self) -> bool:
        return self.fresh.model.trial_over or self.interrupted.model.trial_over
