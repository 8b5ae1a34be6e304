"""A correct wrapper in a defensive, copying style.

Written from ``conformance/SPEC.md`` alone (no kmw import). Style: a ``gymnasium.Env``
subclass that never hands out or keeps a reference to anything the underlying env returned:
observations are rebuilt with ``np.array(..., dtype=np.float32, copy=True)`` before the flag is
appended, every returned ``info`` is a fresh dict (a shallow copy of the env's plus the logging
keys), rewards and flags are converted to Python ``float``/``bool``.

Choices:
- One env per class, all built at construction (``max_path_length`` lifted to L when L is
  larger) because the observation space is derived from them: ``observation_space`` is a
  float32 ``gymnasium.spaces.Box`` whose first D bounds are the elementwise union (min of lows,
  max of highs) of the envs' own observation-space bounds cast to float32, and whose last entry
  is [0, 1]. ``action_space`` is the first env's (deep-copied: a defensive copy that still
  compares equal).
- No ``gymnasium.wrappers`` composition: a ``TimeLimit`` or observation wrapper around the env
  would change what the env itself reports (truncation, observation), which SPEC defines on the
  env the candidate built; the attempt limit is counted here.
- RNG: ``self.np_random`` of ``gymnasium.Env``, re-seeded by ``super().reset(seed=seed)``; the
  class is drawn uniformly, then the task.
- Final step: terminal observation with flag 0.0; ``truncated`` True unless the env terminated.
- ``step()`` outside a running trial raises ``RuntimeError`` without stepping the env.
"""

from __future__ import annotations

import copy
import numbers
from typing import Any

import gymnasium as gym
import numpy as np

P = "AMAGO_LOG_METRIC"


def _require_positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name}={value!r} is not an integer")
    if value < 1:
        raise ValueError(f"{name}={value!r} is below 1")
    return int(value)


class Wrapper(gym.Env):
    """k attempts per trial; everything returned is a fresh copy."""

    metadata = {"render_modes": []}

    def __init__(self, benchmark: Any, split: str, k_episodes: int, max_episode_length: int = 500):
        if split not in ("train", "test"):
            raise ValueError(f"split={split!r} is neither 'train' nor 'test'")
        self.k_episodes = _require_positive_int("k_episodes", k_episodes)
        self.max_episode_length = _require_positive_int("max_episode_length", max_episode_length)
        classes = benchmark.train_classes if split == "train" else benchmark.test_classes
        tasks = benchmark.train_tasks if split == "train" else benchmark.test_tasks
        self._tasks: dict[str, list[Any]] = {}
        for task in tasks:
            if task.env_name in classes:
                self._tasks.setdefault(task.env_name, []).append(task)
        if not self._tasks:
            raise ValueError(f"split={split!r} has no tasks")
        self._names = sorted(self._tasks)
        self._envs: dict[str, Any] = {}
        for name in self._names:
            env = classes[name]()
            if env.max_path_length < self.max_episode_length:
                env.max_path_length = self.max_episode_length
            self._envs[name] = env
        spaces = [self._envs[n].observation_space for n in self._names]
        low = np.min([np.asarray(s.low, dtype=np.float32).ravel() for s in spaces], axis=0)
        high = np.max([np.asarray(s.high, dtype=np.float32).ravel() for s in spaces], axis=0)
        self.observation_space = gym.spaces.Box(
            low=np.append(low, np.float32(0.0)).astype(np.float32),
            high=np.append(high, np.float32(1.0)).astype(np.float32),
            dtype=np.float32,
        )
        self.action_space = copy.deepcopy(self._envs[self._names[0]].action_space)
        self.reward_scales: dict[str, float] = {}
        self.task_name: str | None = None
        self._env: Any = None
        self._running = False

    @staticmethod
    def _obs(inner: Any, flag: float) -> np.ndarray:
        body = np.array(inner, dtype=np.float32, copy=True).ravel()
        return np.array(np.append(body, np.float32(flag)), dtype=np.float32, copy=True)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        name = self._names[int(self.np_random.integers(len(self._names)))]
        choices = self._tasks[name]
        task = choices[int(self.np_random.integers(len(choices)))]
        self._env = self._envs[name]
        self._env.set_task(task)
        self.task_name = name
        inner, env_info = self._env.reset()
        self._attempt = 0
        self._steps = 0
        self._ret = 0.0
        self._won = False
        self._wins = 0
        self._running = True
        return self._obs(inner, 1.0), {key: value for key, value in env_info.items()}

    def step(self, action: Any):
        if not self._running:
            raise RuntimeError("step() without a running trial; call reset()")
        inner, env_reward, terminated, truncated, env_info = self._env.step(
            np.array(action, copy=True)
        )
        scale = float(self.reward_scales.get(self.task_name, 1.0))
        reward = float(env_reward) * scale
        info = {key: value for key, value in env_info.items()}
        self._steps += 1
        self._ret += reward
        self._won = self._won or bool(env_info.get("success", False))
        if not (bool(terminated) or bool(truncated) or self._steps >= self.max_episode_length):
            return self._obs(inner, 0.0), reward, False, False, info
        info[f"{P} Episode {self._attempt} Success"] = float(self._won)
        info[f"{P} Episode {self._attempt} Return"] = float(self._ret)
        self._wins += int(self._won)
        if self._attempt + 1 < self.k_episodes:
            fresh, _ = self._env.reset()
            self._attempt += 1
            self._steps, self._ret, self._won = 0, 0.0, False
            return self._obs(fresh, 1.0), reward, False, False, info
        self._running = False
        info[f"{P} Total Successes"] = float(self._wins)
        info[f"{P} Success Rate"] = float(self._wins) / self.k_episodes
        end = bool(terminated)
        return self._obs(inner, 0.0), reward, end, not end, info
