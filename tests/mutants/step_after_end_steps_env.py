"""``step()`` after the trial ended steps the underlying env first and only then raises."""

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def _step_after_end(self, action):
        if self.env is not None:
            try:
                self.env.step(action)  # bug: the env is stepped before the check
            except Exception:
                pass
        return super()._step_after_end(action)


BREAKS = frozenset({"KMW-ATT-5"})
