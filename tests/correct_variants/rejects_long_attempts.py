"""A correct wrapper that rejects ``max_episode_length`` above an env class's own step limit.

Written from ``conformance/SPEC.md`` alone. KMW-EPL-2 lets a candidate either honour an L
above the env's ``max_path_length`` or reject it at construction: this one never touches the
env's limit and raises ``ValueError`` at construction when L exceeds the limit of any class of
the split. Everything else is plain: lazily built envs, draws from ``gymnasium.Env.np_random``,
terminal observation with flag 0.0 and ``truncated`` on the final step (``terminated`` when the
env terminated).
"""

from __future__ import annotations

import numbers
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

P = "AMAGO_LOG_METRIC"


class Wrapper(gym.Env):
    """k attempts of at most L steps each, with L capped by the env classes' own limits."""

    reward_scales: ClassVar[dict[str, float]] = {}
    metadata: ClassVar[dict[str, Any]] = {"render_modes": []}

    def __init__(self, benchmark: Any, split: str, k_episodes: int, max_episode_length: int = 500):
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        for name, value in (("k_episodes", k_episodes), ("max_episode_length", max_episode_length)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        self.k_episodes, self.max_episode_length = int(k_episodes), int(max_episode_length)
        self._classes = benchmark.train_classes if split == "train" else benchmark.test_classes
        tasks = benchmark.train_tasks if split == "train" else benchmark.test_tasks
        limits = {n: getattr(c, "max_path_length", None) for n, c in self._classes.items()}
        too_short = {
            n: lim for n, lim in limits.items() if lim is not None and lim < max_episode_length
        }
        if too_short:
            raise ValueError(
                f"max_episode_length={max_episode_length} exceeds the step limit "
                f"(max_path_length) of env classes {too_short}; "
                f"use at most {min(too_short.values())}"
            )
        self._pool = {n: [t for t in tasks if t.env_name == n] for n in self._classes}
        self._pool = {n: ts for n, ts in self._pool.items() if ts}
        self._built: dict[str, Any] = {}
        probe = self._get(next(iter(self._pool)))
        lo, hi = probe.observation_space.low, probe.observation_space.high
        self.observation_space = gym.spaces.Box(
            np.hstack([lo, 0.0]).astype(np.float32), np.hstack([hi, 1.0]).astype(np.float32),
            dtype=np.float32,
        )
        self.action_space = probe.action_space
        self.task_name = None
        self._over = True

    def _get(self, name: str) -> Any:
        if name not in self._built:
            self._built[name] = self._classes[name]()
        return self._built[name]

    def _pack(self, inner: Any, flag: float) -> np.ndarray:
        return np.hstack([np.asarray(inner, dtype=np.float32), np.float32(flag)]).astype(np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        names = list(self._pool)
        name = names[int(self.np_random.integers(len(names)))]
        task = self._pool[name][int(self.np_random.integers(len(self._pool[name])))]
        self.task_name, self._env = name, self._get(name)
        self._env.set_task(task)
        obs, info = self._env.reset()
        self._over = False
        self._i, self._steps, self._ret, self._ok, self._oks = 0, 0, 0.0, False, 0
        return self._pack(obs, 1.0), dict(info)

    def step(self, action: Any):
        if self._over:
            raise RuntimeError("step() with no trial running: call reset()")
        obs, reward, terminated, truncated, info = self._env.step(action)
        reward = float(reward) * self.reward_scales.get(self.task_name, 1.0)
        info = dict(info)
        self._steps += 1
        self._ret += reward
        self._ok = self._ok or bool(info.get("success"))
        if not (terminated or truncated) and self._steps < self.max_episode_length:
            return self._pack(obs, 0.0), reward, False, False, info
        info[f"{P} Episode {self._i} Success"] = float(self._ok)
        info[f"{P} Episode {self._i} Return"] = self._ret
        self._oks += int(self._ok)
        self._i, self._steps, self._ret, self._ok = self._i + 1, 0, 0.0, False
        if self._i < self.k_episodes:
            nxt, _ = self._env.reset()
            return self._pack(nxt, 1.0), reward, False, False, info
        self._over = True
        info[f"{P} Total Successes"] = float(self._oks)
        info[f"{P} Success Rate"] = self._oks / self.k_episodes
        return self._pack(obs, 0.0), reward, bool(terminated), not terminated, info
