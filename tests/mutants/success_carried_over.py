"""Attempt success is not cleared between attempts: one success marks every later attempt."""

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def _end_attempt(self):
        success = self._attempt_success
        super()._end_attempt()
        self._attempt_success = success


BREAKS = frozenset({"KMW-LOG-1", "KMW-LOG-3"})
