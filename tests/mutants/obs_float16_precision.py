"""The env's observation passes through float16 before it is cast to float32."""

import numpy as np

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def get_obs(self, og_obs, soft_reset):
        return super().get_obs(np.asarray(og_obs).astype(np.float16), soft_reset)


# Every returned observation's first D entries are off: inside attempts and on reset (OBS-3),
# at a soft reset (SR-2: not the env's reset observation), on the final step (SR-3).
BREAKS = frozenset({"KMW-OBS-3", "KMW-SR-2", "KMW-SR-3"})
