"""The done flag comes one step late: ``done`` uses the attempt count before the step."""

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def step(self, action):
        if getattr(self, "_late_done", False):
            # the step after the k-th attempt ended: step the env once more, then say done
            self._late_done = False
            self._trial_over = True
            obs, reward, terminated, truncated, info = self.env.step(action)
            return self.get_obs(obs, False), self._scale(reward), False, True, dict(info)
        obs, reward, terminated, truncated, info = super().step(action)
        if terminated or truncated:
            # bug: done was decided before this step's attempt count, so the trial goes on
            self._trial_over = False
            self._late_done = True
            obs = self.get_obs(self.env.reset()[0], True)
            return obs, reward, False, False, info
        return obs, reward, terminated, truncated, info

    def _start_trial(self) -> None:
        super()._start_trial()
        self._late_done = False


BREAKS = frozenset({"KMW-ATT-2", "KMW-ATT-3"})
