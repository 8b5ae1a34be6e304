"""The class index is drawn from ``range(n - 1)``: the split's last class is never drawn."""

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def _draw_task(self):
        rng = self.np_random
        n = len(self._class_names)
        name = self._class_names[int(rng.integers(n - 1)) if n > 1 else 0]
        tasks = self._tasks_by_class[name]
        return name, tasks[int(rng.integers(len(tasks)))]


BREAKS = frozenset({"KMW-TSK-2"})
