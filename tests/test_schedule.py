"""Stratified trials (kmw/schedule.py, ``evaluate(per_class=N)``): the schedule's properties with
hypothesis, and the rollout loop counting exactly the scheduled trials on real Meta-World, also
when the envs' trials take different numbers of steps."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kmw
from kmw.agents import BatchedDriver
from kmw.benchmarks import make_benchmark
from kmw.rollout import run_trials
from kmw.schedule import ScheduledKEpisodeMetaworld, split_schedule, stratified_schedule, tasks_per_class
from kmw.vector import EnvFactory, InProcessEnvs

PROPS = settings(max_examples=200, deadline=None, derandomize=True)

splits = st.dictionaries(
    st.text("abcdefgh", min_size=1, max_size=4), st.integers(1, 6), min_size=1, max_size=8
)


@PROPS
@given(splits, st.integers(1, 15), st.integers(0, 2**31 - 2))
def test_every_class_exactly_n_times_and_every_round_balanced(tasks, per_class, seed) -> None:
    schedule = stratified_schedule(tasks, per_class, seed)
    c = len(tasks)
    assert len(schedule) == per_class * c
    for r in range(1, per_class + 1):  # a run cut short after r rounds holds r trials of each class
        assert Counter(name for name, _ in schedule[: r * c]) == dict.fromkeys(tasks, r)
    assert schedule == stratified_schedule(tasks, per_class, seed)  # reproducible from the seed


@PROPS
@given(splits, st.integers(1, 15), st.integers(0, 2**31 - 2))
def test_each_class_uses_every_task_once_before_any_twice(tasks, per_class, seed) -> None:
    schedule = stratified_schedule(tasks, per_class, seed)
    for name, n_tasks in tasks.items():
        drawn = [i for c, i in schedule if c == name]
        assert all(0 <= i < n_tasks for i in drawn)
        for start in range(0, len(drawn), n_tasks):
            cycle = drawn[start : start + n_tasks]
            assert len(set(cycle)) == len(cycle)  # no repeat within a cycle of all its tasks


def test_the_seed_changes_the_draw_and_the_order() -> None:
    ml10 = dict.fromkeys(["a", "b", "c", "d", "e"], 50)
    one, two = stratified_schedule(ml10, 4, 0), stratified_schedule(ml10, 4, 1)
    assert one != two
    assert [c for c, _ in one[:5]] != [c for c, _ in one[5:10]] or [c for c, _ in two[:5]] != [
        c for c, _ in two[5:10]
    ]  # rounds are shuffled, not a fixed class order


def test_split_schedule_deals_slots_round_robin() -> None:
    schedule = [("a", i) for i in range(7)]
    assert split_schedule(schedule, 3) == [
        (("a", 0), ("a", 3), ("a", 6)),
        (("a", 1), ("a", 4)),
        (("a", 2), ("a", 5)),
    ]


def test_bad_schedules_are_refused() -> None:
    with pytest.raises(ValueError, match="per_class must be >= 1"):
        stratified_schedule({"a": 3}, 0, 0)
    with pytest.raises(ValueError, match="every class needs at least one task"):
        stratified_schedule({"a": 0}, 1, 0)
    with pytest.raises(ValueError, match="no task 50 of class 'reach-v3'"):
        ScheduledKEpisodeMetaworld(make_benchmark("reach-v3"), "test", 1, 5, tasks=[("reach-v3", 50)])


def test_the_scheduled_wrapper_runs_the_listed_tasks_then_draws() -> None:
    bench = make_benchmark("reach-v3")
    env = ScheduledKEpisodeMetaworld(bench, "test", 1, 3, tasks=[("reach-v3", 7), ("reach-v3", 2)])
    tasks = bench.test_tasks
    seen = []
    for _ in range(3):
        env.reset(seed=0)
        seen.append(env.task)
    assert seen[0] is tasks[7] and seen[1] is tasks[2] and seen[2] in tasks
    env.close()


class Zero:
    def eval_action(self, observations):
        return np.zeros((len(observations), 4))

    def reset(self, env_mask):
        pass


def test_scheduled_trials_are_counted_by_slot_when_envs_run_out_of_phase() -> None:
    """Attempts of 3 and 8 steps: env 0 finishes four trials while env 1 finishes one, yet
    exactly the 7 scheduled trials are counted, each once, in schedule order."""
    bench = make_benchmark("reach-v3")
    schedule = stratified_schedule(tasks_per_class(bench, "test"), 7, seed=3)
    shares = split_schedule(schedule, 2)
    envs = InProcessEnvs(
        [EnvFactory(bench, "test", 2, 3, tasks=shares[0]), EnvFactory(bench, "test", 2, 8, tasks=shares[1])]
    )
    driver = BatchedDriver(Zero(), "zero", envs.single_action_space)
    try:
        trials, steps, _ = run_trials(envs, driver, trials=7, k=2, seed=0, scheduled=True)
    finally:
        envs.close()
    assert [(t.task, t.task_index) for t in trials] == schedule
    # env 1 runs slots 1, 3, 5 (16 steps each): the run lasts until slot 5 ends, at step 48
    assert steps == 2 * 48


def zero_policy(obs):
    return np.zeros(4)


def test_per_class_gives_the_same_trials_with_one_env_or_two_processes() -> None:
    """The schedule, not the timing, decides which trial counts: with a deterministic policy the
    trials (task, task index, returns) are the same with 1 env and with 2 worker processes."""
    common = dict(k_episodes=2, per_class=5, max_episode_length=4, seed=5)
    one = kmw.evaluate(zero_policy, "reach-v3", **common)
    two = kmw.evaluate(zero_policy, "reach-v3", num_envs=2, **common)
    assert [(t.task_index, t.returns) for t in one.trials] == [(t.task_index, t.returns) for t in two.trials]
    assert len({t.task_index for t in one.trials}) == 5  # without replacement
    assert one.to_dict()["per_class"] == 5 and one.to_dict()["trials"] == 5


@pytest.mark.slow
def test_per_class_on_ml10_is_the_same_trials_with_one_env_or_two() -> None:
    common = dict(k_episodes=1, per_class=2, max_episode_length=4, seed=5)
    one = kmw.evaluate("random", "ml10", **common)
    two = kmw.evaluate("random", "ml10", num_envs=2, **common)
    assert [(t.task, t.task_index) for t in one.trials] == [(t.task, t.task_index) for t in two.trials]
    assert Counter(t.task for t in one.trials) == dict.fromkeys(one.settings["classes"], 2)
