"""The logged attempt return sums the unscaled env rewards, not the rewards the wrapper returned."""

from tests.mutants._base import HookedReference


class Wrapper(HookedReference):
    def _scale(self, reward):
        self._raw_reward = float(reward)
        return super()._scale(reward)

    def _return_term(self, reward, info):
        return self._raw_reward


BREAKS = frozenset({"KMW-LOG-2"})
