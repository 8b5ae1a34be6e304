"""``reward_scales`` is ignored: the env's reward is returned unscaled."""

from tests.mutants._base import HookedReference


class Wrapper(HookedReference):
    def _scale(self, reward):
        return float(reward)


BREAKS = frozenset({"KMW-REW-1"})
