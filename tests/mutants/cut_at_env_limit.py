"""``max_path_length`` is never lifted: attempts are cut at the env's own limit whatever L is."""

from tests.mutants._base import HookedReference


class Wrapper(HookedReference):
    def _lift_limit(self, env):
        pass


BREAKS = frozenset({"KMW-EPL-2"})
