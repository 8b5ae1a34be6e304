"""A correct wrapper for envs with the older gym API (``reset() -> obs``, 4-tuple ``step``).

Written from ``conformance/SPEC.md`` alone, for Meta-World 2 style envs; check it with
``--kmw-env-api=gym``. The trial is a generator: ``reset()`` starts it, ``step(a)`` sends the
action in and gets the step's answer back. The wrapper itself speaks gymnasium. On the final
step the observation is the terminal one with flag 0.0 and ``truncated`` is True;
``terminated`` is True too when the env ended the attempt and did not say it was a time limit
(``info["TimeLimit.truncated"]``). Like AMAGO's older wrapper, every trial gets a freshly
built env instance (its attempts all share it).
"""

from __future__ import annotations

import numbers
from collections.abc import Generator
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

KEY = "AMAGO_LOG_METRIC {}"
OPTIONS = ("--kmw-env-api=gym",)


class Wrapper(gym.Env):
    """k attempts at one task, the trial run as a generator."""

    reward_scales: ClassVar[dict[str, float]] = {}
    metadata: ClassVar[dict[str, Any]] = {"render_modes": []}

    def __init__(self, benchmark: Any, split: str, k_episodes: int, max_episode_length: int = 500):
        bad = []
        if split not in ("train", "test"):
            bad.append(f"split must be 'train' or 'test' (got {split!r})")
        for name, value in (("k_episodes", k_episodes), ("max_episode_length", max_episode_length)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                bad.append(f"{name} must be an integer >= 1 (got {value!r})")
        if bad:
            raise ValueError("; ".join(bad))
        self.k, self.horizon = int(k_episodes), int(max_episode_length)
        pick = (lambda a, b: a) if split == "train" else (lambda a, b: b)
        self._classes = pick(benchmark.train_classes, benchmark.test_classes)
        all_tasks = pick(benchmark.train_tasks, benchmark.test_tasks)
        self._menu = [(n, [t for t in all_tasks if t.env_name == n]) for n in self._classes]
        self._menu = [(n, ts) for n, ts in self._menu if ts]
        probe = self._env(self._menu[0][0])
        inner = probe.observation_space
        self.observation_space = gym.spaces.Box(
            np.concatenate([inner.low, [0.0]]).astype(np.float32),
            np.concatenate([inner.high, [1.0]]).astype(np.float32),
            dtype=np.float32,
        )
        self.action_space = probe.action_space
        self.task_name = None
        self._trial: Generator[Any, Any, None] | None = None

    def _env(self, name: str) -> Any:
        env = self._classes[name]()
        if env.max_path_length < self.horizon:
            env.max_path_length = self.horizon
        return env

    @staticmethod
    def _wrap(inner: Any, flag: float) -> np.ndarray:
        return np.append(np.asarray(inner, dtype=np.float32), np.float32(flag))

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        name, tasks = self._menu[int(self.np_random.integers(len(self._menu)))]
        task = tasks[int(self.np_random.integers(len(tasks)))]
        self.task_name = name
        env = self._env(name)
        env.set_task(task)
        first = env.reset()
        self._trial = self._run(env, name)
        next(self._trial)
        return self._wrap(first, 1.0), {}

    def _run(self, env: Any, name: str) -> Generator[Any, Any, None]:
        scale = self.reward_scales.get(name, 1.0)
        action = yield None
        wins = 0
        for attempt in range(self.k):
            total, won = 0.0, False
            for t in range(1, self.horizon + 1):
                inner, reward, done, info = env.step(action)
                reward = float(reward) * scale
                info = dict(info)
                total += reward
                won = won or bool(info.get("success"))
                if not done and t < self.horizon:
                    action = yield self._wrap(inner, 0.0), reward, False, False, info
                    continue
                info[KEY.format(f"Episode {attempt} Success")] = float(won)
                info[KEY.format(f"Episode {attempt} Return")] = total
                wins += won
                if attempt + 1 < self.k:
                    action = yield self._wrap(env.reset(), 1.0), reward, False, False, info
                    break
                info[KEY.format("Total Successes")] = float(wins)
                info[KEY.format("Success Rate")] = wins / self.k
                by_env = bool(done) and not info.get("TimeLimit.truncated", False)
                yield self._wrap(inner, 0.0), reward, by_env, True, info
                return

    def step(self, action: Any):
        if self._trial is None:
            raise RuntimeError("no trial running: call reset() first")
        try:
            return self._trial.send(action)
        except StopIteration:
            self._trial = None
            raise RuntimeError("the trial ended: call reset() before stepping again") from None
