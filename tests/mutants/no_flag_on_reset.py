"""The soft-reset flag is missing (0.0) on the observation from ``reset()``."""

from tests.mutants._base import HookedReference


class Wrapper(HookedReference):
    def _reset_obs(self, obs):
        return self.get_obs(obs, soft_reset=False)


BREAKS = frozenset({"KMW-SR-1"})
