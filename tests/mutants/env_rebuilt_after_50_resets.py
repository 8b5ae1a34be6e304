"""An env that has been reset 50 times is replaced by a freshly built one (a guard against
slow leaks), also at a soft reset in the middle of a trial.

A new trial may run on a new env, but every attempt of one trial must run on the same env
(KMW-SR-4); the 51st reset of an env lands inside a trial unless k divides 50.
"""

from kmw import KEpisodeMetaworld

RESETS_PER_ENV = 50


class Wrapper(KEpisodeMetaworld):
    def _worn_out_env_replaced(self) -> None:
        counts = self.__dict__.setdefault("_resets", {})
        if counts.get(self.task_name, 0) >= RESETS_PER_ENV:  # bug: whatever the trial's state
            env = self.env_funcs[self.task_name]()
            self._lift_limit(env)
            env.set_task(self.task)
            self._envs[self.task_name] = self.env = env
            counts[self.task_name] = 0
        counts[self.task_name] = counts.get(self.task_name, 0) + 1

    def _set_trial_task(self, name, task):
        super()._set_trial_task(name, task)
        self._worn_out_env_replaced()  # the trial's reset

    def _soft_reset_step(self, obs, reward, terminated, truncated, info):
        self._worn_out_env_replaced()
        return super()._soft_reset_step(obs, reward, terminated, truncated, info)


BREAKS = frozenset({"KMW-SR-4"})
