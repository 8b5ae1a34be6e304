"""The project's one way of writing an output file (``kmw run --json``, ``--kmw-report``).

``write_bytes_atomic(path, data)`` (plots, the task cache) and ``write_text_atomic(path, text)`` /
``write_json(path, data)`` on top of it:

* a regular file or a missing path is replaced atomically: the text goes to a temporary file
  in the same directory, is flushed and ``fsync``-ed, and ``os.replace`` puts it in place, so a
  reader sees the old content or the new, never part of it, and an error leaves no file;
* a symlink is written *through*: it is resolved and its target is replaced as above (the link
  itself stays a link);
* a FIFO or a character device (such as ``/dev/null``) is opened for writing and written in
  place; it is never replaced. A FIFO is opened without blocking, retried for up to
  ``FIFO_WAIT`` seconds (a reader may be just starting): with no process reading it by then the
  write fails (``OSError`` ENXIO, "no process has the FIFO open for reading") instead of
  hanging;
* a UNIX socket, a block device or a symlink loop is refused (``OSError``).

``append_text(path, text)`` (the GitHub step summary, ``--kmw-summary``) adds ``text`` at the
end instead: a missing path is created, a regular file is opened in append mode and written
with one ``write`` (then flushed and ``fsync``-ed), a symlink is written *through* (its target
is appended to, the link stays a link), and a FIFO or character device is written in place as
above (a FIFO without a reader fails after ``FIFO_WAIT`` seconds).
Appending is not atomic: a reader may see part of the text while it is being written.

``check_writable(path)`` raises ``OutputPathError`` (one line, naming the path) when
``write_text_atomic`` (or ``append_text``) is bound to fail on ``path``: its directory is
missing or not a directory or not writable, or ``path`` is a directory, a symlink loop, a UNIX
socket or a block device. Callers run it before doing any work. (Whether a FIFO will have a
reader when it is written cannot be known in advance: opening it to find out would end a
reader's input.)
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = [
    "FIFO_WAIT",
    "OutputPathError",
    "append_text",
    "check_writable",
    "resolve_output",
    "write_bytes_atomic",
    "write_json",
    "write_text_atomic",
]


#: Seconds a write into a FIFO waits for a process to open it for reading.
FIFO_WAIT = 5.0


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
    try:
        st: os.stat_result | None = os.stat(target)
    except (FileNotFoundError, NotADirectoryError):
        st = None  # missing; what is wrong with its directory is said below
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OutputPathError(f"{shown}: is a symlink loop") from None
        raise OutputPathError(f"{shown}: cannot use it: {exc.strerror or exc}") from None
    if st is not None:
        mode = st.st_mode
        if stat.S_ISDIR(mode):
            raise OutputPathError(f"{shown}: is a directory, expected a file path")
        refused = _refused_kind(mode)
        if refused:
            raise OutputPathError(f"{shown}: is {refused}, expected a file path")
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


def _refused_kind(mode: int) -> str | None:
    """What an existing output path of ``mode`` is, if it is a kind never written to."""
    if stat.S_ISSOCK(mode):
        return "a UNIX socket"
    if stat.S_ISBLK(mode):
        return "a block device"
    return None


def _target(path: str | os.PathLike[str]) -> tuple[Path, os.stat_result | None]:
    """The path really written for ``path`` and its ``stat`` (``None``: missing);
    ``IsADirectoryError`` for a directory, ``OSError`` for a socket, a block device or a symlink
    loop (ELOOP, from ``os.stat``)."""
    target = resolve_output(path)
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(f"{target}: is a directory")
    refused = _refused_kind(st.st_mode) if st is not None else None
    if refused:
        raise OSError(errno.EINVAL, f"{target} is {refused}, not written to")
    return target, st


def _open_in_place(target: Path, st: os.stat_result, append: bool = False) -> Any:
    """``target`` (a FIFO or a character device) opened for writing in binary mode. A FIFO is
    opened without blocking, retried for up to :data:`FIFO_WAIT` seconds while no process reads
    it, then ``OSError`` ENXIO; once open, its writes block as usual (a slow reader gets
    everything)."""
    flags = os.O_WRONLY | (os.O_APPEND if append else 0)
    if not stat.S_ISFIFO(st.st_mode):
        return os.fdopen(os.open(target, flags), "ab" if append else "wb")
    deadline, pause = time.monotonic() + FIFO_WAIT, 0.005
    while True:
        try:
            fd = os.open(target, flags | os.O_NONBLOCK)
            break
        except OSError as exc:
            if exc.errno != errno.ENXIO:
                raise
            if time.monotonic() >= deadline:
                why = f"no process has the FIFO open for reading (waited {FIFO_WAIT:g} s)"
                raise OSError(errno.ENXIO, why, str(target)) from None
            time.sleep(pause)
            pause = min(2 * pause, 0.1)
    os.set_blocking(fd, True)
    return os.fdopen(fd, "ab" if append else "wb")


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` as described in the module docstring; return the path written
    (the symlink's target for a symlink)."""
    target, st = _target(path)
    if st is not None and not stat.S_ISREG(st.st_mode):
        # FIFO or character device: write into it; replacing it would destroy it.
        with _open_in_place(target, st) as f:
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
    if st is not None and not stat.S_ISREG(st.st_mode):
        with _open_in_place(target, st, append=True) as f:
            f.write(text.encode("utf-8"))
        return target
    with open(target, "a", encoding="utf-8") as f:  # O_APPEND: never truncates, never replaces
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    return target
