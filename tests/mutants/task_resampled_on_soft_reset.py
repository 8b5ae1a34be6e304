"""A soft reset draws a new task of the same class and sets it before resetting the env."""

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def _soft_reset_step(self, obs, reward, terminated, truncated, info):
        tasks = self._tasks_by_class[self.env_name_of_trial]
        self.task = tasks[int(self.np_random.integers(len(tasks)))]
        self.env.set_task(self.task)
        return super()._soft_reset_step(obs, reward, terminated, truncated, info)

    def _draw_task(self):
        name, task = super()._draw_task()
        self.env_name_of_trial = name
        return name, task


BREAKS = frozenset({"KMW-SR-4"})
