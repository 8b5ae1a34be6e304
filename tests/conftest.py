"""Shared fixtures for the reference wrapper's tests: real Meta-World benchmarks, built once per
worker, and *spy* benchmarks (the plugin's ``conformance.engine.spy``) whose env classes are subclasses of
Meta-World's real classes that record every ``set_task``/``reset``/``step`` the wrapper makes (real
MuJoCo underneath).

Nothing here imports Meta-World at import time: ``pytest --kmw-impl=...`` run from the
repository root loads this file as an initial conftest (``testpaths``) in the controller and in
every xdist worker, and ``import metaworld`` costs 1-2 s each."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

# The one place the tests import the plugin's spy.
from conformance.engine.spy import Event, SpyBenchmark


@pytest.fixture(scope="session")
def ml1_reach() -> Any:
    """``metaworld.ML1("reach-v3", seed=0)``, built once per worker (about 3 s)."""
    import metaworld  # not at import: a suite run started from this repository loads this file

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


class Spy(SpyBenchmark):
    """The plugin's spy benchmark (``conformance.engine.spy``) with the queries these tests make.

    ``log.events`` lists every construction, ``set_task``, ``reset`` and ``step`` made on any
    env of its classes; the task lists hold the real benchmark's task objects.
    """

    def of(self, kind: str) -> list[Event]:
        """The events of ``kind`` (``"set_task"``, ``"reset"``, ``"step"``...)."""
        return [e for e in self.log.events if e.kind == kind]

    def calls(self, since: int = 0) -> list[Event]:
        """The ``set_task``, ``reset`` and ``step`` events from ``log.events[since:]``."""
        return [e for e in self.log.events[since:] if e.kind in CALLS]

    def env(self, event: Event) -> Any:
        """The env instance ``event`` happened on."""
        return self.log.instances[event.env_id]


#: The calls a wrapper makes on an underlying env (the log also records ``"init"``).
CALLS = ("set_task", "reset", "step")


def altered_class(cls: type, *, terminate_on_success: bool = False, truncate_at: int | None = None) -> type:
    """A subclass of the Meta-World env class ``cls`` that ends episodes by itself, for tests
    that need such an env: ``terminate_on_success=True`` returns ``terminated=True`` on a
    successful step (as Meta-World's ``AutoTerminateOnSuccessWrapper`` does), ``truncate_at=n``
    returns ``truncated=True`` on step ``n`` of each episode. (The plugin's spy only records; it
    never changes what an env returns.)"""

    class Altered(cls):  # type: ignore[misc, valid-type]
        def step(self, action: Any) -> Any:
            obs, reward, terminated, truncated, info = super().step(action)
            if terminate_on_success and info["success"]:
                terminated = True
            if truncate_at is not None and self.curr_path_length == truncate_at:
                truncated = True
            return obs, reward, terminated, truncated, info

    Altered.__name__ = Altered.__qualname__ = cls.__name__
    return Altered


@pytest.fixture
def make_spy() -> Callable[..., Spy]:
    """``make_spy(benchmark, **overrides)``: a :class:`Spy` over a real benchmark, its classes
    first altered by :func:`altered_class` when ``overrides`` are given."""

    def make(benchmark: Any, **overrides: Any) -> Spy:
        if overrides:
            altered: dict[type, type] = {}

            def alter(classes: Any) -> dict[str, type]:
                out = {}
                for name, cls in classes.items():
                    if cls not in altered:
                        altered[cls] = altered_class(cls, **overrides)
                    out[name] = altered[cls]
                return out

            benchmark = SimpleNamespace(
                train_classes=alter(benchmark.train_classes),
                test_classes=alter(benchmark.test_classes),
                train_tasks=benchmark.train_tasks,
                test_tasks=benchmark.test_tasks,
            )
        return Spy(benchmark)

    return make


@pytest.fixture(autouse=True)
def _no_step_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    """Suite runs started by these tests must not append tables to a real CI step summary."""
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


#: The test files holding the longest tests (real Meta-World runs, suite subprocesses, a fresh
#: ML10 build, the Ctrl-C runs of ``kmw run``), collected first: ``pytest -n 2`` hands tests out
#: in collection order, so these start first and no worker is left running one of them at the
#: end while the other has nothing to do. A file not found here only loses its place.
LONGEST_FIRST = ("test_reference_conformance.py", "test_cli.py", "test_example_database.py",
                 "test_cache.py", "test_user_repository.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: n for n, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(LONGEST_FIRST)))  # stable
