"""The underlying env's ``truncated`` is ignored: an attempt ends only on ``terminated`` or at L."""

from tests.mutants._base import HookedReference


class Wrapper(HookedReference):
    def _attempt_over(self, terminated, truncated, info):
        return bool(terminated or self._attempt_steps >= self.max_episode_length)


# On the last attempt the ignored truncation also leaves the done flag unset (KMW-ATT-2).
BREAKS = frozenset({"KMW-ATT-1", "KMW-ATT-2"})
