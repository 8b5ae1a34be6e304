"""The wrapper's trial semantics on real Meta-World, checked against a bare env stepped beside it.

For each trial the wrapper runs, a second, bare instance of the same Meta-World class gets the same
task and the same actions; the expected observations, rewards, flags and logs are computed from
what the bare env returns, following conformance/SPEC.md (the model below), never from the wrapper.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from kmw import (
    LOG_PREFIX,
    SUCCESS_RATE_KEY,
    TOTAL_SUCCESSES_KEY,
    KEpisodeMetaworld,
    episode_return_key,
    episode_success_key,
)

D = 39  # Meta-World's observation size


@dataclass
class Transition:
    obs: np.ndarray
    reward: float
    terminated: bool
    truncated: bool
    info: dict[str, Any]


def run_trial(
    env: KEpisodeMetaworld,
    seed: int,
    policy: Callable[[int, np.ndarray], np.ndarray],
    max_steps: int,
) -> tuple[np.ndarray, list[Transition], list[np.ndarray]]:
    """Reset ``env`` with ``seed`` and step it with ``policy(t, obs)`` until a done flag (at most
    ``max_steps`` steps). Returns the reset observation, the transitions and the actions."""
    obs, info = env.reset(seed=seed)
    assert isinstance(info, dict)
    first = obs.copy()
    transitions: list[Transition] = []
    actions: list[np.ndarray] = []
    for t in range(max_steps):
        action = np.asarray(policy(t, obs), dtype=np.float32)
        actions.append(action)
        obs, reward, terminated, truncated, info = env.step(action)
        transitions.append(Transition(obs.copy(), reward, terminated, truncated, info))
        if terminated or truncated:
            break
    return first, transitions, actions


def model_trial(
    env_cls: type,
    task: Any,
    k: int,
    L: int,
    actions: list[np.ndarray],
    reward_scale: float = 1.0,
) -> tuple[np.ndarray, list[Transition]]:
    """What SPEC says the wrapper returns for ``actions``, computed on a fresh bare env of
    ``env_cls`` with ``task`` set (its own step limit lifted to ``L`` if below it, as the wrapper
    documents). Stops when the k-th attempt ends or the actions run out."""
    bare = env_cls()
    bare.set_task(task)
    if bare.max_path_length < L:
        bare.max_path_length = L
    reset_obs, _ = bare.reset()
    first = np.append(reset_obs.astype(np.float32), np.float32(1.0))
    expected: list[Transition] = []
    successes = 0
    it = iter(actions)
    for attempt in range(k):
        ret, success = 0.0, False
        for t in range(1, L + 1):
            action = next(it, None)
            if action is None:
                return first, expected
            obs, reward, terminated, truncated, info = bare.step(action)
            reward = float(reward) * reward_scale
            ret += reward
            success = success or bool(info["success"])
            info = dict(info)
            ends = bool(terminated) or bool(truncated) or t == L
            if not ends:
                expected.append(Transition(_flagged(obs, 0.0), reward, False, False, info))
                continue
            info[episode_success_key(attempt)] = 1.0 if success else 0.0
            info[episode_return_key(attempt)] = ret
            successes += int(success)
            if attempt < k - 1:
                next_obs, _ = bare.reset()
                expected.append(Transition(_flagged(next_obs, 1.0), reward, False, False, info))
            else:
                info[TOTAL_SUCCESSES_KEY] = float(successes)
                info[SUCCESS_RATE_KEY] = successes / k
                # The reference's documented choice: terminated if the env terminated,
                # else truncated.
                expected.append(
                    Transition(_flagged(obs, 0.0), reward, bool(terminated), not terminated, info)
                )
            break
    bare.close()
    return first, expected


def _flagged(obs: np.ndarray, flag: float) -> np.ndarray:
    return np.append(np.asarray(obs).astype(np.float32), np.float32(flag))


def assert_same_info(got: dict[str, Any], want: dict[str, Any], where: str) -> None:
    assert set(got) == set(want), f"{where}: info keys {sorted(set(got) ^ set(want))} differ"
    for key, value in want.items():
        if isinstance(value, float) and key.startswith(LOG_PREFIX):
            assert got[key] == pytest.approx(value, rel=1e-6, abs=1e-9), f"{where}: {key}"
        else:
            assert np.all(got[key] == value), f"{where}: info[{key!r}] {got[key]!r} != {value!r}"


def assert_matches_model(
    env: KEpisodeMetaworld,
    first: np.ndarray,
    got: list[Transition],
    model: tuple[np.ndarray, list[Transition]],
) -> None:
    want_first, want = model
    assert first.dtype == np.float32 and first.shape == (D + 1,)
    np.testing.assert_array_equal(first, want_first)
    assert first in env.observation_space
    assert len(got) == len(want), f"trial took {len(got)} steps, expected {len(want)}"
    for t, (g, w) in enumerate(zip(got, want)):
        where = f"step {t + 1}"
        assert g.obs.dtype == np.float32 and g.obs.shape == (D + 1,), where
        assert g.obs in env.observation_space, where
        np.testing.assert_array_equal(g.obs, w.obs, err_msg=where)
        assert isinstance(g.reward, float), where
        assert g.reward == pytest.approx(w.reward, rel=1e-12), where
        assert type(g.terminated) is bool and type(g.truncated) is bool, where
        assert (g.terminated, g.truncated) == (w.terminated, w.truncated), where
        assert_same_info(g.info, w.info, where)


def random_policy(seed: int) -> Callable[[int, np.ndarray], np.ndarray]:
    rng = np.random.default_rng(seed)
    return lambda t, obs: rng.uniform(-1.0, 1.0, size=4)


@pytest.mark.parametrize(
    ("split", "k", "L", "seed"),
    [("train", 3, 7, 0), ("test", 2, 12, 1), ("train", 1, 5, 2), ("test", 4, 1, 3)],
)
def test_trial_matches_bare_env(ml1_reach: Any, split: str, k: int, L: int, seed: int) -> None:
    """KMW-OBS-2/3, SR-1/2/3, ATT-1/2/3, EPL-1, LOG-1..4, REW-1 (scale 1): every step of a trial
    equals the model computed on a bare env with the same task and actions; the trial takes
    exactly k * L steps."""
    env = KEpisodeMetaworld(ml1_reach, split, k, max_episode_length=L)
    first, got, actions = run_trial(env, seed, random_policy(seed), max_steps=k * L + 5)
    assert len(got) == k * L
    classes = ml1_reach.train_classes if split == "train" else ml1_reach.test_classes
    model = model_trial(classes[env.task_name], env.task, k, L, actions)
    assert_matches_model(env, first, got, model)


def test_successive_trials_match_bare_env(ml1_reach: Any) -> None:
    """Several trials on one wrapper: each trial starts fresh (no state or log carried over)."""
    env = KEpisodeMetaworld(ml1_reach, "train", 2, max_episode_length=6)
    for seed in (10, 11, 12):
        first, got, actions = run_trial(env, seed, random_policy(seed), max_steps=20)
        cls = ml1_reach.train_classes[env.task_name]
        assert_matches_model(env, first, got, model_trial(cls, env.task, 2, 6, actions))


def test_reward_scales(ml1_reach: Any) -> None:
    """KMW-REW-1, LOG-2: rewards (and logged returns) are scaled by reward_scales[task_name]."""

    class Scaled(KEpisodeMetaworld):
        reward_scales = {"reach-v3": 2.5, "push-v3": 100.0}

    env = Scaled(ml1_reach, "train", 2, max_episode_length=5)
    first, got, actions = run_trial(env, 4, random_policy(4), max_steps=20)
    cls = ml1_reach.train_classes["reach-v3"]
    model = model_trial(cls, env.task, 2, 5, actions, reward_scale=2.5)
    assert_matches_model(env, first, got, model)
    assert any(t.reward != 0.0 for t in got)  # the scale was really exercised
    assert KEpisodeMetaworld.reward_scales == {}  # the base class's table is untouched


@pytest.mark.filterwarnings("ignore:Constant.s. may be too high")
def test_env_termination_ends_attempt(ml1_reach: Any, make_spy: Callable[..., Any]) -> None:
    """KMW-ATT-1/2, SR-3: an env that terminates on success (Meta-World's expert reaches the goal)
    ends the attempt early; on the last attempt the trial ends with ``terminated``."""
    from metaworld.policies import SawyerReachV3Policy

    spy = make_spy(ml1_reach, terminate_on_success=True)
    env = KEpisodeMetaworld(spy, "train", 2, max_episode_length=200)
    expert = SawyerReachV3Policy()

    def policy(t: int, obs: np.ndarray) -> np.ndarray:
        return expert.get_action(with_goal(obs, env.env._target_pos))

    first, got, actions = run_trial(env, 5, policy, max_steps=500)
    cls = spy.train_classes["reach-v3"]
    model = model_trial(cls, env.task, 2, 200, actions)
    assert_matches_model(env, first, got, model)
    assert len(got) < 2 * 200  # the env's termination really cut the attempts short
    assert got[-1].terminated and not got[-1].truncated


def test_env_truncation_ends_attempt(ml1_reach: Any, make_spy: Callable[..., Any]) -> None:
    """KMW-ATT-1: an env that truncates on its own (step 4 of every episode) before L ends the
    attempt there; the trial then takes k * 4 steps."""
    spy = make_spy(ml1_reach, truncate_at=4)
    env = KEpisodeMetaworld(spy, "test", 3, max_episode_length=10)
    first, got, actions = run_trial(env, 6, random_policy(6), max_steps=50)
    assert len(got) == 3 * 4
    model = model_trial(spy.test_classes["reach-v3"], env.task, 3, 10, actions)
    assert_matches_model(env, first, got, model)


def test_attempts_longer_than_env_limit(ml1_reach: Any, make_spy: Callable[..., Any]) -> None:
    """KMW-EPL-2: L = 510 > Meta-World's 500-step limit really runs 510 steps on one attempt: the
    env is never reset or truncated on the way (it would raise if stepped past its limit)."""
    spy = make_spy(ml1_reach)
    env = KEpisodeMetaworld(spy, "train", 1, max_episode_length=510)
    first, got, actions = run_trial(env, 7, random_policy(7), max_steps=600)
    assert len(got) == 510
    assert not any(t.terminated or t.truncated for t in got[:-1])
    assert got[-1].truncated
    inner = env.env
    assert len([c for c in spy.of("reset") if spy.env(c) is inner]) == 1  # the trial's reset only
    assert inner.curr_path_length == 510
    model = model_trial(spy.train_classes["reach-v3"], env.task, 1, 510, actions)
    assert_matches_model(env, first, got, model)


def test_reset_mid_trial_starts_a_new_trial(ml1_reach: Any) -> None:
    """KMW-ATT-4: ``reset()`` after a few steps starts a trial with all k attempts ahead."""
    env = KEpisodeMetaworld(ml1_reach, "train", 2, max_episode_length=5)
    env.reset(seed=8)
    for _ in range(7):  # into the second attempt
        env.step(np.zeros(4))
    first, got, actions = run_trial(env, 9, random_policy(9), max_steps=20)
    assert len(got) == 2 * 5
    cls = ml1_reach.train_classes["reach-v3"]
    assert_matches_model(env, first, got, model_trial(cls, env.task, 2, 5, actions))


def test_soft_reset_keeps_env_and_task(ml1_reach: Any, make_spy: Callable[..., Any]) -> None:
    """KMW-SR-4, IFC-5: within a trial the task is set once (at reset), the env is reset once per
    attempt, and every step goes to the same env; ``task_name`` names the task's class."""
    spy = make_spy(ml1_reach)
    env = KEpisodeMetaworld(spy, "train", 3, max_episode_length=4)
    for seed in (0, 1):
        before = len(spy.log.events)
        run_trial(env, seed, random_policy(seed), max_steps=20)
        trial = spy.calls(before)
        names = [c.kind for c in trial]
        assert names == ["set_task", "reset"] + (["step"] * 4 + ["reset"]) * 2 + ["step"] * 4
        assert len({c.env_id for c in trial}) == 1
        assert trial[0].task is env.task
        assert env.task_name == env.task.env_name == "reach-v3"


def with_goal(obs: np.ndarray, goal: np.ndarray) -> np.ndarray:
    """The underlying part of a wrapper observation, hidden goal written in (for experts)."""
    inner = np.array(obs[:D], dtype=np.float64)
    inner[-3:] = goal
    return inner


@pytest.mark.filterwarnings("ignore:Constant.s. may be too high")
def test_expert_attempts_log_success(ml1_reach: Any, make_spy: Callable[..., Any]) -> None:
    """KMW-LOG-1/3: Meta-World's scripted reach expert (given the hidden goal) succeeds, and each
    attempt's success flag and the totals follow the underlying ``info["success"]`` on *any*
    step of the attempt: attempt 0 is the expert's, attempt 1 does nothing, attempt 2 reaches
    the goal and then leaves it, so its last step is no success."""
    from metaworld.policies import SawyerReachV3Policy

    spy = make_spy(ml1_reach)
    k, L = 3, 100
    env = KEpisodeMetaworld(spy, "test", k, max_episode_length=L)
    expert = SawyerReachV3Policy()

    def policy(t: int, obs: np.ndarray) -> np.ndarray:
        attempt, step = divmod(t, L)
        if attempt == 1:
            return np.zeros(4)
        toward = expert.get_action(with_goal(obs, env.env._target_pos))
        return -toward if attempt == 2 and step >= 50 else toward

    before = len(spy.log.events)
    first, got, actions = run_trial(env, 11, policy, max_steps=k * L)
    steps = [c for c in spy.calls(before) if c.kind == "step"]
    underlying = [any(c.info["success"] for c in steps[i * L : (i + 1) * L]) for i in range(k)]
    assert underlying[0] and underlying[2]  # the expert really succeeded
    assert not steps[3 * L - 1].info["success"]  # ... and attempt 2 ended away from the goal
    logged = [got[(i + 1) * L - 1].info[episode_success_key(i)] for i in range(k)]
    assert logged == [1.0 if s else 0.0 for s in underlying]
    assert got[-1].info[TOTAL_SUCCESSES_KEY] == sum(underlying)
    assert got[-1].info[SUCCESS_RATE_KEY] == pytest.approx(sum(underlying) / k)
    model = model_trial(spy.test_classes["reach-v3"], env.task, k, L, actions)
    assert_matches_model(env, first, got, model)
