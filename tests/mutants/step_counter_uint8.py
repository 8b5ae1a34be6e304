"""The attempt's step counter is a ``uint8``: it wraps at 256, so attempts of L >= 256 never end at L."""

import numpy as np

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def _start_attempt(self):
        super()._start_attempt()
        self._attempt_steps = np.zeros((), dtype=np.uint8)  # += 1 wraps 255 -> 0, silently


# Shows only for L >= 256 on an env whose own limit is above L (else the lifted limit ends the
# attempt at L): an attempt before the last runs past L (EPL-1); in the last, step L comes
# without a done flag and the trial runs past k * L steps (ATT-2, ATT-3), as in
# attempt_past_max_length.
# Attempts of L >= 256 do not end where they have taken L steps (KMW-ATT-1, the root).
BREAKS = frozenset({"KMW-ATT-1", "KMW-EPL-1", "KMW-ATT-2", "KMW-ATT-3"})
