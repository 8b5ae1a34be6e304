"""The reward scale is applied on every step except one where the env terminated or truncated
(the scaling sits in the branch for an attempt that goes on)."""

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def _record_step(self, reward, terminated, truncated, info):
        if terminated or truncated:
            reward = float(info["unscaled_reward"]) if "unscaled_reward" in info else reward
            self._unscaled_now = reward
        return super()._record_step(reward, terminated, truncated, info)

    def step(self, action):
        self._unscaled_now = None
        out = super().step(action)
        if self._unscaled_now is not None:
            out = (out[0], self._unscaled_now, *out[2:])  # bug: no scale on an env-end step
        return out


BREAKS = frozenset({"KMW-REW-1"})
