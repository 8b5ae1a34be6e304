"""Inside an attempt the observation returned is the previous step's, not this step's."""

from tests.mutants._base import HookedReference


class Wrapper(HookedReference):
    def _reset_obs(self, obs):
        self._stale = obs
        return super()._reset_obs(obs)

    def _inner_obs(self, obs):
        stale, self._stale = self._stale, obs
        return super()._inner_obs(stale)

    def _soft_reset_step(self, obs, reward, terminated, truncated, info):
        out = super()._soft_reset_step(obs, reward, terminated, truncated, info)
        self._stale = out[0][:-1]
        return out


BREAKS = frozenset({"KMW-OBS-3"})
