"""``__version__``: the installed distribution's version (one source: ``pyproject.toml``)."""

from __future__ import annotations

from importlib import metadata


def _version() -> str:
    try:
        return metadata.version("kmw")
    except metadata.PackageNotFoundError:  # pragma: no cover - a source tree not installed
        return "unknown"


#: The installed distribution's version.
__version__ = _version()
