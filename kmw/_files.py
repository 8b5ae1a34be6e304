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
``write_text_atomic`` (or ``append_text``) is bound to fail or block on ``path``: its directory
is missing or not a directory or not writable, ``path`` is a directory, a socket, a symlink
loop, or a FIFO that no process reads. Callers run it before doing any work. A FIFO that has a
reader is opened for writing there, without waiting, and kept open until the output is written
into it (so that the reader does not see the end of the stream before): the writers use that
descriptor, and never wait for a reader that left.

``read_bounded(path, limit)`` reads a small input file (the xfail file, the task cache) without
blocking and without reading more than ``limit`` bytes: anything but a regular file, or a
larger one, is refused with ``ValueError`` (one line).
"""

from __future__ import annotations

import contextlib
import errno
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
    "read_bounded",
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


#: Writing ends of FIFOs ``check_writable`` found a reader on, by path, until written into.
_HELD_OPEN: dict[str, int] = {}


def _kind(mode: int) -> str:
    """What a file of ``st_mode`` ``mode`` is, for messages: "a FIFO", "a socket", ..."""
    for test, kind in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISREG, "a regular file")):
        if test(mode):
            return kind
    return "not a regular file"


def _open_fifo(target: Path) -> int:
    """A writing descriptor on the FIFO ``target``, opened without waiting for a reader (one
    without a reader raises ``OSError`` ENXIO); it blocks on writes as usual."""
    fd = os.open(target, os.O_WRONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _open_in_place(target: Path, flags: int = 0) -> int:
    """A writing descriptor on the FIFO or device ``target``: the one ``check_writable`` kept
    open, else opened now (a FIFO: waiting for a reader)."""
    held = _HELD_OPEN.pop(str(target), None)
    return held if held is not None else os.open(target, os.O_WRONLY | flags)


def read_bounded(path: str | os.PathLike[str], limit: int) -> bytes:
    """The bytes of the regular file at ``path`` (symlinks followed), opened without blocking.

    Raises ``ValueError`` (one line saying what the file is, e.g. "is a FIFO, not a regular
    file") if ``path`` is not a regular file (a FIFO, a device, a socket, a directory) or holds
    more than ``limit`` bytes (a huge or sparse file), and ``OSError`` if it cannot be opened or
    read.
    """
    st = os.stat(path)
    if stat.S_ISSOCK(st.st_mode):  # opening one fails with a less telling ENXIO
        raise ValueError("is a socket, not a regular file")
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)  # the file opened, whatever replaced the path since
        if not stat.S_ISREG(st.st_mode):
            raise ValueError(f"is {_kind(st.st_mode)}, not a regular file")
        if st.st_size > limit:
            raise ValueError(f"is {st.st_size} bytes, more than {limit}")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:  # it grew while being read
            raise ValueError(f"is more than {limit} bytes")
        return b"".join(chunks)
    finally:
        os.close(fd)


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
        mode: int | None = os.stat(target).st_mode
    except (FileNotFoundError, NotADirectoryError):
        mode = None  # a new file (its directory is checked below)
    except OSError as e:  # a symlink loop, a path too long, ...
        if e.errno == errno.ELOOP:
            raise OutputPathError(f"{shown}: is a symlink loop") from None
        raise OutputPathError(f"{shown}: {e.strerror or e}") from None
    if mode is not None and stat.S_ISDIR(mode):
        raise OutputPathError(f"{shown}: is a directory, expected a file path")
    if mode is not None and not stat.S_ISREG(mode):
        # never written into: a socket cannot be, a disk is not a place for a report
        if stat.S_ISSOCK(mode) or stat.S_ISBLK(mode):
            kind = "a UNIX socket" if stat.S_ISSOCK(mode) else "a block device"
            raise OutputPathError(f"{shown}: is {kind}, expected a file path")
        if not os.access(target, os.W_OK):
            raise OutputPathError(f"{shown}: is not writable")
        if stat.S_ISFIFO(mode) and str(target) not in _HELD_OPEN:
            try:
                _HELD_OPEN[str(target)] = _open_fifo(target)
            except OSError as e:
                raise OutputPathError(
                    f"{shown}: is a FIFO that no process reads (writing to it would block)"
                    if e.errno == errno.ENXIO else f"{shown}: {e.strerror or e}") from None
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
        with open(_open_in_place(target), "wb") as f:
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
    # O_APPEND: never truncates, never replaces
    where = target if st is None or stat.S_ISREG(st.st_mode) else \
        _open_in_place(target, os.O_APPEND)
    with open(where, "a", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        if st is None or stat.S_ISREG(st.st_mode):  # fsync is for files (a FIFO refuses it)
            os.fsync(f.fileno())
    return target
