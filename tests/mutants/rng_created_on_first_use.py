"""The task RNG is seeded only by the first seed given: later ``reset(seed=s)`` ignore ``s``."""

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def reset(self, *, seed=None, options=None):
        if getattr(self, "_rng_seeded", False):
            seed = None  # bug: the RNG already exists, so the new seed is dropped
        elif seed is not None:
            self._rng_seeded = True
        return super().reset(seed=seed, options=options)


# A fresh candidate reset with s and one that was seeded before and then reset with s differ.
BREAKS = frozenset({"KMW-TSK-3"})
