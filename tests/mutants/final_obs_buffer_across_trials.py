"""The final observation of every trial is written into one array kept by the wrapper, so a
stored trajectory's last observation changes at the end of the next trial (a buffer reused
across trials, not within one)."""

import numpy as np

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def _final_step(self, obs, reward, terminated, truncated, info):
        out, reward, terminated, truncated, info = super()._final_step(
            obs, reward, terminated, truncated, info)
        buf = self.__dict__.setdefault("_final_obs", np.empty_like(out))
        buf[:] = out  # bug: the previous trial's final observation is overwritten
        return buf, reward, terminated, truncated, info


BREAKS = frozenset({"KMW-OBS-4"})
