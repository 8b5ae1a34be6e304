"""A soft reset calls ``set_task`` again with the trial's own task before resetting the env."""

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def _soft_reset_step(self, obs, reward, terminated, truncated, info):
        self.env.set_task(self.task)
        return super()._soft_reset_step(obs, reward, terminated, truncated, info)


BREAKS = frozenset({"KMW-SR-4"})
