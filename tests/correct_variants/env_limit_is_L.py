"""A correct wrapper that sets each env's own step limit to L and counts no steps itself.

Written from ``conformance/SPEC.md`` alone (no kmw import). Style: the env does the counting.
Every env is built lazily, one per class, and its ``max_path_length`` is set to L (lowered or
raised), so the env truncates every attempt at L by itself; the wrapper ends an attempt exactly
when the env returns ``terminated`` or ``truncated``. KMW-ATT-1 and EPL-1 hold because the env's
truncation *is* the cut at L; KMW-EPL-2 holds because an L above the class's limit is set on
the instance.

Choices:
- RNG: ``numpy.random.default_rng(seed)``, re-created by ``reset(seed=s)``; a task is drawn
  uniformly among the split's tasks (classes weighted by their task counts).
- ``observation_space``: float32, the env's bounds then the flag's [0, 1].
- Final step: terminal observation with flag 0.0; both done flags as the env returned them
  (at least one is True there), as Python bools.
- ``step()`` outside a running trial raises ``RuntimeError`` without stepping the env.
"""

from __future__ import annotations

import numbers
from typing import Any

import gymnasium as gym
import numpy as np

P = "AMAGO_LOG_METRIC"


class Wrapper(gym.Env):
    """k attempts per trial, each ended by the env (its limit set to L)."""

    metadata = {"render_modes": []}

    def __init__(self, benchmark: Any, split: str, k_episodes: int, max_episode_length: int = 500):
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        for arg, value in (("k_episodes", k_episodes), ("max_episode_length", max_episode_length)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{arg} must be an integer >= 1, got {value!r}")
        self.k, self.length = int(k_episodes), int(max_episode_length)
        self._classes = benchmark.train_classes if split == "train" else benchmark.test_classes
        tasks = benchmark.train_tasks if split == "train" else benchmark.test_tasks
        self._tasks = [t for t in tasks if t.env_name in self._classes]
        if not self._tasks:
            raise ValueError(f"split {split!r} has no tasks")
        self._envs: dict[str, Any] = {}
        probe = self._env(self._tasks[0].env_name)
        space = probe.observation_space
        self.observation_space = gym.spaces.Box(
            np.append(np.asarray(space.low, np.float32).ravel(), np.float32(0)),
            np.append(np.asarray(space.high, np.float32).ravel(), np.float32(1)),
            dtype=np.float32)
        self.action_space = probe.action_space
        self.reward_scales: dict[str, float] = {}
        self.task_name: str | None = None
        self._rng = np.random.default_rng()
        self._running = False

    def _env(self, name: str) -> Any:
        env = self._envs.get(name)
        if env is None:
            env = self._envs[name] = self._classes[name]()
            env.max_path_length = self.length  # the env cuts every attempt at L
        return env

    def _obs(self, inner: Any, flag: float) -> np.ndarray:
        return np.append(np.asarray(inner, np.float32).ravel(), np.float32(flag))

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        task = self._tasks[int(self._rng.integers(len(self._tasks)))]
        self.task_name = task.env_name
        self._cur = self._env(task.env_name)
        self._cur.set_task(task)
        inner, info = self._cur.reset()
        self._attempt, self._ret, self._won, self._wins = 0, 0.0, False, 0
        self._running = True
        return self._obs(inner, 1.0), dict(info)

    def step(self, action: Any):
        if not self._running:
            raise RuntimeError("the trial is over: call reset()")
        inner, reward, terminated, truncated, info = self._cur.step(action)
        reward = float(reward) * self.reward_scales.get(self.task_name, 1.0)
        info = dict(info)
        self._ret += reward
        self._won = self._won or bool(info.get("success"))
        if not (terminated or truncated):
            return self._obs(inner, 0.0), reward, False, False, info
        i = self._attempt
        info[f"{P} Episode {i} Success"] = 1.0 if self._won else 0.0
        info[f"{P} Episode {i} Return"] = self._ret
        self._wins += int(self._won)
        if i + 1 < self.k:
            fresh, _ = self._cur.reset()
            self._attempt, self._ret, self._won = i + 1, 0.0, False
            return self._obs(fresh, 1.0), reward, False, False, info
        self._running = False
        info[f"{P} Total Successes"] = float(self._wins)
        info[f"{P} Success Rate"] = self._wins / self.k
        return self._obs(inner, 0.0), reward, bool(terminated), bool(truncated), info
