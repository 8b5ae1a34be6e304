"""The scaled reward is stored as a float16 before it is returned (and summed into the return)."""

import numpy as np

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def _scale(self, reward):
        return float(np.float16(super()._scale(reward)))


# The return is the sum of the (rounded) rewards returned, so KMW-LOG-2 holds; the reward
# itself is off by up to 2**-11 relative.
BREAKS = frozenset({"KMW-REW-1"})
