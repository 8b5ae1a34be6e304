"""Stratified trials: which task each trial of ``evaluate(..., per_class=N)`` runs.

:func:`stratified_schedule` lists ``N * C`` trials for the C classes of a split: in rounds, each
round one trial of every class in a shuffled order, so the first ``r * C`` trials of the list
(a run cut short after r rounds) hold r trials of each class. Each class's tasks are drawn
without replacement: a shuffled order of all of the class's tasks, used in turn and reshuffled
when used up, so every task is used once before any is used twice (Meta-World's own
``PseudoRandomTaskSelectWrapper`` cycles the same way). Everything is drawn from a generator
seeded with ``seed``: the same seed and split give the same list.

:class:`ScheduledKEpisodeMetaworld` is how a trial gets its listed task: the reference wrapper
with its task draw (the ``_draw_task`` hook) replaced, for its first trials, by a list of
``(class name, task index)`` pairs; once the list is used up it draws at random as
``KEpisodeMetaworld`` does. The wrapper itself is unchanged: its random draw stays the default.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from kmw.wrapper import KEpisodeMetaworld

__all__ = ["ScheduledKEpisodeMetaworld", "Slot", "split_schedule", "stratified_schedule", "tasks_per_class"]

#: One scheduled trial: the class name and the index of its task among the class's tasks of
#: the split (in the benchmark's order).
Slot = tuple[str, int]

#: Mixed into the seed so the schedule's stream differs from every other stream seeded with it.
_STREAM = 0x5C4ED


def tasks_per_class(benchmark: Any, split: str) -> dict[str, int]:
    """The split's classes (in the benchmark's order) and how many tasks of the split each has,
    as :class:`kmw.KEpisodeMetaworld` groups them."""
    train = split == "train"
    classes = benchmark.train_classes if train else benchmark.test_classes
    counts = dict.fromkeys(classes, 0)
    for task in benchmark.train_tasks if train else benchmark.test_tasks:
        if task.env_name in counts:
            counts[task.env_name] += 1
    return counts


def stratified_schedule(tasks_per_class: Mapping[str, int], per_class: int, seed: int | None) -> list[Slot]:
    """``per_class * len(tasks_per_class)`` trials, each class exactly ``per_class`` times, in
    interleaved rounds; ``tasks_per_class`` maps each class of the split to its number of tasks.
    See the module docstring."""
    if per_class < 1:
        raise ValueError(f"per_class must be >= 1, got {per_class}")
    if not tasks_per_class or min(tasks_per_class.values()) < 1:
        raise ValueError("every class needs at least one task")
    rng = np.random.default_rng(None if seed is None else [_STREAM, seed])
    classes = list(tasks_per_class)
    order: dict[str, list[int]] = {c: [] for c in classes}

    def next_task(c: str) -> int:
        if not order[c]:
            order[c] = [int(i) for i in rng.permutation(tasks_per_class[c])][::-1]
        return order[c].pop()

    out: list[Slot] = []
    for _ in range(per_class):
        for idx in rng.permutation(len(classes)):
            c = classes[int(idx)]
            out.append((c, next_task(c)))
    return out


def split_schedule(schedule: Sequence[Slot], num_envs: int) -> list[tuple[Slot, ...]]:
    """The trials each of ``num_envs`` envs runs first: env i runs slots i, i + n, i + 2n, ...
    (so at any time the finished slots of equally long trials are the first ones)."""
    return [tuple(schedule[i::num_envs]) for i in range(num_envs)]


class ScheduledKEpisodeMetaworld(KEpisodeMetaworld):
    """``KEpisodeMetaworld`` whose first ``len(tasks)`` trials run the listed tasks in order.

    ``tasks`` holds ``(class name, task index)`` pairs (:data:`Slot`); the index counts the
    class's tasks in the split in the benchmark's order. Later trials draw at random
    (``KEpisodeMetaworld._draw_task``). Everything else is the reference wrapper's.
    """

    def __init__(
        self,
        benchmark: Any,
        split: str,
        k_episodes: int,
        max_episode_length: int = 500,
        tasks: Sequence[Slot] = (),
    ) -> None:
        super().__init__(benchmark, split, k_episodes, max_episode_length)
        for name, index in tasks:
            if name not in self._tasks_by_class or not 0 <= index < len(self._tasks_by_class[name]):
                raise ValueError(f"no task {index} of class {name!r} in the {split} split")
        self._pending = list(reversed(tasks))

    def _draw_task(self) -> tuple[str, Any]:
        if self._pending:
            name, index = self._pending.pop()
            return name, self._tasks_by_class[name][index]
        return super()._draw_task()
