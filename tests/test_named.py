"""``kmw.Metaworld``: the wrapper on a benchmark named like AMAGO's (real Meta-World)."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest

import kmw.named
from kmw import KEpisodeMetaworld, Metaworld

pytestmark = pytest.mark.usefixtures("private_cache")


def vecs(tasks: list[Any]) -> list[tuple[float, ...]]:
    return [tuple(pickle.loads(t.data)["rand_vec"]) for t in tasks]


@pytest.fixture(scope="module")
def reach(kmw_cache_dir: Any) -> Metaworld:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KMW_CACHE_DIR", str(kmw_cache_dir))
        return Metaworld("reach-v3", "train", 2, max_episode_length=4)


def test_ml1_by_name(reach: Metaworld, ml1_reach: Any) -> None:
    """A task name builds its ML1 benchmark with benchmark_seed 0 (the same tasks as
    ``metaworld.ML1(name, seed=0)``), and the result is a KEpisodeMetaworld."""
    assert isinstance(reach, KEpisodeMetaworld)
    assert reach.benchmark_name == "reach-v3"
    assert list(reach.benchmark.train_classes) == ["reach-v3"]
    assert vecs(reach.benchmark.train_tasks) == vecs(ml1_reach.train_tasks)
    assert vecs(reach.benchmark.test_tasks) == vecs(ml1_reach.test_tasks)
    assert reach.env_name is None
    obs, _ = reach.reset(seed=0)
    assert reach.env_name == reach.task_name == "reach-v3"
    steps = 0
    while True:
        steps += 1
        _, _, terminated, truncated, _ = reach.step(np.zeros(4))
        if terminated or truncated:
            break
    assert steps == 2 * 4


def test_benchmark_seed_changes_tasks(ml1_reach: Any) -> None:
    env = Metaworld("reach-v3", "test", 1, benchmark_seed=1)
    assert env.benchmark_seed == 1
    assert set(vecs(env.benchmark.test_tasks)).isdisjoint(vecs(ml1_reach.test_tasks))


def test_v2_name_maps_to_v3(recwarn: pytest.WarningsRecorder) -> None:
    env = Metaworld("Reach-V2", "test", 1, max_episode_length=2)
    assert env.benchmark_name == "reach-v3"
    assert any("v3 task 'reach-v3'" in str(w.message) for w in recwarn.list)
    env.reset(seed=0)
    assert env.env_name == "reach-v3"


@pytest.fixture
def no_build(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record (and refuse) benchmark builds: bad arguments must fail before building."""
    calls: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        calls.append((args, kwargs))
        raise AssertionError("the benchmark was built although an argument was bad")

    monkeypatch.setattr(kmw.named, "make_benchmark", refuse)
    return calls


TRAIN2 = ("ml10", "train", 2)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (("ml11", "train", 2), {}, r"unknown benchmark 'ml11': expected one of ml10, ml25, ml45"),
        (("reach", "train", 2), {}, r"unknown benchmark 'reach'.*reach-v3"),
        ((10, "train", 2), {}, "benchmark name must be a string"),
        (("ml10", "validation", 2), {}, "split must be 'train' or 'test'"),
        (("ml10", "train", 0), {}, "k_episodes must be an integer >= 1"),
        (("ml10", "train", 1.5), {}, "k_episodes must be an integer >= 1"),
        (TRAIN2, {"max_episode_length": 0}, "max_episode_length must be an integer >= 1"),
        (TRAIN2, {"max_episode_length": "500"}, "max_episode_length must be an integer"),
        (TRAIN2, {"benchmark_seed": -1}, "benchmark_seed must be None or an integer"),
        (TRAIN2, {"benchmark_seed": 0.5}, "benchmark_seed must be None or an integer"),
        (TRAIN2, {"benchmark_seed": 2**32 - 1}, "benchmark_seed must be None or an integer"),
    ],
)
def test_bad_arguments_fail_before_building(
    no_build: list[Any], args: tuple[Any, ...], kwargs: dict[str, Any], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        Metaworld(*args, **kwargs)
    assert no_build == []


@pytest.mark.slow
def test_ml10_env_name_changes_per_trial() -> None:
    """``env_name`` follows the trial's task across ML10's classes (builds ML10 by name)."""
    env = Metaworld("ml10", "train", 1, max_episode_length=2)
    assert env.benchmark_name == "ml10"
    names = []
    for seed in range(20):
        env.reset(seed=seed)
        assert env.env_name == env.task.env_name
        names.append(env.env_name)
    assert len(set(names)) > 1
