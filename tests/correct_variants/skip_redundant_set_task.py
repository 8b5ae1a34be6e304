"""A correct wrapper that calls ``set_task`` only when the drawn task is not already set.

Written from ``conformance/SPEC.md`` alone (no kmw import). Style: one env per class, built
lazily (``max_path_length`` lifted to L when L is larger), plus a record of the task each env
was last given. At a trial start the task is drawn and ``set_task`` is called only if that env
does not already hold it (an optimisation: the env's task is then already the drawn one); the
env is reset either way. Between attempts the env is only reset.

Choices:
- RNG: ``random.Random(seed)``, re-created by ``reset(seed=s)``; the class is drawn uniformly
  (``rng.choice`` over the sorted class names), then the task uniformly among that class's tasks.
- ``observation_space``: float32, shape ``(D + 1,)``, first D entries unbounded, flag in [0, 1].
- Final step: terminal observation with flag 0.0; ``truncated`` True unless the env terminated.
  Python bools and floats.
- ``step()`` outside a running trial raises ``RuntimeError`` without stepping the env.
"""

from __future__ import annotations

import numbers
import random
from typing import Any

import gymnasium as gym
import numpy as np

P = "AMAGO_LOG_METRIC"


class Wrapper(gym.Env):
    """k attempts per trial; ``set_task`` skipped when the env already has the drawn task."""

    metadata = {"render_modes": []}

    def __init__(self, benchmark: Any, split: str, k_episodes: int, max_episode_length: int = 500):
        if split not in ("train", "test"):
            raise ValueError(f"bad split {split!r}: must be 'train' or 'test'")
        for arg, value in (("k_episodes", k_episodes), ("max_episode_length", max_episode_length)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise ValueError(f"bad {arg} {value!r}: must be an integer")
            if value < 1:
                raise ValueError(f"bad {arg} {value!r}: must be at least 1")
        self.k_episodes = int(k_episodes)
        self.max_episode_length = int(max_episode_length)
        self._classes = benchmark.train_classes if split == "train" else benchmark.test_classes
        tasks = benchmark.train_tasks if split == "train" else benchmark.test_tasks
        self._tasks: dict[str, list[Any]] = {}
        for task in tasks:
            if task.env_name in self._classes:
                self._tasks.setdefault(task.env_name, []).append(task)
        if not self._tasks:
            raise ValueError(f"bad split {split!r}: no tasks")
        self._names = sorted(self._tasks)
        self._envs: dict[str, Any] = {}
        self._task_of: dict[str, Any] = {}  # the task each env was last given
        first = self._env(self._names[0])
        dim = int(np.prod(first.observation_space.shape))
        self.action_space = first.action_space
        low = np.full(dim + 1, -np.inf, dtype=np.float32)
        high = np.full(dim + 1, np.inf, dtype=np.float32)
        low[-1], high[-1] = 0.0, 1.0
        self.observation_space = gym.spaces.Box(low, high, dtype=np.float32)
        self.reward_scales: dict[str, float] = {}
        self.task_name: str | None = None
        self._rng = random.Random()
        self._current: Any = None
        self._running = False

    def _env(self, name: str) -> Any:
        env = self._envs.get(name)
        if env is None:
            env = self._classes[name]()
            if env.max_path_length < self.max_episode_length:
                env.max_path_length = self.max_episode_length
            self._envs[name] = env
        return env

    @staticmethod
    def _obs(inner: Any, flag: float) -> np.ndarray:
        return np.hstack([np.asarray(inner, dtype=np.float32).ravel(), np.float32(flag)])

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if seed is not None:
            self._rng = random.Random(seed)
        name = self._rng.choice(self._names)
        task = self._rng.choice(self._tasks[name])
        env = self._env(name)
        if self._task_of.get(name) is not task:
            env.set_task(task)
            self._task_of[name] = task
        self._current = env
        self.task_name = name
        inner, info = env.reset()
        self._attempt, self._steps, self._ret, self._won, self._wins = 0, 0, 0.0, False, 0
        self._running = True
        return self._obs(inner, 1.0), dict(info)

    def step(self, action: Any):
        if not self._running:
            raise RuntimeError("no running trial: reset() first")
        inner, reward, terminated, truncated, info = self._current.step(action)
        reward = float(reward) * float(self.reward_scales.get(self.task_name, 1.0))
        info = dict(info)
        self._steps += 1
        self._ret += reward
        self._won = self._won or bool(info.get("success", False))
        if not (terminated or truncated or self._steps >= self.max_episode_length):
            return self._obs(inner, 0.0), reward, False, False, info
        info[f"{P} Episode {self._attempt} Success"] = 1.0 if self._won else 0.0
        info[f"{P} Episode {self._attempt} Return"] = self._ret
        self._wins += int(self._won)
        if self._attempt + 1 < self.k_episodes:
            fresh, _ = self._current.reset()
            self._attempt += 1
            self._steps, self._ret, self._won = 0, 0.0, False
            return self._obs(fresh, 1.0), reward, False, False, info
        self._running = False
        info[f"{P} Total Successes"] = float(self._wins)
        info[f"{P} Success Rate"] = self._wins / self.k_episodes
        return self._obs(inner, 0.0), reward, bool(terminated), not terminated, info
