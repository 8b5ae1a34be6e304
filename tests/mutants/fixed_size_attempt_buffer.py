"""Per-attempt results live in a fixed buffer of 8 slots: attempts from the 9th on are not logged."""

import numpy as np

from kmw import KEpisodeMetaworld
from kmw.wrapper import (
    SUCCESS_RATE_KEY,
    TOTAL_SUCCESSES_KEY,
    episode_return_key,
    episode_success_key,
)

SLOTS = 8


class Wrapper(KEpisodeMetaworld):
    def _start_trial(self):
        self._slots = np.zeros((SLOTS, 2))  # (success, return) per attempt
        super()._start_trial()

    def _log_attempt(self, info, i):
        if i < SLOTS:  # bug: attempts past the buffer are silently dropped
            self._slots[i] = (float(self._attempt_success), self._attempt_return)
            info[episode_success_key(i)] = float(self._slots[i, 0])
            info[episode_return_key(i)] = float(self._slots[i, 1])

    def _log_trial(self, info):
        total = float(self._slots[:, 0].sum())  # misses successes of attempts 8, 9, ...
        info[TOTAL_SUCCESSES_KEY] = total
        info[SUCCESS_RATE_KEY] = total / self.k_episodes


# k <= 8 is correct. For k > 8: the keys of attempts >= 8 are missing (LOG-1, LOG-2) and their
# successes are left out of the totals (LOG-3).
BREAKS = frozenset({"KMW-LOG-1", "KMW-LOG-2", "KMW-LOG-3"})
