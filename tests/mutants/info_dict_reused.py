"""One ``info`` dict is cleared and refilled by every ``reset``/``step`` and returned each time."""

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def _shared(self, info):
        shared = self.__dict__.setdefault("_info", {})
        shared.clear()  # bug: the dict returned by the previous call is emptied and refilled
        shared.update(info)
        return shared

    def reset(self, *, seed=None, options=None):
        obs, info = super().reset(seed=seed, options=options)
        return obs, self._shared(info)

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        return obs, reward, terminated, truncated, self._shared(info)


BREAKS = frozenset({"KMW-LOG-5"})
