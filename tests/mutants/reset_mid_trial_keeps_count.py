"""``reset()`` in the middle of a trial keeps the attempt count."""

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def _start_trial(self):
        if self._trial_over:
            super()._start_trial()
        else:
            self._start_attempt()


BREAKS = frozenset({"KMW-ATT-4"})
