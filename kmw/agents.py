"""Who acts in ``kmw.evaluate``: an agent resolved to a *driver* that turns a batch of observations
into a checked batch of actions.

Two kinds of agent (see :mod:`kmw.evaluation` for the exact calling sequence):

* a **per-observation policy** (:class:`kmw.policies.Policy`, or any callable
  ``policy(obs) -> action``), driven by :class:`PerObservationDriver`: one call per env per step;
* a **batched agent** (Meta-World 3's ``metaworld.evaluation.Agent``: ``eval_action`` and
  ``reset``, optionally ``observe``), driven by :class:`BatchedDriver`: one call per vector step.

A driver's ``act`` returns a fresh ``(num_envs, *action_shape)`` array of the action space's
dtype with finite entries, or raises :class:`kmw.policies.PolicyError` naming the policy: for
anything the agent raises (but ``KeyboardInterrupt``) and for any action that is not real
numbers of the right shape (:func:`kmw.policies.coerce_actions`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np

from kmw.policies import (
    CallablePolicy,
    ExpertPolicy,
    Policy,
    PolicyError,
    RandomPolicy,
    check_policy_object,
    coerce_actions,
    import_object,
    is_agent,
)

__all__ = ["Agent", "BatchedDriver", "Driver", "PerObservationDriver", "resolve_agent"]


@runtime_checkable
class Agent(Protocol):
    """A batched, stateful agent: Meta-World 3's ``metaworld.evaluation.Agent``.

    ``observe(actions, rewards, dones)`` is optional (see :mod:`kmw.evaluation` for the exact
    calling sequence).
    """

    def eval_action(self, observations: np.ndarray) -> Any:
        """Actions ``(num_envs, action_dim)`` for observations ``(num_envs, obs_dim)``, or a
        pair ``(actions, aux_dict)``."""
        ...

    def reset(self, env_mask: np.ndarray) -> None:
        """Forget the memory of the envs where ``env_mask`` is True: their trials start."""
        ...


class Driver(Protocol):
    """What the rollout loop (:func:`kmw.rollout.run_trials`) calls."""

    name: str
    oracle: bool
    batched: bool

    def reset(self, mask: np.ndarray) -> None: ...

    def act(self, obs: np.ndarray, tasks: list[str | None], goals: list[Any]) -> np.ndarray: ...

    def observe(self, actions: np.ndarray, rewards: np.ndarray, dones: np.ndarray) -> None: ...


def _policy_fault(name: str, what: str, exc: BaseException) -> PolicyError:
    return PolicyError(f"policy {name!r} raised {type(exc).__name__}{what}: {exc}")


class PerObservationDriver:
    """Drives a per-observation :class:`kmw.policies.Policy`: one call per env per step.

    kmw's own ``random`` policy is asked for the whole batch at once (``act_batch``: the same
    numbers as one call per env, in env order) and its actions, right by construction, are not
    checked again.
    """

    batched = False

    def __init__(self, policy: Policy, space: gym.spaces.Box) -> None:
        self.policy, self.space = policy, space
        self.name, self.oracle = policy.name, policy.oracle
        self._batch: Callable[[int], np.ndarray] | None = (
            policy.act_batch if isinstance(policy, RandomPolicy) else None
        )

    def reset(self, mask: np.ndarray) -> None:
        pass

    def observe(self, actions: np.ndarray, rewards: np.ndarray, dones: np.ndarray) -> None:
        pass

    def act(self, obs: np.ndarray, tasks: list[str | None], goals: list[Any]) -> np.ndarray:
        n = obs.shape[0]
        if self._batch is not None:
            return self._batch(n)
        actions = np.empty((n, *self.space.shape), dtype=self.space.dtype)
        for i in range(n):
            try:
                raw = self.policy.act(obs[i], tasks[i], goals[i])
            except (PolicyError, KeyboardInterrupt):
                raise
            except BaseException as exc:  # SystemExit, GeneratorExit...: still the policy's fault
                raise _policy_fault(self.name, "", exc) from exc
            actions[i] = coerce_actions(raw, self.space.shape, self.space.dtype, self.name)
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
        want = (obs.shape[0], *self.space.shape)
        arr = coerce_actions(raw, want, self.space.dtype, self.name, source="eval_action")
        return arr.copy() if arr is raw else arr  # never the agent's own array


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
