"""``terminated``/``truncated`` come out as ints (0/1) instead of bools."""

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        return obs, reward, int(terminated), int(truncated), info


BREAKS = frozenset({"KMW-IFC-1"})
