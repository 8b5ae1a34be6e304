"""The success rate is the count of successful attempts, not divided by k."""

from kmw import KEpisodeMetaworld
from kmw.wrapper import SUCCESS_RATE_KEY


class Wrapper(KEpisodeMetaworld):
    def _log_trial(self, info):
        super()._log_trial(info)
        info[SUCCESS_RATE_KEY] = float(self._successes)


BREAKS = frozenset({"KMW-LOG-3"})
