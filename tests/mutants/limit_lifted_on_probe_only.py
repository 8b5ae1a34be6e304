"""``max_path_length`` is lifted only on the env built at construction, not on envs built later."""

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def _lift_limit(self, env):
        if not self._envs:  # bug: only the probe env (the first one built) gets the lifted limit
            super()._lift_limit(env)


BREAKS = frozenset({"KMW-EPL-2"})
