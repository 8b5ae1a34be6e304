"""AMAGO-style: gym env API, ``Trial {i}`` keys, unchecked k and L, env limit kept, global ``random``.

Reproduces, hook by hook on the reference, what the conformance suite finds on AMAGO's current
Meta-World wrapper (``amago/envs/builtin/metaworld_ml.py``, ``KEpisodeMetaworld``; checked at
UT-Austin-RPL/amago 48eea05, whose ``KEpisodeMetaworld`` is unchanged since 2d85600) under
AMAGO's options (``OPTIONS``). Written from the suite's findings, not from AMAGO's code:

- the split is checked with a bare ``assert`` and ``k_episodes``/``max_episode_length`` not at
  all (KMW-IFC-3 fails, KMW-IFC-4 is a SHOULD finding);
- the env's own ``max_path_length`` is left as it is, so an L above it is cut by the env
  (KMW-EPL-2 fails);
- ``step()`` after the trial's end steps the env again and returns normally (KMW-ATT-5, SHOULD);
- tasks are drawn with Python's global ``random``, ``reset(seed=...)`` ignored (KMW-TSK-3,
  SHOULD);
- it logs ``"{P} Trial {i} Success"`` per attempt and ``"{P} Total Successes"`` at the trial's
  end, no per-attempt return and no ``Success Rate``: under ``--kmw-keys=amago`` KMW-LOG-2 and
  KMW-LOG-3 come out not checked (LOG-3 after its total was checked);
- it speaks the older gym API to the underlying env (``obs = env.reset()``, 4-tuple ``step``).

``tests/test_mutants.py`` checks that this declaration and the AMAGO table of
``docs/conformance.md`` agree.
"""

from __future__ import annotations

import random
from typing import Any

from kmw import KEpisodeMetaworld
from kmw.wrapper import TOTAL_SUCCESSES_KEY

P = "AMAGO_LOG_METRIC"


class _OldApiEnv:
    """Gives a Meta-World 2 (gym API) env the gymnasium calls the reference makes; everything
    else (``set_task``, spaces, ``max_path_length``) goes to the env itself."""

    def __init__(self, env: Any) -> None:
        object.__setattr__(self, "_env", env)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._env, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._env, name, value)

    def reset(self, seed: int | None = None) -> tuple[Any, dict[str, Any]]:
        return self._env.reset(), {}  # the old API takes no seed

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, done, info = self._env.step(action)
        cut = bool(done and info.get("TimeLimit.truncated", False))
        return obs, reward, bool(done) and not cut, cut, info


class Wrapper(KEpisodeMetaworld):
    def _check_args(self, split: Any, k: Any, length: Any) -> tuple[str, int, int]:
        assert split in ("train", "test")  # bugs: no ValueError; k and L not checked at all
        return split, k, length

    def _env_for(self, name: str) -> Any:
        env = self._envs.get(name)
        if env is None:
            env = self._envs[name] = _OldApiEnv(self.env_funcs[name]())
        return env

    def _lift_limit(self, env: Any) -> None:
        pass  # bug: an L above the env's max_path_length is cut by the env

    def _draw_task(self) -> tuple[str, Any]:
        name = random.choice(self._class_names)  # bug: global random, the seed is ignored
        return name, random.choice(self._tasks_by_class[name])

    def _step_after_end(self, action: Any) -> Any:
        if self.env is None:
            return super()._step_after_end(action)
        obs, reward, _, _, _ = self.env.step(action)  # bug: steps on, no error
        return self.get_obs(obs, soft_reset=False), self._scale(reward), True, True, {}

    def _log_attempt(self, info: dict[str, Any], i: int) -> None:
        info[f"{P} Trial {i} Success"] = float(self._attempt_success)

    def _log_trial(self, info: dict[str, Any]) -> None:
        info[TOTAL_SUCCESSES_KEY] = float(self._successes)


BREAKS = frozenset({"KMW-IFC-3", "KMW-IFC-4", "KMW-EPL-2", "KMW-ATT-5", "KMW-TSK-3"})
OPTIONS = ("--kmw-env-api=gym", "--kmw-keys=amago")
#: Requirements the amago key scheme has no (or not every) key for: must be reported not checked.
NOT_CHECKED = frozenset({"KMW-LOG-2", "KMW-LOG-3"})
