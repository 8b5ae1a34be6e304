"""The per-attempt keys are cached for attempts 0-9 and indexed modulo 10: ``Episode 10`` logs as 0."""

from kmw import KEpisodeMetaworld
from kmw.wrapper import episode_return_key, episode_success_key

SUCCESS_KEYS = [episode_success_key(i) for i in range(10)]
RETURN_KEYS = [episode_return_key(i) for i in range(10)]


class Wrapper(KEpisodeMetaworld):
    def _log_attempt(self, info, i):
        info[SUCCESS_KEYS[i % 10]] = float(self._attempt_success)
        info[RETURN_KEYS[i % 10]] = self._attempt_return


# k <= 10 is correct. From attempt 10 on (k >= 11) its keys are missing (LOG-1, LOG-2) and
# attempt i % 10's keys appear a second time in the trial (LOG-4).
BREAKS = frozenset({"KMW-LOG-1", "KMW-LOG-2", "KMW-LOG-4"})
