"""The reference wrapper builds env instances lazily, one per class, reused across trials."""

from __future__ import annotations

import gc

import pytest

from kmw import KEpisodeMetaworld
from kmw.benchmarks import make_benchmark


@pytest.fixture(scope="module")
def ml10():
    """ML10 seed 0 through the task cache (about 20 s the first time on a machine, then ms)."""
    return make_benchmark("ml10", seed=0)


def live_instances(classes) -> int:
    """How many objects of the given env classes are alive right now."""
    gc.collect()
    wanted = tuple(classes)
    return sum(1 for o in gc.get_objects() if isinstance(o, wanted))


@pytest.mark.parametrize("split", ["train", "test"])
def test_env_instances_are_built_once_per_class_and_reused(ml10, split):
    classes = ml10.train_classes if split == "train" else ml10.test_classes
    before = live_instances(classes.values())
    env = KEpisodeMetaworld(ml10, split, k_episodes=2, max_episode_length=3)
    assert len(env._envs) == 1  # only the probe for the spaces is built at construction

    first_instance: dict[str, int] = {}
    seen_order: list[str] = []
    for trial in range(120):
        env.reset(seed=trial)
        name = env.task_name
        if name not in first_instance:
            first_instance[name] = id(env.env)
            seen_order.append(name)
        # the same object serves every trial of a class
        assert id(env.env) == first_instance[name]
        assert type(env.env) is classes[name]
        # one instance per class seen so far (plus the probe if its class was not drawn yet)
        assert set(env._envs) <= set(classes)
        assert len(env._envs) == len(set(first_instance) | {next(iter(classes))})
        if trial % 10 == 0:
            for _ in range(2 * 3):
                env.step(env.action_space.sample())

    assert set(first_instance) == set(classes)  # 120 draws reach every class
    assert len(env._envs) == len(classes)
    # nothing else was leaked: exactly one live instance per class was added
    assert live_instances(classes.values()) - before == len(classes)
    env.close()
    assert env._envs == {}
