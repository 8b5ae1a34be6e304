"""Each attempt's success is written into a dict on the class, keyed by attempt index, and the
trial's count is summed from it: two wrappers stepped in turn overwrite each other's entries."""

from kmw import SUCCESS_RATE_KEY, TOTAL_SUCCESSES_KEY, KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    _successes_by_attempt: dict = {}  # bug: one per class, not per instance

    def _start_trial(self):
        super()._start_trial()
        self._successes_by_attempt.clear()

    def _log_attempt(self, info, i):
        super()._log_attempt(info, i)
        self._successes_by_attempt[i] = self._attempt_success

    def _log_trial(self, info):
        super()._log_trial(info)
        total = sum(self._successes_by_attempt.get(i, False) for i in range(self.k_episodes))
        info[TOTAL_SUCCESSES_KEY] = float(total)
        info[SUCCESS_RATE_KEY] = total / self.k_episodes


BREAKS = frozenset({"KMW-LOG-3"})
