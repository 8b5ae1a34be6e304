"""``KEpisodeMetaworld``: k attempts at one hidden Meta-World task, as one gymnasium episode.

This is the reference implementation of the k-episode contract (``conformance/SPEC.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from kmw._validation import check_action, check_positive_int, check_split
from kmw.support import unusable_error

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
        self.split, self.k_episodes, self.max_episode_length = self._check_args(
            split, k_episodes, max_episode_length
        )
        check_benchmark(benchmark)
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
        self._probe_spaces()

        self.env: Any = None
        self.task_name: str | None = None
        self.task: Any = None
        self._trial_over = True

    # -- extension points -------------------------------------------------------------------
    #
    # ``__init__``, ``reset`` and ``step`` are written as a fixed sequence of the small steps
    # below; a subclass changes one step by overriding its method (``tests/mutants/`` plants
    # one bug each this way). Each docstring states what the step must do for the wrapper to
    # keep SPEC's contract. Per step of an attempt only ``_scale``, ``_record_step`` and
    # ``get_obs`` run; the others run at attempt and trial boundaries.

    # -- construction -----------------------------------------------------------------------

    def _check_args(
        self, split: Any, k_episodes: Any, max_episode_length: Any
    ) -> tuple[str, int, int]:
        """Validate the constructor's arguments; return ``(split, k_episodes, max_episode_length)``.

        Contract: ``split`` is ``"train"`` or ``"test"``; both counts are integers >= 1 (bools
        excluded), returned as ``int``; anything else raises ``ValueError`` naming what was
        expected (KMW-IFC-3, IFC-4).
        """
        return (
            check_split(split),
            check_positive_int("k_episodes", k_episodes),
            check_positive_int("max_episode_length", max_episode_length),
        )

    def get_env_funcs(self, benchmark: Any, train_set: bool) -> dict[str, Callable[[], Any]]:
        """Map each class name of the split to a zero-argument function that builds an env of it.

        Contract: exactly the split's classes (``train_classes`` or ``test_classes``), keyed by
        the benchmark's names for them (part of the public surface AMAGO's wrapper has).
        """
        classes: Mapping[str, Any] = (
            benchmark.train_classes if train_set else benchmark.test_classes
        )
        return {name: cls for name, cls in classes.items()}

    def _split_tasks(self, benchmark: Any, train_set: bool) -> Any:
        """The tasks trials may draw from: the split's own ``train_tasks`` or ``test_tasks``.

        Contract: never a task of the other split (KMW-TSK-1); tasks of classes outside the
        split are ignored by the caller.
        """
        return benchmark.train_tasks if train_set else benchmark.test_tasks

    def _env_for(self, name: str) -> Any:
        """The env of class ``name``: built (and its limit lifted, ``_lift_limit``) on first
        use, then reused.

        Contract: one instance per class for the wrapper's lifetime (until ``close()``); every
        attempt of a trial runs on the env returned here at ``reset()`` (KMW-SR-4). An env
        that the installed packages cannot build raises ``kmw.support.MetaworldUnusable``
        (one line naming what to install); any other error building it is raised as it is.
        """
        env = self._envs.get(name)
        if env is None:
            try:
                env = self.env_funcs[name]()
            except Exception as exc:
                unusable = unusable_error(exc)
                if unusable is not None:
                    raise unusable from exc
                raise
            self._lift_limit(env)
            self._envs[name] = env
        return env

    def _lift_limit(self, env: Any) -> None:
        """Raise a freshly built env's own step limit (``max_path_length``) to L if it is lower.

        Contract: an attempt is never cut by the env before L steps because of its own limit
        (KMW-EPL-2); a limit at or above L is left alone.
        """
        if getattr(env, "max_path_length", self.max_episode_length) < self.max_episode_length:
            env.max_path_length = self.max_episode_length

    def _probe_spaces(self) -> None:
        """Set ``observation_space``, ``action_space`` (and the env's observation size) from the
        split's first class's env, with the split's first task of that class set on it.

        The observation space can depend on the task (Meta-World's partial observability is
        task data), so it is read with a task set, and Meta-World's task-aware
        ``sawyer_observation_space`` (which its ``step`` clips to) is preferred: its
        ``observation_space`` is fixed at construction, goal-hidden.

        Contract: ``observation_space`` is ``_make_observation_space`` of the env's observation
        space (KMW-OBS-1, OBS-2); ``action_space`` is the env's own (KMW-IFC-2).
        """
        first = self._class_names[0]
        probe = self._env_for(first)
        probe.set_task(self._tasks_by_class[first][0])
        inner = getattr(probe, "sawyer_observation_space", None)
        if inner is None:
            inner = probe.observation_space
        self._obs_dim = int(np.prod(inner.shape))
        self.observation_space = self._make_observation_space(inner)
        self.action_space = probe.action_space

    def _make_observation_space(self, inner: gym.spaces.Box) -> gym.spaces.Box:
        """The wrapper's observation space for the env's observation space ``inner``.

        Contract: a float32 ``Box`` of shape ``(D + 1,)``: ``inner``'s bounds (flattened, cast
        to float32), then the soft-reset flag's bounds ``[0, 1]`` (KMW-OBS-1, OBS-2).
        """
        return gym.spaces.Box(
            low=np.append(np.asarray(inner.low, dtype=np.float32).ravel(), np.float32(0.0)),
            high=np.append(np.asarray(inner.high, dtype=np.float32).ravel(), np.float32(1.0)),
            dtype=np.float32,
        )

    # -- observations -----------------------------------------------------------------------

    def get_obs(self, og_obs: np.ndarray, soft_reset: bool) -> np.ndarray:
        """The wrapper's observation: the env's observation, cast to float32, then the flag.

        Contract: a new float32 array of shape ``(D + 1,)`` on every call (KMW-OBS-4) whose
        first D entries are ``og_obs`` unchanged but for the cast (KMW-OBS-3) and whose last is
        1.0 if ``soft_reset`` else 0.0 (KMW-SR-1, SR-3). Part of AMAGO's public surface.
        """
        out = np.empty(self._obs_dim + 1, dtype=np.float32)
        out[:-1] = np.ravel(og_obs)
        out[-1] = 1.0 if soft_reset else 0.0
        return out

    # -- starting a trial (``reset``) --------------------------------------------------------

    def _draw_task(self) -> tuple[str, Any]:
        """Choose the trial's ``(class name, task)``: a class of the split uniformly, then one
        of its tasks uniformly, both from ``self.np_random``.

        Contract: only the split's classes and tasks (KMW-TSK-1); every class and every task
        can be drawn (KMW-TSK-2); the draw depends on ``self.np_random`` alone, so a seeded
        ``reset`` fixes it (KMW-TSK-3).
        """
        rng = self.np_random
        name = self._class_names[int(rng.integers(len(self._class_names)))]
        candidates = self._tasks_by_class[name]
        return name, candidates[int(rng.integers(len(candidates)))]

    def _set_trial_task(self, name: str, task: Any) -> None:
        """Make ``task`` (of class ``name``) the trial's: set ``self.task``, ``self.task_name``
        and ``self.env`` (the class's env, ``_env_for``) and call ``set_task`` on that env.

        Contract: ``task_name`` is the benchmark's name of the class (KMW-IFC-5; it keys
        ``reward_scales``, KMW-REW-1); the env runs ``task`` from the next env reset on.
        """
        self.task = task
        self.task_name = name
        self.env = self._env_for(name)
        self.env.set_task(task)

    def _start_trial(self) -> None:
        """Reset the trial's book-keeping: attempt 0, no successes, fresh attempt counters
        (``_start_attempt``), trial running.

        Contract: nothing of an earlier (possibly interrupted) trial carries over (KMW-ATT-4).
        """
        self._attempt = 0
        self._successes = 0
        self._start_attempt()
        self._trial_over = False

    def _start_attempt(self) -> None:
        """Reset the current attempt's counters: no steps, return 0.0, no success yet."""
        self._attempt_steps = 0
        self._attempt_return = 0.0
        self._attempt_success = False

    # -- a step inside an attempt (``step``) -------------------------------------------------

    def _step_after_end(self, action: Any) -> Any:
        """``step()`` with no trial running (it ended, or ``reset()`` was never called).

        Contract: raise ``RuntimeError`` without touching the env (KMW-ATT-5).
        """
        raise RuntimeError(
            "step() called after the trial ended (or before the first reset()): call reset()"
        )

    def _scale(self, reward: Any) -> float:
        """The reward the wrapper returns for the env's ``reward``: times
        ``reward_scales.get(task_name, 1.0)``, as a Python float (KMW-REW-1)."""
        return float(reward) * self.reward_scales.get(self.task_name, 1.0)

    def _record_step(
        self, reward: float, terminated: Any, truncated: Any, info: dict[str, Any]
    ) -> bool:
        """Add one step to the current attempt's record and say whether it ended the attempt.

        ``reward`` is the returned (scaled) reward, ``info`` the env's info for the step.

        Contract: the attempt's return is the sum of its returned rewards (KMW-LOG-2); it is a
        success once ``info["success"]`` was truthy on any of its steps (KMW-LOG-1); it ends
        when the env returned ``terminated`` or ``truncated`` or after L steps, and never
        because of success (KMW-ATT-1, EPL-1).
        """
        self._attempt_steps += 1
        self._attempt_return += reward
        self._attempt_success = self._attempt_success or bool(info.get("success", False))
        return bool(terminated or truncated or self._attempt_steps >= self.max_episode_length)

    # -- the step that ends an attempt -------------------------------------------------------

    def _log_attempt(self, info: dict[str, Any], i: int) -> None:
        """Write attempt ``i``'s (0-based) results into the ending step's ``info``.

        Contract: ``episode_success_key(i)`` is 1.0 or 0.0 and ``episode_return_key(i)`` the
        attempt's return (KMW-LOG-1, LOG-2), each once per trial (KMW-LOG-4).
        """
        info[episode_success_key(i)] = float(self._attempt_success)
        info[episode_return_key(i)] = self._attempt_return

    def _end_attempt(self) -> None:
        """Close the current attempt's book-keeping: count its success, advance the attempt
        index and start the next attempt's counters (``_start_attempt``).

        Contract: nothing of the ended attempt (steps, return, success) carries over.
        """
        self._successes += int(self._attempt_success)
        self._attempt += 1
        self._start_attempt()

    def _more_attempts(self) -> bool:
        """Whether the trial goes on after the attempt just ended: fewer than k ended so far
        (KMW-ATT-2, ATT-3)."""
        return self._attempt < self.k_episodes

    def _soft_reset_step(
        self, obs: np.ndarray, reward: float, terminated: Any, truncated: Any, info: dict[str, Any]
    ) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """The return value of a step that ends an attempt other than the last (the *soft
        reset*): reset the trial's env (no new task) and return its observation, flagged.

        Contract: the env (the same instance, task unchanged) is reset once (KMW-SR-4); the
        observation is the env's reset observation with flag 1.0 (KMW-SR-1, SR-2); both done
        flags are False (KMW-ATT-2); ``info`` is the ending step's (with the attempt's keys).
        """
        obs, _ = self.env.reset()
        return self.get_obs(obs, soft_reset=True), reward, False, False, info

    # -- the step that ends the trial --------------------------------------------------------

    def _log_trial(self, info: dict[str, Any]) -> None:
        """Write the trial's totals into the final step's ``info``: the number of successful
        attempts and that number divided by k (KMW-LOG-3)."""
        info[TOTAL_SUCCESSES_KEY] = float(self._successes)
        info[SUCCESS_RATE_KEY] = self._successes / self.k_episodes

    def _final_step(
        self, obs: np.ndarray, reward: float, terminated: Any, truncated: Any, info: dict[str, Any]
    ) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """The return value of the step that ends the k-th attempt.

        Contract: the terminal observation with flag 0.0 (KMW-SR-3); ``truncated`` True, or
        ``terminated`` True instead when the env itself terminated on this step (KMW-ATT-2);
        ``info`` the step's, with the last attempt's keys and the totals.
        """
        ended_by_env = bool(terminated)
        return self.get_obs(obs, soft_reset=False), reward, ended_by_env, not ended_by_env, info

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
        self._set_trial_task(*self._draw_task())
        obs, info = self.env.reset(seed=int(self.np_random.integers(2**31 - 1)))
        self._start_trial()
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
            return self._step_after_end(action)
        action = check_action(action, self.action_space.shape, self.action_space.dtype)
        obs, reward, terminated, truncated, info = self.env.step(action)
        reward = self._scale(reward)
        info = dict(info)
        if not self._record_step(reward, terminated, truncated, info):
            return self.get_obs(obs, soft_reset=False), reward, False, False, info

        self._log_attempt(info, self._attempt)
        self._end_attempt()
        if self._more_attempts():
            return self._soft_reset_step(obs, reward, terminated, truncated, info)
        self._trial_over = True
        self._log_trial(info)
        return self._final_step(obs, reward, terminated, truncated, info)

    def close(self) -> None:
        """Close every env instance built so far; ``reset()`` builds them again if needed."""
        for env in self._envs.values():
            env.close()
        self._envs.clear()
        self.env = None
        self._trial_over = True
