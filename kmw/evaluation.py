"""Evaluate a policy or a batched, stateful meta-RL agent on k-attempt trials: ``kmw.evaluate``.

``evaluate(agent, "ml10", split="test", k_episodes=3, trials=50, num_envs=2)`` runs ``trials``
trials of :class:`kmw.KEpisodeMetaworld` on ``num_envs`` envs and returns :class:`Results`:
every trial's per-attempt success and return, and per task and pooled the success rate per
attempt with a 95% Wilson interval, the mean return per attempt with its standard error, and the
adaptation gain (attempt k minus attempt 1) with a 95% interval. ``kmw run`` (:mod:`kmw.cli`) is
a thin front on it. See docs/cli.md.

Two kinds of agent (``agent`` may also be ``"random"``, ``"expert"`` or a dotted path to either):

* a **per-observation policy**: a callable ``policy(obs) -> action``, called once per env per
  step with one observation of shape ``(40,)``;
* a **batched agent**, Meta-World 3's ``metaworld.evaluation.Agent``: an object with
  ``eval_action(observations) -> actions`` and ``reset(env_mask)``, and optionally
  ``observe(actions, rewards, dones)``. What it is called with, and when:

  1. ``reset(np.ones(num_envs, bool))`` once, before the first ``eval_action``;
  2. ``eval_action(obs)`` once per vector step with all envs' observations, float32 of shape
     ``(num_envs, 40)`` (the last entry of each row is the soft-reset flag: 1.0 on the first
     observation of every attempt); it returns actions of shape ``(num_envs, 4)``, or a pair
     ``(actions, aux)`` with ``aux`` a dict (the shape of Meta-World's ``adapt_action``; ``aux``
     is ignored);
  3. after the step, ``observe(actions, rewards, dones)`` if the agent has it: the actions just
     taken (float32 ``(num_envs, 4)``, after the cast to the action space's dtype), the rewards
     they earned (float64 ``(num_envs,)``) and ``dones`` (bool ``(num_envs,)``): True only on the
     step that ends an env's *trial* (its k-th attempt). An attempt boundary inside a trial is
     *not* a done: it shows as flag 1.0 in the next observation, and the agent's memory must be
     kept across it (that is what adapts);
  4. then, if any env's trial ended, ``reset(dones)``: the mask of the envs whose next
     observation, passed to the next ``eval_action``, is the first of a new trial (a new task).

  So for one env the agent sees ``reset`` -> ``eval_action(o_0)`` -> ``observe(a_0, r_0,
  False)`` -> ``eval_action(o_1)`` ... -> ``observe(a_T, r_T, True)`` -> ``reset`` ->
  ``eval_action(first observation of the next trial)``; the reward and done of a trial's last
  step reach ``observe`` before the reset, never the next trial's first ``eval_action``. This is
  Meta-World's own ``evaluation()`` loop with a kmw trial in the place of its episode.

  Vector envs auto-reset in gymnasium's ``SAME_STEP`` mode: the step that ends env i's trial
  already returns the next trial's first observation for env i, so no step is wasted on a
  reset and every env's trial start is known from its own done flag.

Statistics (numpy only): success of attempt i is a 0/1 per trial; its rate gets the 95% Wilson
score interval. The adaptation gain in success is the paired difference of attempt k and
attempt 1 over the same trials, with Newcombe's (1998) hybrid score interval for paired
proportions (his method 10: the attempts' Wilson intervals combined with the phi correlation of
the 2x2 table). Returns get the standard error of the mean and, for the gain, the paired
t interval of the per-trial differences (n - 1 degrees of freedom). Pooled figures treat every
counted trial as one draw from the split's task distribution (which ``reset`` samples from).
"""

from __future__ import annotations

import io
import math
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TextIO, runtime_checkable

import gymnasium as gym
import numpy as np

from kmw._files import write_bytes_atomic
from kmw.policies import (
    BUILTIN_POLICIES,
    GOAL_KEY,
    TASK_KEY,
    CallablePolicy,
    ExpertPolicy,
    Policy,
    PolicyError,
    RandomPolicy,
    TaskInfo,
    check_policy_action,
    check_policy_object,
    import_object,
    is_agent,
)
from kmw.wrapper import KEpisodeMetaworld, episode_return_key, episode_success_key

__all__ = [
    "Agent",
    "Evaluation",
    "GroupStats",
    "Results",
    "TrialResult",
    "evaluate",
    "newcombe_paired_interval",
    "t_quantile_975",
    "wilson_interval",
]

#: Seconds a normal close of the worker processes may take before they are terminated.
CLOSE_TIMEOUT = 10.0

PLOT_SUFFIXES = (".png", ".svg", ".pdf")
PLOT_INSTALL_HINT = 'pip install "kmw[plot]"'


# -- the agent protocol -----------------------------------------------------------------------


@runtime_checkable
class Agent(Protocol):
    """A batched, stateful agent: Meta-World 3's ``metaworld.evaluation.Agent``.

    ``observe(actions, rewards, dones)`` is optional (see the module docstring for the exact
    calling sequence).
    """

    def eval_action(self, observations: np.ndarray) -> Any:
        """Actions ``(num_envs, action_dim)`` for observations ``(num_envs, obs_dim)``, or a
        pair ``(actions, aux_dict)``."""
        ...

    def reset(self, env_mask: np.ndarray) -> None:
        """Forget the memory of the envs where ``env_mask`` is True: their trials start."""
        ...


class _Driver(Protocol):
    name: str
    oracle: bool
    batched: bool

    def reset(self, mask: np.ndarray) -> None: ...

    def act(self, obs: np.ndarray, tasks: list[str | None], goals: list[Any]) -> np.ndarray: ...

    def observe(self, actions: np.ndarray, rewards: np.ndarray, dones: np.ndarray) -> None: ...


def _policy_fault(name: str, what: str, exc: BaseException) -> PolicyError:
    return PolicyError(f"policy {name!r} raised {type(exc).__name__}{what}: {exc}")


class PerObservationDriver:
    """Drives a per-observation :class:`kmw.policies.Policy`: one call per env per step."""

    batched = False

    def __init__(self, policy: Policy, space: gym.spaces.Box) -> None:
        self.policy, self.space = policy, space
        self.name, self.oracle = policy.name, policy.oracle

    def reset(self, mask: np.ndarray) -> None:
        pass

    def observe(self, actions: np.ndarray, rewards: np.ndarray, dones: np.ndarray) -> None:
        pass

    def act(self, obs: np.ndarray, tasks: list[str | None], goals: list[Any]) -> np.ndarray:
        n = obs.shape[0]
        actions = np.zeros((n, *self.space.shape), dtype=self.space.dtype)
        for i in range(n):
            try:
                raw = self.policy.act(obs[i], tasks[i], goals[i])
            except (PolicyError, KeyboardInterrupt):
                raise
            except BaseException as exc:  # SystemExit, GeneratorExit...: still the policy's fault
                raise _policy_fault(self.name, "", exc) from exc
            actions[i] = _checked(raw, self.space, self.name)
        return actions


class BatchedDriver:
    """Drives a batched :class:`Agent`: one ``eval_action`` per vector step for all envs."""

    batched = True
    oracle = False

    def __init__(self, agent: Any, name: str, space: gym.spaces.Box) -> None:
        self.agent, self.name, self.space = agent, name, space
        self._observe: Callable[..., Any] | None = getattr(agent, "observe", None)

    def _call(self, method: str, *args: Any) -> Any:
        try:
            return getattr(self.agent, method)(*args)
        except (PolicyError, KeyboardInterrupt):
            raise
        except BaseException as exc:
            raise _policy_fault(self.name, f" in {method}()", exc) from exc

    def reset(self, mask: np.ndarray) -> None:
        self._call("reset", mask.copy())

    def observe(self, actions: np.ndarray, rewards: np.ndarray, dones: np.ndarray) -> None:
        if self._observe is not None:
            self._call("observe", actions.copy(), rewards.copy(), dones.copy())

    def act(self, obs: np.ndarray, tasks: list[str | None], goals: list[Any]) -> np.ndarray:
        raw = self._call("eval_action", obs.copy())
        if isinstance(raw, tuple) and len(raw) == 2 and isinstance(raw[1], dict):
            raw = raw[0]  # (actions, aux_policy_outputs), as Meta-World's adapt_action returns
        n = obs.shape[0]
        if np.iscomplexobj(raw):
            raise PolicyError(f"policy {self.name!r} returned complex actions, expected real numbers")
        try:
            arr = np.asarray(raw, dtype=self.space.dtype)
        except (TypeError, ValueError) as exc:
            raise PolicyError(
                f"policy {self.name!r} returned {raw!r} from eval_action, expected a numeric "
                f"array of shape {(n, *self.space.shape)}"
            ) from exc
        want = (n, *self.space.shape)
        if arr.shape != want:
            raise PolicyError(
                f"policy {self.name!r} returned actions of shape {arr.shape} from eval_action, "
                f"expected shape {want} (one row per env, action space {self.space})"
            )
        if not np.isfinite(arr).all():
            raise PolicyError(f"policy {self.name!r} returned non-finite actions {arr.tolist()}")
        return arr


def _checked(raw: Any, space: gym.spaces.Box, name: str) -> np.ndarray:
    if np.iscomplexobj(raw):  # a cast to the float dtype would drop the imaginary part
        raise PolicyError(
            f"policy {name!r} returned a complex action {np.asarray(raw).tolist()}, "
            "expected real numbers"
        )
    with np.errstate(over="ignore", invalid="ignore"):  # 1e300 -> inf: refused in it
        return check_policy_action(raw, space, name)


def _object_name(obj: Any) -> str:
    for attr in ("__qualname__", "__name__"):
        name = getattr(obj, attr, None)
        if isinstance(name, str):
            return name
    return type(obj).__name__


def resolve_agent(
    agent: Any, space: gym.spaces.Box, seed: int | None = None, name: str | None = None
) -> PerObservationDriver | BatchedDriver:
    """The driver for ``agent``: ``"random"``, ``"expert"``, a dotted path, a batched agent
    (instance, or class instantiated with no arguments), a :class:`kmw.policies.Policy`, or a
    callable ``policy(obs) -> action``. ``PolicyError`` if it is none of these."""
    if isinstance(agent, str):
        if agent == "random":
            return PerObservationDriver(RandomPolicy(space, seed), space)
        if agent == "expert":
            return PerObservationDriver(ExpertPolicy(), space)
        return resolve_agent(import_object(agent), space, seed, name=agent)
    if isinstance(agent, RandomPolicy | ExpertPolicy | CallablePolicy):
        return PerObservationDriver(agent, space)
    shown = name if name is not None else _object_name(agent)
    check_policy_object(agent, f"policy {shown!r}")
    if is_agent(agent):
        if isinstance(agent, type):
            try:
                agent = agent()
            except (PolicyError, KeyboardInterrupt):
                raise
            except BaseException as exc:
                raise PolicyError(
                    f"policy {shown!r} is an agent class; instantiating it with no arguments "
                    f"raised {type(exc).__name__}: {exc}"
                ) from exc
        return BatchedDriver(agent, shown, space)
    return PerObservationDriver(CallablePolicy(agent, shown), space)


# -- environments -----------------------------------------------------------------------------


@dataclass(frozen=True)
class EnvFactory:
    """Builds one wrapped env; picklable so ``AsyncVectorEnv`` can ship it to a worker."""

    benchmark: Any
    split: str
    k: int
    max_episode_length: int

    def __call__(self) -> gym.Env:
        env = KEpisodeMetaworld(self.benchmark, self.split, self.k, self.max_episode_length)
        return TaskInfo(env, slim=True)  # only the logging keys and the task/goal cross processes


def make_vector_env(factories: list[Callable[[], gym.Env]]) -> gym.vector.VectorEnv:
    """One env per factory: in this process if there is one, else one worker process each.
    Auto-reset is ``SAME_STEP``: a trial's last step returns the next trial's first observation."""
    mode = gym.vector.AutoresetMode.SAME_STEP
    if len(factories) == 1:
        return gym.vector.SyncVectorEnv(factories, autoreset_mode=mode)
    return gym.vector.AsyncVectorEnv(factories, shared_memory=True, autoreset_mode=mode)


def close_vector_env(venv: gym.vector.VectorEnv, terminate: bool) -> None:
    """Close ``venv``; with ``terminate`` (after an error or Ctrl-C) without waiting for a
    pending step, and make sure no worker process outlives the call."""
    if not isinstance(venv, gym.vector.AsyncVectorEnv):
        venv.close()
        return
    processes = list(getattr(venv, "processes", []))
    try:
        if terminate:
            with warnings.catch_warnings():  # "Calling `close` while waiting for ... `step`"
                warnings.simplefilter("ignore")
                venv.close(terminate=True)
        else:
            venv.close(timeout=CLOSE_TIMEOUT)
    except BaseException:
        _kill(processes)
        raise
    finally:
        _kill(processes)


def _kill(processes: list[Any]) -> None:
    """Terminate, then kill, every still-running process of ``processes``; reap them all."""
    for p in processes:
        if p.is_alive():
            p.terminate()
    for p in processes:
        p.join(timeout=2.0)
        if p.is_alive():
            p.kill()
            p.join(timeout=2.0)


# -- progress ---------------------------------------------------------------------------------


class Progress:
    """A tqdm bar on ``stream``: percent done, elapsed<ETA, trials done, steps, steps/s.

    Progress is the larger of finished trials / ``total`` and steps / ``expected_steps`` (the
    steps of ``total`` trials that run every attempt to its length limit), so it moves within a
    trial too. The bar appears at the first update (after the first vector step), is redrawn
    at most ~10 times a second, and does nothing when not ``enabled``.
    """

    def __init__(self, total: int, expected_steps: int, stream: TextIO, enabled: bool) -> None:
        self.total, self.expected = total, max(int(expected_steps), 1)
        self.stream, self.enabled = stream, enabled
        self._bar: Any = None
        self._start = time.perf_counter()
        self._last = -math.inf
        self._done = self._steps = 0

    def update(self, done: int, steps: int, force: bool = False) -> None:
        self._done, self._steps = done, steps
        if not self.enabled:
            return
        now = time.perf_counter()
        if not force and now - self._last < 0.1:
            return
        self._last = now
        if self._bar is None:
            from tqdm import tqdm

            self._t0, self._s0 = now, steps  # steps/s from here: not the workers' start-up
            self._bar = tqdm(
                total=self.expected,
                initial=self._n(done, steps),
                postfix=self._postfix(done, steps, now),
                file=self.stream,
                bar_format="{percentage:3.0f}%|{bar:20}| [{elapsed}<{remaining}{postfix}]",
                mininterval=0.0,
                leave=True,
            )
            return
        self._bar.set_postfix_str(self._postfix(done, steps, now), refresh=False)
        self._bar.n = self._n(done, steps)
        if not force:
            self._bar.refresh()

    def _n(self, done: int, steps: int) -> int:
        frac = 1.0 if done >= self.total else max(done / self.total, steps / self.expected)
        return min(self.expected, int(round(frac * self.expected)))

    def _postfix(self, done: int, steps: int, now: float) -> str:
        dt = now - getattr(self, "_t0", now)
        rate = f"{(steps - self._s0) / dt:.0f}" if dt > 0 else "?"
        return f"{done}/{self.total} trials, {steps} steps, {rate} steps/s"

    def close(self) -> None:
        """Draw the last recorded state and end the line (once; later calls do nothing)."""
        if self.enabled:
            if self._bar is not None:
                self.update(self._done, self._steps, force=True)
                self._bar.close()
            self.enabled = False


# -- the run loop -----------------------------------------------------------------------------


@dataclass
class TrialResult:
    """One finished trial: its task and each attempt's success (0/1) and return."""

    task: str
    successes: list[float]
    returns: list[float]


def _row(info: dict[str, Any], key: str, i: int) -> Any:
    """``info[key][i]`` of a vector env's info if sub-env ``i`` set ``key``, else ``None``."""
    mask = info.get("_" + key)
    if mask is None or not mask[i]:
        return None
    return info[key][i]


def run_trials(
    venv: gym.vector.VectorEnv,
    driver: PerObservationDriver | BatchedDriver,
    *,
    trials: int,
    k: int,
    seed: int | None,
    progress: Progress | None = None,
) -> tuple[list[TrialResult], int, float]:
    """Step ``venv`` (``SAME_STEP`` auto-reset) with ``driver`` until ``trials`` trials have
    finished; return them, the env steps taken and the seconds spent stepping.

    Trials are counted in the order they finish (ties: by sub-env index); the other sub-envs'
    unfinished trials are dropped.
    """
    n = venv.num_envs
    done_trials: list[TrialResult] = []
    steps = 0
    tasks: list[str | None] = [None] * n
    goals: list[np.ndarray | None] = [None] * n
    attempt_succ: list[dict[int, float]] = [{} for _ in range(n)]
    attempt_ret: list[dict[int, float]] = [{} for _ in range(n)]
    succ_keys = [episode_success_key(j) for j in range(k)]
    ret_keys = [episode_return_key(j) for j in range(k)]

    def take_task_info(info: dict[str, Any]) -> None:
        for i in range(n):
            name = _row(info, TASK_KEY, i)
            if name is not None:
                tasks[i] = str(name)
                goals[i] = np.asarray(_row(info, GOAL_KEY, i), dtype=np.float64)

    start = time.perf_counter()
    obs, info = venv.reset(seed=seed)
    take_task_info(info)
    driver.reset(np.ones(n, dtype=bool))
    while len(done_trials) < trials:
        actions = driver.act(obs, tasks, goals)
        obs, rewards, terminated, truncated, info = venv.step(actions)
        steps += n
        dones = np.logical_or(terminated, truncated)
        final = info.get("final_info", {})
        for i in range(n):
            step_info = final if dones[i] else info  # SAME_STEP: the ending step's info
            for j in range(k):
                s = _row(step_info, succ_keys[j], i)
                if s is not None:
                    attempt_succ[i][j] = float(s)
                    attempt_ret[i][j] = float(_row(step_info, ret_keys[j], i))
            if dones[i]:
                if len(done_trials) < trials:
                    done_trials.append(
                        TrialResult(
                            task=str(tasks[i]),
                            successes=[attempt_succ[i][j] for j in range(k)],
                            returns=[attempt_ret[i][j] for j in range(k)],
                        )
                    )
                attempt_succ[i], attempt_ret[i] = {}, {}
        take_task_info(info)  # a done env's entries are its next trial's (from its reset)
        driver.observe(actions, np.asarray(rewards, dtype=np.float64), dones)
        if dones.any() and len(done_trials) < trials:
            driver.reset(dones)
        if progress is not None:
            progress.update(len(done_trials), steps)
    return done_trials, steps, time.perf_counter() - start


# -- statistics (numpy only) ------------------------------------------------------------------

#: The standard normal's 0.975 quantile.
Z95 = 1.959963984540054

# Student t 0.975 quantiles for 1..30 degrees of freedom.
_T975 = (
    12.706204736, 4.302652730, 3.182446305, 2.776445105, 2.570581836, 2.446911851,
    2.364624252, 2.306004135, 2.262157163, 2.228138852, 2.200985160, 2.178812830,
    2.160368656, 2.144786688, 2.131449546, 2.119905299, 2.109815578, 2.100922040,
    2.093024054, 2.085963447, 2.079613845, 2.073873068, 2.068657610, 2.063898562,
    2.059538553, 2.055529439, 2.051830516, 2.048407142, 2.045229642, 2.042272456,
)  # fmt: skip


def t_quantile_975(df: int) -> float:
    """Student t's 0.975 quantile with ``df`` degrees of freedom: a table up to 30, then the
    Cornish-Fisher expansion (error below 1e-6 there)."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    if df <= len(_T975):
        return _T975[df - 1]
    z, v = Z95, float(df)
    return (
        z
        + (z**3 + z) / (4 * v)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * v**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * v**3)
        + (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / (92160 * v**4)
    )


def wilson_interval(successes: float, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for a proportion of ``successes`` out of ``n`` (n >= 1)."""
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_paired_interval(
    later: np.ndarray, earlier: np.ndarray, z: float = Z95
) -> tuple[float, float, float]:
    """``(estimate, low, high)`` for ``mean(later) - mean(earlier)`` of paired 0/1 outcomes:
    Newcombe's (1998) hybrid score interval for paired proportions (method 10)."""
    x, y = np.asarray(later) > 0.5, np.asarray(earlier) > 0.5
    n = len(x)
    r, s = int(np.sum(x & y)), int(np.sum(x & ~y))
    t, u = int(np.sum(~x & y)), int(np.sum(~x & ~y))
    p1, p2 = (r + s) / n, (r + t) / n
    l1, u1 = wilson_interval(r + s, n, z)
    l2, u2 = wilson_interval(r + t, n, z)
    a = (r + s) * (t + u) * (r + t) * (s + u)
    b = r * u - s * t
    c = b - n / 2 if b > n / 2 else (b if b < 0 else 0.0)
    phi = c / math.sqrt(a) if a > 0 else 0.0
    d = p1 - p2
    low = d - math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    high = d + math.sqrt(max(0.0, (p2 - l2) ** 2 - 2 * phi * (p2 - l2) * (u1 - p1) + (u1 - p1) ** 2))
    return d, max(-1.0, low), min(1.0, high)


def _se(x: np.ndarray) -> float | None:
    return float(np.std(x, ddof=1) / math.sqrt(len(x))) if len(x) >= 2 else None


def _t_interval(x: np.ndarray) -> tuple[float, float] | None:
    se = _se(x)
    if se is None:
        return None
    half = t_quantile_975(len(x) - 1) * se
    m = float(np.mean(x))
    return m - half, m + half


@dataclass
class GroupStats:
    """The figures of one task (or of all trials pooled), per attempt; 95% intervals.

    ``gain_*`` compare attempt k with attempt 1 over the same trials (``None`` when k = 1);
    ``return_se``/``return_ci95``/``gain_return_ci95`` are ``None`` with a single trial.
    """

    name: str
    trials: int
    success_rate: list[float]
    success_ci95: list[tuple[float, float]]
    mean_return: list[float]
    return_se: list[float | None]
    return_ci95: list[tuple[float, float] | None]
    gain_success: float | None = None
    gain_success_ci95: tuple[float, float] | None = None
    gain_return: float | None = None
    gain_return_se: float | None = None
    gain_return_ci95: tuple[float, float] | None = None

    @classmethod
    def of(cls, name: str, trials: list[TrialResult], k: int) -> GroupStats:
        n = len(trials)
        succ = np.array([t.successes for t in trials], dtype=np.float64).reshape(n, k)
        rets = np.array([t.returns for t in trials], dtype=np.float64).reshape(n, k)
        g = cls(
            name=name,
            trials=n,
            success_rate=[float(x) for x in succ.mean(axis=0)],
            success_ci95=[wilson_interval(float(succ[:, j].sum()), n) for j in range(k)],
            mean_return=[float(x) for x in rets.mean(axis=0)],
            return_se=[_se(rets[:, j]) for j in range(k)],
            return_ci95=[_t_interval(rets[:, j]) for j in range(k)],
        )
        if k > 1:
            est, lo, hi = newcombe_paired_interval(succ[:, -1], succ[:, 0])
            g.gain_success, g.gain_success_ci95 = est, (lo, hi)
            diff = rets[:, -1] - rets[:, 0]
            g.gain_return, g.gain_return_se = float(diff.mean()), _se(diff)
            g.gain_return_ci95 = _t_interval(diff)
        return g

    def to_dict(self) -> dict[str, Any]:
        def pair(x: tuple[float, float] | None) -> list[float] | None:
            return None if x is None else [float(x[0]), float(x[1])]

        k = len(self.success_rate)
        out: dict[str, Any] = {
            "trials": self.trials,
            "success_rate": self.success_rate,
            "success_ci95": [pair(x) for x in self.success_ci95],
            "mean_return": self.mean_return,
            "return_se": self.return_se,
            "return_ci95": [pair(x) for x in self.return_ci95],
            "adaptation_gain": None,
        }
        if k > 1:
            out["adaptation_gain"] = {
                "attempts": [k, 1],
                "trials": self.trials,
                "success": {
                    "estimate": self.gain_success,
                    "ci95": pair(self.gain_success_ci95),
                    "method": "newcombe-paired-hybrid-score",
                },
                "return": {
                    "estimate": self.gain_return,
                    "se": self.gain_return_se,
                    "ci95": pair(self.gain_return_ci95),
                    "method": "paired-t",
                    "df": self.trials - 1,
                },
            }
        return out


STATISTICS_NOTE = {
    "success_ci95": "95% Wilson score interval of the success rate over the trials",
    "return_se": "standard error of the mean return (sample sd / sqrt(trials))",
    "return_ci95": "95% t interval of the mean return (trials - 1 degrees of freedom)",
    "adaptation_gain": "attempt k minus attempt 1 over the same trials (paired); success: "
    "Newcombe's hybrid score interval for paired proportions (1998, method 10); return: "
    "paired t interval",
    "pooled": "'all' pools every counted trial as one draw from the split's task distribution",
}


@dataclass
class Results:
    """What :func:`evaluate` returns: every counted trial and the run's settings and timing.

    ``tasks`` (per task, sorted by name) and ``pooled`` (all trials) hold the statistics;
    ``to_dict()`` is the JSON ``kmw run --json`` writes; ``format_table()`` the text table;
    ``plot(path)`` the adaptation curve (needs matplotlib: ``pip install "kmw[plot]"``).
    """

    k: int
    trials: list[TrialResult]
    steps: int = 0
    seconds: float = 0.0
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def tasks(self) -> dict[str, GroupStats]:
        groups: dict[str, list[TrialResult]] = {}
        for t in self.trials:
            groups.setdefault(t.task, []).append(t)
        return {name: GroupStats.of(name, groups[name], self.k) for name in sorted(groups)}

    @property
    def pooled(self) -> GroupStats:
        return GroupStats.of("all", self.trials, self.k)

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.seconds if self.seconds > 0 else math.inf

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.settings,
            "k": self.k,
            "trials": len(self.trials),
            "tasks": {name: g.to_dict() for name, g in self.tasks.items()},
            "all": self.pooled.to_dict(),
            "statistics": STATISTICS_NOTE,
            "trial_results": [
                {"task": t.task, "successes": t.successes, "returns": t.returns}
                for t in self.trials
            ],
            "steps": self.steps,
            "seconds": self.seconds,
            "steps_per_second": self.steps_per_second,
        }

    def format_table(self) -> str:
        return format_table([*self.tasks.values(), self.pooled], self.k)

    def plot(self, path: str | os.PathLike[str], title: str | None = None) -> Path:
        return plot_results(self, path, title)


def _signed(x: float, fmt: str) -> str:
    return f"{x:+{fmt}}"


def format_table(groups: list[GroupStats], k: int) -> str:
    """Two aligned tables (success, then return) with one row per group; the last group is
    the pooled row, set off by a rule."""
    name_w = max(len("task"), *(len(g.name) for g in groups))
    gain = f"gain@{k}-1"

    def block(title: str, heads: list[str], cells: list[list[str]], gain_cells: list[str]) -> list[str]:
        widths = [max(len(h), *(len(c[j]) for c in cells)) for j, h in enumerate(heads)]
        gw = max(len(gain), *(len(c) for c in gain_cells)) if k > 1 else 0
        head = f"{'task':<{name_w}}  {'trials':>6}  " + "  ".join(
            f"{h:<{w}}" for h, w in zip(heads, widths)
        )
        if k > 1:
            head += f"  {gain:<{gw}}"
        head = head.rstrip()
        lines = [title, head, "-" * len(head)]
        for idx, (g, c) in enumerate(zip(groups, cells)):
            if idx == len(groups) - 1:
                lines.append("-" * len(head))
            line = f"{g.name:<{name_w}}  {g.trials:>6}  " + "  ".join(
                f"{x:<{w}}" for x, w in zip(c, widths)
            )
            if k > 1:
                line += f"  {gain_cells[idx]:<{gw}}"
            lines.append(line.rstrip())
        return lines

    succ_cells = [
        [f"{p:.2f} [{lo:.2f}, {hi:.2f}]" for p, (lo, hi) in zip(g.success_rate, g.success_ci95)]
        for g in groups
    ]
    succ_gain = [
        f"{_signed(g.gain_success, '.2f')} [{_signed(g.gain_success_ci95[0], '.2f')}, "
        f"{_signed(g.gain_success_ci95[1], '.2f')}]"
        if g.gain_success is not None and g.gain_success_ci95 is not None
        else ""
        for g in groups
    ]
    ret_cells = [
        [f"{m:.1f} ± {se:.1f}" if se is not None else f"{m:.1f}" for m, se in zip(g.mean_return, g.return_se)]
        for g in groups
    ]
    ret_gain = []
    for g in groups:
        if g.gain_return is None:
            ret_gain.append("")
        elif g.gain_return_ci95 is None:
            ret_gain.append(_signed(g.gain_return, ".1f"))
        else:
            lo, hi = g.gain_return_ci95
            ret_gain.append(f"{_signed(g.gain_return, '.1f')} [{_signed(lo, '.1f')}, {_signed(hi, '.1f')}]")
    lines = block(
        "success rate per attempt [95% Wilson interval]"
        + (f"; {gain}: attempt {k} - attempt 1 [95% Newcombe paired interval]" if k > 1 else ""),
        [f"succ@{j + 1}" for j in range(k)],
        succ_cells,
        succ_gain,
    )
    lines.append("")
    lines += block(
        "mean return per attempt ± standard error"
        + (f"; {gain} [95% paired t interval]" if k > 1 else ""),
        [f"return@{j + 1}" for j in range(k)],
        ret_cells,
        ret_gain,
    )
    pooled = groups[-1]
    lines.append("")
    lines.append(
        f"each row's figures rest on its 'trials' trials (attempt i of each; gains paired within "
        f"trials); '{pooled.name}' pools all {pooled.trials}"
    )
    return "\n".join(lines)


# -- the adaptation curve ---------------------------------------------------------------------


def require_matplotlib() -> None:
    """Raise ``ImportError`` with the install hint unless matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"plotting needs matplotlib, which is not installed: {PLOT_INSTALL_HINT}"
        ) from exc


def plot_results(results: Results, path: str | os.PathLike[str], title: str | None = None) -> Path:
    """Draw success and mean return against the attempt index, per task and pooled, with
    their 95% intervals, to ``path`` (``.png``, ``.svg`` or ``.pdf``, by suffix)."""
    require_matplotlib()
    path = Path(path)
    fmt = path.suffix.lower()
    if fmt not in PLOT_SUFFIXES:
        raise ValueError(f"{path}: expected a {', '.join(PLOT_SUFFIXES)} file name")
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    k = results.k
    x = np.arange(1, k + 1)
    tasks = list(results.tasks.values())
    many = len(tasks) > 10
    fig, axes = plt.subplots(1, 2, figsize=(9.0, 3.6), constrained_layout=True)
    try:
        cmap = plt.get_cmap("tab10")
        groups = [*tasks, results.pooled] if len(tasks) > 1 else [results.pooled]
        for idx, g in enumerate(groups):
            pooled = g is groups[-1]
            offset = 0.0 if pooled else (idx - (len(groups) - 2) / 2) * min(0.04, 0.3 / len(groups))
            style: dict[str, Any] = (
                {"color": "black", "linewidth": 2.2, "zorder": 3, "capsize": 4}
                if pooled
                else {
                    "color": "0.6" if many else cmap(idx % 10),
                    "linewidth": 1.0,
                    "alpha": 0.8,
                    "capsize": 2,
                }
            )
            label = f"{g.name} (n={g.trials})"
            if many and not pooled:
                label = f"each of {len(tasks)} tasks" if idx == 0 else None
            if pooled:
                shown = "all tasks pooled" if len(tasks) > 1 else tasks[0].name
                label = f"{shown} (n={g.trials})"
            s = np.array(g.success_rate)
            lo = np.array([c[0] for c in g.success_ci95])
            hi = np.array([c[1] for c in g.success_ci95])
            axes[0].errorbar(x + offset, s, yerr=[s - lo, hi - s], marker="o", label=label, **style)
            m = np.array(g.mean_return)
            if all(c is not None for c in g.return_ci95):
                rlo = m - np.array([c[0] for c in g.return_ci95])
                rhi = np.array([c[1] for c in g.return_ci95]) - m
                axes[1].errorbar(x + offset, m, yerr=[rlo, rhi], marker="o", **style)
            else:
                axes[1].errorbar(x + offset, m, marker="o", **style)
        axes[0].set_ylim(-0.05, 1.05)
        axes[0].set_ylabel("success rate (95% Wilson interval)")
        axes[1].set_ylabel("mean return (95% t interval)")
        for ax in axes:
            ax.set_xlabel("attempt")
            ax.set_xticks(x)
            ax.grid(True, alpha=0.3)
        axes[0].legend(fontsize=7, loc="best")
        if title:
            fig.suptitle(title, fontsize=9)
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt[1:], dpi=100, metadata=_plot_metadata(fmt))
    finally:
        plt.close(fig)
    return write_bytes_atomic(path, buf.getvalue())


def _plot_metadata(fmt: str) -> dict[str, Any]:
    # No creation date: the same results give the same file.
    if fmt == ".png":
        return {"Software": None}
    if fmt == ".svg":
        return {"Date": None}
    return {"CreationDate": None}


# -- the API ----------------------------------------------------------------------------------


class Evaluation:
    """A prepared run: benchmark built, agent resolved, not yet stepped. ``run()`` steps it.

    :func:`evaluate` is ``Evaluation(...).run()``; ``kmw run`` prepares first so that it can
    print what it is about to run (``agent_name``, ``oracle``, ``num_envs``) before stepping.
    """

    def __init__(
        self,
        agent: Any,
        benchmark: str = "reach-v3",
        *,
        split: str = "test",
        k_episodes: int = 3,
        trials: int = 6,
        num_envs: int = 1,
        seed: int | None = 0,
        max_episode_length: int = 500,
        benchmark_seed: int | None = 0,
    ) -> None:
        from kmw._validation import check_positive_int, check_split
        from kmw.benchmarks import make_benchmark, resolve_benchmark_name

        self.split = check_split(split)
        self.k = check_positive_int("k_episodes", k_episodes)
        self.trials = check_positive_int("trials", trials)
        self.num_envs = min(check_positive_int("num_envs", num_envs), self.trials)
        self.max_episode_length = check_positive_int("max_episode_length", max_episode_length)
        self.seed, self.benchmark_seed = seed, benchmark_seed
        if isinstance(agent, str) and agent not in BUILTIN_POLICIES:
            check_policy_object(import_object(agent), f"policy {agent!r}")  # before the build
        self.name = resolve_benchmark_name(benchmark)
        self.factory = EnvFactory(
            make_benchmark(self.name, seed=benchmark_seed), self.split, self.k, self.max_episode_length
        )
        probe = self.factory()
        self.action_space = probe.action_space
        probe.close()
        self.driver = resolve_agent(agent, self.action_space, seed=seed)

    @property
    def agent_name(self) -> str:
        return self.driver.name

    @property
    def oracle(self) -> bool:
        return self.driver.oracle

    def settings(self) -> dict[str, Any]:
        return {
            "benchmark": str(self.name),
            "benchmark_kind": self.name.kind,
            "split": self.split,
            "policy": self.driver.name,
            "agent_kind": "batched" if self.driver.batched else "per-observation",
            "oracle": self.driver.oracle,
            "k": self.k,
            "max_episode_length": self.max_episode_length,
            "trials": self.trials,
            "seed": self.seed,
            "benchmark_seed": self.benchmark_seed,
            "num_envs": self.num_envs,
        }

    def run(self, progress: bool = False, stream: TextIO | None = None) -> Results:
        """Step the trials (a tqdm bar on ``stream``, default stderr, if ``progress``)."""
        import sys

        bar = Progress(
            self.trials,
            self.trials * self.k * self.max_episode_length,
            stream if stream is not None else sys.stderr,
            progress,
        )
        venv = make_vector_env([self.factory] * self.num_envs)
        try:
            trials, steps, seconds = run_trials(
                venv, self.driver, trials=self.trials, k=self.k, seed=self.seed, progress=bar
            )
        except BaseException:
            # Ctrl-C (or any error) may land while workers are mid-step: a plain close() would
            # wait for that step forever. Kill the workers instead.
            bar.close()
            close_vector_env(venv, terminate=True)
            raise
        bar.close()
        close_vector_env(venv, terminate=False)
        return Results(self.k, trials, steps, seconds, self.settings())


def evaluate(
    agent: Any,
    benchmark: str = "reach-v3",
    *,
    split: str = "test",
    k_episodes: int = 3,
    trials: int = 6,
    num_envs: int = 1,
    seed: int | None = 0,
    max_episode_length: int = 500,
    benchmark_seed: int | None = 0,
    progress: bool = False,
) -> Results:
    """Run ``trials`` k-attempt trials of ``benchmark``'s ``split`` with ``agent``; see the
    module docstring for what ``agent`` may be and how a batched agent is called.

    ``num_envs`` envs step together (1: in this process; more: gymnasium ``AsyncVectorEnv``
    worker processes; capped at ``trials``); env i is seeded with ``seed + i``. ``benchmark``
    is ``"ml10"``, ``"ml25"``, ``"ml45"`` or an ML1 task name, built with ``benchmark_seed``
    through kmw's task cache. Raises ``kmw.policies.PolicyError`` for an unusable agent or
    action and ``ValueError`` for a bad argument.
    """
    return Evaluation(
        agent,
        benchmark,
        split=split,
        k_episodes=k_episodes,
        trials=trials,
        num_envs=num_envs,
        seed=seed,
        max_episode_length=max_episode_length,
        benchmark_seed=benchmark_seed,
    ).run(progress=progress)
