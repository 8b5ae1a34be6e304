"""``max_path_length`` is never lifted: attempts are cut at the env's own limit whatever L is."""

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def _lift_limit(self, env):
        pass


BREAKS = frozenset({"KMW-EPL-2"})
