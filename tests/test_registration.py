"""gymnasium ids ``kmw/ML{1,10,25,45}-{train,test}`` (real Meta-World behind ``gymnasium.make``)."""

from __future__ import annotations

import subprocess
import sys
import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import kmw
import kmw.named
from kmw import KEpisodeMetaworld, Metaworld
from kmw.registration import ENV_IDS, parse_env_id

pytestmark = pytest.mark.usefixtures("private_cache")


def test_ids_registered() -> None:
    """Every id is registered with no TimeLimit and the kmw entry point."""
    kinds, splits = ("ML1", "ML10", "ML25", "ML45"), ("train", "test")
    expected = {f"kmw/{kind}-{split}" for kind in kinds for split in splits}
    assert set(ENV_IDS) == expected
    for env_id in expected:
        spec = gym.spec(env_id)
        assert spec.max_episode_steps is None
        assert spec.entry_point == "kmw.registration:make_env"
        assert spec.kwargs == {"kmw_id": env_id}
    assert parse_env_id("kmw/ML25-test") == ("ML25", "test")
    with pytest.raises(ValueError, match="expected one of kmw/ML1-train"):
        parse_env_id("kmw/ML5-train")


def test_registration_is_idempotent() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "Overriding environment" warning
        kmw.register_envs()


def test_module_prefix_imports_kmw() -> None:
    """``gymnasium.make("kmw:kmw/...")`` imports kmw and reaches its entry point, in a fresh
    interpreter that never imported kmw (no k_episodes: the entry point's error, before any
    benchmark is built, shows it was reached)."""
    code = (
        "import sys, gymnasium\n"
        "assert 'kmw' not in sys.modules\n"
        "try:\n"
        "    gymnasium.make('kmw:kmw/ML10-test')\n"
        "except ValueError as e:\n"
        "    assert 'kmw/ML10-test needs k_episodes' in str(e), e\n"
        "else:\n"
        "    raise AssertionError('no error')\n"
        "assert 'kmw' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_make_ml1_runs_the_wrapper_unchanged(ml1_reach: Any) -> None:
    """``gymnasium.make`` adds only OrderEnforcing, and the made env's trial equals a direct
    KEpisodeMetaworld's on the same benchmark (same seed, same actions): k * L steps, the same
    observations, rewards, flags and infos."""
    env = gym.make("kmw/ML1-train", task="reach-v3", k_episodes=2, max_episode_length=6)
    assert isinstance(env, gym.wrappers.OrderEnforcing)
    assert isinstance(env.env, Metaworld) and env.env is env.unwrapped
    assert env.spec is not None and env.spec.max_episode_steps is None
    direct = KEpisodeMetaworld(ml1_reach, "train", 2, max_episode_length=6)
    actions = np.random.default_rng(3).uniform(-1, 1, size=(20, 4)).astype(np.float32)
    a, _ = env.reset(seed=5)
    b, _ = direct.reset(seed=5)
    np.testing.assert_array_equal(a, b)
    for t, action in enumerate(actions, 1):  # noqa: B007 (t is read after the loop)
        x, y = env.step(action), direct.step(action)
        np.testing.assert_array_equal(x[0], y[0])
        assert x[1:4] == y[1:4]
        assert x[4].keys() == y[4].keys()
        assert all(np.all(x[4][key] == y[4][key]) for key in x[4])
        if x[2] or x[3]:
            break
    assert t == 2 * 6
    env.close()


def test_check_env_via_make() -> None:
    """gymnasium's env checker passes on the made env (it re-makes it from its spec too)."""
    env = gym.make("kmw/ML1-test", task="reach-v3", k_episodes=2, max_episode_length=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # Meta-World's own bounds (unbounded object entries, hidden goal fixed at 0), and the
        # checker's advice to check the unwrapped env (OrderEnforcing is the only wrapper).
        expected = ".*(infinity|are equal|different from the unwrapped)"
        warnings.filterwarnings("ignore", message=expected)
        check_env(env)


@pytest.fixture
def no_build(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record (and refuse) benchmark builds: bad keywords must fail before building."""
    calls: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        raise AssertionError("the benchmark was built although a keyword was bad")

    monkeypatch.setattr(kmw.named, "make_benchmark", refuse)
    return calls


@pytest.mark.parametrize(
    ("env_id", "kwargs", "match"),
    [
        ("kmw/ML10-test", {}, r"kmw/ML10-test needs k_episodes"),
        ("kmw/ML1-train", {"k_episodes": 2}, r"needs task, an ML1 task name.*reach-v3"),
        (
            "kmw/ML1-train",
            {"k_episodes": 2, "task": "ml10"},
            r"needs task to be an ML1 task name.*kmw/ML10-train",
        ),
        ("kmw/ML1-test", {"k_episodes": 2, "task": "grab-v3"}, r"unknown benchmark 'grab-v3'"),
        ("kmw/ML10-test", {"k_episodes": 2, "task": "reach-v3"}, r"unexpected keyword\(s\) task"),
        (
            "kmw/ML45-train",
            {"k_episodes": 2, "split": "test"},
            r"unexpected keyword\(s\) split.*the id fixes",
        ),
        ("kmw/ML25-train", {"k_episodes": 0}, r"k_episodes must be an integer >= 1"),
        ("kmw/ML10-train", {"k_episodes": 2, "max_episode_length": -5}, "max_episode_length must"),
    ],
)
def test_bad_keywords(
    no_build: list[Any], env_id: str, kwargs: dict[str, Any], match: str
) -> None:
    """Bad ``make`` keywords raise ValueError naming what was expected, before any build."""
    with pytest.raises(ValueError, match=match):
        gym.make(env_id, **kwargs)
    assert no_build == []


@pytest.mark.slow
def test_make_ml10_test() -> None:
    """``gymnasium.make("kmw/ML10-test", k_episodes=3)`` builds ML10 and draws its test classes."""
    env = gym.make("kmw/ML10-test", k_episodes=3)
    inner = env.unwrapped
    assert isinstance(inner, Metaworld) and inner.benchmark_name == "ml10"
    assert (inner.split, inner.k_episodes, inner.max_episode_length) == ("test", 3, 500)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (40,) and obs[-1] == 1.0
    assert inner.env_name in inner.benchmark.test_classes
