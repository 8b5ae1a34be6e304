"""``action_space`` is rebuilt as a float64 Box, so it no longer equals the env's float32 one."""

import gymnasium as gym
import numpy as np

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        inner = self.action_space
        self.action_space = gym.spaces.Box(inner.low, inner.high, dtype=np.float64)


BREAKS = frozenset({"KMW-IFC-2"})
