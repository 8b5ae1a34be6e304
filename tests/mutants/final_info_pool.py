"""The final step's info comes from a pool of 4 dicts used in turn, so the fifth trial's final
info overwrites the first trial's."""

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def _final_step(self, obs, reward, terminated, truncated, info):
        out = super()._final_step(obs, reward, terminated, truncated, info)
        pool = self.__dict__.setdefault("_info_pool", [{} for _ in range(4)])
        self._pool_next = (getattr(self, "_pool_next", -1) + 1) % len(pool)
        mine = pool[self._pool_next]
        mine.clear()  # bug: a dict returned four trials ago is emptied and refilled
        mine.update(out[4])
        return (*out[:4], mine)


BREAKS = frozenset({"KMW-LOG-5"})
