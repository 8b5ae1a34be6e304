"""The logged attempt return sums the unscaled env rewards, not the rewards the wrapper returned."""

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def _scale(self, reward):
        self._raw_reward = float(reward)
        return super()._scale(reward)

    def _record_step(self, reward, terminated, truncated, info):
        return super()._record_step(self._raw_reward, terminated, truncated, info)


BREAKS = frozenset({"KMW-LOG-2"})
