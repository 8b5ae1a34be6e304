"""The rollout loop of ``kmw.evaluate``: step the envs with a driver until the trials are done.

:func:`run_trials` is the loop; :class:`TrialResult` one finished trial. The calling sequence a
batched agent sees is in :mod:`kmw.evaluation`'s docstring. Per step the loop does only what
must happen per step (ask the driver, step the envs, hand the step to the driver); the task,
goal and trial bookkeeping runs on the rare steps whose ``info`` is not empty (an attempt's
start or a trial's end: :class:`kmw.vector.TrialInfo`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from kmw.agents import Driver
from kmw.progress import Progress
from kmw.vector import GOAL_KEY, TASK_INDEX_KEY, TASK_KEY, TRIAL_KEY, Envs, as_envs

__all__ = ["TrialResult", "run_trials"]


@dataclass
class TrialResult:
    """One finished trial: its task (class name), each attempt's success (0/1) and return, and
    the index of its task among the class's tasks in the split (``None`` if unknown)."""

    task: str
    successes: list[float]
    returns: list[float]
    task_index: int | None = None


def run_trials(
    envs: Envs | gym.vector.VectorEnv,
    driver: Driver,
    *,
    trials: int,
    k: int,
    seed: int | None,
    progress: Progress | None = None,
    scheduled: bool = False,
) -> tuple[list[TrialResult], int, float]:
    """Step ``envs`` with ``driver`` until ``trials`` trials have finished; return them, the env
    steps taken and the seconds spent stepping.

    Which trials count: by default the first ``trials`` to finish (ties: by env index), in that
    order; the other envs' unfinished trials are dropped. With ``scheduled`` the envs run a
    stratified schedule (:func:`kmw.schedule.split_schedule`: env i's j-th trial is slot
    ``i + j * num_envs``) and exactly the slots below ``trials`` count, in slot order, however
    long each trial takes; an env whose slots are done keeps stepping (its trials are dropped)
    until the others finish theirs.
    """
    envs = as_envs(envs)
    n = envs.num_envs
    found: dict[int, TrialResult] = {}  # by slot (scheduled) or by finishing order
    started = [0] * n  # trials started per env (scheduled: env i's next slot is i + started * n)
    tasks: list[str | None] = [None] * n
    task_index: list[int | None] = [None] * n
    goals: list[np.ndarray | None] = [None] * n
    steps = 0

    def take(i: int, info: dict[str, Any]) -> None:
        if TASK_KEY in info:
            tasks[i] = str(info[TASK_KEY])
            task_index[i] = int(info[TASK_INDEX_KEY])
        if GOAL_KEY in info:
            goals[i] = np.asarray(info[GOAL_KEY], dtype=np.float64)

    def finish(i: int, record: np.ndarray) -> None:
        slot = i + (started[i] - 1) * n if scheduled else len(found)
        if slot < trials and slot not in found:
            found[slot] = TrialResult(
                task=str(tasks[i]),
                successes=[float(x) for x in record[:k]],
                returns=[float(x) for x in record[k:]],
                task_index=task_index[i],
            )

    start = time.perf_counter()
    obs, infos = envs.reset(seed)
    for i, info in enumerate(infos):
        take(i, info)
        started[i] = 1
    driver.reset(np.ones(n, dtype=bool))
    while len(found) < trials:
        actions = driver.act(obs, tasks, goals)
        obs, rewards, dones, events = envs.step(actions)
        steps += n
        ended = False
        for i, (step_info, reset_info) in events.items():
            if reset_info is None:
                take(i, step_info)
                continue
            ended = True
            finish(i, step_info[TRIAL_KEY])
            take(i, reset_info)  # the next trial's task, from the reset after the ending step
            started[i] += 1
        driver.observe(actions, rewards, dones)
        if ended and len(found) < trials:
            driver.reset(dones)
        if progress is not None:
            progress.update(len(found), steps)
    done = [found[slot] for slot in sorted(found)]
    return done, steps, time.perf_counter() - start
