"""The attempt's return and success live in one dict on the class, shared by every instance:
two wrappers stepped in turn (a vector of envs) add up each other's rewards and successes, so
the returns, successes and the trial's count are wrong (and a seeded reset of one depends on
what the other did: KMW-TSK-3)."""

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    _attempt_state = {"return": 0.0, "success": False}  # bug: one per class, not per instance

    def _start_attempt(self):
        super()._start_attempt()
        self._attempt_state["return"] = 0.0
        self._attempt_state["success"] = False

    def _record_step(self, reward, terminated, truncated, info):
        ended = super()._record_step(reward, terminated, truncated, info)
        state = self._attempt_state
        state["return"] += reward
        state["success"] = state["success"] or bool(info.get("success", False))
        self._attempt_return, self._attempt_success = state["return"], state["success"]
        return ended


BREAKS = frozenset({"KMW-LOG-1", "KMW-LOG-2", "KMW-LOG-3", "KMW-TSK-3"})
