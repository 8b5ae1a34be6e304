"""``--kmw-keys`` checked at start-up, under ``--kmw-timeout``.

A custom scheme (``--kmw-keys=DOTTED.PATH``) is first resolved and checked by the engine
(``conformance.engine.keys.resolve_key_scheme``: its attributes, and its keys of every attempt
index from 0 to 13 distinct, recognised by its ``is_logging_key``, and not the env's). Then
the reference wrapper, ``kmw.KEpisodeMetaworld``, logging with the scheme's keys instead of
SPEC.md's, is driven beside the trusted model on short scripted trials (:data:`TRIALS`): a
scheme on which the model files any finding against the correct reference would fail correct
candidates too, so it is rejected, naming the finding. The built-in schemes are known good.

Everything runs under ``--kmw-timeout`` (``time_limit``): a scheme whose method loops ends the
run with a usage error instead of hanging it. During the tests the scheme is only called
inside a test, under that test's own ``--kmw-timeout``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from conformance.engine.keys import BUILTIN_SCHEMES, KeySchemeError, resolve_key_scheme
from conformance.engine.scripted import AttemptScript
from conformance.front.timeouts import KmwTimeout, time_limit

#: The reference's trials with a custom scheme: ``(k, max_episode_length, attempt scripts)``.
#: k=12 with L=1 logs every key of the largest k the suite uses, one attempt per step, with
#: successes in every other attempt; k=3, L=4 has the env terminate and truncate attempts and
#: successes on their first and last steps. Each runs two trials, then the session's last check.
TRIALS: tuple[tuple[int, int, tuple[AttemptScript, ...]], ...] = (
    (12, 1, (AttemptScript(frozenset({1})), AttemptScript())),
    (3, 4, (AttemptScript(frozenset({1}), 2, "terminated"),
            AttemptScript(frozenset(), 3, "truncated"), AttemptScript(frozenset({4})))),
)


def checked_key_scheme(spec: str, search_dir: Path | None, timeout: float) -> Any:
    """The scheme ``--kmw-keys=spec`` names, checked (see the module docstring) within
    ``timeout`` seconds (0: no limit). Raises ``KeySchemeError`` with one line."""
    limit = {"fired": False}
    try:
        with time_limit(timeout) as limit:
            scheme = resolve_key_scheme(spec, search_dir)
            if spec not in BUILTIN_SCHEMES:
                check_on_reference(scheme, spec)
    except (KeySchemeError, KmwTimeout):
        if limit["fired"]:
            raise KeySchemeError(
                f"--kmw-keys={spec}: the key scheme did not return within "
                f"--kmw-timeout={timeout:g} s (does one of its methods loop?)") from None
        raise
    return scheme


def _one_line(value: Any, limit: int = 160) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_on_reference(scheme: Any, spec: str) -> None:
    """Raise ``KeySchemeError`` if the trusted model files any finding against the reference
    wrapper logging with ``scheme``'s keys, on :data:`TRIALS`."""
    from conformance.engine.harness import Blocked, Session
    from conformance.engine.plan import TrialPlan
    from conformance.engine.scripted import OBS_DIM, ScriptedBenchmark, simple_spec
    from kmw import KEpisodeMetaworld

    class Logged(KEpisodeMetaworld):
        """The reference, writing ``scheme``'s keys (docs/wrapper.md's two logging hooks)."""

        def _log_attempt(self, info: dict[str, Any], i: int) -> None:
            info[scheme.success(i)] = float(self._attempt_success)
            key = scheme.ret(i)
            if key is not None:
                info[key] = self._attempt_return

        def _log_trial(self, info: dict[str, Any]) -> None:
            if scheme.total_successes is not None:
                info[scheme.total_successes] = float(self._successes)
            if scheme.success_rate is not None:
                info[scheme.success_rate] = self._successes / self.k_episodes

    for k, length, scripts in TRIALS:
        bench = ScriptedBenchmark(simple_spec(1, 1, 1, scripts=scripts))
        plan = TrialPlan("train", k, length, [0, 1], [np.zeros(4, np.float32)])
        trial = f"a scripted trial with k={k}, max_episode_length={length}"
        try:
            session = Session(Logged, bench, plan, scheme, None, OBS_DIM)
            for seed in plan.seeds:
                for _ in session.trial(seed):
                    if session.last_findings:
                        break
                if session.last_findings:
                    break
            else:
                session.end()
            finding = session.last_findings[0] if session.last_findings else None
        except Blocked as blocked:
            finding = blocked.finding
        except (Exception, SystemExit) as e:  # the scheme, or the model on its keys
            raise KeySchemeError(f"--kmw-keys={spec}: the reference wrapper (kmw.KEpisodeMetaworld) "
                                 f"logging with this scheme could not be checked on {trial}: "
                                 f"{type(e).__name__}: {_one_line(e)}") from None
        if finding is not None:
            got = "" if finding.got is None else f"; got {_one_line(finding.got)}"
            raise KeySchemeError(
                f"--kmw-keys={spec}: the reference wrapper (kmw.KEpisodeMetaworld) logging "
                f"with this scheme fails {finding.req_id} on {trial} "
                f"({_one_line(finding.summary)}{got}): a correct candidate would fail it too")
