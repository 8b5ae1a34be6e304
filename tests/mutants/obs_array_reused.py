"""One preallocated observation array is overwritten in place and returned by every call."""

import numpy as np

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def get_obs(self, og_obs, soft_reset):
        buf = self.__dict__.get("_obs_buf")
        if buf is None:
            buf = self._obs_buf = np.empty(self._obs_dim + 1, dtype=np.float32)
        buf[:-1] = np.ravel(og_obs)
        buf[-1] = 1.0 if soft_reset else 0.0
        return buf  # bug: the array handed out last time changes under the caller


BREAKS = frozenset({"KMW-OBS-4"})
