"""``Metaworld``: the k-episode wrapper on a benchmark given by name (AMAGO's ``Metaworld``)."""

from __future__ import annotations

from kmw._validation import check_positive_int, check_seed, check_split
from kmw.benchmarks import make_benchmark, resolve_benchmark_name
from kmw.wrapper import KEpisodeMetaworld


class Metaworld(KEpisodeMetaworld):
    """``KEpisodeMetaworld`` on the Meta-World benchmark called ``benchmark_name``.

    Everything about trials, observations, flags, logging and seeding is
    ``KEpisodeMetaworld``'s; this class only builds the benchmark from its name.

    Benchmark names (case-insensitive): ``"ml10"``, ``"ml25"``, ``"ml45"``, or the name of a
    Meta-World v3 task such as ``"reach-v3"``, which names that task's ML1 benchmark (the
    train and test splits share the class and differ in their 50 goal/object positions). A v2
    task name such as ``"reach-v2"`` maps to its v3 task with a ``UserWarning``. Anything else
    raises ``ValueError`` listing the valid names. See ``kmw.benchmarks``.

    Seeding of the benchmark: AMAGO's ``Metaworld`` builds its benchmark unseeded, so its
    train/test tasks (goal and object positions) differ from run to run. Here the benchmark is
    built with ``benchmark_seed`` (default 0), so the same name gives the same tasks in every
    run and process; pass ``benchmark_seed=None`` for an unseeded benchmark as in AMAGO.
    ``reset(seed=...)`` separately seeds which of those tasks a trial draws.

    Argument errors (name, split, ``k_episodes``, ``max_episode_length``, ``benchmark_seed``)
    are raised before the benchmark is built, which takes seconds (ML1) to about a minute (ML45).

    Args:
        benchmark_name: ``"ml10"``, ``"ml25"``, ``"ml45"`` or an ML1 task name (``"reach-v3"``).
        split: ``"train"`` or ``"test"``.
        k_episodes: Attempts per trial, an integer >= 1.
        max_episode_length: Steps per attempt at most, an integer >= 1 (above 500 the env's own
            limit is lifted).
        benchmark_seed: Seed of the benchmark's task generation (``None``: unseeded).
    """

    def __init__(
        self,
        benchmark_name: str,
        split: str,
        k_episodes: int,
        max_episode_length: int = 500,
        benchmark_seed: int | None = 0,
    ) -> None:
        check_split(split)
        check_positive_int("k_episodes", k_episodes)
        check_positive_int("max_episode_length", max_episode_length)
        self.benchmark_seed = check_seed(benchmark_seed, "benchmark_seed")
        resolved = resolve_benchmark_name(benchmark_name)
        #: The resolved benchmark name: ``"ml10"``, ``"ml25"``, ``"ml45"`` or an ML1 task name.
        self.benchmark_name: str = str(resolved)
        benchmark = make_benchmark(resolved, seed=self.benchmark_seed)
        super().__init__(benchmark, split, k_episodes, max_episode_length)

    @property
    def env_name(self) -> str | None:
        """The current trial's task (class) name, e.g. ``"reach-v3"``; changes with each
        ``reset()`` on multi-class benchmarks. ``None`` before the first ``reset()``."""
        return self.task_name

    def __repr__(self) -> str:
        return (
            f"Metaworld({self.benchmark_name!r}, {self.split!r}, k_episodes={self.k_episodes}, "
            f"max_episode_length={self.max_episode_length}, benchmark_seed={self.benchmark_seed})"
        )
