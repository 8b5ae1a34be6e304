"""The done flag comes one step early (the count is compared before the increment)."""

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def step(self, action):
        last_attempt = not self._trial_over and self._attempt == self.k_episodes - 1
        steps_before = getattr(self, "_attempt_steps", 0)
        obs, reward, terminated, truncated, info = super().step(action)
        if last_attempt and not (terminated or truncated):
            # bug: ``steps_before`` is the count before this step, so the flag fires at L - 1
            truncated = steps_before + 1 >= self.max_episode_length - 1
        return obs, reward, terminated, truncated, info


# The done flag ends the last attempt one step before L (KMW-ATT-1, the root: an attempt
# ends where it has taken L steps), so the flag and the trial's length are wrong too.
BREAKS = frozenset({"KMW-ATT-1", "KMW-ATT-2", "KMW-ATT-3"})
