"""The whole trial is cut at 4000 steps, as a TimeLimit(4000) around the k-episode env would
(10 attempts of Meta-World's 500 steps need 5000): the done flag comes in the 8th attempt.
(Without env ends it would also cut a trial short of k * L steps, KMW-ATT-3; the suite's
5000-step trial is Meta-World's shape, whose env truncates every attempt at 500.)"""

from kmw import KEpisodeMetaworld

CAP = 4000


class Wrapper(KEpisodeMetaworld):
    def reset(self, *, seed=None, options=None):
        self._trial_steps = 0
        return super().reset(seed=seed, options=options)

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        self._trial_steps += 1
        if self._trial_steps >= CAP and not (terminated or truncated):
            self._trial_over = True  # bug: the trial's remaining attempts are cut off
            truncated = True
        return obs, reward, terminated, truncated, info


BREAKS = frozenset({"KMW-ATT-2"})
