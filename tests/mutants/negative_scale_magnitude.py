"""Only a scale's magnitude is applied (``abs(scale)``): a negative scale returns positive rewards."""

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def _scale(self, reward):
        return float(reward) * abs(self.reward_scales.get(self.task_name, 1.0))


BREAKS = frozenset({"KMW-REW-1"})
