"""``SuiteConfig``: what the conformance suite is run against (the ``kmw_config`` fixture)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from conformance.engine.keys import KeyScheme

#: Accepted ``--kmw-backend`` values; the first is the default.
BACKENDS = ("scripted", "metaworld")
#: Accepted ``--kmw-env-api`` values; the first is the default.
ENV_APIS = ("gymnasium", "gym")


@dataclass(frozen=True)
class SuiteConfig:
    """The suite's view of the command line.

    ``candidate`` is the loaded ``--kmw-impl`` object, called as
    ``candidate(benchmark, split, k, max_episode_length=L)``; ``impl`` its dotted path;
    ``backend`` one of ``BACKENDS``; ``env_api`` one of ``ENV_APIS``; ``keys`` the logging-key
    scheme; ``strict`` True when SHOULD findings fail (``--kmw-strict``); ``real_benchmark``
    makes the real Meta-World benchmark of a name for the ``metaworld`` backend (kmw's
    ``make_benchmark(name, seed=0)``, from the task cache): the engine itself never imports
    kmw.
    """

    candidate: Callable[..., Any]
    impl: str
    backend: str = "scripted"
    env_api: str = "gymnasium"
    keys: KeyScheme | Any = None
    strict: bool = False
    real_benchmark: Callable[[str], Any] | None = None

    def __repr__(self) -> str:
        # Short: hypothesis prints it in every falsifying example of a test using kmw_config.
        keys = getattr(self.keys, "name", self.keys)
        return (
            f"SuiteConfig(impl={self.impl!r}, backend={self.backend!r}, env_api={self.env_api!r}, "
            f"keys={keys!r}, strict={self.strict!r})"
        )

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        # hypothesis's (IPython-style) pretty printer uses this instead of the dataclass fields.
        p.text(repr(self))

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        if self.env_api not in ENV_APIS:
            raise ValueError(f"env_api must be one of {ENV_APIS}, got {self.env_api!r}")
        if self.keys is None:
            from conformance.engine.keys import KMW_KEYS

            object.__setattr__(self, "keys", KMW_KEYS)
        if self.backend == "metaworld" and self.real_benchmark is None:
            object.__setattr__(self, "real_benchmark", kmw_benchmark)


def kmw_benchmark(name: str) -> Any:
    """The real Meta-World benchmark ``name`` with seed 0, from kmw's task cache."""
    from kmw.benchmarks import make_benchmark

    return make_benchmark(name, seed=0)


def real_backend_problem() -> str | None:
    """Why the ``metaworld`` backend cannot run here, in one line naming what to install (the
    installed packages cannot build Meta-World's envs: ``kmw.support.metaworld_problem``), or
    ``None``. The plugin makes it a usage error before any test, so that no requirement is
    blamed on the candidate for it."""
    from kmw.support import metaworld_problem

    return metaworld_problem()
