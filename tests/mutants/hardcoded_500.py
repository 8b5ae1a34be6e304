"""The env's step limit is lifted to a hard-coded 500 (Meta-World's) instead of to L."""

from kmw import KEpisodeMetaworld

METAWORLD_MAX_PATH_LENGTH = 500


class Wrapper(KEpisodeMetaworld):
    def _lift_limit(self, env):
        if getattr(env, "max_path_length", self.max_episode_length) < self.max_episode_length:
            env.max_path_length = METAWORLD_MAX_PATH_LENGTH  # bug: should be max_episode_length


# Correct for L <= 500. For L > 500 the env truncates itself at 500 < L (and on Meta-World,
# whose limit is 500, nothing is lifted at all).
BREAKS = frozenset({"KMW-EPL-2"})
