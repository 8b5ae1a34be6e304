"""A task is set on a class's env only on the first trial of that class: each class keeps one task."""

import gymnasium as gym

from tests.mutants._base import HookedReference


class Wrapper(HookedReference):
    def reset(self, *, seed=None, options=None):
        gym.Env.reset(self, seed=seed)
        name, task = self._draw_task()  # the class is still drawn afresh every reset
        fixed = self.__dict__.setdefault("_fixed_tasks", {})
        self.env = self._env_for(name)
        if name not in fixed:  # bug: set_task only the first time the class's env is used
            fixed[name] = task
            self.env.set_task(task)
        self.task, self.task_name = fixed[name], self._name_of(name)
        obs, info = self.env.reset(seed=int(self.np_random.integers(2**31 - 1)))
        self._start_trial()
        return self._reset_obs(obs), dict(info)


BREAKS = frozenset({"KMW-TSK-2", "KMW-TSK-3"})
