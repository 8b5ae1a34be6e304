"""``SuiteConfig``: what the conformance suite is run against (the ``kmw_config`` fixture)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from conformance.keys import KeyScheme

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
    scheme; ``strict`` True when SHOULD findings fail (``--kmw-strict``).
    """

    candidate: Callable[..., Any]
    impl: str
    backend: str = "scripted"
    env_api: str = "gymnasium"
    keys: KeyScheme | Any = None
    strict: bool = False

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
            from conformance.keys import KMW_KEYS

            object.__setattr__(self, "keys", KMW_KEYS)
