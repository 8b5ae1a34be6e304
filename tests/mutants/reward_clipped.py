"""The scaled reward is clipped to [-10, 10] (``np.clip(r * scale, -10, 10)``), as if rewards
were already in Meta-World's range after scaling.

Meta-World's rewards reach 10, so any scale above 1 makes large rewards come out wrong
(KMW-REW-1).
"""

import numpy as np

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def _scale(self, reward):
        return float(np.clip(super()._scale(reward), -10.0, 10.0))


BREAKS = frozenset({"KMW-REW-1"})
