"""Load the candidate named by ``--kmw-impl`` (and other objects named by a dotted path).

``resolve_dotted("pkg.mod.Attr")`` / ``resolve_dotted("pkg.mod:Attr")`` imports the module and
returns the attribute; ``load_candidate`` also checks that the object can be called as
``Candidate(benchmark, split, k_episodes, max_episode_length=500)``. Every problem raises
``LoadError`` with a one-line message naming it; nothing else escapes.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: How ``--kmw-impl`` is meant to be used; appended to every candidate load error.
IMPL_FORM = (
    "--kmw-impl expects DOTTED.PATH to a class or factory called as "
    "Candidate(benchmark, split, k_episodes, max_episode_length=500)"
)

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_DOTTED_RE = re.compile(rf"^{_IDENT}(\.{_IDENT})*$")


class LoadError(Exception):
    """A dotted path could not be resolved to a usable object; ``str()`` is the full message."""


def _last_line(exc: BaseException) -> str:
    lines = [ln for ln in traceback.format_exception_only(type(exc), exc) if ln.strip()]
    return lines[-1].strip() if lines else type(exc).__name__


def _describe(exc: BaseException) -> str:
    """``_last_line`` of ``exc``, spelling out a ``SystemExit``'s code (its text is just it)."""
    if isinstance(exc, SystemExit):
        return f"SystemExit: sys.exit({exc.code!r}) was called"
    if isinstance(exc, KeyboardInterrupt):
        return "KeyboardInterrupt (a Ctrl-C, or the module raised it)"
    return _last_line(exc)


def _import(module: str) -> tuple[Any, str | None]:
    """Import ``module``: ``(module, None)``, or ``(None, why)`` if it or a parent is missing."""
    try:
        return importlib.import_module(module), None
    except ModuleNotFoundError as e:
        # Only "this module (or its parent) is missing" means "try another split";
        # a missing import *inside* the module is the module's own error.
        if e.name is not None and (module == e.name or module.startswith(e.name + ".")):
            return None, f"could not import module {module!r}: {e.msg}"
        raise LoadError(f"importing module {module!r} raised {_last_line(e)}") from None
    except BaseException as e:  # noqa: BLE001 - any error at import time (sys.exit() and a
        # KeyboardInterrupt too, the module's own or a Ctrl-C) is reported, never raised
        raise LoadError(f"importing module {module!r} raised {_describe(e)}") from None


def _getattrs(obj: Any, module: str, attrs: list[str]) -> Any:
    where = module
    for attr in attrs:
        try:
            obj = getattr(obj, attr)
        except AttributeError:
            if inspect.ismodule(obj) and _is_submodule(f"{where}.{attr}"):
                raise LoadError(_module_not_candidate(f"{where}.{attr}")) from None
            kind = "module" if inspect.ismodule(obj) else type(obj).__name__
            raise LoadError(f"{kind} {where!r} has no attribute {attr!r}") from None
        except KeyboardInterrupt:
            raise
        except BaseException as e:  # noqa: BLE001
            raise LoadError(f"getting {where}.{attr} raised {_describe(e)}") from None
        where = f"{where}.{attr}"
    return obj


def _is_submodule(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _module_not_candidate(name: str) -> str:
    """The message for a path that names a module where a class or factory is wanted."""
    try:
        mod = importlib.import_module(name)
        classes = [n for n, v in vars(mod).items() if inspect.isclass(v) and not n.startswith("_")
                   and getattr(v, "__module__", None) == name]
    except BaseException:  # noqa: BLE001 - the hint is best effort
        classes = []
    hint = f"; it defines {', '.join(sorted(classes)[:5])}" if classes else ""
    return (f"{name!r} is a module, not a class or factory: name the wrapper inside it, e.g. "
            f"{name}.{(sorted(classes) or ['Wrapper'])[0]}{hint}")


def _splits(path: str) -> list[tuple[str, list[str]]]:
    if ":" in path:
        module, _, attr = path.partition(":")
        if not _DOTTED_RE.match(module) or not _DOTTED_RE.match(attr):
            raise LoadError(f"{path!r} is not of the form pkg.mod:Attr or pkg.mod.Attr")
        return [(module, attr.split("."))]
    if not _DOTTED_RE.match(path) or "." not in path:
        raise LoadError(f"{path!r} is not of the form pkg.mod.Attr or pkg.mod:Attr")
    parts = path.split(".")
    return [(".".join(parts[:i]), parts[i:]) for i in range(len(parts) - 1, 0, -1)]


def _resolve(splits: list[tuple[str, list[str]]]) -> tuple[bool, Any, str]:
    """``(True, obj, "")`` or ``(False, None, why)`` when no module of ``splits`` imports."""
    first_missing = ""
    for module, attrs in splits:
        mod, why = _import(module)
        if mod is None:
            first_missing = first_missing or (why or "")
            continue
        try:
            return True, _getattrs(mod, module, attrs), ""
        except LoadError:
            # "pkg.sub.Attr" where pkg imports but pkg.sub is missing: the missing
            # module is the clearer message.
            if first_missing:
                raise LoadError(first_missing) from None
            raise
    return False, None, first_missing


def resolve_dotted(path: str, search_dir: Path | None = None) -> Any:
    """The object named by ``path``: ``pkg.mod.Attr`` or ``pkg.mod:Attr`` (``Attr`` may be dotted).

    With the dotted form the longest importable module prefix is used. When the top-level
    module cannot be found and ``search_dir`` is given and holds it, ``search_dir`` is appended
    to ``sys.path`` and the import retried (as ``python -m pytest`` run there would find it).
    Raises ``LoadError``.
    """
    splits = _splits(path.strip())
    found, obj, why = _resolve(splits)
    if found:
        return obj
    top = splits[-1][0].split(".")[0]
    if (
        search_dir is not None
        and str(search_dir) not in sys.path
        and ((search_dir / top).is_dir() or (search_dir / f"{top}.py").is_file())
    ):
        sys.path.append(str(search_dir))
        importlib.invalidate_caches()
        found, obj, why = _resolve(splits)
        if found:
            return obj
    raise LoadError(why)


def check_candidate_signature(obj: Any, name: str) -> None:
    """Raise ``LoadError`` unless ``obj`` is callable as ``obj(b, split, k, max_episode_length=L)``.

    Objects whose signature cannot be introspected (some builtins) are accepted.
    """
    if inspect.ismodule(obj):
        raise LoadError(_module_not_candidate(obj.__name__))
    if not callable(obj):
        raise LoadError(f"{name!r} is not callable (it is an object of type {type(obj).__name__})")
    try:
        sig = inspect.signature(obj)
    except Exception:  # noqa: BLE001 - not introspectable (builtins, a raising __signature__)
        return
    try:
        sig.bind("benchmark", "train", 1, max_episode_length=500)
    except TypeError as e:
        short = name.rsplit(".", 1)[-1].split(":")[-1]
        raise LoadError(
            f"{name!r} cannot be called as Candidate(benchmark, split, k_episodes, "
            f"max_episode_length=500): its signature is {short}{sig} ({e})"
        ) from None


def load_candidate(impl: str, search_dir: Path | None = None) -> Callable[..., Any]:
    """Resolve ``--kmw-impl`` to the candidate class or factory, checking its signature.

    Raises ``LoadError`` whose message ends with the expected form of ``--kmw-impl``.
    """
    try:
        obj = resolve_dotted(impl, search_dir)
        check_candidate_signature(obj, impl)
    except LoadError as e:
        raise LoadError(f"{e} — {IMPL_FORM}") from None
    return obj
