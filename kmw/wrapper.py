"""``KEpisodeMetaworld``: k attempts at one hidden Meta-World task, as one gymnasium episode.

This is the reference implementation of the k-episode contract (``conformance/SPEC.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from kmw._validation import check_action, check_positive_int, check_split

_BENCHMARK_ATTRS = ("train_classes", "test_classes", "train_tasks", "test_tasks")

#: Prefix of every logged metric; AMAGO's loggers pick up ``info`` keys that start with it.
LOG_PREFIX = "AMAGO_LOG_METRIC"


def episode_success_key(i: int) -> str:
    """Key of attempt ``i``'s (0-based) success flag in ``info``."""
    return f"{LOG_PREFIX} Episode {i} Success"


def episode_return_key(i: int) -> str:
    """Key of attempt ``i``'s (0-based) return in ``info``."""
    return f"{LOG_PREFIX} Episode {i} Return"


TOTAL_SUCCESSES_KEY = f"{LOG_PREFIX} Total Successes"
SUCCESS_RATE_KEY = f"{LOG_PREFIX} Success Rate"


def check_benchmark(benchmark: Any) -> Any:
    """Return ``benchmark`` if it has Meta-World's benchmark interface, else raise ``ValueError``.

    The interface is ``train_classes``, ``test_classes``, ``train_tasks`` and ``test_tasks``.
    A benchmark *name* (a string) is pointed to ``kmw.Metaworld``, which builds it by name.
    """
    if isinstance(benchmark, str):
        raise ValueError(
            f"benchmark must be a Meta-World benchmark object (e.g. metaworld.ML1('reach-v3')), "
            f"got the string {benchmark!r}; to build a benchmark by name use "
            f"kmw.Metaworld({benchmark!r}, split, k_episodes)"
        )
    missing = [attr for attr in _BENCHMARK_ATTRS if not hasattr(benchmark, attr)]
    if missing:
        raise ValueError(
            "benchmark must have Meta-World's benchmark interface "
            f"({', '.join(_BENCHMARK_ATTRS)}), as metaworld.ML1/ML10/ML25/ML45 do; "
            f"got {type(benchmark).__name__} without {', '.join(missing)}"
        )
    return benchmark


class KEpisodeMetaworld(gym.Env):
    """k attempts (episodes) at one task of a Meta-World benchmark split, as one gymnasium episode.

    A *trial* runs from ``reset()`` to the step that ends the k-th attempt. ``reset()`` draws a
    class of the split uniformly, then one of that class's tasks uniformly, and sets it; every
    attempt of the trial runs that task. An attempt ends after ``max_episode_length`` steps, or
    earlier when the underlying env returns ``terminated`` or ``truncated``. Success
    (``info["success"]``) never ends an attempt.

    Observation space: ``Box(shape=(D + 1,), dtype=float32)``; the first ``D`` entries are the
    underlying env's observation (bounds taken from its space, read with one of the split's
    tasks set; for Meta-World, its task-aware ``sawyer_observation_space``) and the last is the
    soft-reset flag in ``[0, 1]``: 1.0 on the observation from ``reset()`` and on every step
    that ends an attempt other than the last, where the observation is the next attempt's first.
    On the trial's final step the observation is the terminal one, with flag 0.0.

    Action space: the underlying env's. ``step`` checks the action (shape, finite values; a
    ``ValueError`` names what was expected) and hands it to the env as an array of the action
    space's dtype.

    Done flags: both are False until the step that ends the k-th attempt. On that step
    ``truncated`` is True (the attempt budget ran out), except when the underlying env itself
    terminated on it, where ``terminated`` is True instead. Stepping past it raises
    ``RuntimeError``: call ``reset()``.

    Logging: on the step that ends attempt ``i`` (0-based) ``info`` holds
    ``"AMAGO_LOG_METRIC Episode {i} Success"`` (1.0 if the underlying ``info["success"]`` was
    truthy on any step of the attempt) and ``"AMAGO_LOG_METRIC Episode {i} Return"`` (the sum of
    the returned rewards of the attempt); the final step also holds
    ``"AMAGO_LOG_METRIC Total Successes"`` and ``"AMAGO_LOG_METRIC Success Rate"``.

    Rewards are the underlying reward times ``reward_scales.get(task_name, 1.0)``. The other
    ``info`` entries of a step are the underlying env's for that step (on a step that ends an
    attempt: the ending step's, not the next attempt's reset info).

    Seeding: ``reset(seed=s)`` seeds the task draw (``self.np_random``) and the seed handed to
    the underlying env's ``reset``, so two wrappers on equal benchmarks reset with the same seed
    and stepped with the same actions produce the same trial; ``reset()`` without a seed
    continues the stream (seeded from OS entropy if never seeded). ``options`` is ignored.

    Env instances are built lazily, one per class, on the first trial that uses the class,
    and reused afterwards; only the split's first class is built at construction (with the
    split's first task set on it) to read the observation and action spaces.

    Args:
        benchmark: A Meta-World benchmark (``metaworld.ML1/ML10/ML25/ML45``) or any object with
            ``train_classes``, ``test_classes``, ``train_tasks`` and ``test_tasks``.
        split: ``"train"`` or ``"test"``: which classes and tasks trials are drawn from.
        k_episodes: Attempts per trial, an integer >= 1.
        max_episode_length: Steps per attempt at most, an integer >= 1. Above the env's own
            ``max_path_length`` the env's limit is lifted, so attempts really run this long.
    """

    #: Per-task reward multipliers, keyed by task (class) name; unlisted tasks use 1.0.
    reward_scales: ClassVar[dict[str, float]] = {}
    metadata: ClassVar[dict[str, Any]] = {"render_modes": []}

    def __init__(
        self,
        benchmark: Any,
        split: str,
        k_episodes: int,
        max_episode_length: int = 500,
    ) -> None:
        self.split = check_split(split)
        self.k_episodes = check_positive_int("k_episodes", k_episodes)
        self.max_episode_length = check_positive_int("max_episode_length", max_episode_length)
        check_benchmark(benchmark)
        self.benchmark = benchmark
        train_set = split == "train"
        self.env_funcs = self.get_env_funcs(benchmark, train_set)
        if not self.env_funcs:
            raise ValueError(f"the benchmark's {split} split has no classes")
        tasks = benchmark.train_tasks if train_set else benchmark.test_tasks
        self._tasks_by_class: dict[str, list[Any]] = {name: [] for name in self.env_funcs}
        for task in tasks:
            if task.env_name in self._tasks_by_class:
                self._tasks_by_class[task.env_name].append(task)
        empty = [name for name, ts in self._tasks_by_class.items() if not ts]
        if empty:
            raise ValueError(f"the benchmark's {split} split has no tasks for classes {empty}")
        self._class_names = list(self.env_funcs)
        self._envs: dict[str, Any] = {}

        # The observation space can depend on the task (Meta-World's partial observability is
        # task data), so read it from an env that has one of the split's tasks set, and prefer
        # Meta-World's task-aware ``sawyer_observation_space`` (which its ``step`` clips to):
        # its ``observation_space`` is fixed at construction, goal-hidden.
        first = self._class_names[0]
        probe = self._env_for(first)
        probe.set_task(self._tasks_by_class[first][0])
        inner = getattr(probe, "sawyer_observation_space", None)
        if inner is None:
            inner = probe.observation_space
        self._obs_dim = int(np.prod(inner.shape))
        self.observation_space = gym.spaces.Box(
            low=np.append(np.asarray(inner.low, dtype=np.float32).ravel(), np.float32(0.0)),
            high=np.append(np.asarray(inner.high, dtype=np.float32).ravel(), np.float32(1.0)),
            dtype=np.float32,
        )
        self.action_space = probe.action_space

        self.env: Any = None
        self.task_name: str | None = None
        self.task: Any = None
        self._trial_over = True

    # -- construction helpers (part of the public surface AMAGO's wrapper has) --------------

    def get_env_funcs(self, benchmark: Any, train_set: bool) -> dict[str, Callable[[], Any]]:
        """Map each class name of the split to a zero-argument function that builds an env of it."""
        classes: Mapping[str, Any] = (
            benchmark.train_classes if train_set else benchmark.test_classes
        )
        return {name: cls for name, cls in classes.items()}

    def get_obs(self, og_obs: np.ndarray, soft_reset: bool) -> np.ndarray:
        """The wrapper's observation: the env's observation, cast to float32, then the flag."""
        out = np.empty(self._obs_dim + 1, dtype=np.float32)
        out[:-1] = np.ravel(og_obs)
        out[-1] = 1.0 if soft_reset else 0.0
        return out

    def _env_for(self, name: str) -> Any:
        """The env of class ``name``, built on first use; its step limit is lifted to L if lower."""
        env = self._envs.get(name)
        if env is None:
            env = self.env_funcs[name]()
            if getattr(env, "max_path_length", self.max_episode_length) < self.max_episode_length:
                env.max_path_length = self.max_episode_length
            self._envs[name] = env
        return env

    # -- gymnasium API ----------------------------------------------------------------------

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start a new trial (also in the middle of one): draw a class of the split uniformly,
        then one of its tasks uniformly, from ``self.np_random`` (reseeded when ``seed`` is
        given), set the task on that class's env and reset it.

        Returns the first observation (flag 1.0) and the env's reset ``info``.
        """
        super().reset(seed=seed)
        rng = self.np_random
        name = self._class_names[int(rng.integers(len(self._class_names)))]
        candidates = self._tasks_by_class[name]
        self.task = candidates[int(rng.integers(len(candidates)))]
        self.task_name = name
        self.env = self._env_for(name)
        self.env.set_task(self.task)
        obs, info = self.env.reset(seed=int(rng.integers(2**31 - 1)))

        self._attempt = 0
        self._attempt_steps = 0
        self._attempt_return = 0.0
        self._attempt_success = False
        self._successes = 0
        self._trial_over = False
        return self.get_obs(obs, soft_reset=True), dict(info)

    def step(
        self, action: Any
    ) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Step the current attempt; on its last step soft-reset the env or end the trial.

        Raises:
            ValueError: ``action`` is not a finite numeric array of the action space's shape
                (the env is not stepped).
            RuntimeError: the trial has ended (or ``reset()`` was never called): call ``reset()``.
        """
        if self._trial_over:
            raise RuntimeError(
                "step() called after the trial ended (or before the first reset()): call reset()"
            )
        action = check_action(action, self.action_space.shape, self.action_space.dtype)
        obs, reward, terminated, truncated, info = self.env.step(action)
        reward = float(reward) * self.reward_scales.get(self.task_name, 1.0)
        info = dict(info)
        self._attempt_steps += 1
        self._attempt_return += reward
        self._attempt_success = self._attempt_success or bool(info.get("success", False))

        attempt_over = terminated or truncated or self._attempt_steps >= self.max_episode_length
        if not attempt_over:
            return self.get_obs(obs, soft_reset=False), reward, False, False, info

        i = self._attempt
        info[episode_success_key(i)] = float(self._attempt_success)
        info[episode_return_key(i)] = self._attempt_return
        self._successes += int(self._attempt_success)
        self._attempt = i + 1
        self._attempt_steps = 0
        self._attempt_return = 0.0
        self._attempt_success = False
        if self._attempt < self.k_episodes:
            obs, _ = self.env.reset()
            return self.get_obs(obs, soft_reset=True), reward, False, False, info

        self._trial_over = True
        info[TOTAL_SUCCESSES_KEY] = float(self._successes)
        info[SUCCESS_RATE_KEY] = self._successes / self.k_episodes
        ended_by_env = bool(terminated)
        return self.get_obs(obs, soft_reset=False), reward, ended_by_env, not ended_by_env, info

    def close(self) -> None:
        """Close every env instance built so far; ``reset()`` builds them again if needed."""
        for env in self._envs.values():
            env.close()
        self._envs.clear()
        self.env = None
        self._trial_over = True
