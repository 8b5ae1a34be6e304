"""The test split draws its tasks from ``train_tasks`` (the bug of an earlier AMAGO version)."""

from tests.mutants._base import HookedReference


class Wrapper(HookedReference):
    def _split_tasks(self, benchmark, train_set):
        return benchmark.train_tasks


BREAKS = frozenset({"KMW-TSK-1"})
