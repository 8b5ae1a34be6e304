"""The soft-reset flag is set one step late: on the step after the attempt ended, not on it."""

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def _start_trial(self) -> None:
        super()._start_trial()
        self._flag_pending = False

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        flag = self._flag_pending
        self._flag_pending = bool(obs[-1] == 1.0)
        obs[-1] = 1.0 if flag else 0.0
        return obs, reward, terminated, truncated, info


BREAKS = frozenset({"KMW-SR-1", "KMW-SR-3"})
