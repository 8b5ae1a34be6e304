"""Bad constructor arguments are rejected with bare ``assert`` (no ValueError)."""

import numbers

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def _check_args(self, split, k, length):
        assert split in ("train", "test")
        for value in (k, length):
            assert isinstance(value, numbers.Integral) and not isinstance(value, bool)
            assert value >= 1
        return split, int(k), int(length)


BREAKS = frozenset({"KMW-IFC-4"})
