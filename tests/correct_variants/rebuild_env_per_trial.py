"""A correct wrapper that builds a fresh env instance at every trial start.

Written from ``conformance/SPEC.md`` alone (no kmw import). Style: a plain ``gymnasium.Env``
subclass that owns at most one underlying env. Each ``reset()`` (a trial start) closes the
previous trial's env, instantiates the drawn task's class anew, lifts its ``max_path_length``
to L when L is larger, sets the task and resets it. All k attempts of that trial then run on
that one instance (KMW-SR-4 concerns attempts within a trial: between attempts it is only
``reset()``, never rebuilt nor given a task again).

Choices:
- At construction one env of the split's first class is built (to read the spaces) and closed.
- ``observation_space``: float32, shape ``(D + 1,)``, first D entries unbounded, flag in [0, 1].
  ``action_space``: the probe env's action space object.
- RNG: ``numpy.random.default_rng``; ``reset(seed=s)`` re-creates it. The class is drawn
  uniformly, then a task of that class uniformly. A fresh env per trial also means a seeded
  trial cannot depend on what earlier trials did to an env.
- Final step: terminal observation, flag 0.0; ``truncated`` True unless the env terminated
  (then ``terminated``). Python bools and floats.
- ``step()`` outside a running trial raises ``RuntimeError`` without stepping the env.
"""

from __future__ import annotations

import numbers
from typing import Any

import gymnasium as gym
import numpy as np

P = "AMAGO_LOG_METRIC"


class Wrapper(gym.Env):
    """k attempts per trial; a new underlying env instance per trial."""

    metadata = {"render_modes": []}

    def __init__(self, benchmark: Any, split: str, k_episodes: int, max_episode_length: int = 500):
        if split not in ("train", "test"):
            raise ValueError(f"split: expected 'train' or 'test', got {split!r}")
        for arg, value in (("k_episodes", k_episodes), ("max_episode_length", max_episode_length)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{arg}: expected an integer >= 1, got {value!r}")
        self.k_episodes = int(k_episodes)
        self.max_episode_length = int(max_episode_length)
        self._classes = benchmark.train_classes if split == "train" else benchmark.test_classes
        tasks = benchmark.train_tasks if split == "train" else benchmark.test_tasks
        self._tasks: dict[str, list[Any]] = {}
        for task in tasks:
            if task.env_name in self._classes:
                self._tasks.setdefault(task.env_name, []).append(task)
        if not self._tasks:
            raise ValueError(f"split: {split!r} has no tasks in this benchmark")
        self._names = sorted(self._tasks)
        probe = self._classes[self._names[0]]()
        dim = int(np.prod(probe.observation_space.shape))
        self.action_space = probe.action_space
        probe.close()
        low = np.full(dim + 1, -np.inf, dtype=np.float32)
        high = np.full(dim + 1, np.inf, dtype=np.float32)
        low[-1], high[-1] = 0.0, 1.0
        self.observation_space = gym.spaces.Box(low, high, dtype=np.float32)
        self.reward_scales: dict[str, float] = {}
        self.task_name: str | None = None
        self._gen = np.random.default_rng()
        self._env: Any = None
        self._running = False

    def _build(self, name: str) -> Any:
        env = self._classes[name]()
        if env.max_path_length < self.max_episode_length:
            env.max_path_length = self.max_episode_length
        return env

    @staticmethod
    def _obs(inner: Any, flag: float) -> np.ndarray:
        out = np.empty(np.size(inner) + 1, dtype=np.float32)
        out[:-1] = np.asarray(inner).ravel()
        out[-1] = flag
        return out

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if seed is not None:
            self._gen = np.random.default_rng(seed)
        name = self._names[self._gen.integers(len(self._names))]
        task = self._tasks[name][self._gen.integers(len(self._tasks[name]))]
        if self._env is not None:
            self._env.close()
        self._env = self._build(name)
        self._env.set_task(task)
        self.task_name = name
        inner, info = self._env.reset()
        self._attempt, self._steps, self._ret, self._won, self._wins = 0, 0, 0.0, False, 0
        self._running = True
        return self._obs(inner, 1.0), dict(info)

    def step(self, action: Any):
        if not self._running:
            raise RuntimeError("step() called outside a trial: call reset() first")
        inner, reward, terminated, truncated, info = self._env.step(action)
        reward = float(reward) * float(self.reward_scales.get(self.task_name, 1.0))
        info = dict(info)
        self._steps += 1
        self._ret += reward
        if info.get("success"):
            self._won = True
        if not (terminated or truncated or self._steps >= self.max_episode_length):
            return self._obs(inner, 0.0), reward, False, False, info
        info[f"{P} Episode {self._attempt} Success"] = float(self._won)
        info[f"{P} Episode {self._attempt} Return"] = self._ret
        self._wins += self._won
        if self._attempt + 1 < self.k_episodes:
            fresh, _ = self._env.reset()
            self._attempt += 1
            self._steps, self._ret, self._won = 0, 0.0, False
            return self._obs(fresh, 1.0), reward, False, False, info
        self._running = False
        info[f"{P} Total Successes"] = float(self._wins)
        info[f"{P} Success Rate"] = self._wins / self.k_episodes
        env_ended = bool(terminated)
        return self._obs(inner, 0.0), reward, env_ended, not env_ended, info

    def close(self) -> None:
        if self._env is not None:
            self._env.close()
            self._env = None
