"""``observation_space`` has the env's shape (D,): the flag's dimension is forgotten."""

import gymnasium as gym
import numpy as np

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def _make_observation_space(self, inner):
        return gym.spaces.Box(
            np.asarray(inner.low, np.float32), np.asarray(inner.high, np.float32),
            dtype=np.float32,
        )


BREAKS = frozenset({"KMW-OBS-1", "KMW-OBS-2"})
