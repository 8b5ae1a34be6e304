"""A correct wrapper that builds every env of the split eagerly, written with closures.

Written from ``conformance/SPEC.md`` alone (no kmw import). Style: a factory function, not a
class statement of a wrapper. At construction it builds one env per class of the split (a
list, in the benchmark's order of classes, each with ``max_path_length`` lifted to L when L is
larger) and keeps, per class, a ``functools.partial`` that sets a task on that env and resets
it. ``Wrapper`` returns an instance of a small ``gymnasium.Env`` subclass whose ``reset`` and
``step`` delegate to closures over the trial state.

Choices:
- Logged values are ints where SPEC compares numbers: ``Episode i Success`` is ``0``/``1``,
  ``Total Successes`` an int; ``Episode i Return`` is a float (a sum of rewards) and
  ``Success Rate`` the float ``successes / k``.
- Done flags are ``numpy.bool_`` (``np.True_``/``np.False_``) on every step; on the final step
  ``terminated`` mirrors the env's ``terminated`` and ``truncated`` is its negation.
- The final observation is the terminal one with flag 0.0.
- ``observation_space``: float32, first D entries unbounded, flag in [0, 1].
- RNG: ``random.Random`` seeded by ``reset(seed=s)``; class and task are drawn together as one
  index into the flat list of (class, task) pairs (so classes are weighted by task count).
- ``step()`` outside a running trial raises ``RuntimeError`` before touching any env.
"""

from __future__ import annotations

import functools
import numbers
import random
from typing import Any

import gymnasium as gym
import numpy as np

P = "AMAGO_LOG_METRIC"


def _validate(split: Any, k_episodes: Any, max_episode_length: Any) -> None:
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    for name, value in (("k_episodes", k_episodes), ("max_episode_length", max_episode_length)):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
            raise ValueError(f"{name} must be an int, not {type(value).__name__} {value!r}")
        if value < 1:
            raise ValueError(f"{name} must be at least 1, not {value!r}")


def _start(env: Any, task: Any) -> tuple[Any, dict]:
    env.set_task(task)
    return env.reset()


class _KEnv(gym.Env):
    """Holds the spaces and the public attributes; behaviour comes from closures."""

    metadata = {"render_modes": []}

    def __init__(self, reset_fn, step_fn, observation_space, action_space):
        self._reset_fn = reset_fn
        self._step_fn = step_fn
        self.observation_space = observation_space
        self.action_space = action_space
        self.reward_scales: dict[str, float] = {}
        self.task_name: str | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        return self._reset_fn(self, seed)

    def step(self, action: Any):
        return self._step_fn(self, action)


def Wrapper(benchmark: Any, split: str, k_episodes: int, max_episode_length: int = 500) -> _KEnv:
    _validate(split, k_episodes, max_episode_length)
    k, length = int(k_episodes), int(max_episode_length)
    classes = benchmark.train_classes if split == "train" else benchmark.test_classes
    tasks = benchmark.train_tasks if split == "train" else benchmark.test_tasks
    names = [name for name in classes if any(t.env_name == name for t in tasks)]
    if not names:
        raise ValueError(f"split {split!r} has no tasks")
    envs = []
    for name in names:
        env = classes[name]()
        if env.max_path_length < length:
            env.max_path_length = length
        envs.append(env)
    starters = {name: functools.partial(_start, env) for name, env in zip(names, envs)}
    env_of = dict(zip(names, envs))
    pairs = [(t.env_name, t) for t in tasks if t.env_name in env_of]

    dim = int(np.prod(envs[0].observation_space.shape))
    low = np.full(dim + 1, -np.inf, dtype=np.float32)
    high = np.full(dim + 1, np.inf, dtype=np.float32)
    low[-1], high[-1] = 0.0, 1.0
    observation_space = gym.spaces.Box(low, high, dtype=np.float32)

    state: dict[str, Any] = {"rng": random.Random(), "running": False}

    def obs(inner: Any, flag: float) -> np.ndarray:
        return np.concatenate([np.asarray(inner, dtype=np.float32).ravel(), [flag]]).astype(
            np.float32
        )

    def reset(self: _KEnv, seed: int | None):
        if seed is not None:
            state["rng"] = random.Random(seed)
        name, task = pairs[state["rng"].randrange(len(pairs))]
        self.task_name = name
        inner, info = starters[name](task)
        state.update(env=env_of[name], attempt=0, steps=0, ret=0.0, won=False, wins=0,
                     running=True)
        return obs(inner, 1.0), dict(info)

    def step(self: _KEnv, action: Any):
        if not state["running"]:
            raise RuntimeError("no trial is running: call reset()")
        env = state["env"]
        inner, reward, terminated, truncated, info = env.step(action)
        reward = float(reward) * self.reward_scales.get(self.task_name, 1.0)
        info = dict(info)
        state["steps"] += 1
        state["ret"] += reward
        state["won"] = state["won"] or bool(info.get("success", 0))
        if not (terminated or truncated or state["steps"] >= length):
            return obs(inner, 0.0), reward, np.False_, np.False_, info
        i = state["attempt"]
        info[f"{P} Episode {i} Success"] = int(state["won"])
        info[f"{P} Episode {i} Return"] = state["ret"]
        state["wins"] += int(state["won"])
        if i + 1 < k:
            fresh, _ = env.reset()
            state.update(attempt=i + 1, steps=0, ret=0.0, won=False)
            return obs(fresh, 1.0), reward, np.False_, np.False_, info
        state["running"] = False
        info[f"{P} Total Successes"] = state["wins"]
        info[f"{P} Success Rate"] = state["wins"] / k
        term = np.bool_(bool(terminated))
        return obs(inner, 0.0), reward, term, np.logical_not(term), info

    return _KEnv(reset, step, observation_space, envs[0].action_space)
