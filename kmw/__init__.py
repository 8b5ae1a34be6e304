"""kmw: the reference k-episode Meta-World wrapper.

``KEpisodeMetaworld(benchmark, split, k_episodes, max_episode_length=500)`` gives a policy k
attempts at one hidden task of a Meta-World benchmark split and logs the success and return of
each attempt; the contract it implements is ``conformance/SPEC.md``.
``Metaworld(benchmark_name, split, k_episodes, ...)`` builds the benchmark from its name
(``"ml10"``, ``"ml25"``, ``"ml45"``, ``"reach-v3"``, ...).
``evaluate(agent, "ml10", split="test", k_episodes=3, trials=50, num_envs=2)`` runs trials with
a policy or a batched, stateful agent (``metaworld.evaluation.Agent``) and returns per-task,
per-attempt statistics (``kmw.evaluation``; ``kmw run`` is its command line).

Importing ``kmw`` registers the gymnasium ids ``kmw/ML{1,10,25,45}-{train,test}``
(see ``kmw.registration``): ``gymnasium.make("kmw/ML10-test", k_episodes=3)``.
"""

from __future__ import annotations

from typing import Any

from kmw._version import __version__
from kmw.registration import ENV_IDS, register_envs
from kmw.wrapper import (
    LOG_PREFIX,
    SUCCESS_RATE_KEY,
    TOTAL_SUCCESSES_KEY,
    KEpisodeMetaworld,
    episode_return_key,
    episode_success_key,
)

__all__ = [
    "ENV_IDS",
    "KEpisodeMetaworld",
    "LOG_PREFIX",
    "Metaworld",
    "SUCCESS_RATE_KEY",
    "TOTAL_SUCCESSES_KEY",
    "episode_return_key",
    "episode_success_key",
    "evaluate",
    "register_envs",
    "__version__",
]

register_envs()


def __getattr__(name: str) -> Any:
    # ``Metaworld`` imports Meta-World itself (about a second), so load it on first use.
    if name == "Metaworld":
        from kmw.named import Metaworld

        return Metaworld
    if name == "evaluate":
        from kmw.evaluation import evaluate

        return evaluate
    raise AttributeError(f"module 'kmw' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | {"Metaworld", "evaluate"})
