"""``reset()`` mid-trial clears the trial's counters but not the interrupted attempt's return and success."""

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def _start_trial(self):
        self._attempt = 0
        self._successes = 0
        self._trial_over = False
        if not hasattr(self, "_attempt_steps"):
            self._start_attempt()
        self._attempt_steps = 0  # bug: _attempt_return and _attempt_success are left as they were


BREAKS = frozenset({"KMW-ATT-4"})
