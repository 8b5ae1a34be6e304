"""Logging-key schemes: which ``info`` keys a candidate logs per attempt and per trial.

``--kmw-keys=kmw`` (default) is SPEC.md's naming, ``--kmw-keys=amago`` is AMAGO's
(``"AMAGO_LOG_METRIC Trial {i} Success"``, no per-attempt return, no totals), and
``--kmw-keys=pkg.mod.NAME`` names a ``KeyScheme`` instance (or any object with the same
attributes) for another naming. A requirement whose key the scheme lacks (``ret(i)`` or a total
is ``None``) is reported *not checked*.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.loader import LoadError, resolve_dotted

#: The prefix AMAGO's loggers pick up.
PREFIX = "AMAGO_LOG_METRIC"

#: The built-in schemes' names, for messages and ``--help``.
BUILTIN_SCHEMES = ("kmw", "amago")


class KeySchemeError(ValueError):
    """``--kmw-keys`` names no usable key scheme."""


@dataclass(frozen=True)
class KeyScheme:
    """Names of the logging keys in ``info``.

    Templates are ``str.format`` strings with ``{P}`` (the prefix) and ``{i}`` (the 0-based
    attempt index). ``return_template``, ``total_successes`` and ``success_rate`` may be
    ``None`` when the scheme does not log them.
    """

    name: str
    success_template: str
    return_template: str | None = None
    total_successes_template: str | None = None
    success_rate_template: str | None = None
    prefix: str = PREFIX
    _family: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts = []
        for tmpl in (
            self.success_template,
            self.return_template,
            self.total_successes_template,
            self.success_rate_template,
        ):
            if tmpl is None:
                continue
            marker = "\x00I\x00"
            text = re.escape(tmpl.format(P=self.prefix, i=marker))
            parts.append(text.replace(re.escape(marker), r"[0-9]+"))
        object.__setattr__(self, "_family", re.compile("^(?:" + "|".join(parts) + ")$"))

    def success(self, i: int) -> str:
        """Key of attempt ``i``'s success flag."""
        return self.success_template.format(P=self.prefix, i=i)

    def ret(self, i: int) -> str | None:
        """Key of attempt ``i``'s return, or ``None`` if the scheme logs none."""
        if self.return_template is None:
            return None
        return self.return_template.format(P=self.prefix, i=i)

    @property
    def total_successes(self) -> str | None:
        """Key of the trial's count of successful attempts, or ``None``."""
        if self.total_successes_template is None:
            return None
        return self.total_successes_template.format(P=self.prefix, i=0)

    @property
    def success_rate(self) -> str | None:
        """Key of the trial's success rate, or ``None``."""
        if self.success_rate_template is None:
            return None
        return self.success_rate_template.format(P=self.prefix, i=0)

    def is_logging_key(self, key: str) -> bool:
        """True if ``key`` is one of this scheme's keys (for any attempt index)."""
        return bool(self._family.match(key))


KMW_KEYS = KeyScheme(
    name="kmw",
    success_template="{P} Episode {i} Success",
    return_template="{P} Episode {i} Return",
    total_successes_template="{P} Total Successes",
    success_rate_template="{P} Success Rate",
)

AMAGO_KEYS = KeyScheme(name="amago", success_template="{P} Trial {i} Success")

_REQUIRED = (
    "name",
    "prefix",
    "success",
    "ret",
    "total_successes",
    "success_rate",
    "is_logging_key",
)


def _check_duck(obj: Any, spec: str) -> None:
    missing = [a for a in _REQUIRED if not hasattr(obj, a)]
    if missing:
        raise KeySchemeError(
            f"--kmw-keys={spec} names a {type(obj).__name__}, which lacks {', '.join(missing)}; "
            "expected a conformance.keys.KeyScheme instance or an object with its attributes"
        )
    try:
        ok = isinstance(obj.success(0), str) and isinstance(
            obj.is_logging_key(obj.success(0)), bool
        )
        ret = obj.ret(0)
        ok = ok and (ret is None or isinstance(ret, str))
    except Exception as e:  # noqa: BLE001
        raise KeySchemeError(
            f"--kmw-keys={spec}: calling its success/ret/is_logging_key raised {e!r}"
        ) from None
    if not ok:
        raise KeySchemeError(
            f"--kmw-keys={spec}: success(i) must return a str, ret(i) a str or None and "
            "is_logging_key(key) a bool"
        )


def resolve_key_scheme(spec: str, search_dir: Path | None = None) -> KeyScheme:
    """The key scheme named by ``--kmw-keys``: ``"kmw"``, ``"amago"`` or a DOTTED.PATH.

    Raises ``KeySchemeError`` naming the problem and the accepted values.
    """
    if spec == "kmw":
        return KMW_KEYS
    if spec == "amago":
        return AMAGO_KEYS
    expected = (
        "--kmw-keys expects kmw, amago or DOTTED.PATH to a conformance.keys.KeyScheme instance"
    )
    if "." not in spec and ":" not in spec:
        raise KeySchemeError(f"unknown key scheme {spec!r} — {expected}")
    try:
        obj = resolve_dotted(spec, search_dir)
    except LoadError as e:
        raise KeySchemeError(f"{e} — {expected}") from None
    if isinstance(obj, KeyScheme):
        return obj
    _check_duck(obj, spec)
    return obj
