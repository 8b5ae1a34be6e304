"""Logged keys stay in a persistent dict merged into every later step's ``info`` of the trial."""

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def _start_trial(self):
        super()._start_trial()
        self._logged = {}

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        info = {**self._logged, **info}
        self._logged.update({k: v for k, v in info.items() if k.startswith("AMAGO_LOG_METRIC")})
        return obs, reward, terminated, truncated, info


BREAKS = frozenset({"KMW-LOG-4"})
