"""On the last attempt the done flag is set only at L steps, not when the env ends it earlier."""

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def _end_attempt(self):
        self._ended_after = self._attempt_steps
        super()._end_attempt()

    def _final_step(self, obs, reward, terminated, truncated, info):
        if self._ended_after < self.max_episode_length:
            # bug: the trial is over (logged, further steps raise) but no done flag says so
            return self.get_obs(obs, soft_reset=False), reward, False, False, info
        return super()._final_step(obs, reward, terminated, truncated, info)


# Only an env end before L on the k-th attempt shows it, so env_ends is never clean k * L
# (KMW-ATT-3 is about trials without env ends): only the done flag is wrong.
BREAKS = frozenset({"KMW-ATT-2"})
