"""Success ends the attempt (``info["success"]`` treated like ``terminated``)."""

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def _record_step(self, reward, terminated, truncated, info):
        over = super()._record_step(reward, terminated, truncated, info)
        return bool(info.get("success")) or over


BREAKS = frozenset({"KMW-ATT-1", "KMW-ATT-2", "KMW-ATT-3"})
