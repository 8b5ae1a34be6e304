"""Each attempt runs on a freshly built env instance (task set on it again), not the trial's env."""

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def _soft_reset_step(self, obs, reward, terminated, truncated, info):
        name = self._trial_class
        self.env = self.env_funcs[name]()
        self._lift_limit(self.env)
        self._envs[name] = self.env
        self.env.set_task(self.task)
        return super()._soft_reset_step(obs, reward, terminated, truncated, info)

    def _draw_task(self):
        name, task = super()._draw_task()
        self._trial_class = name
        return name, task


BREAKS = frozenset({"KMW-SR-4"})
