"""Attempt success is not cleared between attempts: one success marks every later attempt."""

from tests.mutants._base import HookedReference


class Wrapper(HookedReference):
    def _end_attempt(self):
        success = self._attempt_success
        super()._end_attempt()
        self._attempt_success = success


BREAKS = frozenset({"KMW-LOG-1", "KMW-LOG-3"})
