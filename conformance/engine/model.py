"""The trusted model of the contract, run beside a candidate and compared after every call.

:class:`TrialModel` is fed, after each ``reset()`` or ``step()`` of the candidate, what the
candidate returned and what the spied underlying env did during that call
(:class:`conformance.engine.spy.Event` s). From the env's events alone it derives what the contract
says the candidate must have returned, and reports every difference as a :class:`Finding`
tagged with the requirement ID it breaks. It never looks at the candidate's code or state,
only at its outputs and the env calls it made.

Findings marked ``blocking`` leave the model unsure of the candidate's state (an attempt
ended at the wrong step, a missing soft reset, ...): a property that is not about that
requirement stops the trial there. Non-blocking findings (a wrong dtype, a wrong reward
scale, a wrong logged value) leave the model in step with the candidate.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field, replace
from typing import Any

import gymnasium as gym
import numpy as np

from conformance.engine.spy import Event
from conformance.engine.violations import raised_by_candidate


@dataclass(frozen=True)
class Finding:
    """A difference between the candidate and the contract."""

    req_id: str
    summary: str
    expected: Any = None
    got: Any = None
    blocking: bool = True
    #: The requirement whose finding at the same call this one is a consequence of.
    follows: str | None = None


def _is_bool(x: Any) -> bool:
    return isinstance(x, (bool, np.bool_))


def _is_real(x: Any) -> bool:
    return isinstance(x, (numbers.Real, np.floating, np.integer)) and not _is_bool(x)


def _num_eq(a: Any, b: float) -> bool:
    try:
        return math.isclose(float(a), float(b), rel_tol=1e-6, abs_tol=1e-9)
    except (TypeError, ValueError):
        return False


def _space_contains(space: Any, arr: np.ndarray) -> bool:
    """``space.contains(arr)`` for an array (``True`` for a space without ``contains``); a
    gymnasium ``Box`` is asked the very questions its ``contains`` asks, without its overhead."""
    if type(space) is gym.spaces.Box:
        return bool(np.can_cast(arr.dtype, space.dtype) and arr.shape == space.shape
                    and (arr >= space.low).all() and (arr <= space.high).all())
    return not hasattr(space, "contains") or bool(space.contains(arr))


def _short(obs: Any, n: int = 4) -> str:
    arr = np.asarray(obs).ravel()
    head = ", ".join(f"{v:g}" for v in arr[:n])
    return f"[{head}, ... ({arr.size} values, {np.asarray(obs).dtype})]"


#: The logging requirements whose keys a scheme may lack: per requirement, each key it checks,
#: as (the scheme's attribute, the arguments to call it with or ``None`` for a property, the
#: key's name in a not-checked reason).
_OPTIONAL_KEYS: dict[str, tuple[tuple[str, tuple[int, ...] | None, str], ...]] = {
    "KMW-LOG-2": (("ret", (0,), "per-attempt return"),),
    "KMW-LOG-3": (("total_successes", None, "total-successes"),
                  ("success_rate", None, "success-rate")),
}


def unkeyed_reason(keys: Any, req_id: str, not_checked: str | None) -> str | None:
    """The not-checked reason of ``req_id`` under the key scheme ``keys``.

    ``not_checked`` is the property's own reason (``None`` when the target was checked). A
    requirement the scheme has every key of keeps it. One the scheme has no key of is not
    checked *because of the scheme*, whatever the examples did: "not checked: the key scheme
    'amago' has no per-attempt return key". One it has some keys of (KMW-LOG-3 with a total but
    no rate) was checked on those keys (a wrong value there fails it), and is reported not
    checked for the missing ones, naming them. The text depends only on the scheme and on
    whether the target was checked, never on example counts, so it is the same on every run.
    """
    parts = _OPTIONAL_KEYS.get(req_id)
    if not parts:
        return not_checked
    have, missing = [], []
    for attr, args, name in parts:
        value = getattr(keys, attr, None)
        if args is not None and callable(value):
            value = value(*args)
        (have if value is not None else missing).append(name)
    if not missing:
        return not_checked
    scheme = getattr(keys, "name", "?")
    lacks = f"the key scheme {scheme!r} has no " + " and no ".join(f"{m} key" for m in missing)
    if not have:
        return f"not checked: {lacks}"
    if not_checked is None:
        return f"not checked: {lacks} (its {' and '.join(have)} key was checked)"
    return f"{not_checked}; and {lacks}"


@dataclass
class ContractContext:
    """What the model knows about the candidate and the benchmark it was built on."""

    k: int
    max_len: int
    split: str
    obs_dim: int
    observation_space: Any
    keys: Any
    split_tasks: list[Any]
    split_classes: dict[str, type]
    reward_scales: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class StepView:
    """One candidate ``step()`` as the model's step rules see it.

    ``vec``: the observation as a float64 vector (``None`` if it is not one); ``env_step``: the
    env's step event behind it; ``done``: ``terminated or truncated``; ``flag``: the
    observation's last entry (``None`` without ``vec``); ``env_end``: the env ended the attempt;
    ``resets_after``/``tasks_after``: the env resets and task changes after the env's step;
    ``info``: the candidate's info dict.
    """

    vec: np.ndarray | None
    env_step: Event
    done: bool
    flag: float | None
    env_end: bool
    resets_after: list[Event]
    tasks_after: list[Event]
    info: dict


@dataclass
class TrialModel:
    """The contract's state machine for one candidate: trials, attempts, steps and logs."""

    ctx: ContractContext
    in_trial: bool = False
    trial_over: bool = True
    env_id: int | None = None
    task: Any = None
    task_name: str | None = None
    attempt: int = 0
    t: int = 0
    trial_steps: int = 0
    env_ended_in_trial: bool = False
    attempt_return: float = 0.0
    attempt_success: bool = False
    successes: int = 0
    checked: set[str] = field(default_factory=set)
    env_tasks: dict[int, Any] = field(default_factory=dict)

    # -- helpers ------------------------------------------------------------------------------

    def _check(self, req: str) -> str:
        self.checked.add(req)
        return req

    def _obs_findings(self, obs: Any) -> list[Finding]:
        """KMW-OBS-2: shape, dtype and bounds of any observation."""
        out = []
        req = self._check("KMW-OBS-2")
        shape = (self.ctx.obs_dim + 1,)
        arr = obs if isinstance(obs, np.ndarray) else None
        if arr is None or arr.shape != shape or arr.dtype != np.float32:
            out.append(Finding(req, "observation has the wrong type, shape or dtype",
                               f"np.ndarray {shape} float32",
                               f"{type(obs).__name__} {getattr(obs, 'shape', None)} "
                               f"{getattr(obs, 'dtype', None)}", blocking=False))
        elif not _space_contains(self.ctx.observation_space, arr):
            out.append(Finding(req, "observation lies outside observation_space",
                               "an observation inside observation_space", _short(arr),
                               blocking=False))
        return out

    def _as_vector(self, obs: Any) -> np.ndarray | None:
        try:
            arr = np.asarray(obs, dtype=np.float64).ravel()
        except (TypeError, ValueError):
            return None
        return arr if arr.size == self.ctx.obs_dim + 1 else None

    def _log_findings(self, info: dict[str, Any], expected: dict[str, float],
                      value_req: dict[str, str]) -> list[Finding]:
        """Logging keys: each expected key present with its value; no other key of the family."""
        keys = self.ctx.keys
        out = []
        for key, value in expected.items():
            req = self._check(value_req[key])
            if key not in info:
                out.append(Finding(req, f"info lacks {key!r}", f"{key!r}: {value:g}",
                                   f"keys {sorted(k for k in info if keys.is_logging_key(k))}",
                                   blocking=False))
            elif not _num_eq(info[key], value):
                out.append(Finding(req, f"info[{key!r}] has the wrong value", value, info[key],
                                   blocking=False))
        req = self._check("KMW-LOG-4")
        extra = sorted(k for k in info if keys.is_logging_key(k) and k not in expected)
        if extra:
            out.append(Finding(req, "logging keys present on a step they do not belong to",
                               sorted(expected) or "no logging key", extra, blocking=False))
        return out

    def _expected_logs(self, final: bool) -> tuple[dict[str, float], dict[str, str]]:
        keys = self.ctx.keys
        exp: dict[str, float] = {}
        req: dict[str, str] = {}
        i = self.attempt
        exp[keys.success(i)] = 1.0 if self.attempt_success else 0.0
        req[keys.success(i)] = "KMW-LOG-1"
        if keys.ret(i) is not None:
            exp[keys.ret(i)] = self.attempt_return
            req[keys.ret(i)] = "KMW-LOG-2"
        if final:
            total = self.successes + int(self.attempt_success)
            if keys.total_successes is not None:
                exp[keys.total_successes] = float(total)
                req[keys.total_successes] = "KMW-LOG-3"
            if keys.success_rate is not None:
                exp[keys.success_rate] = total / self.ctx.k
                req[keys.success_rate] = "KMW-LOG-3"
        return exp, req

    def _in_split(self, task: Any) -> bool:
        return any(task is t for t in self.ctx.split_tasks) or task in self.ctx.split_tasks

    def note_events(self, events: list[Event]) -> None:
        """Follow which task each env has from its ``set_task`` events (also those made outside
        checked calls, e.g. at construction)."""
        for e in events:
            if e.kind == "set_task":
                self.env_tasks[e.env_id] = e.task

    def _set_task_findings(self, events: list[Event]) -> list[Finding]:
        """KMW-TSK-1 on every ``set_task`` in ``events``: a task of the split's own tasks, on
        an env of one of the split's classes."""
        f: list[Finding] = []
        req = self._check("KMW-TSK-1")
        for e in events:
            if e.kind != "set_task":
                continue
            if not self._in_split(e.task):
                f.append(Finding(req, f"set a task that is not in the {self.ctx.split} split's tasks",
                                 f"a task of {self.ctx.split}_tasks", f"task {e.task!r:.120}",
                                 blocking=False))
            elif e.env_name not in self.ctx.split_classes:
                f.append(Finding(req, f"set a task on an env whose class is not in "
                                 f"{self.ctx.split}_classes", sorted(self.ctx.split_classes),
                                 e.env_name, blocking=False))
        return f

    def on_construction(self, events: list[Event]) -> list[Finding]:
        """Check what the constructor did to envs (KMW-TSK-1 covers its ``set_task`` calls too,
        e.g. one made to read the spaces) and follow the tasks it set."""
        self.note_events(events)
        return [replace(f, summary=f"at construction: {f.summary}")
                for f in self._set_task_findings(events)]

    def on_foreign(self, events: list[Event]) -> list[Finding]:
        """Check ``events``: calls another instance's ``reset``/``step`` made on this
        candidate's envs. One on the env of the running trial breaks KMW-SR-4 (the trial's env
        keeps its task and is reset only between attempts): the instances share it."""
        if not self.in_trial or self.trial_over:
            return []
        touched = [e for e in events if e.env_id == self.env_id
                   and e.kind in ("set_task", "reset", "step", "error")]
        if not touched:
            return []
        req = self._check("KMW-SR-4")
        return [Finding(req, "the trial's env was used by another instance of the candidate in "
                        "the middle of this trial: instances share an env (e.g. one cached per "
                        "env class, and Meta-World's classes are shared)",
                        f"env #{self.env_id} used by this candidate's calls only",
                        f"another instance's call made {[e.kind for e in touched]} on it")]

    # -- reset ----------------------------------------------------------------------------------

    def on_reset(self, result: Any, events: list[Event], candidate: Any) -> list[Finding]:
        """Check a ``reset()`` and start a new trial in the model."""
        f: list[Finding] = []
        req = self._check("KMW-IFC-1")
        if not (isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], dict)):
            f.append(Finding(req, "reset() must return (obs, info) with info a dict",
                             "(obs, dict)", f"{type(result).__name__}: {result!r:.120}"))
            return f
        obs, info = result

        resets = [e for e in events if e.kind == "reset"]
        set_tasks = [e for e in events if e.kind == "set_task"]
        f += self._set_task_findings(events)
        req = "KMW-TSK-1"
        self.note_events(events)
        last: Event | None = resets[-1] if resets else None
        if last is None:
            no_reset = Finding(self._check("KMW-OBS-3"), "reset() did not reset the underlying "
                               "env: its observation is not from an env reset of this trial",
                               "an underlying reset()", "none")
            if set_tasks or self.env_id is None or self.env_tasks.get(self.env_id) is None:
                f.append(no_reset)  # no env and task the new trial can be taken to run on
                return f
            # The new trial runs on the env and task it had: the model can follow it (and what
            # it then draws is still checked, KMW-TSK-2).
            f.append(replace(no_reset, blocking=False))
        env_id = last.env_id if last is not None else self.env_id
        self.task = self.env_tasks.get(env_id)
        if self.task is None:
            f.append(Finding(req, "reset() reset an env on which no task of the split was set",
                             "set_task(task) before the env's reset()", "no set_task"))
            return f
        if not set_tasks and not self._in_split(self.task):
            f.append(Finding(req, f"the trial runs a task that is not in the {self.ctx.split} "
                             f"split's tasks", f"a task of {self.ctx.split}_tasks",
                             f"task {self.task!r:.120}", blocking=False))
        if last is not None:
            self.env_id = last.env_id
            self.task_name = last.env_name
        self.in_trial, self.trial_over = True, False
        self.attempt = self.t = self.trial_steps = 0
        self.env_ended_in_trial = False
        self.attempt_return, self.attempt_success, self.successes = 0.0, False, 0

        f += self._task_name_findings(candidate)
        f += self._obs_findings(obs)
        vec = self._as_vector(obs)
        if vec is not None and last is not None:
            req = self._check("KMW-OBS-3")
            want = last.obs.astype(np.float32).astype(np.float64).ravel()
            if not np.array_equal(vec[:-1], want):
                f.append(Finding(req, "reset observation is not the underlying env's reset "
                                 "observation", _short(want), _short(vec[:-1]), blocking=False))
        if vec is not None:
            req = self._check("KMW-SR-1")
            if vec[-1] != 1.0:
                f.append(Finding(req, "flag on the observation from reset() must be 1.0", 1.0,
                                 float(vec[-1]), blocking=False))
        f += self._log_findings(info, {}, {})
        return f

    def _task_name_findings(self, candidate: Any) -> list[Finding]:
        req = self._check("KMW-IFC-5")
        try:
            got = getattr(candidate, "task_name", None)
        except BaseException as exc:  # the candidate's property raised
            if not raised_by_candidate(exc):
                raise
            return [Finding(req, f"reading task_name raised {type(exc).__name__}",
                            self.task_name, f"{type(exc).__name__}: {exc!s:.200}",
                            blocking=False)]
        if got != self.task_name:
            return [Finding(req, "task_name does not name the class of the trial's task",
                            self.task_name, got, blocking=False)]
        return []

    # -- step -----------------------------------------------------------------------------------

    def on_step(self, result: Any, events: list[Event], candidate: Any) -> list[Finding]:
        """Check one ``step()`` of the trial and advance the model."""
        f: list[Finding] = []
        req = self._check("KMW-IFC-1")
        if not (isinstance(result, tuple) and len(result) == 5):
            f.append(Finding(req, "step() must return (obs, reward, terminated, truncated, info)",
                             "a 5-tuple", f"{type(result).__name__}: {result!r:.120}"))
            return f
        obs, reward, terminated, truncated, info = result
        if not _is_real(reward) or not _is_bool(terminated) or not _is_bool(truncated) \
                or not isinstance(info, dict):
            f.append(Finding(req, "step() returned the wrong types",
                             "(obs, real reward, bool, bool, dict)",
                             f"({type(obs).__name__}, {type(reward).__name__}, "
                             f"{type(terminated).__name__}, {type(truncated).__name__}, "
                             f"{type(info).__name__})", blocking=not isinstance(info, dict)))
            if not isinstance(info, dict):
                return f
        done = bool(terminated) or bool(truncated)

        steps = [e for e in events if e.kind == "step"]
        if len(steps) != 1 or steps[0].env_id != self.env_id:
            f.append(Finding("KMW-SR-4", "one step() must step the trial's env exactly once",
                             f"1 step of env #{self.env_id}",
                             f"{[(e.kind, e.env_id) for e in events]}"))
            return f
        s = steps[0]
        after = events[events.index(s) + 1:]
        resets_after = [e for e in after if e.kind == "reset"]
        tasks_after = [e for e in after if e.kind in ("set_task", "init")]

        self.t += 1
        self.trial_steps += 1
        # A truncation by a step limit the candidate itself set to L is the candidate's own cut
        # at L (a wrapper may let the env count its attempts), not an end by the env.
        cut_at_l = (s.truncated and not s.terminated and s.own_limit_truncation
                    and s.limit_set_by_candidate and s.limit == self.ctx.max_len == self.t)
        env_end = s.terminated or (s.truncated and not cut_at_l)
        self.env_ended_in_trial |= env_end
        final_attempt = self.attempt == self.ctx.k - 1
        ends = env_end or self.t >= self.ctx.max_len

        # rewards, task name, observation format: checked on every step
        scale = self.ctx.reward_scales.get(self.task_name, 1.0)
        req = self._check("KMW-REW-1")
        if _is_real(reward) and not _num_eq(reward, s.reward * scale):
            how = (" (the suite set candidate.reward_scales on the instance before the first "
                   "reset(), as SPEC.md's 'The shape being tested' says)"
                   if self.ctx.reward_scales else "")
            f.append(Finding(req, "reward is not the underlying reward times "
                             f"reward_scales.get({self.task_name!r}, 1.0) = {scale:g}{how}",
                             s.reward * scale, float(reward), blocking=False))
        f += self._task_name_findings(candidate)
        f += self._obs_findings(obs)
        self.attempt_return += float(reward) if _is_real(reward) else 0.0
        self.attempt_success |= bool(s.info.get("success", False))
        vec = self._as_vector(obs)
        flag = None if vec is None else float(vec[-1])

        req = self._check("KMW-EPL-2")
        if s.own_limit_truncation and s.limit is not None and s.limit < self.ctx.max_len:
            f.append(Finding(req, f"the env was truncated by its own step limit "
                             f"(max_path_length={s.limit}) before max_episode_length",
                             f"attempts of {self.ctx.max_len} steps: lift the env's limit or "
                             f"reject max_episode_length > {s.limit} at construction",
                             f"truncated at attempt step {self.t}", blocking=False))

        if ends and not env_end:
            self._check("KMW-EPL-1")
        view = StepView(vec, s, done, flag, env_end, resets_after, tasks_after, info)
        if not ends:
            f += self._mid_attempt(view)
        elif not final_attempt:
            f += self._attempt_boundary(view)
        else:
            f += self._final_step(view)
        return f

    def _mid_attempt(self, v: StepView) -> list[Finding]:
        vec, s, done = v.vec, v.env_step, v.done
        resets_after, tasks_after, info = v.resets_after, v.tasks_after, v.info
        f: list[Finding] = []
        req = self._check("KMW-ATT-1")
        goes_on = (f"attempt {self.attempt} continues at step {self.t} of {self.ctx.max_len}, "
                   f"the env did not end it")
        if resets_after or tasks_after:
            f.append(Finding(req, "the candidate ended an attempt the contract says goes on "
                             "(success alone never ends one)", goes_on,
                             "a soft reset (an env reset)"))
            return f
        self._check("KMW-ATT-2")
        if done:
            # The candidate ended the attempt (and the trial) where it goes on: KMW-ATT-1's
            # sentence is the one broken; the early done flag and short trial follow from it.
            f.append(Finding(req, "the candidate ended an attempt the contract says goes on "
                             "(success alone never ends one): done flag set", goes_on,
                             "done=True"))
            f.append(Finding("KMW-ATT-2", "done flag set before the k-th attempt ended", False,
                             True, follows=req))
            if not self.env_ended_in_trial:
                f.append(Finding(self._check("KMW-ATT-3"), "the trial ended early",
                                 f"{self.ctx.k * self.ctx.max_len} steps", self.trial_steps,
                                 follows=req))
            return f
        if vec is not None:
            req = self._check("KMW-OBS-3")
            want = s.obs.astype(np.float32).astype(np.float64).ravel()
            if not np.array_equal(vec[:-1], want):
                f.append(Finding(req, "observation is not the underlying env's observation "
                                 "cast to float32", _short(want), _short(vec[:-1]), blocking=False))
            req = self._check("KMW-SR-1")
            if vec[-1] != 0.0:
                f.append(Finding(req, "flag must be 0.0 inside an attempt", 0.0, float(vec[-1]),
                                 blocking=False))
        f += self._log_findings(info, {}, {})
        return f

    def _attempt_boundary(self, v: StepView) -> list[Finding]:
        vec, s, done, flag, env_end = v.vec, v.env_step, v.done, v.flag, v.env_end
        resets_after, tasks_after, info = v.resets_after, v.tasks_after, v.info
        f: list[Finding] = []
        why = "the env ended it" if env_end else f"it reached max_episode_length={self.ctx.max_len}"
        req = self._check("KMW-ATT-1")
        if not env_end:
            self._check("KMW-EPL-1")
        if not resets_after and flag != 1.0 and not done:
            f.append(Finding(req, f"attempt {self.attempt} was not ended although {why}",
                             "a soft reset: env reset, flag 1.0", "the attempt went on"))
            if not env_end:  # it is about to run longer than L
                f.append(Finding("KMW-EPL-1", f"attempt {self.attempt} goes on past "
                                 f"max_episode_length={self.ctx.max_len}",
                                 f"at most {self.ctx.max_len} steps", "the attempt went on",
                                 follows=req))
            return f
        req = self._check("KMW-ATT-2")
        if done:
            f.append(Finding(req, f"done flag set at the end of attempt {self.attempt}, "
                             f"not the k-th (k={self.ctx.k})", False, True))
            if not self.env_ended_in_trial:
                f.append(Finding(self._check("KMW-ATT-3"), "the trial ended early",
                                 f"{self.ctx.k * self.ctx.max_len} steps", self.trial_steps))
            return f
        req = self._check("KMW-SR-4")
        if len(resets_after) != 1 or tasks_after or resets_after[0].env_id != self.env_id:
            f.append(Finding(req, "between attempts the trial's env must be reset exactly once, "
                             "its task not set again",
                             f"1 reset of env #{self.env_id}, no set_task",
                             f"{[(e.kind, e.env_id) for e in resets_after + tasks_after]}"))
            return f
        if vec is not None:
            req = self._check("KMW-SR-1")
            if flag != 1.0:
                f.append(Finding(req, f"flag must be 1.0 on the step that ends attempt "
                                 f"{self.attempt}", 1.0, flag, blocking=False))
            req = self._check("KMW-SR-2")
            want = resets_after[0].obs.astype(np.float32).astype(np.float64).ravel()
            if not np.array_equal(vec[:-1], want):
                terminal = np.array_equal(vec[:-1], s.obs.astype(np.float32).ravel())
                f.append(Finding(req, "observation at an attempt boundary must be the env's reset "
                                 "observation" + (" (got the terminal one)" if terminal else ""),
                                 _short(want), _short(vec[:-1]), blocking=False))
        exp, reqs = self._expected_logs(final=False)
        f += self._log_findings(info, exp, reqs)
        self.successes += int(self.attempt_success)
        self.attempt += 1
        self.t = 0
        self.attempt_return, self.attempt_success = 0.0, False
        return f

    def _final_step(self, v: StepView) -> list[Finding]:
        vec, s, done, flag = v.vec, v.env_step, v.done, v.flag
        resets_after, tasks_after, info = v.resets_after, v.tasks_after, v.info
        f: list[Finding] = []
        if not done:
            # A candidate that reset the env or logged the attempt ended it and only left out
            # the done flag (KMW-ATT-2); one that did neither goes on with the attempt where it
            # ends (KMW-ATT-1, the flag and the trial's length following from it).
            ended = bool(resets_after) or self.ctx.keys.success(self.attempt) in info
            root = None
            if not ended:
                root = self._check("KMW-ATT-1")
                why = ("the env ended it" if v.env_end
                       else f"it reached max_episode_length={self.ctx.max_len}")
                f.append(Finding(root, f"attempt {self.attempt}, the k-th (k={self.ctx.k}), was "
                                 f"not ended although {why}", "the trial's end, done flag set",
                                 "the attempt went on"))
            req = self._check("KMW-ATT-2")
            f.append(Finding(req, f"done flag not set on the step that ends attempt "
                             f"{self.attempt}, the k-th (k={self.ctx.k})", True, False,
                             follows=root))
            if not self.env_ended_in_trial:
                f.append(Finding(self._check("KMW-ATT-3"), "the trial did not end after k * L "
                                 "steps", f"{self.ctx.k * self.ctx.max_len} steps",
                                 "more steps", follows=root or req))
            return f
        self._check("KMW-ATT-2")
        if not self.env_ended_in_trial:
            req = self._check("KMW-ATT-3")
            if self.trial_steps != self.ctx.k * self.ctx.max_len:
                f.append(Finding(req, "a trial without env ends must take k * L steps",
                                 self.ctx.k * self.ctx.max_len, self.trial_steps))
        req = self._check("KMW-SR-4")
        if tasks_after or len(resets_after) > 1:
            f.append(Finding(req, "the final step may reset the env at most once and never sets "
                             "a task", "at most 1 reset", f"{[e.kind for e in resets_after + tasks_after]}"))
        if vec is not None:
            req = self._check("KMW-SR-3")
            terminal = s.obs.astype(np.float32).astype(np.float64).ravel()
            ok_terminal = np.array_equal(vec[:-1], terminal) and flag == 0.0
            ok_reset = bool(resets_after) and flag == 1.0 and np.array_equal(
                vec[:-1], resets_after[-1].obs.astype(np.float32).astype(np.float64).ravel())
            if not (ok_terminal or ok_reset):
                f.append(Finding(req, "final observation must be the terminal one with flag 0.0 "
                                 "or a reset one with flag 1.0",
                                 f"terminal {_short(terminal)} with flag 0.0",
                                 f"{_short(vec[:-1])} with flag {flag}", blocking=False))
        exp, reqs = self._expected_logs(final=True)
        f += self._log_findings(info, exp, reqs)
        self.successes += int(self.attempt_success)
        self.trial_over = True
        return f
