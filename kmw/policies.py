"""Policies for ``kmw run``: ``random``, ``expert`` (Meta-World's scripted oracle), a callable,
or a batched, stateful agent (``metaworld.evaluation.Agent``: see :mod:`kmw.evaluation`), and
the check every action a policy returns goes through (:func:`coerce_actions`).

A per-observation policy acts on one observation of the k-episode wrapper at a time (shape ``(D + 1,)``:
the Meta-World observation, then the soft-reset flag) and returns one action. ``act`` also
receives the current task's class name and its true goal position, which only the expert uses.

The ML benchmarks hide the goal: the last 3 entries of their observation are zeros. Meta-World's
scripted policies (``metaworld.policies``) read the goal from there, so the ``expert`` is an
*oracle*: it is handed each task's true goal (the underlying env's ``_get_pos_goal()``, i.e.
``_target_pos``) and writes it into those 3 entries before asking the scripted policy. Its
success rates are therefore an upper reference, not what a meta-learner could reach.

:class:`kmw.vector.TrialInfo` is the gymnasium wrapper that carries the task name and goal from
the env (possibly in a worker process of a vector env) to the policy, through ``info``.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from typing import Any, Protocol

import gymnasium as gym
import numpy as np

BUILTIN_POLICIES = ("random", "expert")


class PolicyError(ValueError):
    """A policy name that cannot be resolved, or a policy that returned an unusable action."""


class Policy(Protocol):
    """What ``kmw run`` needs of a policy."""

    #: Name shown in the output.
    name: str
    #: True if the policy is given the true goal (results are an oracle's, not a learner's).
    oracle: bool

    def act(self, obs: np.ndarray, task_name: str | None, goal: np.ndarray | None) -> Any:
        """The action for one wrapper observation of the task ``task_name`` with goal ``goal``."""
        ...


class RandomPolicy:
    """Uniform actions over the action space's bounds, from a seeded generator."""

    oracle = False

    def __init__(self, action_space: gym.spaces.Box, seed: int | None = None) -> None:
        self.name = "random"
        self._low = np.asarray(action_space.low, dtype=np.float64)
        self._high = np.asarray(action_space.high, dtype=np.float64)
        self._dtype = action_space.dtype
        self._rng = np.random.default_rng(seed)

    def act(self, obs: np.ndarray, task_name: str | None, goal: np.ndarray | None) -> np.ndarray:
        return self._rng.uniform(self._low, self._high).astype(self._dtype)

    def act_batch(self, n: int) -> np.ndarray:
        """``n`` actions at once, shape ``(n, *shape)``: the same numbers as ``n`` calls of
        :meth:`act` (the generator draws them in the same order)."""
        return self._rng.uniform(self._low, self._high, size=(n, *self._low.shape)).astype(self._dtype)


class ExpertPolicy:
    """Meta-World's scripted policy for each task, handed the task's true goal (an oracle).

    The wrapper's observation minus its flag, with the last 3 entries replaced by ``goal``, is
    what the scripted policy would see in a goal-observable Meta-World env.
    """

    oracle = True

    def __init__(self) -> None:
        from metaworld.policies import ENV_POLICY_MAP  # imported lazily: 50 modules

        self.name = "expert"
        self._classes: dict[str, Any] = dict(ENV_POLICY_MAP)
        self._policies: dict[str, Any] = {}

    def _policy_for(self, task_name: str) -> Any:
        policy = self._policies.get(task_name)
        if policy is None:
            cls = self._classes.get(task_name)
            if cls is None:
                raise PolicyError(f"Meta-World has no scripted (expert) policy for {task_name!r}")
            policy = self._policies[task_name] = cls()
        return policy

    def act(self, obs: np.ndarray, task_name: str | None, goal: np.ndarray | None) -> np.ndarray:
        if task_name is None or goal is None:
            raise PolicyError(
                "the expert needs the task name and goal (run envs under kmw.vector.TrialInfo)"
            )
        full = np.array(obs[:-1], dtype=np.float64)  # drop the soft-reset flag
        full[-3:] = goal
        with warnings.catch_warnings():  # "Constant(s) may be too high": the env clips anyway
            warnings.simplefilter("ignore", UserWarning)
            return np.asarray(self._policy_for(task_name).get_action(full))


class CallablePolicy:
    """A user callable ``policy(obs) -> action``, given the wrapper's observation unchanged."""

    oracle = False

    def __init__(self, fn: Callable[[np.ndarray], Any], name: str) -> None:
        self._fn = fn
        self.name = name

    def act(self, obs: np.ndarray, task_name: str | None, goal: np.ndarray | None) -> Any:
        return self._fn(obs)


def import_object(path: str) -> Any:
    """The object at ``"package.module.attr"`` (or ``"package.module:attr"``)."""
    module_name, sep, attr = path.partition(":")
    if not sep:
        module_name, _, attr = path.rpartition(".")
    if not module_name or not attr:
        raise PolicyError(
            f"unknown policy {path!r}: expected {', '.join(map(repr, BUILTIN_POLICIES))} "
            "or a DOTTED.PATH to a callable policy(obs) -> action or to a batched agent "
            "(e.g. mypkg.policies.act)"
        )
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as exc:
        raise PolicyError(
            f"cannot import module {module_name!r} for policy {path!r}: {type(exc).__name__}: {exc}"
        ) from exc
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise PolicyError(f"policy {path!r}: module {module_name!r} has no {attr!r}") from None
    return obj


def import_callable(path: str) -> Callable[..., Any]:
    """The object at ``path`` (see :func:`import_object`) if it is a usable policy: a callable
    ``policy(obs) -> action``, or an agent (or agent class) with ``eval_action(observations)``
    and ``reset(env_mask)``; else ``PolicyError`` naming what is missing."""
    obj = import_object(path)
    check_policy_object(obj, f"policy {path!r}")
    return obj


#: The methods of a batched agent (Meta-World's ``metaworld.evaluation.Agent``).
AGENT_METHODS = ("eval_action", "reset")


def is_agent(obj: Any) -> bool:
    """True if ``obj`` (an instance or a class) is meant as a batched agent: it has an
    ``eval_action`` or a ``reset`` attribute (a plain function has neither)."""
    return any(hasattr(obj, m) for m in AGENT_METHODS)


def check_policy_object(obj: Any, what: str) -> None:
    """Raise ``PolicyError`` unless ``obj`` is a usable policy; ``what`` names it in the message.

    A batched agent needs callable ``eval_action`` and ``reset`` (and ``observe``, if it has
    one, must be callable); anything else must be a callable ``policy(obs) -> action``.
    """
    if is_agent(obj):
        missing = [m for m in AGENT_METHODS if not callable(getattr(obj, m, None))]
        if missing:
            have = [m for m in AGENT_METHODS if m not in missing]
            raise PolicyError(
                f"{what} has {', '.join(f'{m}()' for m in have) or 'no usable methods'} but no "
                f"callable {' or '.join(_SIGNATURES[m] for m in missing)}: a batched agent "
                "(metaworld.evaluation.Agent) needs eval_action(observations) -> actions and "
                "reset(env_mask)"
            )
        if hasattr(obj, "observe") and not callable(obj.observe):
            raise PolicyError(
                f"{what} has an observe attribute that is not callable: expected "
                "observe(actions, rewards, dones)"
            )
        return
    if not callable(obj):
        raise PolicyError(
            f"{what} is a {type(obj).__name__}, expected a callable policy(obs) -> action or "
            "an agent with eval_action(observations) and reset(env_mask)"
        )


_SIGNATURES = {"eval_action": "eval_action(observations)", "reset": "reset(env_mask)"}


def load_policy(spec: str, action_space: gym.spaces.Box, seed: int | None = None) -> Policy:
    """The per-observation policy named ``spec``: ``"random"``, ``"expert"`` or a dotted path
    to a callable. (A dotted path may also name a batched agent: use
    :func:`kmw.evaluation.resolve_agent`, which handles both.)"""
    if spec == "random":
        return RandomPolicy(action_space, seed)
    if spec == "expert":
        return ExpertPolicy()
    return CallablePolicy(import_callable(spec), spec)


#: dtype kinds accepted as actions: bool, signed and unsigned integers, floats.
_REAL_KINDS = "biuf"


def coerce_actions(
    raw: Any, shape: tuple[int, ...], dtype: Any, policy_name: str, source: str | None = None
) -> np.ndarray:
    """``raw`` as an array of ``shape`` and ``dtype`` with finite entries, else ``PolicyError``.

    ``raw`` must convert to an array of real numbers (booleans, integers or floats): strings
    (``["0.1"] * 4``, which numpy would parse), complex numbers and other objects are refused,
    and so is an object whose conversion raises (its ``__array__``, say), with the exception
    named. Finiteness is checked *after* the cast to ``dtype``, so ``1e300`` (``inf`` in
    float32) is refused. ``source`` names the method that returned it in messages (a batched
    agent's ``eval_action``). An array that is already right is returned as is (no copy).
    """
    what = f" from {source}" if source else ""
    plural = source is not None
    if type(raw) is np.ndarray and raw.dtype == dtype and raw.shape == shape:
        arr = raw  # the common case: nothing to convert
    else:
        try:
            given = np.asarray(raw)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            raise PolicyError(
                f"policy {policy_name!r} returned a {type(raw).__name__}{what} whose conversion "
                f"to an array raised {type(exc).__name__}: {exc}"
            ) from exc
        if given.dtype.kind == "c":
            raise PolicyError(
                f"policy {policy_name!r} returned {'complex actions' if plural else 'a complex action'}"
                f"{what} {given.tolist()}, expected real numbers"
            )
        if given.dtype.kind not in _REAL_KINDS:
            raise PolicyError(
                f"policy {policy_name!r} returned {_short(raw)}{what} (array dtype {given.dtype}), "
                f"expected real numbers of shape {shape}"
            )
        if given.shape != shape:
            noun = "actions" if plural else "an action"
            raise PolicyError(
                f"policy {policy_name!r} returned {noun} of shape {given.shape}{what}, expected "
                f"shape {shape}"
            )
        with np.errstate(over="ignore", invalid="ignore"):  # 1e300 -> inf: refused below
            arr = given.astype(dtype)
    if not np.isfinite(arr).all():
        noun = "non-finite actions" if plural else "a non-finite action"
        raise PolicyError(f"policy {policy_name!r} returned {noun}{what} {arr.tolist()}")
    return arr


def _short(x: Any, limit: int = 80) -> str:
    """``repr(x)``, cut to ``limit`` characters; a ``repr`` that raises names the type instead."""
    try:
        text = repr(x)
    except Exception:
        return f"a {type(x).__name__}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_policy_action(action: Any, space: gym.spaces.Box, policy_name: str) -> np.ndarray:
    """``action`` as an array of the action space's shape and dtype, else ``PolicyError``
    (:func:`coerce_actions` for one action)."""
    return coerce_actions(action, space.shape, space.dtype, policy_name)


class ReachSearchAgent:
    """An example batched, recurrent agent for ML1 ``reach-v3`` (``metaworld.evaluation.Agent``).

    Attempt 1 of a trial sweeps the hand through a 3 x 3 x 4 grid over reach's goal box and
    remembers where the reward was highest; later attempts go straight there. Its memory is
    per env and is wiped only by ``reset(env_mask)``, so its later attempts improve on the first
    only if kmw marks the trial starts right. It only reads the hand position (the first 3
    observation entries), the soft-reset flag and the rewards handed to ``observe``: it is not
    an oracle. ``kmw run reach-v3 --policy kmw.policies:ReachSearchAgent`` (docs/cli.md).
    """

    GRID = np.array(
        [(x, y, z) for x in (-0.1, 0.0, 0.1) for y in (0.8, 0.85, 0.9) for z in (0.05, 0.133, 0.217, 0.3)]
    )
    STEPS_PER_POINT = 6
    GAIN = 10.0

    def __init__(self) -> None:
        self.n = 0

    def reset(self, env_mask: np.ndarray) -> None:
        if len(env_mask) != self.n:
            self.n = len(env_mask)
            self.best = np.zeros((self.n, 3))
            self.best_reward = np.full(self.n, -np.inf)
            self.attempt = np.zeros(self.n, dtype=int)
            self.t = np.zeros(self.n, dtype=int)
            self.reward = np.full(self.n, -np.inf)
        self.best_reward[env_mask] = -np.inf
        self.attempt[env_mask] = -1
        self.reward[env_mask] = -np.inf

    def eval_action(self, observations: np.ndarray) -> np.ndarray:
        flags = observations[:, -1] == 1.0
        hand = np.asarray(observations[:, :3], dtype=np.float64)
        # the last reward was earned arriving here: remember the best place of attempt 1
        better = (self.attempt == 0) & ~flags & (self.reward > self.best_reward)
        self.best[better], self.best_reward[better] = hand[better], self.reward[better]
        self.attempt += flags
        self.t[flags] = 0
        point = self.GRID[np.minimum(self.t // self.STEPS_PER_POINT, len(self.GRID) - 1)]
        target = np.where((self.attempt == 0)[:, None], point, self.best)
        self.t += 1
        actions = np.zeros((len(observations), 4))
        actions[:, :3] = np.clip((target - hand) * self.GAIN, -1.0, 1.0)
        return actions

    def observe(self, actions: np.ndarray, rewards: np.ndarray, dones: np.ndarray) -> None:
        self.reward = np.asarray(rewards, dtype=np.float64)
