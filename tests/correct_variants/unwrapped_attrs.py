"""A correct wrapper that leans on gymnasium's env attributes (``unwrapped``, ``np_random``, ...).

Written from ``conformance/SPEC.md`` alone (no kmw import). Style: a ``gymnasium.Env``
subclass, envs built lazily one per class, written the way a gymnasium user would: the step
limit is lifted on ``env.unwrapped`` (``env.unwrapped.max_path_length = L`` when L is larger),
the wrapper's ``metadata`` and ``render_mode`` are taken from the first env of the split, its
``spec`` is ``None`` (it is not registered), and the draws use gymnasium's own seeding.

Choices:
- RNG: ``self.np_random`` of ``gymnasium.Env``; ``reset(seed=s)`` calls
  ``super().reset(seed=s)``, which re-creates it. At every trial start the drawn env's own
  ``np_random`` is re-seeded from the wrapper's generator (``env.unwrapped.np_random =
  np.random.default_rng(int)``), so any randomness inside the env is fixed by the trial's seed.
  The class is drawn uniformly, then the task.
- ``observation_space``: float32, shape ``(D + 1,)``, first D entries unbounded, flag in [0, 1].
  ``action_space``: the first env's.
- Final step: terminal observation, flag 0.0; ``truncated`` True unless the env terminated.
- ``step()`` outside a running trial raises ``RuntimeError`` without stepping the env.
"""

from __future__ import annotations

import numbers
from typing import Any

import gymnasium as gym
import numpy as np

P = "AMAGO_LOG_METRIC"


class Wrapper(gym.Env):
    """k attempts per trial, configured through the envs' gymnasium attributes."""

    spec = None

    def __init__(self, benchmark: Any, split: str, k_episodes: int, max_episode_length: int = 500):
        if split not in {"train", "test"}:
            raise ValueError(f"invalid split {split!r} (expected 'train' or 'test')")
        for arg, value in (("k_episodes", k_episodes), ("max_episode_length", max_episode_length)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"invalid {arg} {value!r} (expected a positive integer)")
        self.k_episodes = int(k_episodes)
        self.max_episode_length = int(max_episode_length)
        self._classes = benchmark.train_classes if split == "train" else benchmark.test_classes
        tasks = benchmark.train_tasks if split == "train" else benchmark.test_tasks
        self._tasks: dict[str, list[Any]] = {}
        for task in tasks:
            if task.env_name in self._classes:
                self._tasks.setdefault(task.env_name, []).append(task)
        if not self._tasks:
            raise ValueError(f"invalid split {split!r}: the benchmark has no tasks for it")
        self._names = sorted(self._tasks)
        self._envs: dict[str, gym.Env] = {}
        first = self._get_env(self._names[0])
        self.metadata = dict(first.metadata)
        self.render_mode = first.render_mode
        self.action_space = first.action_space
        dim = int(np.prod(first.observation_space.shape))
        low = np.full(dim + 1, -np.inf, dtype=np.float32)
        high = np.full(dim + 1, np.inf, dtype=np.float32)
        low[-1], high[-1] = 0.0, 1.0
        self.observation_space = gym.spaces.Box(low, high, dtype=np.float32)
        self.reward_scales: dict[str, float] = {}
        self.task_name: str | None = None
        self._env: gym.Env | None = None
        self._running = False

    def _get_env(self, name: str) -> gym.Env:
        if name not in self._envs:
            env = self._classes[name]()
            if env.unwrapped.max_path_length < self.max_episode_length:
                env.unwrapped.max_path_length = self.max_episode_length
            self._envs[name] = env
        return self._envs[name]

    @staticmethod
    def _obs(inner: Any, flag: float) -> np.ndarray:
        return np.r_[np.asarray(inner, dtype=np.float32).ravel(), np.float32(flag)]

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        name = self._names[int(self.np_random.integers(len(self._names)))]
        task = self._tasks[name][int(self.np_random.integers(len(self._tasks[name])))]
        env = self._get_env(name)
        env.unwrapped.np_random = np.random.default_rng(int(self.np_random.integers(2**32)))
        env.set_task(task)
        self._env = env
        self.task_name = name
        inner, info = env.reset()
        self._attempt, self._steps, self._ret, self._won, self._wins = 0, 0, 0.0, False, 0
        self._running = True
        return self._obs(inner, 1.0), dict(info)

    def step(self, action: Any):
        if not self._running:
            raise RuntimeError("the trial has ended (or never started); call reset()")
        inner, reward, terminated, truncated, info = self._env.step(action)
        reward = float(reward) * float(self.reward_scales.get(self.task_name, 1.0))
        info = dict(info)
        self._steps += 1
        self._ret += reward
        self._won = self._won or bool(info.get("success", False))
        if not (terminated or truncated or self._steps >= self.max_episode_length):
            return self._obs(inner, 0.0), reward, False, False, info
        info[f"{P} Episode {self._attempt} Success"] = float(self._won)
        info[f"{P} Episode {self._attempt} Return"] = self._ret
        self._wins += int(self._won)
        if self._attempt + 1 < self.k_episodes:
            fresh, _ = self._env.reset()
            self._attempt += 1
            self._steps, self._ret, self._won = 0, 0.0, False
            return self._obs(fresh, 1.0), reward, False, False, info
        self._running = False
        info[f"{P} Total Successes"] = float(self._wins)
        info[f"{P} Success Rate"] = self._wins / self.k_episodes
        return self._obs(inner, 0.0), reward, bool(terminated), not terminated, info

    def close(self) -> None:
        for env in self._envs.values():
            env.close()
