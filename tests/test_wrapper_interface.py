"""The wrapper's interface on real Meta-World: spaces, return types, gymnasium's env checker, and
the errors bad input gets (each names what was expected)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from kmw import KEpisodeMetaworld


def test_spaces(ml1_reach: Any) -> None:
    """KMW-OBS-1, IFC-2: a float32 Box of shape (D + 1,) whose first D bounds are the env's (cast
    to float32) and whose flag entry spans [0, 1]; the action space is the env's."""
    bare = ml1_reach.train_classes["reach-v3"]()
    bare.set_task(ml1_reach.train_tasks[0])
    env = KEpisodeMetaworld(ml1_reach, "train", 2, max_episode_length=5)
    space = env.observation_space
    inner = bare.observation_space
    assert isinstance(space, gym.spaces.Box)
    assert space.shape == (inner.shape[0] + 1,) and space.dtype == np.float32
    np.testing.assert_array_equal(space.low[:-1], inner.low.astype(np.float32))
    np.testing.assert_array_equal(space.high[:-1], inner.high.astype(np.float32))
    assert (space.low[-1], space.high[-1]) == (0.0, 1.0)
    assert env.action_space == bare.action_space


def test_return_types(ml1_reach: Any) -> None:
    """KMW-IFC-1, IFC-5: gymnasium's return types; ``task_name`` set by reset() and kept."""
    env = KEpisodeMetaworld(ml1_reach, "test", 1, max_episode_length=3)
    assert env.task_name is None
    out = env.reset(seed=0, options=None)
    assert isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], dict)
    assert env.task_name == "reach-v3"
    for _ in range(3):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        assert isinstance(obs, np.ndarray) and obs in env.observation_space
        assert isinstance(reward, float)
        assert type(terminated) is bool and type(truncated) is bool
        assert isinstance(info, dict)
        assert env.task_name == "reach-v3"
    assert terminated or truncated


def test_gymnasium_env_checker(ml1_reach: Any) -> None:
    """``gymnasium.utils.env_checker.check_env`` passes (seeded determinism, data not reused, ...).

    Its warnings about infinite/equal bounds describe Meta-World's own observation space (object
    entries are unbounded, the hidden goal's entries are always 0) and are expected."""
    env = KEpisodeMetaworld(ml1_reach, "train", 2, max_episode_length=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning but these fails the test
        warnings.filterwarnings("ignore", message=".*(infinity|are equal|not having a spec)")
        check_env(env)


# -- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"split": "valid"}, "split must be 'train' or 'test'"),
        ({"split": None}, "split must be 'train' or 'test'"),
        ({"k_episodes": 0}, "k_episodes must be an integer >= 1"),
        ({"k_episodes": -2}, "k_episodes must be an integer >= 1"),
        ({"k_episodes": 2.0}, "k_episodes must be an integer >= 1"),
        ({"k_episodes": True}, "k_episodes must be an integer >= 1"),
        ({"k_episodes": "3"}, "k_episodes must be an integer >= 1"),
        ({"max_episode_length": 0}, "max_episode_length must be an integer >= 1"),
        ({"max_episode_length": 7.5}, "max_episode_length must be an integer >= 1"),
        ({"max_episode_length": None}, "max_episode_length must be an integer >= 1"),
    ],
)
def test_bad_constructor_arguments(ml1_reach: Any, kwargs: dict[str, Any], match: str) -> None:
    """KMW-IFC-3/4: a ValueError at construction naming the argument and what was expected."""
    args = {"split": "train", "k_episodes": 2, "max_episode_length": 5} | kwargs
    with pytest.raises(ValueError, match=match):
        KEpisodeMetaworld(ml1_reach, **args)


def test_numpy_integers_are_accepted(ml1_reach: Any) -> None:
    env = KEpisodeMetaworld(ml1_reach, "train", np.int64(2), max_episode_length=np.int32(3))
    assert (env.k_episodes, env.max_episode_length) == (2, 3)
    assert type(env.k_episodes) is int


def test_bad_benchmark(ml1_reach: Any) -> None:
    """A benchmark name or an object without Meta-World's benchmark interface is refused."""
    with pytest.raises(ValueError, match=r"kmw\.Metaworld\('ml10'"):
        KEpisodeMetaworld("ml10", "train", 2)
    with pytest.raises(ValueError, match="train_classes, test_classes, train_tasks, test_tasks"):
        KEpisodeMetaworld(object(), "train", 2)


@pytest.mark.parametrize(
    ("action", "match"),
    [
        (np.zeros(3), r"action must have shape \(4,\), got shape \(3,\)"),
        (np.zeros((1, 4)), r"action must have shape \(4,\), got shape \(1, 4\)"),
        (np.array([0.0, np.nan, 0.0, 0.0]), "action must be finite"),
        (np.array([0.0, 0.0, np.inf, 0.0]), "action must be finite"),
        ("left", r"action must be a numeric array of shape \(4,\)"),
    ],
)
def test_bad_action(
    ml1_reach: Any, make_spy: Callable[..., Any], action: Any, match: str
) -> None:
    """A bad action raises ValueError naming the expected shape/values, without stepping the env;
    the trial then goes on unharmed."""
    spy = make_spy(ml1_reach)
    env = KEpisodeMetaworld(spy, "train", 1, max_episode_length=2)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=match):
        env.step(action)
    assert spy.of("step") == []
    env.step(np.zeros(4))
    _, _, terminated, truncated, _ = env.step([0, 0, 0, 0])  # a list of ints is fine
    assert len(spy.of("step")) == 2 and (terminated or truncated)


def test_step_after_trial_end_raises(ml1_reach: Any, make_spy: Callable[..., Any]) -> None:
    """KMW-ATT-5: step() after the trial ended (or before any reset()) raises RuntimeError telling
    to call reset(), without stepping the underlying env."""
    spy = make_spy(ml1_reach)
    env = KEpisodeMetaworld(spy, "train", 2, max_episode_length=2)
    with pytest.raises(RuntimeError, match=r"call reset\(\)"):
        env.step(np.zeros(4))
    env.reset(seed=0)
    for _ in range(4):
        env.step(np.zeros(4))
    steps = len(spy.of("step"))
    with pytest.raises(RuntimeError, match=r"after the trial ended.*call reset\(\)"):
        env.step(np.zeros(4))
    assert len(spy.of("step")) == steps
    env.reset()
    env.step(np.zeros(4))  # a new trial steps again
    env.close()
    with pytest.raises(RuntimeError, match=r"call reset\(\)"):
        env.step(np.zeros(4))


def test_observation_space_follows_task_observability() -> None:
    """The space is read with one of the split's tasks set: on a benchmark whose tasks show the
    goal (Meta-World's MT1, goal-observable), observations -- goal included -- lie in it."""
    import metaworld

    mt1 = metaworld.MT1("reach-v3", seed=0)
    env = KEpisodeMetaworld(mt1, "train", 1, max_episode_length=3)
    obs, _ = env.reset(seed=0)
    assert np.any(obs[-4:-1] != 0)  # the goal is visible
    assert obs in env.observation_space
    for _ in range(3):
        obs, *_ = env.step(env.action_space.sample())
        assert obs in env.observation_space
