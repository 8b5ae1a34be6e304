"""Success ends the attempt (``info["success"]`` treated like ``terminated``)."""

from tests.mutants._base import HookedReference


class Wrapper(HookedReference):
    def _attempt_over(self, terminated, truncated, info):
        return bool(info.get("success")) or super()._attempt_over(terminated, truncated, info)


BREAKS = frozenset({"KMW-ATT-1", "KMW-ATT-2", "KMW-ATT-3"})
