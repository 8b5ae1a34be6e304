"""The project's one way of writing an output file (``kmw run --json``, ``--kmw-report``).

``write_bytes_atomic(path, data)`` (plots, the task cache) and ``write_text_atomic(path, text)`` /
``write_json(path, data)`` on top of it:

* a regular file or a missing path is replaced atomically: the text goes to a temporary file
  in the same directory, is flushed and ``fsync``-ed, and ``os.replace`` puts it in place, so a
  reader sees the old content or the new, never part of it, and an error leaves no file;
* a symlink is written *through*: it is resolved and its target is replaced as above (the link
  itself stays a link);
* anything else that exists and is not a directory (a FIFO, a character device such as
  ``/dev/null``) is opened for writing and written in place; it is never replaced.

``append_text(path, text)`` (the GitHub step summary, ``--kmw-summary``) adds ``text`` at the
end instead: a missing path is created, a regular file is opened in append mode and written
with one ``write`` (then flushed and ``fsync``-ed), a symlink is written *through* (its target
is appended to, the link stays a link), and a FIFO or device is written in place as above.
Appending is not atomic: a reader may see part of the text while it is being written.

``check_writable(path)`` raises ``OutputPathError`` (one line, naming the path) when
``write_text_atomic`` (or ``append_text``) is bound to fail on ``path``: its directory is
missing or not a directory or not writable, or ``path`` is a directory. Callers run it before doing any work.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

__all__ = [
    "OutputPathError",
    "append_text",
    "check_writable",
    "resolve_output",
    "write_bytes_atomic",
    "write_json",
    "write_text_atomic",
]


class OutputPathError(ValueError):
    """An output path that cannot be written; ``str()`` is a one-line message."""


def resolve_output(path: str | os.PathLike[str]) -> Path:
    """The path that is really written for ``path``: a symlink's final target, else ``path``.

    Absolute; missing trailing components (a dangling link's target, a new file) are kept.
    """
    return Path(os.path.realpath(os.fspath(path)))


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_writable(path: str | os.PathLike[str], *, create_parents: bool = False) -> Path:
    """Return where ``path`` will be written, or raise ``OutputPathError`` saying why it cannot.

    With ``create_parents`` the directory may be missing as long as its nearest existing
    ancestor is a writable directory (the writer's caller then creates it).
    """
    given = Path(path)
    target = resolve_output(given)
    shown = str(given) if target == given.absolute() else f"{given} (-> {target})"
    if target.is_dir():
        raise OutputPathError(f"{shown}: is a directory, expected a file path")
    if target.exists():
        mode = target.stat().st_mode
        if not stat.S_ISREG(mode):
            if not os.access(target, os.W_OK):
                raise OutputPathError(f"{shown}: is not writable")
            return target
    parent = target.parent
    if create_parents:
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
    if not parent.exists():
        raise OutputPathError(f"{shown}: directory {parent} does not exist")
    if not parent.is_dir():
        raise OutputPathError(f"{shown}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputPathError(f"{shown}: directory {parent} is not writable")
    return target


def _target(path: str | os.PathLike[str]) -> tuple[Path, os.stat_result | None]:
    """The path really written for ``path`` and its ``stat`` (``None``: missing);
    ``IsADirectoryError`` for a directory."""
    target = resolve_output(path)
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(f"{target}: is a directory")
    return target, st


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` as described in the module docstring; return the path written
    (the symlink's target for a symlink)."""
    target, st = _target(path)
    if st is not None and not stat.S_ISREG(st.st_mode):
        # FIFO, device, socket...: write into it; replacing it would destroy it.
        with open(target, "wb") as f:
            f.write(data)
        return target
    mode = stat.S_IMODE(st.st_mode) if st is not None else 0o666 & ~_current_umask()
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable (best effort)
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return target


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """``text`` as UTF-8, written by :func:`write_bytes_atomic`."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike[str], data: Any) -> Path:
    """``data`` as indented JSON plus a newline, written by ``write_text_atomic``."""
    return write_text_atomic(path, json.dumps(data, indent=2) + "\n")


def append_text(path: str | os.PathLike[str], text: str) -> Path:
    """Append ``text`` (UTF-8) to ``path`` as described in the module docstring; return the
    path written (the symlink's target for a symlink)."""
    target, st = _target(path)
    with open(target, "a", encoding="utf-8") as f:  # O_APPEND: never truncates, never replaces
        f.write(text)
        f.flush()
        if st is None or stat.S_ISREG(st.st_mode):  # fsync is for files (a FIFO refuses it)
            os.fsync(f.fileno())
    return target
