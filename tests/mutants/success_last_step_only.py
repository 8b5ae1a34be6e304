"""Attempt success is taken from the attempt's last step only (``=`` instead of ``or``)."""

from tests.mutants._base import HookedReference


class Wrapper(HookedReference):
    def _update_success(self, so_far, info):
        return bool(info.get("success", False))


BREAKS = frozenset({"KMW-LOG-1", "KMW-LOG-3"})
