"""The test split runs the shared classes' ``train_tasks`` (an earlier AMAGO bug, on ML1).

AMAGO's earlier wrapper filtered ``benchmark.train_tasks`` by class whatever the split: on ML1
(train and test share the class) the test split silently ran train tasks; on ML10 it crashed
(no train task of a test class). This mutant keeps the silent half of the bug and falls back
to the split's own tasks for a class with no train task, so only the split mix shows.
"""

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def _split_tasks(self, benchmark, train_set):
        own = super()._split_tasks(benchmark, train_set)
        shared = {t.env_name for t in benchmark.train_tasks}
        return list(benchmark.train_tasks) + [t for t in own if t.env_name not in shared]


BREAKS = frozenset({"KMW-TSK-1"})
