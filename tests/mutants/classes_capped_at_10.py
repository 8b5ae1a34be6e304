"""The class is drawn among the split's first 10 classes only (written for ML10): ML45's others never run."""

from kmw import KEpisodeMetaworld

MAX_CLASSES = 10


class Wrapper(KEpisodeMetaworld):
    def _draw_task(self):
        rng = self.np_random
        names = self._class_names[:MAX_CLASSES]  # bug: classes past the tenth are never drawn
        name = names[int(rng.integers(len(names)))]
        tasks = self._tasks_by_class[name]
        return name, tasks[int(rng.integers(len(tasks)))]


BREAKS = frozenset({"KMW-TSK-2"})
