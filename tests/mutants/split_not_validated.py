"""The split is not validated: anything but ``"train"`` silently means the test split."""

from kmw import KEpisodeMetaworld
from kmw._validation import check_positive_int


class Wrapper(KEpisodeMetaworld):
    def _check_args(self, split, k, length):
        return (
            split,
            check_positive_int("k_episodes", k),
            check_positive_int("max_episode_length", length),
        )


BREAKS = frozenset({"KMW-IFC-3"})
