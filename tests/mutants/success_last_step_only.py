"""Attempt success is taken from the attempt's last step only (``=`` instead of ``or``)."""

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def _record_step(self, reward, terminated, truncated, info):
        self._attempt_success = False  # bug: earlier steps' success is forgotten
        return super()._record_step(reward, terminated, truncated, info)


BREAKS = frozenset({"KMW-LOG-1", "KMW-LOG-3"})
