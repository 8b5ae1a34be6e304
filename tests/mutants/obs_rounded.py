"""The env's observation is rounded to 3 decimals."""

import numpy as np

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def get_obs(self, og_obs, soft_reset):
        return super().get_obs(np.round(og_obs, 3), soft_reset)


BREAKS = frozenset({"KMW-OBS-3", "KMW-SR-2", "KMW-SR-3"})
