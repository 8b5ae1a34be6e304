"""Between attempts the env is not reset: the wrapper only raises the flag and keeps stepping."""

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def _soft_reset_step(self, obs, reward, terminated, truncated, info):
        return self.get_obs(obs, soft_reset=True), reward, False, False, info


BREAKS = frozenset({"KMW-SR-4"})
