"""Task draws on real Meta-World: the split rule, seeding, and one multi-class benchmark (ML10)."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from kmw import KEpisodeMetaworld


def rand_vecs(tasks: list[Any]) -> set[tuple[float, ...]]:
    return {tuple(pickle.loads(t.data)["rand_vec"]) for t in tasks}


@pytest.mark.parametrize("split", ["train", "test"])
def test_ml1_split_isolation(ml1_reach: Any, make_spy: Callable[..., Any], split: str) -> None:
    """KMW-TSK-1 on ML1, where both splits share the class: every task set on an env is one of the
    split's task objects, and the goal/object vector the env ends up with belongs to the split's
    tasks and to none of the other split's (the two ML1 splits are disjoint)."""
    own, other = (
        (ml1_reach.train_tasks, ml1_reach.test_tasks)
        if split == "train"
        else (ml1_reach.test_tasks, ml1_reach.train_tasks)
    )
    own_vecs, other_vecs = rand_vecs(own), rand_vecs(other)
    assert not own_vecs & other_vecs  # premise: the splits share no task

    spy = make_spy(ml1_reach)
    env = KEpisodeMetaworld(spy, split, 1, max_episode_length=2)
    seen = set()
    for seed in range(40):
        env.reset(seed=seed)
        vec = tuple(env.env._last_rand_vec)
        assert vec in own_vecs and vec not in other_vecs
        seen.add(vec)
    for call in spy.of("set_task"):
        assert any(call.task is t for t in own)
        assert not any(call.task is t for t in other)
    assert len(seen) > 1  # KMW-TSK-2: each reset draws afresh


def trial_record(env: KEpisodeMetaworld, seed: int, actions: np.ndarray) -> list[Any]:
    """Everything a trial returns, for comparing: task, observations, rewards, flags, infos."""
    obs, info = env.reset(seed=seed)
    record: list[Any] = [env.task_name, pickle.loads(env.task.data)["rand_vec"], obs, info]
    for action in actions:
        out = env.step(action)
        record.append(out)
        if out[2] or out[3]:
            break
    return record


def assert_records_equal(a: list[Any], b: list[Any]) -> None:
    assert len(a) == len(b)
    assert a[0] == b[0]
    np.testing.assert_array_equal(a[1], b[1])
    np.testing.assert_array_equal(a[2], b[2])
    assert a[3] == b[3]
    for x, y in zip(a[4:], b[4:]):
        np.testing.assert_array_equal(x[0], y[0])
        assert x[1:4] == y[1:4]
        assert x[4].keys() == y[4].keys()
        for key in x[4]:
            assert np.all(x[4][key] == y[4][key]), key


def test_same_seed_same_trial(ml1_reach: Any) -> None:
    """KMW-TSK-3: two wrappers reset with the same seed and stepped with the same actions return
    identical trials (task, observations, rewards, flags, infos) -- also when one of them ran
    other trials first."""
    actions = np.random.default_rng(0).uniform(-1, 1, size=(12, 4))
    a = KEpisodeMetaworld(ml1_reach, "train", 3, max_episode_length=4)
    b = KEpisodeMetaworld(ml1_reach, "train", 3, max_episode_length=4)
    b.reset(seed=99)
    for action in actions[:6]:
        b.step(action)
    for seed in (3, 4):
        assert_records_equal(trial_record(a, seed, actions), trial_record(b, seed, actions))


def test_different_seeds_draw_different_tasks(ml1_reach: Any) -> None:
    """Seeds select the task: over 10 seeds the draws spread over ML1's 50 test tasks, and an
    unseeded reset after a seeded one continues that seed's stream (reproducible too)."""
    env = KEpisodeMetaworld(ml1_reach, "test", 1, max_episode_length=1)
    drawn = []
    for seed in range(10):
        env.reset(seed=seed)
        drawn.append(tuple(env.env._last_rand_vec))
    assert len(set(drawn)) >= 5

    def follow_up(seed: int) -> list[tuple[float, ...]]:
        env.reset(seed=seed)
        out = []
        for _ in range(3):
            env.reset()
            out.append(tuple(env.env._last_rand_vec))
        return out

    assert follow_up(7) == follow_up(7)


def test_ml10(ml10: Any) -> None:
    """The one multi-class benchmark test (ML10 is built once per worker):

    - KMW-TSK-1/2: each split draws every one of its classes and only those, with tasks of the
      split, and the env for each class is built lazily, on the first trial that draws it;
    - KMW-IFC-5: ``task_name`` is the drawn task's class;
    - KMW-TSK-3: same seed, same trial, also on a wrapper whose envs were built in another order
      and that ran other trials before.
    """
    used: dict[str, KEpisodeMetaworld] = {}
    for split, resets in (("train", 50), ("test", 30)):
        classes = ml10.train_classes if split == "train" else ml10.test_classes
        tasks = ml10.train_tasks if split == "train" else ml10.test_tasks
        env = used[split] = KEpisodeMetaworld(ml10, split, 2, max_episode_length=3)
        assert len(env._envs) == 1  # only the probe
        assert env.observation_space.shape == (40,)
        drawn: set[str] = set()
        for seed in range(resets):
            env.reset(seed=seed)
            assert env.task_name == env.task.env_name
            assert env.task_name in classes
            assert any(env.task is t for t in tasks)
            assert type(env.env) is classes[env.task_name]
            assert set(env._envs) <= drawn | {env.task_name, next(iter(classes))}
            drawn.add(env.task_name)
        assert drawn == set(classes)

    actions = np.random.default_rng(1).uniform(-1, 1, size=(6, 4))
    fresh = KEpisodeMetaworld(ml10, "train", 2, max_episode_length=3)
    used["train"].step(actions[0])  # mid-trial
    for seed in (5, 6, 7):
        a, b = trial_record(fresh, seed, actions), trial_record(used["train"], seed, actions)
        assert_records_equal(a, b)
