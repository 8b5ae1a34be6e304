"""k+1 attempts: the trial goes on for one attempt more (``<=`` instead of ``<``)."""

from tests.mutants._base import HookedReference


class Wrapper(HookedReference):
    def _more_attempts(self) -> bool:
        return self._attempt <= self.k_episodes


BREAKS = frozenset({"KMW-ATT-2", "KMW-ATT-3"})
