"""An unseeded ``reset()`` right after another ``reset()`` (no step in between) returns the
trial's first observation again: it draws no new task and does not reset the env.

A "nothing happened since the last reset" shortcut. Each ``reset()`` must draw a task afresh
(KMW-TSK-2) and return the observation of an env reset it made (KMW-OBS-3); back-to-back
unseeded resets, as a task-coverage check or a vector env's bookkeeping makes them, get neither.
"""

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    _first: tuple | None = None

    def reset(self, *, seed=None, options=None):
        if seed is None and self._first is not None:  # bug: "still fresh, nothing to do"
            obs, info = self._first
            return obs.copy(), dict(info)
        obs, info = super().reset(seed=seed, options=options)
        self._first = (obs.copy(), dict(info))
        return obs, info

    def step(self, action):
        self._first = None
        return super().step(action)


BREAKS = frozenset({"KMW-TSK-2", "KMW-OBS-3"})
