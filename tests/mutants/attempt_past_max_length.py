"""An attempt runs one step past ``max_episode_length`` (``>`` instead of ``>=``)."""

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def _record_step(self, reward, terminated, truncated, info):
        super()._record_step(reward, terminated, truncated, info)
        return bool(terminated or truncated or self._attempt_steps > self.max_episode_length)

    def _lift_limit(self, env):
        if getattr(env, "max_path_length", self.max_episode_length) <= self.max_episode_length:
            env.max_path_length = self.max_episode_length + 1


# Past L in an attempt before the last: KMW-EPL-1. In the last attempt the step that ends the
# k-th attempt (step L) comes without a done flag, and the trial runs past k * L steps.
# The attempt does not end where it has taken L steps (KMW-ATT-1, the root); it then runs
# longer than L (EPL-1), and the last attempt's step L has no done flag (ATT-2, ATT-3).
BREAKS = frozenset({"KMW-ATT-1", "KMW-EPL-1", "KMW-ATT-2", "KMW-ATT-3"})
