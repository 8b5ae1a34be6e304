"""The reference wrapper with its ``__init__``/``reset``/``step`` split into small hooks.

``HookedReference`` behaves exactly like :class:`kmw.KEpisodeMetaworld` (the kill matrix runs it
as a control that must pass the whole suite); each mutant overrides one hook to plant one bug,
so the difference between a mutant and a conforming wrapper is the few lines of that override.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from kmw._validation import check_action, check_positive_int, check_split
from kmw.wrapper import (
    SUCCESS_RATE_KEY,
    TOTAL_SUCCESSES_KEY,
    KEpisodeMetaworld,
    episode_return_key,
    episode_success_key,
)


class HookedReference(KEpisodeMetaworld):
    """``kmw.KEpisodeMetaworld``, hook for hook (see the module docstring)."""

    # -- construction ---------------------------------------------------------------------------

    def __init__(
        self, benchmark: Any, split: str, k_episodes: int, max_episode_length: int = 500
    ) -> None:
        self.split, self.k_episodes, self.max_episode_length = self._check_args(
            split, k_episodes, max_episode_length
        )
        self.benchmark = benchmark
        train_set = split == "train"
        self.env_funcs = self.get_env_funcs(benchmark, train_set)
        if not self.env_funcs:
            raise ValueError(f"the benchmark's {split} split has no classes")
        self._tasks_by_class: dict[str, list[Any]] = {name: [] for name in self.env_funcs}
        for task in self._split_tasks(benchmark, train_set):
            if task.env_name in self._tasks_by_class:
                self._tasks_by_class[task.env_name].append(task)
        empty = [name for name, ts in self._tasks_by_class.items() if not ts]
        if empty:
            raise ValueError(f"the benchmark's {split} split has no tasks for classes {empty}")
        self._class_names = list(self.env_funcs)
        self._envs: dict[str, Any] = {}
        probe = self._env_for(self._class_names[0])
        self.observation_space = self._make_observation_space(probe.observation_space)
        self._obs_dim = int(np.prod(probe.observation_space.shape))
        self.action_space = probe.action_space
        self.env = None
        self.task_name = None
        self.task = None
        self._trial_over = True

    def _check_args(self, split: Any, k: Any, length: Any) -> tuple[str, int, int]:
        return (
            check_split(split),
            check_positive_int("k_episodes", k),
            check_positive_int("max_episode_length", length),
        )

    def _split_tasks(self, benchmark: Any, train_set: bool) -> list[Any]:
        return benchmark.train_tasks if train_set else benchmark.test_tasks

    def _make_observation_space(self, inner: gym.spaces.Box) -> gym.spaces.Box:
        return gym.spaces.Box(
            low=np.append(np.asarray(inner.low, dtype=np.float32).ravel(), np.float32(0.0)),
            high=np.append(np.asarray(inner.high, dtype=np.float32).ravel(), np.float32(1.0)),
            dtype=np.float32,
        )

    def _env_for(self, name: str) -> Any:
        env = self._envs.get(name)
        if env is None:
            env = self.env_funcs[name]()
            self._lift_limit(env)
            self._envs[name] = env
        return env

    def _lift_limit(self, env: Any) -> None:
        if getattr(env, "max_path_length", self.max_episode_length) < self.max_episode_length:
            env.max_path_length = self.max_episode_length

    # -- trial --------------------------------------------------------------------------------

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        gym.Env.reset(self, seed=seed)
        name, task = self._draw_task()
        self.task, self.task_name = task, self._name_of(name)
        self.env = self._env_for(name)
        self.env.set_task(task)
        obs, info = self.env.reset(seed=int(self.np_random.integers(2**31 - 1)))
        self._start_trial()
        return self._reset_obs(obs), dict(info)

    def _draw_task(self) -> tuple[str, Any]:
        rng = self.np_random
        name = self._class_names[int(rng.integers(len(self._class_names)))]
        tasks = self._tasks_by_class[name]
        return name, tasks[int(rng.integers(len(tasks)))]

    def _name_of(self, name: str) -> str:
        return name

    def _reset_obs(self, obs: np.ndarray) -> np.ndarray:
        return self.get_obs(obs, soft_reset=True)

    def _start_trial(self) -> None:
        self._attempt = 0
        self._successes = 0
        self._start_attempt()
        self._trial_over = False

    def _start_attempt(self) -> None:
        self._attempt_steps = 0
        self._attempt_return = 0.0
        self._attempt_success = False

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._trial_over:
            return self._step_after_end(action)
        action = check_action(action, self.action_space.shape)
        obs, reward, terminated, truncated, info = self.env.step(action)
        reward = self._scale(reward)
        info = dict(info)
        self._attempt_steps += 1
        self._attempt_return += self._return_term(reward, info)
        self._attempt_success = self._update_success(self._attempt_success, info)
        if not self._attempt_over(terminated, truncated, info):
            return self._inner_obs(obs), reward, False, False, info
        i = self._attempt
        self._log_attempt(info, i)
        self._successes += int(self._attempt_success)
        self._attempt = i + 1
        self._end_attempt()
        if self._more_attempts():
            return self._soft_reset_step(obs, reward, terminated, truncated, info)
        self._trial_over = True
        self._log_trial(info)
        return self._final_step(obs, reward, terminated, truncated, info)

    def _step_after_end(self, action: Any) -> Any:
        raise RuntimeError(
            "step() called after the trial ended (or before the first reset()): call reset()"
        )

    def _scale(self, reward: Any) -> float:
        return float(reward) * self.reward_scales.get(self.task_name, 1.0)

    def _return_term(self, reward: float, info: dict[str, Any]) -> float:
        return reward

    def _update_success(self, so_far: bool, info: dict[str, Any]) -> bool:
        return so_far or bool(info.get("success", False))

    def _attempt_over(self, terminated: bool, truncated: bool, info: dict[str, Any]) -> bool:
        return bool(terminated or truncated or self._attempt_steps >= self.max_episode_length)

    def _inner_obs(self, obs: np.ndarray) -> np.ndarray:
        return self.get_obs(obs, soft_reset=False)

    def _log_attempt(self, info: dict[str, Any], i: int) -> None:
        info[episode_success_key(i)] = float(self._attempt_success)
        info[episode_return_key(i)] = self._attempt_return

    def _end_attempt(self) -> None:
        self._start_attempt()

    def _more_attempts(self) -> bool:
        return self._attempt < self.k_episodes

    def _soft_reset_step(
        self, obs: np.ndarray, reward: float, terminated: bool, truncated: bool, info: dict
    ) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        obs, _ = self.env.reset()
        return self.get_obs(obs, soft_reset=True), reward, False, False, info

    def _log_trial(self, info: dict[str, Any]) -> None:
        info[TOTAL_SUCCESSES_KEY] = float(self._successes)
        info[SUCCESS_RATE_KEY] = self._successes / self.k_episodes

    def _final_step(
        self, obs: np.ndarray, reward: float, terminated: bool, truncated: bool, info: dict
    ) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        ended_by_env = bool(terminated)
        return self.get_obs(obs, soft_reset=False), reward, ended_by_env, not ended_by_env, info


#: The unmutated control: must pass every requirement.
Wrapper = HookedReference
BREAKS: frozenset[str] = frozenset()
