"""``max_episode_length`` equal to an env class's own step limit is rejected at construction
(``>=`` where KMW-EPL-2 allows rejecting only an L *above* the limit).

An L at the env's limit is valid and must be accepted (KMW-EPL-2, and KMW-IFC-6: the candidate
builds for every valid argument); Meta-World's own protocol, L=500 on envs whose limit is 500,
cannot run.
"""

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def __init__(self, benchmark, split, k_episodes, max_episode_length=500):
        super().__init__(benchmark, split, k_episodes, max_episode_length)
        limits = {n: getattr(c, "max_path_length", None) for n, c in self.env_funcs.items()}
        too_short = {n: lim for n, lim in limits.items()
                     if lim is not None and self.max_episode_length >= lim}  # bug: >= for >
        if too_short:
            raise ValueError(f"max_episode_length={self.max_episode_length} is not below the "
                             f"step limit of env classes {too_short}")


BREAKS = frozenset({"KMW-EPL-2", "KMW-IFC-6"})
