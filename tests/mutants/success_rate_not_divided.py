"""The success rate is the count of successful attempts, not divided by k."""

from kmw.wrapper import SUCCESS_RATE_KEY
from tests.mutants._base import HookedReference


class Wrapper(HookedReference):
    def _log_trial(self, info):
        super()._log_trial(info)
        info[SUCCESS_RATE_KEY] = float(self._successes)


BREAKS = frozenset({"KMW-LOG-3"})
