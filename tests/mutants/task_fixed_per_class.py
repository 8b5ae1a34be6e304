"""A task is set on a class's env only on the first trial of that class: each class keeps one task."""

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def _set_trial_task(self, name, task):  # the class is still drawn afresh every reset
        fixed = self.__dict__.setdefault("_fixed_tasks", {})
        if name not in fixed:  # bug: set_task only the first time the class's env is used
            fixed[name] = task
            super()._set_trial_task(name, task)
        else:
            self.task, self.task_name, self.env = fixed[name], name, self._env_for(name)


BREAKS = frozenset({"KMW-TSK-2", "KMW-TSK-3"})
