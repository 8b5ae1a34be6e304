"""``task_name`` is the env class's ``__name__`` instead of the benchmark's name for it."""

from tests.mutants._base import HookedReference


class Wrapper(HookedReference):
    def _name_of(self, name):
        return self.env_funcs[name].__name__


BREAKS = frozenset({"KMW-IFC-5", "KMW-REW-1"})
