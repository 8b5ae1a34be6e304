"""Shared fixtures for the reference wrapper's tests: real Meta-World benchmarks, built once per
worker, and *spy* benchmarks whose env classes are subclasses of Meta-World's real classes that
record every ``set_task``/``reset``/``step`` the wrapper makes (real MuJoCo underneath)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import metaworld
import numpy as np
import pytest


@pytest.fixture(scope="session")
def ml1_reach() -> Any:
    """``metaworld.ML1("reach-v3", seed=0)``, built once per worker (about 3 s)."""
    return metaworld.ML1("reach-v3", seed=0)


@pytest.fixture(scope="session")
def ml10() -> Any:
    """ML10 with seed 0, once per worker: a real ``metaworld.ML10`` whose tasks come from kmw's
    task cache (``kmw.benchmarks.make_benchmark``), so the 20 s build happens once per machine
    and is shared with the other tests that use ML10 seed 0."""
    from kmw.benchmarks import make_benchmark

    return make_benchmark("ml10", seed=0)


@pytest.fixture(scope="session")
def kmw_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A task-cache directory private to this test session (and worker)."""
    return tmp_path_factory.mktemp("kmw-cache")


@pytest.fixture
def private_cache(kmw_cache_dir: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Point ``kmw``'s task cache (``$KMW_CACHE_DIR``) at :func:`kmw_cache_dir` for one test, so
    benchmarks built by name never touch the user's cache."""
    monkeypatch.setenv("KMW_CACHE_DIR", str(kmw_cache_dir))
    return kmw_cache_dir


@dataclass
class Call:
    """One call the wrapper made on an underlying env: name, env, argument, result."""

    name: str  # "set_task" | "reset" | "step"
    env: Any
    arg: Any = None
    result: Any = None


@dataclass
class SpyBenchmark:
    """A benchmark with Meta-World's interface whose classes are spy subclasses of the real ones.

    ``calls`` lists every ``set_task``, ``reset`` and ``step`` made on any env of its classes.
    The task lists are the real benchmark's lists (same objects).
    """

    train_classes: dict[str, type]
    test_classes: dict[str, type]
    train_tasks: list[Any]
    test_tasks: list[Any]
    calls: list[Call] = field(default_factory=list)

    def of(self, name: str) -> list[Call]:
        """The calls named ``name``."""
        return [c for c in self.calls if c.name == name]


def spy_class(cls: type, calls: list[Call], **overrides: Any) -> type:
    """A subclass of the Meta-World env class ``cls`` that appends a :class:`Call` to ``calls``
    for every ``set_task``, ``reset`` and ``step``.

    ``overrides`` changes the env's behaviour for tests that need an env which ends episodes by
    itself: ``terminate_on_success=True`` returns ``terminated=True`` on a successful step (as
    Meta-World's ``AutoTerminateOnSuccessWrapper`` does), ``truncate_at=n`` returns
    ``truncated=True`` on step ``n`` of each episode.
    """
    terminate_on_success = overrides.pop("terminate_on_success", False)
    truncate_at = overrides.pop("truncate_at", None)
    if overrides:
        raise TypeError(f"unknown overrides {sorted(overrides)}")

    class Spy(cls):  # type: ignore[misc, valid-type]
        def set_task(self, task: Any) -> None:
            calls.append(Call("set_task", self, task))
            super().set_task(task)

        def reset(self, *args: Any, **kwargs: Any) -> Any:
            obs, info = super().reset(*args, **kwargs)
            calls.append(Call("reset", self, None, (obs.copy(), dict(info))))
            return obs, info

        def step(self, action: Any) -> Any:
            obs, reward, terminated, truncated, info = super().step(action)
            if terminate_on_success and info["success"]:
                terminated = True
            if truncate_at is not None and self.curr_path_length == truncate_at:
                truncated = True
            out = (obs.copy(), reward, terminated, truncated, dict(info))
            calls.append(Call("step", self, np.array(action, copy=True), out))
            return obs, reward, terminated, truncated, info

    Spy.__name__ = Spy.__qualname__ = f"Spy{cls.__name__}"
    return Spy


@pytest.fixture
def make_spy() -> Callable[..., SpyBenchmark]:
    """``make_spy(benchmark, **overrides)``: a :class:`SpyBenchmark` over a real benchmark."""

    def make(benchmark: Any, **overrides: Any) -> SpyBenchmark:
        calls: list[Call] = []
        spies: dict[type, type] = {}

        def spied(classes: Any) -> dict[str, type]:
            out = {}
            for name, cls in classes.items():
                if cls not in spies:
                    spies[cls] = spy_class(cls, calls, **dict(overrides))
                out[name] = spies[cls]
            return out

        return SpyBenchmark(
            train_classes=spied(benchmark.train_classes),
            test_classes=spied(benchmark.test_classes),
            train_tasks=benchmark.train_tasks,
            test_tasks=benchmark.test_tasks,
            calls=calls,
        )

    return make


@pytest.fixture(autouse=True)
def _no_step_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    """Suite runs started by these tests must not append tables to a real CI step summary."""
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
