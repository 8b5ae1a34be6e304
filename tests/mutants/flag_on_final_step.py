"""The final step returns the terminal observation with flag 1.0."""

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def _final_step(self, obs, reward, terminated, truncated, info):
        out = super()._final_step(obs, reward, terminated, truncated, info)
        out[0][-1] = 1.0
        return out


BREAKS = frozenset({"KMW-SR-3"})
