"""Logging-key schemes: which ``info`` keys a candidate logs per attempt and per trial.

``--kmw-keys=kmw`` (default) is SPEC.md's naming, ``--kmw-keys=amago`` is AMAGO's
(``"AMAGO_LOG_METRIC Trial {i} Success"`` and ``"AMAGO_LOG_METRIC Total Successes"``; no
per-attempt return, no success rate), and ``--kmw-keys=pkg.mod.NAME`` names a ``KeyScheme``
instance (or any object with the same attributes) for another naming. A requirement whose keys
the scheme lacks (``ret(i)`` or a total is ``None``) is reported *not checked*, naming the
missing key; one whose keys it has in part (KMW-LOG-3 with a total but no rate) is checked on
the keys it has and then reported not checked for the rest
(``conformance.engine.model.unkeyed_reason``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.engine.loader import LoadError, resolve_dotted

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

    def is_logging_key(self, key: object) -> bool:
        """True if ``key`` is one of this scheme's keys (for any attempt index). Total: any
        other object, a non-str key included (``info[3]``), is simply not a logging key."""
        return isinstance(key, str) and bool(self._family.match(key))


KMW_KEYS = KeyScheme(
    name="kmw",
    success_template="{P} Episode {i} Success",
    return_template="{P} Episode {i} Return",
    total_successes_template="{P} Total Successes",
    success_rate_template="{P} Success Rate",
)

#: AMAGO's ``amago/envs/builtin/metaworld_ml.py`` (since October 2024): a success per attempt and
#: the trial's count of successes; no per-attempt return and no success rate.
AMAGO_KEYS = KeyScheme(
    name="amago",
    success_template="{P} Trial {i} Success",
    total_successes_template="{P} Total Successes",
)

_REQUIRED = (
    "name",
    "prefix",
    "success",
    "ret",
    "total_successes",
    "success_rate",
    "is_logging_key",
)


#: Attempt indices a custom scheme is probed with at configure time.
_PROBE = (0, 1, 2)


class _Total:
    """A custom (duck-typed) scheme whose ``is_logging_key`` is made total: a non-str key is
    not a logging key, without asking the scheme (whose matching may assume a str)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        if name == "_inner":  # not set yet (copy, pickle): no recursion
            raise AttributeError(name)
        return getattr(self._inner, name)

    def is_logging_key(self, key: object) -> bool:
        return isinstance(key, str) and bool(self._inner.is_logging_key(key))

    def __repr__(self) -> str:
        return repr(self._inner)


def _check_scheme(obj: Any, spec: str) -> None:
    """Raise ``KeySchemeError`` (one line) unless ``obj`` behaves as a key scheme."""
    where = f"--kmw-keys={spec}"
    got: dict[str, Any] = {}
    missing = []
    for a in _REQUIRED:
        try:
            got[a] = getattr(obj, a)
        except AttributeError:
            missing.append(a)
        except KeyboardInterrupt:
            raise
        except BaseException as e:  # noqa: BLE001 - a raising property is the scheme's error
            raise KeySchemeError(f"{where}: getting its attribute {a!r} raised {e!r}") from None
    if missing:
        raise KeySchemeError(
            f"{where} names a {type(obj).__name__}, which lacks {', '.join(missing)}; "
            "expected a conformance.engine.keys.KeyScheme instance or an object with its attributes"
        )
    for a in ("name", "prefix"):
        if not isinstance(got[a], str):
            raise KeySchemeError(f"{where}: {a} must be a str, got {type(got[a]).__name__}")
    for a in ("success", "ret", "is_logging_key"):
        if not callable(got[a]):
            raise KeySchemeError(f"{where}: {a} must be a method, got {type(got[a]).__name__}")
    for a in ("total_successes", "success_rate"):
        if got[a] is not None and not isinstance(got[a], str):
            kind = "a method" if callable(got[a]) else f"a {type(got[a]).__name__}"
            raise KeySchemeError(
                f"{where}: {a} must be a key (str) or None, e.g. a property, not {kind}"
            )
    try:
        keys: list[str] = []
        for i in _PROBE:
            key = got["success"](i)
            if not isinstance(key, str):
                raise KeySchemeError(
                    f"{where}: success({i}) must return a str, got {type(key).__name__}"
                )
            keys.append(key)
            ret = got["ret"](i)
            if ret is not None and not isinstance(ret, str):
                raise KeySchemeError(
                    f"{where}: ret({i}) must return a str or None, got {type(ret).__name__}"
                )
            if ret is not None:
                keys.append(ret)
        keys += [got[a] for a in ("total_successes", "success_rate") if got[a] is not None]
        for key in keys:
            answer = got["is_logging_key"](key)
            if not isinstance(answer, bool):
                raise KeySchemeError(
                    f"{where}: is_logging_key(key) must return a bool, got "
                    f"{type(answer).__name__}"
                )
            if not answer:
                raise KeySchemeError(
                    f"{where}: is_logging_key({key!r}) is False for the scheme's own key"
                )
    except KeySchemeError:
        raise
    except KeyboardInterrupt:
        raise
    except BaseException as e:  # noqa: BLE001
        raise KeySchemeError(
            f"{where}: calling its success/ret/is_logging_key raised {e!r}"
        ) from None
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        raise KeySchemeError(
            f"{where}: key {repeated[0]!r} is used twice (every attempt's success and return, "
            "and each total, need their own key)"
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
        "--kmw-keys expects kmw, amago or DOTTED.PATH to a conformance.engine.keys.KeyScheme instance"
    )
    if "." not in spec and ":" not in spec:
        raise KeySchemeError(f"unknown key scheme {spec!r} — {expected}")
    try:
        obj = resolve_dotted(spec, search_dir)
    except LoadError as e:
        raise KeySchemeError(f"{e} — {expected}") from None
    _check_scheme(obj, spec)
    if isinstance(obj, KeyScheme):
        return obj
    return _Total(obj)  # type: ignore[return-value]
