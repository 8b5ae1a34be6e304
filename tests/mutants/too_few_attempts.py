"""k-1 attempts: the trial ends after attempt k-1 (``<`` compared against ``k - 1``)."""

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def _more_attempts(self) -> bool:
        return self._attempt < max(self.k_episodes - 1, 1)


BREAKS = frozenset({"KMW-ATT-2", "KMW-ATT-3"})
