"""The env's observation is clipped to [-10, 10], narrower than the env's observation space."""

import numpy as np

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def get_obs(self, og_obs, soft_reset):
        return super().get_obs(np.clip(og_obs, -10.0, 10.0), soft_reset)


# A clipped value still lies inside observation_space (the env's bounds, which are wider), so
# KMW-OBS-2 holds; the values differ from the env's everywhere they are compared.
BREAKS = frozenset({"KMW-OBS-3", "KMW-SR-2", "KMW-SR-3"})
