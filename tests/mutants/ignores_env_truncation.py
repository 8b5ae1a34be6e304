"""The underlying env's ``truncated`` is ignored: an attempt ends only on ``terminated`` or at L."""

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def _record_step(self, reward, terminated, truncated, info):
        return super()._record_step(reward, terminated, False, info)  # bug: truncated dropped


# On the last attempt the ignored truncation also leaves the done flag unset (KMW-ATT-2).
BREAKS = frozenset({"KMW-ATT-1", "KMW-ATT-2"})
