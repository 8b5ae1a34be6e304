"""An env's step limit is lifted on its *class* (``type(env).max_path_length = L``), not on the
instance: every other wrapper on the same classes (Meta-World's are shared by every benchmark
object) then runs with the last L set, and one with a longer L has its attempts cut early by
the env's limit (KMW-EPL-2).
"""

from kmw import KEpisodeMetaworld

#: Each class's own limit, as first seen.
_OWN_LIMITS: dict[type, int] = {}


class Wrapper(KEpisodeMetaworld):
    def _lift_limit(self, env):
        cls = type(env)
        if self.max_episode_length > _OWN_LIMITS.setdefault(cls, cls.max_path_length):
            cls.max_path_length = self.max_episode_length  # bug: on the class, shared


BREAKS = frozenset({"KMW-EPL-2"})
