"""The conformance suite: one property per requirement of ``conformance/SPEC.md``.

Each test is marked with the requirement it enforces (the ``target`` fixture reads the ID
from the mark, so each test names it once) and fails only on a violation of it;
violations of other requirements stop an example (each has its own test) or are ignored.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import strategies as st

from conformance.engine import properties as P
from conformance.engine.violations import ContractViolation
from conformance.front.plugin import suite_arguments

req = pytest.mark.kmw_requirement


# -- Interface ---------------------------------------------------------------------------------

@req("KMW-IFC-1")
def test_ifc_1_gymnasium_signatures(request):
    config, target = suite_arguments(request)
    P.check_trials(config, target)


@req("KMW-IFC-2")
def test_ifc_2_action_space(request):
    config, target = suite_arguments(request)

    def check(candidate, env, dim):
        if getattr(candidate, "action_space", None) != env.action_space:
            raise ContractViolation(target, "action_space differs from the env's",
                                    expected=env.action_space,
                                    got=getattr(candidate, "action_space", None))

    P.check_constructed(config, target, check)


BAD_ARGUMENTS = [
    ({"split": "valid"}, "split"),
    ({"split": "Train"}, "split"),
    ({"split": None}, "split"),
    ({"k_episodes": 0}, "k_episodes"),
    ({"k_episodes": -2}, "k_episodes"),
    ({"k_episodes": 2.5}, "k_episodes"),
    ({"k_episodes": "3"}, "k_episodes"),
    ({"max_episode_length": 0}, "max_episode_length"),
    ({"max_episode_length": -1}, "max_episode_length"),
    ({"max_episode_length": 2.5}, "max_episode_length"),
]
BAD_IDS = [f"{arg}={next(iter(kw.values()))!r}" for kw, arg in BAD_ARGUMENTS]


@req("KMW-IFC-3")
@pytest.mark.parametrize(("kwargs", "argument"), BAD_ARGUMENTS, ids=BAD_IDS)
def test_ifc_3_bad_arguments_raise(request, kwargs, argument):
    config, target = suite_arguments(request)
    P.check_bad_arguments(config, target, kwargs, argument, want_value_error=False)


@req("KMW-IFC-4")
@pytest.mark.parametrize(("kwargs", "argument"), BAD_ARGUMENTS, ids=BAD_IDS)
def test_ifc_4_bad_arguments_value_error(request, kwargs, argument):
    config, target = suite_arguments(request)
    P.check_bad_arguments(config, target, kwargs, argument, want_value_error=True)


@req("KMW-IFC-5")
def test_ifc_5_task_name(request):
    config, target = suite_arguments(request)
    P.check_trials(config, target)


@req("KMW-IFC-6")
def test_ifc_6_builds_on_valid_arguments(request):
    config, target = suite_arguments(request)
    P.check_builds(config, target)


# -- Observations --------------------------------------------------------------------------------

@req("KMW-OBS-1")
def test_obs_1_observation_space(request):
    config, target = suite_arguments(request)

    def check(candidate, env, dim):
        space = getattr(candidate, "observation_space", None)
        ok = (isinstance(space, gym.spaces.Box) and space.shape == (dim + 1,)
              and space.dtype == np.float32)
        if not ok:
            raise ContractViolation(target, "observation_space must be a float32 Box of "
                                    "shape (D + 1,)", expected=f"Box(shape=({dim + 1},), float32)",
                                    got=space)

    P.check_constructed(config, target, check)


@req("KMW-OBS-2")
def test_obs_2_observations_in_space(request):
    config, target = suite_arguments(request)
    P.check_trials(config, target)


@req("KMW-OBS-3")
def test_obs_3_observation_values(request):
    config, target = suite_arguments(request)
    P.check_trials(config, target)


@req("KMW-OBS-4")
def test_obs_4_observations_not_aliased(request):
    config, target = suite_arguments(request)
    P.check_trials(config, target, plan_kwargs={"n_trials": (2, 3)})


# -- Attempt counting ----------------------------------------------------------------------------

@req("KMW-ATT-1")
def test_att_1_attempt_boundaries(request):
    config, target = suite_arguments(request)
    P.check_trials(config, target)


@req("KMW-ATT-2")
def test_att_2_done_flag(request):
    config, target = suite_arguments(request)
    P.check_trials(config, target)


@req("KMW-ATT-3")
def test_att_3_trial_length(request):
    config, target = suite_arguments(request)
    P.check_trials(config, target, spec_kwargs={"env_ends": False})


@req("KMW-ATT-4")
def test_att_4_reset_mid_trial(request):
    config, target = suite_arguments(request)
    P.check_reset_mid_trial(config, target)


@req("KMW-ATT-5")
def test_att_5_step_after_end_raises(request):
    config, target = suite_arguments(request)
    P.check_step_after_end(config, target)


# -- Soft resets ---------------------------------------------------------------------------------

@req("KMW-SR-1")
def test_sr_1_flag(request):
    config, target = suite_arguments(request)
    P.check_trials(config, target)


@req("KMW-SR-2")
def test_sr_2_reset_observation(request):
    config, target = suite_arguments(request)
    P.check_trials(config, target, plan_kwargs={"max_k": 4})


@req("KMW-SR-3")
def test_sr_3_final_observation(request):
    config, target = suite_arguments(request)
    P.check_trials(config, target)


@req("KMW-SR-4")
def test_sr_4_soft_reset_keeps_task(request):
    config, target = suite_arguments(request)
    P.check_trials(config, target, plan_kwargs={"max_k": 4})


# -- Episode length ------------------------------------------------------------------------------

@req("KMW-EPL-1")
def test_epl_1_attempt_length_bound(request):
    config, target = suite_arguments(request)
    P.check_trials(config, target, spec_kwargs={"env_ends": False})


@req("KMW-EPL-2")
def test_epl_2_long_attempts(request):
    config, target = suite_arguments(request)
    P.check_long_attempts(config, target)


# -- Tasks ---------------------------------------------------------------------------------------

@req("KMW-TSK-1")
def test_tsk_1_split_isolation(request):
    config, target = suite_arguments(request)
    P.check_trials(config, target, plan_kwargs={"n_trials": (2, 4), "max_k": 2,
                                                        "max_len": st.integers(1, 3)})


@req("KMW-TSK-2")
def test_tsk_2_every_class_drawn(request):
    config, target = suite_arguments(request)
    P.check_every_class_drawn(config, target)


@req("KMW-TSK-3")
def test_tsk_3_seeded_reset_reproducible(request):
    config, target = suite_arguments(request)
    P.check_seeded_reproducible(config, target)


# -- Logging -------------------------------------------------------------------------------------

@req("KMW-LOG-1")
def test_log_1_attempt_success(request):
    config, target = suite_arguments(request)
    P.check_trials(config, target, plan_kwargs={"max_k": 4})


@req("KMW-LOG-2")
def test_log_2_attempt_return(request):
    config, target = suite_arguments(request)
    P.check_trials(config, target)


@req("KMW-LOG-3")
def test_log_3_trial_totals(request):
    config, target = suite_arguments(request)
    P.check_trials(config, target)


@req("KMW-LOG-4")
def test_log_4_keys_once(request):
    config, target = suite_arguments(request)
    P.check_trials(config, target, plan_kwargs={"n_trials": (2, 3)})


@req("KMW-LOG-5")
def test_log_5_infos_not_aliased(request):
    config, target = suite_arguments(request)
    P.check_trials(config, target, plan_kwargs={"n_trials": (2, 3)})


# -- Rewards -------------------------------------------------------------------------------------

@req("KMW-REW-1")
def test_rew_1_reward_scales(request):
    config, target = suite_arguments(request)
    P.check_trials(config, target)
