"""A ``reset()`` in the middle of a trial clears the attempt's steps and return but not its
success flag, so a success in the abandoned attempt is logged for the new trial's first one."""

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def _start_trial(self):
        success = getattr(self, "_attempt_success", False)
        super()._start_trial()
        self._attempt_success = success  # bug: carried into the new trial


BREAKS = frozenset({"KMW-ATT-4"})
