"""The soft-reset flag is missing (0.0) on the observation from ``reset()``."""

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def reset(self, *, seed=None, options=None):
        obs, info = super().reset(seed=seed, options=options)
        obs[-1] = 0.0  # bug: the reset observation is built with soft_reset=False
        return obs, info


BREAKS = frozenset({"KMW-SR-1"})
