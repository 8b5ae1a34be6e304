"""A correct wrapper in the natural ``gymnasium.Wrapper`` style.

Written from ``conformance/SPEC.md`` alone (no kmw import). Style: a ``gymnasium.Wrapper``
subclass whose ``self.env`` is the current trial's underlying env. ``super().__init__(env)`` is
called with an env of the first class drawn at construction; ``reset()`` swaps ``self.env`` for
the drawn class's env when the class changes. One env per class is built lazily and cached
(``max_path_length`` lifted to L when L is larger), so every attempt of a trial runs on the same
env.

Choices:
- ``observation_space`` is overridden (the ``gymnasium.Wrapper`` setter) with a float32 Box of
  shape ``(D + 1,)``: the first D entries are unbounded (the D of the construction-time env;
  classes of a split may have different bounds, so none are assumed), the flag lies in [0, 1].
- ``action_space`` is not overridden: ``gymnasium.Wrapper`` forwards the current env's.
- Draws come from the wrapper's own ``numpy.random.Generator``, not ``self.np_random`` (which
  ``gymnasium.Wrapper`` forwards to the env); ``reset(seed=s)`` re-creates it and also passes
  ``seed`` on to the env's first reset of the trial, as ``gymnasium.Wrapper.reset`` would.
- Final step: terminal observation with flag 0.0; ``terminated`` if the env terminated on it,
  else ``truncated``. Python bools. Logged values are Python floats.
- ``step()`` before the first ``reset()`` or after the trial ended raises ``RuntimeError``
  before touching the env.
- Known: the conformance suite's scripted envs are not ``gymnasium.Env`` instances, so
  ``gymnasium.Wrapper.__init__`` rejects them (``TypeError``); use ``--kmw-backend=metaworld``.
"""

from __future__ import annotations

import numbers
from typing import Any

import gymnasium as gym
import numpy as np

P = "AMAGO_LOG_METRIC"


def _check_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value!r}")
    return int(value)


class Wrapper(gym.Wrapper):
    """k attempts at one task per trial, around the current task's env."""

    def __init__(self, benchmark: Any, split: str, k_episodes: int, max_episode_length: int = 500):
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        k = _check_int("k_episodes", k_episodes)
        length = _check_int("max_episode_length", max_episode_length)
        classes = benchmark.train_classes if split == "train" else benchmark.test_classes
        tasks = benchmark.train_tasks if split == "train" else benchmark.test_tasks
        by_class: dict[str, list[Any]] = {}
        for task in tasks:
            if task.env_name in classes:
                by_class.setdefault(task.env_name, []).append(task)
        if not by_class:
            raise ValueError(f"split {split!r} of the benchmark has no tasks")
        self._classes = classes
        self._tasks = by_class
        self._names = sorted(by_class)
        self._envs: dict[str, Any] = {}
        self.k_episodes = k
        self.max_episode_length = length
        super().__init__(self._env_for(self._names[0]))
        dim = int(np.prod(self.env.observation_space.shape))
        low = np.full(dim + 1, -np.inf, dtype=np.float32)
        high = np.full(dim + 1, np.inf, dtype=np.float32)
        low[-1], high[-1] = 0.0, 1.0
        self.observation_space = gym.spaces.Box(low, high, dtype=np.float32)
        self.reward_scales: dict[str, float] = {}
        self.task_name: str | None = None
        self._rng = np.random.default_rng()
        self._attempt = 0
        self._steps = 0
        self._return = 0.0
        self._success = False
        self._successes = 0
        self._running = False

    def _env_for(self, name: str) -> Any:
        if name not in self._envs:
            env = self._classes[name]()
            if env.max_path_length < self.max_episode_length:
                env.max_path_length = self.max_episode_length
            self._envs[name] = env
        return self._envs[name]

    def _obs(self, inner: Any, flag: float) -> np.ndarray:
        return np.append(np.asarray(inner, dtype=np.float32).ravel(), np.float32(flag))

    def _start_attempt(self) -> None:
        self._steps = 0
        self._return = 0.0
        self._success = False

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        name = self._names[int(self._rng.integers(len(self._names)))]
        task = self._tasks[name][int(self._rng.integers(len(self._tasks[name])))]
        self.env = self._env_for(name)  # swap the wrapped env when the class changes
        self.task_name = name
        self.env.set_task(task)
        inner, info = self.env.reset(seed=seed, options=options)
        self._attempt = 0
        self._successes = 0
        self._start_attempt()
        self._running = True
        return self._obs(inner, 1.0), dict(info)

    def step(self, action: Any):
        if not self._running:
            raise RuntimeError("the trial is over (or not started): call reset() first")
        inner, reward, terminated, truncated, info = self.env.step(action)
        reward = float(reward) * float(self.reward_scales.get(self.task_name, 1.0))
        info = dict(info)
        self._steps += 1
        self._return += reward
        self._success = self._success or bool(info.get("success", False))
        if not (terminated or truncated or self._steps >= self.max_episode_length):
            return self._obs(inner, 0.0), reward, False, False, info
        i = self._attempt
        info[f"{P} Episode {i} Success"] = 1.0 if self._success else 0.0
        info[f"{P} Episode {i} Return"] = self._return
        self._successes += int(self._success)
        if i + 1 < self.k_episodes:
            self._attempt += 1
            self._start_attempt()
            fresh, _ = self.env.reset()
            return self._obs(fresh, 1.0), reward, False, False, info
        self._running = False
        info[f"{P} Total Successes"] = float(self._successes)
        info[f"{P} Success Rate"] = self._successes / self.k_episodes
        ended_by_env = bool(terminated)
        return self._obs(inner, 0.0), reward, ended_by_env, not ended_by_env, info

    def close(self) -> None:
        for env in self._envs.values():
            env.close()
        self._envs.clear()
