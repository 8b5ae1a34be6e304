"""``task_name`` is the env class's ``__name__`` instead of the benchmark's name for it."""

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def _set_trial_task(self, name, task):
        super()._set_trial_task(name, task)
        self.task_name = self.env_funcs[name].__name__


BREAKS = frozenset({"KMW-IFC-5", "KMW-REW-1"})
