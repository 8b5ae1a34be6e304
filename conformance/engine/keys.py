"""Logging-key schemes: which ``info`` keys a candidate logs per attempt and per trial.

``--kmw-keys=kmw`` (default) is SPEC.md's naming, ``--kmw-keys=amago`` is AMAGO's
(``"AMAGO_LOG_METRIC Trial {i} Success"`` and ``"AMAGO_LOG_METRIC Total Successes"``; no
per-attempt return, no success rate), and ``--kmw-keys=pkg.mod.NAME`` names a ``KeyScheme``
instance (or any object with the same attributes) for another naming. A requirement whose keys
the scheme lacks (``ret(i)`` or a total is ``None``) is reported *not checked*, naming the
missing key; one whose keys it has in part (KMW-LOG-3 with a total but no rate) is checked on
the keys it has and then reported not checked for the rest
(``conformance.engine.model.unkeyed_reason``). A custom scheme is checked when it is resolved
(:func:`_check_scheme`, on every attempt index the suite uses); the pytest front also checks
it on the reference wrapper (``conformance.front.schemes``).
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


#: Attempt indices a custom scheme is checked on when it is resolved: every attempt of the
#: suite's trials (k up to 13: ``conformance.engine.strategies.LARGE_K``, the ``large-k`` and
#: ``many-attempts`` schedule classes) and one more.
PROBE_ATTEMPTS = range(14)

#: The ``info`` keys of Meta-World's envs (the scripted benchmark's are the same) and of gym's
#: time limit: a wrapper passes them through, so they are never a scheme's logging keys.
ENV_INFO_KEYS = ("success", "near_object", "grasp_success", "grasp_reward", "in_place_reward",
                 "obj_to_target", "unscaled_reward", "TimeLimit.truncated")
#: Plain strings a scheme's ``is_logging_key`` must be False for (unless one is its own key).
PLAIN_KEYS = ("", " ", "0", "x", "reward", "info")

#: Schemes :func:`resolve_key_scheme` returned for a dotted path: ``id -> (scheme, path)``.
_RESOLVED: dict[int, tuple[Any, str]] = {}


class _Custom:
    """A custom (duck-typed) scheme as the suite uses it, once :func:`_check_scheme` passed:
    its attributes (``name``, ``prefix``, ``total_successes``, ``success_rate``) as they were
    read then, its methods called through, and ``is_logging_key`` total: a non-str key is not a
    logging key, without asking the scheme (whose matching may assume a str)."""

    def __init__(self, inner: Any, got: dict[str, Any]) -> None:
        self._inner = inner
        self.name: str = got["name"]
        self.prefix: str = got["prefix"]
        self.total_successes: str | None = got["total_successes"]
        self.success_rate: str | None = got["success_rate"]
        self.success = got["success"]
        self.ret = got["ret"]
        self._is_logging_key = got["is_logging_key"]

    def __getattr__(self, name: str) -> Any:
        if name == "_inner":  # not set yet (copy, pickle): no recursion
            raise AttributeError(name)
        return getattr(self._inner, name)

    def is_logging_key(self, key: object) -> bool:
        return isinstance(key, str) and bool(self._is_logging_key(key))

    def __repr__(self) -> str:
        return f"<key scheme {self.name!r}>"


def _check_scheme(obj: Any, spec: str) -> dict[str, Any]:
    """Raise ``KeySchemeError`` (one line) unless ``obj`` behaves as a key scheme on every
    attempt index of :data:`PROBE_ATTEMPTS`; its attributes, read once, otherwise.

    The rules: the attributes of :class:`KeyScheme` exist (``name`` and ``prefix`` str,
    ``total_successes`` and ``success_rate`` a str or None, the rest methods); ``success(i)``
    returns a str and ``ret(i)`` a str for every ``i`` or None for every ``i``, the same when
    asked again; all these keys are distinct and none is an env's info key
    (:data:`ENV_INFO_KEYS`); ``is_logging_key`` returns a bool, True for each of them and False
    for :data:`ENV_INFO_KEYS` and :data:`PLAIN_KEYS`. A method or property that raises is an
    error too. Exceptions that are not ``Exception`` nor ``SystemExit`` (``KeyboardInterrupt``,
    a time limit's) propagate.
    """
    where = f"--kmw-keys={spec}"
    got: dict[str, Any] = {}
    missing = []
    for a in _REQUIRED:
        try:
            got[a] = getattr(obj, a)
        except AttributeError:
            missing.append(a)
        except (Exception, SystemExit) as e:  # a raising property is the scheme's error
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

    def call(label: str, method: str, *args: Any) -> Any:
        try:
            return got[method](*args)
        except (Exception, SystemExit) as e:
            raise KeySchemeError(f"{where}: {label} raised {e!r}") from None

    def key_of(method: str, i: int) -> Any:
        """``method(i)``, asked twice: the model and the candidate each ask for a key."""
        label = f"{method}({i})"
        first, again = call(label, method, i), call(label, method, i)
        if first != again:
            raise KeySchemeError(f"{where}: {label} returned {first!r}, then {again!r}: a "
                                 "scheme's keys must not change from call to call")
        return first

    keys: dict[str, str] = {}  # key -> which call gave it

    def own(key: str, label: str) -> None:
        if key in keys:
            raise KeySchemeError(
                f"{where}: key {key!r} is used twice, by {keys[key]} and {label} (every "
                f"attempt's success and return, and each total, need their own key; attempts "
                f"{PROBE_ATTEMPTS[0]} to {PROBE_ATTEMPTS[-1]} are checked)")
        if key in ENV_INFO_KEYS:
            raise KeySchemeError(f"{where}: {label} is {key!r}, an info key of the env (a "
                                 "wrapper passes the env's info through)")
        keys[key] = label

    no_return = []
    for i in PROBE_ATTEMPTS:
        key = key_of("success", i)
        if not isinstance(key, str):
            raise KeySchemeError(
                f"{where}: success({i}) must return a str, got {type(key).__name__}"
            )
        own(key, f"success({i})")
        ret = key_of("ret", i)
        if ret is not None and not isinstance(ret, str):
            raise KeySchemeError(
                f"{where}: ret({i}) must return a str or None, got {type(ret).__name__}"
            )
        if ret is None:
            no_return.append(i)
        else:
            own(ret, f"ret({i})")
    if 0 < len(no_return) < len(PROBE_ATTEMPTS):
        some = next(i for i in PROBE_ATTEMPTS if i not in no_return)
        raise KeySchemeError(f"{where}: ret(i) must be a key for every attempt or None for "
                             f"every attempt: ret({no_return[0]}) is None, ret({some}) is not")
    for a in ("total_successes", "success_rate"):
        if got[a] is not None:
            own(got[a], a)
    for key in [*keys, *(k for k in ENV_INFO_KEYS + PLAIN_KEYS if k not in keys)]:
        answer = call(f"is_logging_key({key!r})", "is_logging_key", key)
        if not isinstance(answer, bool):
            raise KeySchemeError(
                f"{where}: is_logging_key(key) must return a bool, got {type(answer).__name__}"
            )
        if key in keys and not answer:
            raise KeySchemeError(
                f"{where}: is_logging_key({key!r}) is False for the scheme's own key"
            )
        if key not in keys and answer:
            what = "an info key of the env" if key in ENV_INFO_KEYS else "a plain string"
            raise KeySchemeError(
                f"{where}: is_logging_key({key!r}) is True, but {key!r} is not one of its keys "
                f"({what}); the suite would take it for a logging key")
    return got


def scheme_source(scheme: Any) -> str | None:
    """The ``--kmw-keys`` value that names ``scheme``: a built-in scheme's name, or the dotted
    path :func:`resolve_key_scheme` resolved it from; ``None`` for a scheme of unknown origin."""
    if scheme is KMW_KEYS or scheme is AMAGO_KEYS:
        return scheme.name
    known = _RESOLVED.get(id(scheme))
    return known[1] if known is not None and known[0] is scheme else None


def resolve_key_scheme(spec: str, search_dir: Path | None = None) -> KeyScheme:
    """The key scheme named by ``--kmw-keys``: ``"kmw"``, ``"amago"`` or a DOTTED.PATH.

    A dotted path's object is checked (:func:`_check_scheme`); a duck-typed one is returned
    wrapped (its attributes as checked, ``is_logging_key`` total). Raises ``KeySchemeError``
    naming the problem and the accepted values.
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
    got = _check_scheme(obj, spec)
    scheme = obj if isinstance(obj, KeyScheme) else _Custom(obj, got)
    _RESOLVED[id(scheme)] = (scheme, spec.strip())
    return scheme  # type: ignore[return-value]
