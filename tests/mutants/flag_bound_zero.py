"""The flag's upper bound in ``observation_space`` is 0.0: flag-1.0 observations lie outside."""

import gymnasium as gym
import numpy as np

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def _make_observation_space(self, inner):
        low = np.append(np.asarray(inner.low, np.float32), np.float32(0.0))
        high = np.append(np.asarray(inner.high, np.float32), np.float32(0.0))
        return gym.spaces.Box(low, high, dtype=np.float32)


BREAKS = frozenset({"KMW-OBS-2"})
