"""The success key is 1-based (``Episode {i + 1} Success``) while the return key is 0-based."""

from kmw import KEpisodeMetaworld
from kmw.wrapper import episode_return_key, episode_success_key


class Wrapper(KEpisodeMetaworld):
    def _log_attempt(self, info, i):
        info[episode_success_key(i + 1)] = float(self._attempt_success)
        info[episode_return_key(i)] = self._attempt_return


BREAKS = frozenset({"KMW-LOG-1", "KMW-LOG-4"})
