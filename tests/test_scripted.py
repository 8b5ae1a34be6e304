"""The scripted benchmark is a product feature: it must behave like Meta-World where the contract
looks, and exactly as its scripts say."""

from __future__ import annotations

import pickle
import warnings

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.engine.scripted import (
    INFO_ENTRIES,
    OBS_BOUND,
    OBS_DIM,
    AttemptScript,
    ScriptedBenchmark,
    decode_task,
    rotated,
    simple_spec,
)
from conformance.engine.strategies import benchmark_specs, decode_script, decode_scripts

ACTION = np.zeros(4, dtype=np.float32)


NO_SCRIPT = (AttemptScript(),)


def make_env(scripts=NO_SCRIPT, max_path_length=500, api="gymnasium", split="train"):
    bench = ScriptedBenchmark(simple_spec(n_train_classes=1, tasks_per_class=1, scripts=scripts,
                                          max_path_length=max_path_length, api=api))
    cls = bench.train_classes["reach-v3"]
    env = cls()
    env.set_task(bench.train_tasks[0] if split == "train" else bench.test_tasks[0])
    return bench, env


def test_benchmark_interface_matches_metaworld():
    bench = ScriptedBenchmark(simple_spec(n_train_classes=2, n_test_classes=1, tasks_per_class=3))
    assert list(bench.train_classes) == ["reach-v3", "push-v3"]
    assert list(bench.test_classes) == ["pick-place-v3"]
    assert [t.env_name for t in bench.train_tasks] == ["reach-v3"] * 3 + ["push-v3"] * 3
    assert all(isinstance(t.data, bytes) for t in bench.train_tasks + bench.test_tasks)
    uids = [decode_task(t).uid for t in bench.train_tasks + bench.test_tasks]
    assert len(set(uids)) == len(uids)


def test_ml1_style_spec_shares_the_class_but_not_the_tasks():
    bench = ScriptedBenchmark(simple_spec(n_train_classes=1, ml1=True, tasks_per_class=2))
    assert bench.train_classes["reach-v3"] is bench.test_classes["reach-v3"]
    train = {decode_task(t).uid for t in bench.train_tasks}
    test = {decode_task(t).uid for t in bench.test_tasks}
    assert train and test and not train & test


def test_truncates_at_max_path_length_and_raises_past_it_like_metaworld():
    _, env = make_env(max_path_length=3)
    obs, info = env.reset()
    flags = [env.step(ACTION)[3] for _ in range(3)]
    assert flags == [False, False, True]
    with pytest.raises(ValueError, match="reset"):
        env.step(ACTION)


def test_lifting_max_path_length_per_instance_is_honoured():
    bench, env = make_env(max_path_length=3)
    env.max_path_length = 6
    env.reset()
    truncs = [env.step(ACTION)[3] for _ in range(6)]
    assert truncs == [False] * 5 + [True]
    assert bench.train_classes["reach-v3"].max_path_length == 3


def test_scripts_drive_success_and_ends_and_cycle_per_reset():
    scripts = (AttemptScript(frozenset({2}), end_at=3, end_kind="terminated"),
               AttemptScript(frozenset(), end_at=1, end_kind="truncated"))
    _, env = make_env(scripts)
    env.reset()
    out = [env.step(ACTION) for _ in range(3)]
    assert [o[4]["success"] for o in out] == [0.0, 1.0, 0.0]
    assert [(o[2], o[3]) for o in out] == [(False, False), (False, False), (True, False)]
    with pytest.raises(RuntimeError, match="without reset"):
        env.step(ACTION)
    env.reset()
    assert env.step(ACTION)[2:4] == (False, True)
    env.reset()  # third attempt runs the first script again
    assert env.step(ACTION)[4]["success"] == 0.0
    assert env.step(ACTION)[4]["success"] == 1.0


def test_success_never_ends_an_attempt():
    _, env = make_env((AttemptScript(frozenset(range(1, 11))),), max_path_length=10)
    env.reset()
    for _ in range(9):
        _, _, term, trunc, info = env.step(ACTION)
        assert info["success"] and not term and not trunc


def test_observation_encodes_task_script_and_step_exactly_in_float32():
    scripts = (AttemptScript(), AttemptScript(frozenset({1})))
    _, env = make_env(scripts)
    obs0, _ = env.reset()
    obs1 = env.step(np.array([0.5, -0.25, 1.0, 0.0], dtype=np.float32))[0]
    obs2, _ = env.reset()
    assert obs0.shape == (OBS_DIM,) and obs0.dtype == np.float64
    assert (obs0[1], obs0[2]) == (0, 0) and (obs1[1], obs1[2]) == (0, 1)
    assert (obs2[1], obs2[2]) == (1, 0)  # the second reset runs the second script
    assert list(obs1[3:7]) == [0.5, -0.25, 1.0, 0.0]
    for obs in (obs0, obs1, obs2):
        assert np.array_equal(obs.astype(np.float32).astype(np.float64), obs)
        assert env.observation_space.contains(obs)
    assert not np.array_equal(obs1, obs2) and not np.array_equal(obs0, obs2)


def test_observations_carry_information_in_every_float32_bit():
    """Lower precision, rounding or clipping of any entry between env and wrapper shows."""
    _, env = make_env(max_path_length=200)
    values = [env.reset()[0][INFO_ENTRIES]]
    values += [env.step(ACTION)[0][INFO_ENTRIES] for _ in range(199)]
    v = np.concatenate(values)
    assert np.array_equal(v.astype(np.float32).astype(np.float64), v)  # exact in float32
    assert not np.array_equal(v.astype(np.float16).astype(np.float64), v)
    mantissa = np.frexp(v)[0] * 2.0**24
    assert np.mean(mantissa % 2 == 1) > 0.3  # the lowest float32 mantissa bit is used
    assert np.abs(v).max() > 1000 and np.abs(v).min() < 1e-3  # wide range of magnitudes
    assert (v < 0).any() and (v > 0).any()
    assert not np.array_equal(np.round(v, 3), v) and not np.array_equal(np.clip(v, -10, 10), v)
    assert np.abs(v).max() <= OBS_BOUND


def test_observations_do_not_depend_on_instance_or_history():
    """Equal benchmarks driven alike give equal observations whatever ran before (KMW-TSK-3)."""
    bench = ScriptedBenchmark(simple_spec(n_train_classes=1, tasks_per_class=2))
    fresh, used = bench.train_classes["reach-v3"](), bench.train_classes["reach-v3"]()
    used.set_task(bench.train_tasks[1])
    used.reset()
    used.step(ACTION)
    for env in (fresh, used):
        env.set_task(bench.train_tasks[0])
    assert np.array_equal(fresh.reset()[0], used.reset()[0])
    assert np.array_equal(fresh.step(ACTION)[0], used.step(ACTION)[0])


def test_rewards_are_float32_exact_with_full_mantissas():
    _, env = make_env(max_path_length=100)
    env.reset()
    rewards = np.array([env.step(ACTION)[1] for _ in range(100)])
    assert np.array_equal(rewards.astype(np.float32).astype(np.float64), rewards)
    assert not np.array_equal(rewards.astype(np.float16).astype(np.float64), rewards)
    assert rewards.min() >= 2.0**-7 and rewards.max() < 8
    # Orders of magnitude, as Meta-World's (0 to 10): any 10 consecutive steps of an attempt
    # meet every binary exponent from -7 to 2, so a cap or clip on large rewards shows.
    exponents = np.frexp(rewards)[1] - 1
    for start in range(0, 90, 7):
        assert set(exponents[start:start + 10]) == set(range(-7, 3)), exponents[start:start + 10]


def test_set_task_of_another_class_is_refused():
    bench = ScriptedBenchmark(simple_spec(n_train_classes=2, tasks_per_class=1))
    env = bench.train_classes["reach-v3"]()
    with pytest.raises(ValueError, match="push-v3"):
        env.set_task(bench.train_tasks[1])


def test_stepping_before_reset_is_refused():
    _, env = make_env()
    with pytest.raises(RuntimeError, match="reset"):
        env.step(ACTION)


def test_gym_api_speaks_metaworld_2():
    _, env = make_env((AttemptScript(end_at=2, end_kind="truncated"),), api="gym")
    obs = env.reset()
    assert isinstance(obs, np.ndarray)
    with pytest.raises(TypeError):
        env.reset(seed=1)
    first = env.step(ACTION)
    assert len(first) == 4 and first[2] is False
    obs, reward, done, info = env.step(ACTION)
    assert done is True and info["TimeLimit.truncated"] is True


def test_equal_specs_build_equal_but_separate_benchmarks():
    spec = simple_spec()
    a, b = ScriptedBenchmark(spec), ScriptedBenchmark(spec)
    assert a.train_classes["reach-v3"] is not b.train_classes["reach-v3"]
    ea, eb = a.train_classes["reach-v3"](), b.train_classes["reach-v3"]()
    ea.set_task(a.train_tasks[0])
    eb.set_task(b.train_tasks[0])
    assert np.array_equal(ea.reset()[0], eb.reset()[0])
    assert np.array_equal(ea.step(ACTION)[0], eb.step(ACTION)[0])


def test_tasks_pickle_round_trip_and_hold_no_pickle():
    bench = ScriptedBenchmark(simple_spec())
    task = bench.train_tasks[0]
    assert pickle.loads(pickle.dumps(task)) == task
    assert task.data.startswith(b"{")  # JSON, never a pickle


def test_tasks_print_as_class_uid_and_meaning():
    scripts = (AttemptScript(frozenset({2}), end_at=3, end_kind="terminated"),)
    bench = ScriptedBenchmark(simple_spec(n_train_classes=1, tasks_per_class=1, scripts=scripts))
    assert repr(bench.test_tasks[0]) == (
        "ScriptedTask(push-v3#2 (test; success at [2], terminated at step 3))")


# -- fidelity: what a wrapper may do with a Meta-World 3 env works on a scripted one -------------


def test_envs_are_gymnasium_envs_with_metaworld_spaces_and_attributes():
    _, env = make_env()
    assert isinstance(env, gym.Env) and env.unwrapped is env and env.spec is None
    assert env.render_mode is None and "render_fps" in env.metadata
    assert env.observation_space.dtype == np.float64 and env.observation_space.shape == (OBS_DIM,)
    assert env.action_space == gym.spaces.Box(-1.0, 1.0, (4,), np.float32)
    assert isinstance(env.np_random, np.random.Generator)
    assert (env.max_path_length, env.curr_path_length) == (500, 0)
    env.reset(seed=3)
    first = env.np_random.integers(1 << 30)
    env.reset(seed=3)
    assert env.np_random.integers(1 << 30) == first  # reset(seed=) seeds np_random, as gymnasium
    env.step(ACTION)
    assert env.curr_path_length == 1


def test_constructor_takes_metaworld_keywords():
    bench = ScriptedBenchmark(simple_spec(n_train_classes=1, tasks_per_class=1))
    env = bench.train_classes["reach-v3"](render_mode="rgb_array", camera_name="corner",
                                          height=32, width=48)
    env.set_task(bench.train_tasks[0])
    env.reset()
    assert env.render().shape == (32, 48, 3)
    with pytest.raises(TypeError):
        bench.train_classes["reach-v3"](unknown=1)


def test_gymnasium_wrappers_and_env_checker_work_on_scripted_envs():
    from gymnasium.utils.env_checker import check_env

    _, env = make_env(max_path_length=5)
    wrapped = gym.wrappers.TimeLimit(gym.wrappers.OrderEnforcing(gym.Wrapper(env)), 3)
    assert wrapped.unwrapped is env
    obs, info = wrapped.reset(seed=0)
    assert env.observation_space.contains(obs) and info == {}
    assert [wrapped.step(ACTION)[3] for _ in range(3)] == [False, False, True]
    _, fresh = make_env()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the checker warns that seed() exists, as for Meta-World
        check_env(fresh, skip_render_check=True)


@pytest.mark.parametrize("code", [0, 1, 2**10, 2**10 * 3, 2**10 * 20, 2**10 * 21, 2**15 - 1])
def test_decode_script_covers_no_end_terminated_truncated(code):
    script = decode_script(code)
    end = code >> 10 & 0b11111
    if end == 0 or end > 20:
        assert script.end_at is None
    else:
        assert 1 <= script.end_at <= 10
        assert script.end_kind == ("terminated" if end % 2 else "truncated")
    assert script.success_steps == {i + 1 for i in range(10) if code >> i & 1}


def test_decode_scripts_without_env_ends_has_no_end():
    codes = [2**31 - 1, 12345678, 2**20 + 3]
    for code in codes:
        assert all(s.end_at is None for s in decode_scripts(code, env_ends=False))


@settings(max_examples=30, deadline=None)
@given(spec=benchmark_specs())
def test_drawn_specs_are_valid_benchmarks(spec):
    bench = ScriptedBenchmark(spec)
    for split in ("train", "test"):
        classes = bench.train_classes if split == "train" else bench.test_classes
        tasks = bench.train_tasks if split == "train" else bench.test_tasks
        assert {t.env_name for t in tasks} == set(classes)
        for task in tasks:
            env = classes[task.env_name]()
            env.set_task(task)
            env.reset()
            env.step(ACTION)


@settings(max_examples=20, deadline=None)
@given(spec=benchmark_specs(single_task=True))
def test_single_task_specs_hold_one_task_per_split(spec):
    assert len(spec.train_tasks) == len(spec.test_tasks) == 1
    assert all(len(t.scripts) == 1 for t in spec.train_tasks + spec.test_tasks)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 17**4 - 1))
def test_actions_are_exact_and_in_bounds(code):
    from conformance.engine.strategies import _action

    a = _action(code)
    assert a.dtype == np.float32 and a.shape == (4,)
    assert np.all(np.abs(a) <= 1.0)
    assert np.all((a * 8) == np.round(a * 8))


def test_rotated_specs_run_the_same_tasks_with_other_outcomes_per_attempt():
    """The second candidate of a paired schedule class runs ``rotated(spec)``: the same classes
    and tasks, each task's scripts starting from its second."""
    a, b, c = AttemptScript(frozenset({2})), AttemptScript(frozenset(), 1, "terminated"), AttemptScript()
    spec = simple_spec(n_train_classes=2, tasks_per_class=2, scripts=(a, b, c))
    turned = rotated(spec)
    assert (turned.train_classes, turned.test_classes) == (spec.train_classes, spec.test_classes)
    assert [(t.env_name, t.uid, t.split) for t in turned.train_tasks + turned.test_tasks] == \
        [(t.env_name, t.uid, t.split) for t in spec.train_tasks + spec.test_tasks]
    assert {t.scripts for t in turned.train_tasks + turned.test_tasks} == {(b, c, a)}
    assert rotated(spec, 3) == spec and rotated(rotated(spec), 2) == spec
    env = ScriptedBenchmark(turned).train_classes["reach-v3"]()
    env.set_task(ScriptedBenchmark(turned).train_tasks[0])
    env.reset()
    assert env.step(ACTION)[2]  # the first attempt now runs b: terminated on step 1
