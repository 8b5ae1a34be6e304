"""An attempt runs one step past ``max_episode_length`` (``>`` instead of ``>=``)."""

from tests.mutants._base import HookedReference


class Wrapper(HookedReference):
    def _attempt_over(self, terminated, truncated, info):
        return bool(terminated or truncated or self._attempt_steps > self.max_episode_length)

    def _lift_limit(self, env):
        if getattr(env, "max_path_length", self.max_episode_length) <= self.max_episode_length:
            env.max_path_length = self.max_episode_length + 1


BREAKS = frozenset(
    {
        "KMW-ATT-1", "KMW-ATT-2", "KMW-ATT-3", "KMW-EPL-1",
        "KMW-SR-1", "KMW-SR-2", "KMW-LOG-1", "KMW-LOG-2", "KMW-LOG-3", "KMW-LOG-4",
    }
)
