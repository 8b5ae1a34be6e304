"""The env's own ``terminated``/``truncated`` are passed through on attempt ends before the last."""

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def _soft_reset_step(self, obs, reward, terminated, truncated, info):
        out = super()._soft_reset_step(obs, reward, terminated, truncated, info)
        return out[0], out[1], bool(terminated), bool(truncated), out[4]


# A done flag before the k-th attempt (KMW-ATT-2); where the env's truncation came from the
# step limit the wrapper itself lifted to L (SPEC: its own cut), the trial also ends before
# k * L steps with no env end (KMW-ATT-3).
BREAKS = frozenset({"KMW-ATT-2", "KMW-ATT-3"})
