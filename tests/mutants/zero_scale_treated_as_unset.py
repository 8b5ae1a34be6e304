"""A scale of 0 counts as unset (``reward_scales.get(name) or 1.0``): rewards pass unscaled."""

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def _scale(self, reward):
        return float(reward) * (self.reward_scales.get(self.task_name) or 1.0)


BREAKS = frozenset({"KMW-REW-1"})
