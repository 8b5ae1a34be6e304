"""AMAGO-style (gym API, ``Trial {i} Success`` keys): draws tasks with ``random``, ignoring seeds.

Modelled on the documented differences of AMAGO's published Meta-World wrapper and run with
AMAGO's options (``OPTIONS``): under ``--kmw-keys=amago`` the only finding is the ignored seed
(KMW-TSK-3, a SHOULD), and the requirements whose keys AMAGO lacks are reported not checked.
Everything else (argument checks, stepping after the end) is done right so that nothing but the
documented differences shows.
"""

from __future__ import annotations

import numbers
import random
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

P = "AMAGO_LOG_METRIC"


class Wrapper(gym.Env):
    reward_scales: ClassVar[dict[str, float]] = {}

    def __init__(self, benchmark: Any, split: str, k_episodes: int, max_episode_length: int = 500):
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        for name, value in (("k_episodes", k_episodes), ("max_episode_length", max_episode_length)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        self.k_episodes, self.max_episode_length = int(k_episodes), int(max_episode_length)
        train = split == "train"
        classes = benchmark.train_classes if train else benchmark.test_classes
        tasks = benchmark.train_tasks if train else benchmark.test_tasks
        self._envs: dict[str, tuple[Any, list[Any]]] = {}
        for name, cls in classes.items():
            env = cls()
            if env.max_path_length < self.max_episode_length:
                env.max_path_length = self.max_episode_length
            self._envs[name] = (env, [t for t in tasks if t.env_name == name])
        self._done = True
        self.reset()
        self._done = True
        inner = self.env.observation_space
        self.observation_space = gym.spaces.Box(
            low=np.asarray(list(inner.low) + [0.0]), high=np.asarray(list(inner.high) + [1.0]),
            dtype=np.float32,
        )
        self.action_space = self.env.action_space

    def get_obs(self, og_obs: Any, soft_reset: bool) -> np.ndarray:
        return np.concatenate((og_obs, [float(soft_reset)])).astype(np.float32)

    def reset(self, *args: Any, **kwargs: Any) -> tuple[np.ndarray, dict[str, Any]]:
        self.current_trial = 0
        self.current_time = 0
        self.trial_success = 0.0
        self.task_name = random.choice(list(self._envs))
        self.env, tasks = self._envs[self.task_name]
        self.env.set_task(random.choice(tasks))
        obs = self.env.reset()
        self._done = False
        return self.get_obs(obs, True), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._done:
            raise RuntimeError("step() after the trial ended: call reset()")
        next_obs, reward, done, info = self.env.step(action)
        reward = float(reward) * self.reward_scales.get(self.task_name, 1.0)
        self.trial_success = max(float(info["success"]), self.trial_success)
        self.current_time += 1
        out_info: dict[str, Any] = {}
        soft_reset = False
        if self.current_time >= self.max_episode_length or done:
            out_info[f"{P} Trial {self.current_trial} Success"] = self.trial_success
            soft_reset = True
            self.current_time = 0
            self.trial_success = 0.0
            next_obs = self.env.reset()
            self.current_trial += 1
        terminated = truncated = self.current_trial >= self.k_episodes
        self._done = terminated
        return self.get_obs(next_obs, soft_reset), reward, terminated, truncated, out_info


BREAKS = frozenset({"KMW-TSK-3"})
OPTIONS = ("--kmw-env-api=gym", "--kmw-keys=amago")
#: Requirements the amago key scheme has no key for: must be reported not checked.
NOT_CHECKED = frozenset({"KMW-LOG-2", "KMW-LOG-3"})
