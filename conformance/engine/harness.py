"""Drive a candidate beside the trusted model and turn differences into contract violations.

A :class:`Session` is one candidate built on a spied benchmark, with a :class:`TrialModel`
beside it. Each ``reset``/``step`` goes to the candidate, then the model is fed the result and
the env calls the candidate made, and every :class:`Finding` is handled for the property's
*target* requirement:

- a finding of the target raises :class:`ContractViolation` (the property fails);
- a blocking finding of another requirement raises :class:`Blocked`: the model can no longer
  follow the candidate, so the example stops there (that requirement has its own property);
- other findings are ignored by this property.

An exception raised by the candidate fails the target requirement with the candidate's
traceback chained, unless the underlying env raised it (stepped past its limit or its end),
which is a finding of its own.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from conformance.engine.keys import PREFIX
from conformance.engine.model import ContractContext, Finding, TrialModel
from conformance.engine.plan import TrialPlan
from conformance.engine.returned import NO_RESULT as _NO_RESULT
from conformance.engine.returned import ReturnedObjects
from conformance.engine.returned import frozen as _frozen
from conformance.engine.scripted import decode_task, task_label
from conformance.engine.spy import Event, SpyBenchmark
from conformance.engine.violations import ContractViolation, hide_frame

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


class CannotBuild(Exception):
    """The candidate raised at construction with valid arguments: nothing can be checked on
    it. Properties turn this into a failure of their (MUST) target or a not-checked (SHOULD)."""

    def __init__(self, plan: TrialPlan, exc: BaseException) -> None:
        self.call = (f"Candidate(benchmark, {plan.split!r}, {plan.k}, "
                     f"max_episode_length={plan.max_len})")
        self.error = f"{type(exc).__name__}: {exc}"
        super().__init__(f"the candidate cannot be built on valid arguments: {self.call} "
                         f"raised {self.error}")


class Recording:
    """The calls made on one example's sessions, in order, kept for a reproduction outside
    pytest (:mod:`conformance.engine.replay` formats it, only when a violation is raised).

    ``ops`` holds ``(session index or None, op, argument)`` tuples, cheap to append: ``"+"`` a
    session is built (its argument ``"rotated"`` or ``None``, see :meth:`new_session`), ``"r"``
    ``reset(seed)``, ``"s"`` ``step(action)`` (the action's dtype, shape and bytes), ``"x"`` an
    unchecked step after the end, ``"p"``/``"R"``/``"S"`` a :class:`MidTrialPair` and its calls,
    ``"="``, ``"e"``, ``"d"`` a property's own checks, ``"z"`` a session's last check
    (:meth:`Session.end`).
    Sessions of one example that are compared (KMW-ATT-4, KMW-TSK-3) share one recording.
    """

    __slots__ = ("impl", "keys", "benchmark", "plan", "target", "ops", "n_sessions", "mute",
                 "replaying")

    def __init__(self, impl: str | None = None, keys: Any = None, *,
                 replaying: bool = False) -> None:
        self.impl, self.keys, self.replaying = impl, keys, replaying
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
                    built_on: str | None = None) -> int:
        """Record a session built (``built_on="rotated"``: on the first session's benchmark
        with its scripts rotated, :func:`~conformance.engine.scripted.rotated`); its index."""
        if self.n_sessions == 0:
            self.benchmark, self.plan, self.target = benchmark, plan, target
            if self.impl is None:
                self.impl = (f"{getattr(factory, '__module__', '?')}."
                             f"{getattr(factory, '__qualname__', '?')}")
        self.n_sessions += 1
        self.add(self.n_sessions - 1, "+", built_on)
        return self.n_sessions - 1

    def reproduction(self, target: str | None) -> str:
        """Python that makes these calls again and raises the same violation ("" if replaying)."""
        if self.replaying:
            return ""
        try:
            from conformance.engine.replay import snippet

            return snippet(self, target)
        except Exception as exc:  # noqa: BLE001 - never hide the violation itself
            return f"# no reproduction: {type(exc).__name__}: {exc}"


def _action_record(action: Any) -> Any:
    arr = np.asarray(action)
    return (arr.dtype.str, arr.shape, arr.tobytes())


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
        found = sorted(r for r in self.blocked_by if r.startswith("KMW-"))
        causes = []
        if found:
            which = "that requirement's" if len(found) == 1 else "those requirements'"
            causes.append(f"a blocking finding of {' or '.join(found)} stopped the examples "
                          f"first (see {which} outcome)")
        if any(not r.startswith("KMW-") for r in self.blocked_by):
            causes.append("the candidate raised before the examples got there")
        if self.rejected:
            causes.append(f"constructions were rejected ({rejects})")
        if not causes:
            causes.append("no example reached a call that checks it" if self.examples
                          else "no example ran")
        return f"not checked: no example could check {self.target}: " + "; ".join(causes)


class Session:
    """One candidate on one spied benchmark, checked call by call against the model."""

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
    ) -> None:
        self.recording = recording if recording is not None else Recording(
            impl, getattr(keys, "name", None))
        self.sid = self.recording.new_session(candidate_factory, benchmark, plan, target,
                                              built_on)
        self.spy = SpyBenchmark(benchmark)
        self.log = self.spy.log
        self.plan = plan
        self.target = target
        self.last_findings: list[Finding] = []
        self.trace: deque[Any] = deque(maxlen=TRACE_LINES)
        self.split = plan.split
        self.split_tasks = self.spy.train_tasks if plan.split == "train" else self.spy.test_tasks
        split_classes = self.spy.train_classes if plan.split == "train" else self.spy.test_classes
        limits = [getattr(c, "max_path_length", None) for c in split_classes.values()]
        min_limit = min((x for x in limits if isinstance(x, int)), default=None)
        try:
            self.candidate = candidate_factory(self.spy, plan.split, plan.k,
                                               max_episode_length=plan.max_len)
        except Exception as exc:
            if min_limit is not None and plan.max_len > min_limit:
                raise Rejected(str(exc)) from exc
            raise CannotBuild(plan, exc) from exc
        construction_events = self.log.take()
        if plan.reward_scales:
            self.candidate.reward_scales = dict(plan.reward_scales)
        self.model = TrialModel(ContractContext(
            k=plan.k, max_len=plan.max_len, split=plan.split, obs_dim=obs_dim,
            observation_space=getattr(self.candidate, "observation_space", None),
            keys=keys, split_tasks=self.split_tasks, split_classes=dict(split_classes)))
        self.model.note_events(construction_events)
        self.trace.append(f"Candidate(benchmark, split={plan.split!r}, k_episodes={plan.k}, "
                          f"max_episode_length={plan.max_len})"
                          + (f"; reward_scales={plan.reward_scales}" if plan.reward_scales else ""))
        self.steps_in_trial = 0
        self.returned = ReturnedObjects()

    # -- reporting ----------------------------------------------------------------------------

    def where(self) -> str:
        m = self.model
        if not m.in_trial:
            return "before the first reset()"
        return (f"trial step {m.trial_steps} (attempt {m.attempt}, step {m.t} of it; "
                f"k={m.ctx.k}, max_episode_length={m.ctx.max_len})")

    def fail(self, summary: str, *, expected: Any = None, got: Any = None,
              req: str | None = None, exc: BaseException | None = None) -> None:
        __tracebackhide__ = hide_frame
        violation = ContractViolation(
            req or self.target, summary, expected=expected, got=got,
            where=self.where() if hasattr(self, "model") else "construction",
            trace=self.trace_text(), reproduction=self.recording.reproduction(req or self.target))
        if exc is not None:
            raise violation from exc
        raise violation

    def trace_text(self) -> str:
        """The last :data:`TRACE_LINES` lines of the trial log."""
        return "\n".join(str(line) for line in self.trace)

    def _handle(self, findings: list[Finding]) -> None:
        __tracebackhide__ = hide_frame
        self.last_findings = findings
        if self.target is None:  # collect mode: the caller compares findings
            for f in findings:
                if f.blocking:
                    raise Blocked(f)
            return
        for f in findings:
            if f.req_id == self.target:
                self.fail(f.summary, expected=f.expected, got=f.got)
        for f in findings:
            if f.blocking:
                raise Blocked(f)

    def _env_error(self, events: list[Event], exc: BaseException) -> None:
        __tracebackhide__ = hide_frame
        errors = [e for e in events if e.kind == "error"]
        if not errors and self.target is None:
            finding = Finding("candidate raised", f"{type(exc).__name__}: {exc}")
            self.last_findings = [finding]
            raise Blocked(finding)
        if not errors:
            self.fail(f"the candidate raised {type(exc).__name__}: {exc}", exc=exc)
        e = errors[0]
        past_limit = e.limit is not None and e.path_length is not None and e.path_length >= e.limit
        if past_limit and e.limit < self.plan.max_len:
            req = "KMW-EPL-2"
            summary = (f"the candidate stepped the env past its own limit "
                       f"(max_path_length={e.limit}) and it raised: {exc}")
        elif past_limit:
            req = "KMW-EPL-1"
            summary = f"the candidate stepped the env past max_episode_length and it raised: {exc}"
        else:
            req = "KMW-ATT-1"
            guess = " (stepped after its end?)" if e.call == "step" else ""
            summary = f"the env raised during {e.call}(){guess}: {exc}"
        finding = Finding(req, summary)
        self.last_findings = [finding]
        self.model.checked.add(req)
        if req == self.target:
            self.fail(summary, exc=exc)
        raise Blocked(finding)

    # -- driving ------------------------------------------------------------------------------

    def reset(self, seed: int | None = None) -> Any:
        """``candidate.reset(seed=seed)``, checked."""
        self.recording.add(self.sid, "r", seed)
        __tracebackhide__ = hide_frame
        self.last_findings = []
        try:
            result = self.candidate.reset(seed=seed)
        except Exception as exc:
            self._env_error(self.log.take(), exc)
        events = self.log.take()
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
        self.recording.add(self.sid, "s", _action_record(action))
        __tracebackhide__ = hide_frame
        m = self.model
        attempt, t = m.attempt, m.t + 1
        self.last_findings = []
        try:
            result = self.candidate.step(action)
        except Exception as exc:
            self._env_error(self.log.take(), exc)
        events = self.log.take()
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
        self.recording.add(self.sid, "x", _action_record(action))
        try:
            self.candidate.step(action)
        except Exception:  # noqa: BLE001 - allowed here
            pass
        self.log.take()

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
    candidate that the fresh one does not have is a KMW-ATT-4 violation. Findings both share
    are other requirements' business.
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
                trace=s.trace_text(), reproduction=self.recording.reproduction(self.target))
        if blocked:
            raise blocked[0]

    def reset(self, seed: int | None) -> None:
        """``reset(seed)`` on both (for ``interrupted``, in the middle of its trial)."""
        self.recording.add(None, "R", seed)
        __tracebackhide__ = hide_frame
        self._both(lambda s: s.reset(seed), f"reset(seed={seed})")

    def step(self, action: np.ndarray) -> None:
        """``step(action)`` on both."""
        self.recording.add(None, "S", _action_record(action))
        __tracebackhide__ = hide_frame
        n = self.fresh.model.trial_steps + 1
        self._both(lambda s: s.step(action), f"step {n} of the new trial")

    @property
    def trial_over(self) -> bool:
        return self.fresh.model.trial_over or self.interrupted.model.trial_over
