"""Observations come out as float64 (the env's dtype is kept), though the space says float32."""

import numpy as np

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def get_obs(self, og_obs, soft_reset):
        return np.append(np.ravel(og_obs), 1.0 if soft_reset else 0.0)


BREAKS = frozenset({"KMW-OBS-2"})
