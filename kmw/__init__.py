"""kmw: the reference k-episode Meta-World wrapper.

``KEpisodeMetaworld(benchmark, split, k_episodes, max_episode_length=500)`` gives a policy k
attempts at one hidden task of a Meta-World benchmark split and logs the success and return of
each attempt; the contract it implements is ``conformance/SPEC.md``.
"""

from kmw.wrapper import (
    LOG_PREFIX,
    SUCCESS_RATE_KEY,
    TOTAL_SUCCESSES_KEY,
    KEpisodeMetaworld,
    episode_return_key,
    episode_success_key,
)

__version__ = "0.1.0"

__all__ = [
    "KEpisodeMetaworld",
    "LOG_PREFIX",
    "SUCCESS_RATE_KEY",
    "TOTAL_SUCCESSES_KEY",
    "episode_return_key",
    "episode_success_key",
    "__version__",
]
