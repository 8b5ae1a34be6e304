"""k+1 attempts: the trial goes on for one attempt more (``<=`` instead of ``<``)."""

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def _more_attempts(self) -> bool:
        return self._attempt <= self.k_episodes


BREAKS = frozenset({"KMW-ATT-2", "KMW-ATT-3"})
