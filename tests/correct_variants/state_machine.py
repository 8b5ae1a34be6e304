"""A correct wrapper written as an explicit state machine (IDLE -> RUNNING -> FINISHED).

Written from ``conformance/SPEC.md`` alone. Choices that differ from the reference: every env
is built eagerly at construction; the trial's random generator is its own
``numpy.random.Generator`` (``reset(seed=s)`` re-creates it); logged successes and totals are
ints (the contract compares them as numbers); done flags are ``numpy.bool_`` (gymnasium accepts
them as bools); on the final step ``truncated`` is True unless
the env terminated, and the observation is the terminal one with flag 0.0.
"""

from __future__ import annotations

import enum
import numbers
from dataclasses import dataclass
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

PREFIX = "AMAGO_LOG_METRIC"


class Phase(enum.Enum):
    IDLE = "no trial yet"
    RUNNING = "in a trial"
    FINISHED = "trial over"


@dataclass
class Attempt:
    """Book-keeping of one attempt."""

    index: int
    steps: int = 0
    ret: float = 0.0
    success: bool = False


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


class Wrapper(gym.Env):
    """k attempts at one task of a benchmark split, driven by an explicit phase."""

    reward_scales: ClassVar[dict[str, float]] = {}
    metadata: ClassVar[dict[str, Any]] = {"render_modes": []}

    def __init__(self, benchmark: Any, split: str, k_episodes: int, max_episode_length: int = 500):
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        self.k = _positive_int("k_episodes", k_episodes)
        self.length = _positive_int("max_episode_length", max_episode_length)
        classes = dict(benchmark.train_classes if split == "train" else benchmark.test_classes)
        tasks = list(benchmark.train_tasks if split == "train" else benchmark.test_tasks)
        self._tasks = {name: [t for t in tasks if t.env_name == name] for name in classes}
        self._tasks = {name: ts for name, ts in self._tasks.items() if ts}
        if not self._tasks:
            raise ValueError(f"split {split!r} of the benchmark has no tasks")
        self._names = sorted(self._tasks)
        self._envs = {}
        for name in self._names:
            env = classes[name]()
            if env.max_path_length < self.length:
                env.max_path_length = self.length
            self._envs[name] = env
        first = self._envs[self._names[0]]
        low = np.concatenate([np.asarray(first.observation_space.low, np.float32).ravel(), [0.0]])
        high = np.concatenate([np.asarray(first.observation_space.high, np.float32).ravel(), [1.0]])
        self.observation_space = gym.spaces.Box(
            low.astype(np.float32), high.astype(np.float32), dtype=np.float32
        )
        self.action_space = first.action_space
        self._gen = np.random.default_rng()
        self._phase = Phase.IDLE
        self._attempts: list[Attempt] = []
        self.task_name: str | None = None
        self._env: Any = None

    def _observe(self, inner: Any, flag: float) -> np.ndarray:
        return np.concatenate([np.asarray(inner, dtype=np.float32).ravel(), [flag]]).astype(
            np.float32
        )

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if seed is not None:
            self._gen = np.random.default_rng(seed)
        name = self._names[self._gen.integers(len(self._names))]
        choices = self._tasks[name]
        task = choices[self._gen.integers(len(choices))]
        self.task_name = name
        self._env = self._envs[name]
        self._env.set_task(task)
        inner, info = self._env.reset()
        self._attempts = [Attempt(0)]
        self._phase = Phase.RUNNING
        return self._observe(inner, 1.0), dict(info)

    def step(self, action: Any):
        if self._phase is not Phase.RUNNING:
            raise RuntimeError(f"cannot step: {self._phase.value}; call reset()")
        inner, reward, terminated, truncated, info = self._env.step(action)
        reward = float(reward) * float(self.reward_scales.get(self.task_name, 1.0))
        info = dict(info)
        current = self._attempts[-1]
        current.steps += 1
        current.ret += reward
        current.success = current.success or bool(info.get("success", 0.0))
        if not (terminated or truncated or current.steps >= self.length):
            return self._observe(inner, 0.0), reward, np.False_, np.False_, info
        info[f"{PREFIX} Episode {current.index} Success"] = int(current.success)
        info[f"{PREFIX} Episode {current.index} Return"] = current.ret
        if len(self._attempts) < self.k:
            fresh, _ = self._env.reset()
            self._attempts.append(Attempt(current.index + 1))
            return self._observe(fresh, 1.0), reward, np.False_, np.False_, info
        self._phase = Phase.FINISHED
        wins = sum(a.success for a in self._attempts)
        info[f"{PREFIX} Total Successes"] = wins
        info[f"{PREFIX} Success Rate"] = wins / self.k
        end = np.bool_(terminated)
        return self._observe(inner, 0.0), reward, end, ~end, info
