"""Inside an attempt the observation returned is the previous step's, not this step's."""

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def reset(self, *, seed=None, options=None):
        obs, info = super().reset(seed=seed, options=options)
        self._stale = obs[:-1].copy()
        return obs, info

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        fresh = obs[:-1].copy()
        if obs[-1] == 0.0 and not (terminated or truncated):  # a step inside an attempt
            obs[:-1] = self._stale  # bug: the previous step's observation
        self._stale = fresh
        return obs, reward, terminated, truncated, info


BREAKS = frozenset({"KMW-OBS-3"})
