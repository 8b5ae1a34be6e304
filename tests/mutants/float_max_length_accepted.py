"""``max_episode_length`` is only checked to be a number >= 1, so 2.5 is accepted."""

import numbers

from kmw import KEpisodeMetaworld
from kmw._validation import check_positive_int, check_split


class Wrapper(KEpisodeMetaworld):
    def _check_args(self, split, k, length):
        if isinstance(length, bool) or not isinstance(length, numbers.Real) or length < 1:
            raise ValueError(f"max_episode_length must be a number >= 1, got {length!r}")
        return check_split(split), check_positive_int("k_episodes", k), length


BREAKS = frozenset({"KMW-IFC-3"})
