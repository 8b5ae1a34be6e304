"""The attempt return is not reset between attempts: each logged return is the running total."""

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def _end_attempt(self):
        ret = self._attempt_return
        super()._end_attempt()
        self._attempt_return = ret


BREAKS = frozenset({"KMW-LOG-2"})
