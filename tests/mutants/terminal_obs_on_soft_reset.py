"""On a soft reset the terminal observation is returned (with flag 1.0) instead of the reset one."""

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def _soft_reset_step(self, obs, reward, terminated, truncated, info):
        self.env.reset()
        return self.get_obs(obs, soft_reset=True), reward, False, False, info


BREAKS = frozenset({"KMW-SR-2"})
