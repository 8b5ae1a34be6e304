"""The task is drawn once, at the first ``reset()``, and every later trial reuses it."""

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def _draw_task(self):
        if getattr(self, "_first_draw", None) is None:
            self._first_draw = super()._draw_task()
        return self._first_draw


BREAKS = frozenset({"KMW-TSK-2", "KMW-TSK-3"})
