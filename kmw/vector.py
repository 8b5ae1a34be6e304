"""The envs ``kmw.evaluate`` steps: one wrapped env per slot, in this process or in workers.

* :class:`EnvFactory` builds one env (picklable, so a worker process can build it):
  :class:`kmw.KEpisodeMetaworld` (or, with a task list, :class:`kmw.schedule.ScheduledKEpisodeMetaworld`)
  under :class:`TrialInfo`.
* :class:`TrialInfo` reports only what the evaluator needs, through ``info``, and nothing on the
  other steps: at a trial's start its task (class name, task index and, for an oracle, the
  goal), at each later attempt's start the goal (oracle only), and at its end the record of its
  attempts (:data:`TRIAL_KEY`). An empty ``info`` on most steps is what keeps a step cheap,
  across processes too.
* :func:`make_envs` gives an :class:`Envs`: :class:`InProcessEnvs` for one env (stepped
  directly, no vector-env layer) or :class:`WorkerEnvs` over a gymnasium ``AsyncVectorEnv``
  (one worker process per env). Both auto-reset in gymnasium's ``SAME_STEP`` way: the step that
  ends env i's trial returns its next trial's first observation. ``Envs.close`` closes
  them (``close(terminate=True)`` kills workers that do not stop).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import gymnasium as gym
import numpy as np

from kmw.schedule import ScheduledKEpisodeMetaworld, Slot
from kmw.wrapper import KEpisodeMetaworld, episode_return_key, episode_success_key

__all__ = [
    "CLOSE_TIMEOUT",
    "GOAL_KEY",
    "TASK_INDEX_KEY",
    "TASK_KEY",
    "TRIAL_KEY",
    "EnvFactory",
    "Envs",
    "InProcessEnvs",
    "TrialInfo",
    "WorkerEnvs",
    "close_vector_env",
    "make_envs",
    "make_vector_env",
]

#: Seconds a normal close of the worker processes may take before they are terminated.
CLOSE_TIMEOUT = 10.0

#: ``info`` key: the trial's task (class) name, at the trial's start.
TASK_KEY = "kmw_task"
#: ``info`` key: the index of the trial's task among its class's tasks in the split.
TASK_INDEX_KEY = "kmw_task_index"
#: ``info`` key: the task's true goal (3 floats), at every attempt's start (oracles only).
GOAL_KEY = "kmw_goal"
#: ``info`` key: at the trial's end, its k successes then its k returns (float64, ``2k``).
TRIAL_KEY = "kmw_trial"


class TrialInfo(gym.Wrapper):
    """Replaces a :class:`kmw.KEpisodeMetaworld`'s ``info`` by what the evaluator needs.

    ``reset()`` returns ``{TASK_KEY, TASK_INDEX_KEY}`` (and ``GOAL_KEY`` with ``goals``); the
    step that ends the trial ``{TRIAL_KEY: [s_1..s_k, r_1..r_k]}`` (the wrapper's logged
    success and return of each attempt); with ``goals`` a step that starts a later attempt
    (flag 1.0) ``{GOAL_KEY}``; every other step ``{}``.
    """

    def __init__(self, env: gym.Env, goals: bool = True) -> None:
        super().__init__(env)
        self.goals = goals
        self.k = k = env.unwrapped.k_episodes
        self._keys = [(episode_success_key(j), episode_return_key(j)) for j in range(k)]
        self._record = np.zeros(2 * k)
        self._attempt = 0

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, _ = self.env.reset(**kwargs)
        self._attempt = 0
        kmw_env = self.env.unwrapped
        name = kmw_env.task_name
        index = next(i for i, t in enumerate(kmw_env._tasks_by_class[name]) if t is kmw_env.task)
        info: dict[str, Any] = {TASK_KEY: name, TASK_INDEX_KEY: index}
        if self.goals:
            info[GOAL_KEY] = self._goal()
        return obs, info

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        if self._keys[self._attempt][0] not in info:  # inside an attempt: the common case
            return obs, reward, terminated, truncated, {}
        self._take(info)  # the step ended attempt j: its keys are in this step's info
        if terminated or truncated:
            return obs, reward, terminated, truncated, {TRIAL_KEY: self._record.copy()}
        if self.goals:  # the observation is the next attempt's first
            return obs, reward, terminated, truncated, {GOAL_KEY: self._goal()}
        return obs, reward, terminated, truncated, {}

    def _take(self, info: dict[str, Any]) -> None:
        """Record the attempt that ``info``'s step ended."""
        j = self._attempt
        succ, ret = self._keys[j]
        self._record[j], self._record[self.k + j] = info[succ], info[ret]
        self._attempt += 1

    def _goal(self) -> np.ndarray:
        return np.array(self.env.unwrapped.env._get_pos_goal(), dtype=np.float64)


@dataclass(frozen=True)
class EnvFactory:
    """Builds one wrapped env; picklable so ``AsyncVectorEnv`` can ship it to a worker.

    ``tasks``: the ``(class name, task index)`` of the env's first trials, in order (a
    stratified run's share of the schedule); empty: every trial draws at random. ``goals``:
    report each task's true goal (only an oracle policy needs it).
    """

    benchmark: Any
    split: str
    k: int
    max_episode_length: int
    tasks: tuple[Slot, ...] = ()
    goals: bool = True

    def __call__(self) -> gym.Env:
        if self.tasks:
            env: gym.Env = ScheduledKEpisodeMetaworld(
                self.benchmark, self.split, self.k, self.max_episode_length, tasks=self.tasks
            )
        else:
            env = KEpisodeMetaworld(self.benchmark, self.split, self.k, self.max_episode_length)
        return TrialInfo(env, goals=self.goals)


#: What happened to env i on a step: ``(info of the step, info of the reset that followed)``;
#: the second is ``None`` unless the step ended the env's trial.
Event = tuple[dict[str, Any], dict[str, Any] | None]


class Envs(Protocol):
    """What the rollout loop steps: ``num_envs`` envs, each auto-reset at its trial's end."""

    num_envs: int
    single_action_space: gym.spaces.Box

    def reset(self, seed: int | None) -> tuple[np.ndarray, list[dict[str, Any]]]:
        """Reset every env (env i with ``seed + i``); first observations ``(n, D)`` and infos."""
        ...

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[int, Event]]:
        """Step every env: fresh observations ``(n, D)``, rewards (float64), ``dones`` (bool:
        the env's trial ended; its observation is then its next trial's first) and the events
        of the envs whose ``info`` was not empty."""
        ...

    def close(self, terminate: bool = False) -> None:
        """Close the envs; with ``terminate`` (after an error or Ctrl-C) without waiting for a
        pending step, and with no worker process outliving the call."""
        ...


class InProcessEnvs:
    """Envs built and stepped in this process, one after the other, with no vector-env layer
    (one env, the common case, has a leaner step of its own)."""

    def __init__(self, factories: Sequence[Callable[[], gym.Env]]) -> None:
        self.envs = [f() for f in factories]
        self.num_envs = len(self.envs)
        self.single_action_space = self.envs[0].action_space
        if self.num_envs == 1:
            self.step = self._step_one  # type: ignore[method-assign]

    def reset(self, seed: int | None) -> tuple[np.ndarray, list[dict[str, Any]]]:
        pairs = [env.reset(seed=None if seed is None else seed + i) for i, env in enumerate(self.envs)]
        return np.stack([o for o, _ in pairs]), [info for _, info in pairs]

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[int, Event]]:
        n = self.num_envs
        rewards = np.empty(n, dtype=np.float64)
        dones = np.zeros(n, dtype=bool)
        events: dict[int, Event] = {}
        rows = []
        for i, env in enumerate(self.envs):
            obs, rewards[i], terminated, truncated, info = env.step(actions[i])
            if terminated or truncated:
                dones[i] = True
                obs, reset_info = env.reset()
                events[i] = (info, reset_info)
            elif info:
                events[i] = (info, None)
            rows.append(obs)
        return np.stack(rows), rewards, dones, events

    def _step_one(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[int, Event]]:
        env = self.envs[0]
        obs, reward, terminated, truncated, info = env.step(actions[0])
        if terminated or truncated:
            obs, reset_info = env.reset()
            return obs[None], np.array((reward,), dtype=np.float64), _DONE, {0: (info, reset_info)}
        # the env's observation is a fresh array each step (KMW-OBS-4), so a view of it is too
        return obs[None], np.array((reward,), dtype=np.float64), _NOT_DONE, {0: (info, None)} if info else {}

    def close(self, terminate: bool = False) -> None:
        for env in self.envs:
            env.close()


def _frozen(value: bool) -> np.ndarray:
    out = np.full(1, value)
    out.flags.writeable = False
    return out


_DONE, _NOT_DONE = _frozen(True), _frozen(False)


def _row(info: dict[str, Any], i: int) -> dict[str, Any]:
    """Sub-env ``i``'s entries of a vector env's merged ``info`` (without the final ones)."""
    out = {}
    for key, value in info.items():
        if key.startswith("_") or key in ("final_info", "final_obs"):
            continue
        mask = info.get("_" + key)
        if mask is not None and mask[i]:
            out[key] = value[i]
    return out


class WorkerEnvs:
    """A gymnasium vector env (``SAME_STEP`` auto-reset) seen as :class:`Envs`."""

    def __init__(self, venv: gym.vector.VectorEnv) -> None:
        self.venv = venv
        self.num_envs = venv.num_envs
        self.single_action_space = venv.single_action_space

    def reset(self, seed: int | None) -> tuple[np.ndarray, list[dict[str, Any]]]:
        obs, info = self.venv.reset(seed=seed)
        return obs, [_row(info, i) for i in range(self.num_envs)]

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[int, Event]]:
        obs, rewards, terminated, truncated, info = self.venv.step(actions)
        dones = np.logical_or(terminated, truncated)
        events: dict[int, Event] = {}
        if info:  # empty on every step where no env started an attempt or ended its trial
            final = info.get("final_info", {})
            for i in range(self.num_envs):
                now = _row(info, i)
                if dones[i]:
                    events[i] = (_row(final, i), now)
                elif now:
                    events[i] = (now, None)
        return obs, np.asarray(rewards, dtype=np.float64), dones, events

    def close(self, terminate: bool = False) -> None:
        close_vector_env(self.venv, terminate)


def make_vector_env(factories: list[Callable[[], gym.Env]]) -> gym.vector.VectorEnv:
    """One env per factory: in this process if there is one, else one worker process each.
    Auto-reset is ``SAME_STEP``: a trial's last step returns the next trial's first observation."""
    mode = gym.vector.AutoresetMode.SAME_STEP
    if len(factories) == 1:
        return gym.vector.SyncVectorEnv(factories, autoreset_mode=mode)
    return gym.vector.AsyncVectorEnv(factories, shared_memory=True, autoreset_mode=mode)


def make_envs(factories: Sequence[Callable[[], gym.Env]]) -> InProcessEnvs | WorkerEnvs:
    """:class:`InProcessEnvs` for one factory, else :class:`WorkerEnvs` over an
    ``AsyncVectorEnv`` with one worker process per factory."""
    if len(factories) == 1:
        return InProcessEnvs(factories)
    return WorkerEnvs(make_vector_env(list(factories)))


def as_envs(envs: Envs | gym.vector.VectorEnv) -> Envs:
    """``envs`` as :class:`Envs` (a gymnasium vector env is wrapped in :class:`WorkerEnvs`)."""
    return WorkerEnvs(envs) if isinstance(envs, gym.vector.VectorEnv) else envs


def close_vector_env(venv: gym.vector.VectorEnv, terminate: bool) -> None:
    """Close ``venv``; with ``terminate`` (after an error or Ctrl-C) without waiting for a
    pending step, and make sure no worker process outlives the call."""
    if not isinstance(venv, gym.vector.AsyncVectorEnv):
        venv.close()
        return
    processes = list(getattr(venv, "processes", []))
    try:
        if terminate:
            with warnings.catch_warnings():  # "Calling `close` while waiting for ... `step`"
                warnings.simplefilter("ignore")
                try:
                    venv.close(terminate=True)
                except Exception:
                    # A Ctrl-C that interrupted the main process inside a pipe's read leaves
                    # that pipe mid-message, and gymnasium's close reads the pending step from
                    # it (EOFError "Ran out of input", an unpickling error). The workers are
                    # killed below whatever they were doing; the interrupt is what the caller
                    # reports, and the venv must not try again when it is collected.
                    venv.closed = True
        else:
            venv.close(timeout=CLOSE_TIMEOUT)
    finally:
        _kill(processes)


def _kill(processes: list[Any]) -> None:
    """Terminate, then kill, every still-running process of ``processes``; reap them all."""
    for p in processes:
        if p.is_alive():
            p.terminate()
    for p in processes:
        p.join(timeout=2.0)
        if p.is_alive():
            p.kill()
            p.join(timeout=2.0)
