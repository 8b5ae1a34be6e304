"""Tasks are drawn with Python's global ``random``, so ``reset(seed=s)`` does not fix the trial."""

import random

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def _draw_task(self):
        name = random.choice(self._class_names)
        return name, random.choice(self._tasks_by_class[name])


BREAKS = frozenset({"KMW-TSK-3"})
