"""Both splits take their per-class task lists from ``benchmark.train_tasks`` (as a published
fork of AMAGO's wrapper does): on a test split whose classes have no train task the
constructor raises, and on ML1 (one class shared by the splits) the test split runs train tasks.

Two first-hand breaks: the candidate cannot be built for valid arguments (KMW-IFC-6), and where
it can, the test split sets train tasks (KMW-TSK-1). Every other requirement holds wherever the
candidate can be built and must be checked there.
"""

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def _split_tasks(self, benchmark, train_set):
        return benchmark.train_tasks  # bug: whatever the split


BREAKS = frozenset({"KMW-IFC-6", "KMW-TSK-1"})
