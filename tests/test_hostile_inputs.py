"""Hostile inputs: every bad input across the plugin, ``kmw run`` and the wrapper, with the exact
outcome it must produce (exit code and a substring of the one-line error, or an exception type
and a message substring). Also the shared output writer (``kmw._files``) on symlinks, FIFOs and
device nodes, and Ctrl-C of a multi-process ``kmw run``.

The cache's hostile inputs are left to its owner's tests (tests/test_cache.py).
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from kmw._files import OutputPathError, check_writable, write_json, write_text_atomic

pytest_plugins = "pytester"

HERE = Path(__file__).resolve().parent
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


# --------------------------------------------------------------------------- the shared writer


def test_writer_replaces_a_regular_file_atomically(tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    target.write_text("old")
    os.chmod(target, 0o640)
    write_json(target, {"a": 1})
    assert json.loads(target.read_text()) == {"a": 1}
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # the file's mode is kept
    assert sorted(os.listdir(tmp_path)) == ["r.json"]  # no temp file left


def test_writer_writes_through_a_symlink(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    real = tmp_path / "real" / "r.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    assert write_text_atomic(link, "new\n") == real
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == "new\n"
    # A dangling link: its target is created, the link stays.
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(tmp_path / "real" / "later.json")
    write_text_atomic(dangling, "x")
    assert dangling.is_symlink() and (tmp_path / "real" / "later.json").read_text() == "x"
    assert sorted(os.listdir(tmp_path / "real")) == ["later.json", "r.json"]


def test_writer_writes_into_a_fifo_without_replacing_it(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[str] = []

    def read() -> None:
        with open(fifo, encoding="utf-8") as f:
            got.append(f.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    write_json(fifo, {"a": 1})
    reader.join(timeout=10)
    assert got and json.loads(got[0]) == {"a": 1}
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sorted(os.listdir(tmp_path)) == ["pipe"]


@pytest.mark.skipif(not IS_ROOT, reason="creating a device node needs root")
def test_writer_writes_into_a_device_node_without_replacing_it(tmp_path: Path) -> None:
    dev = tmp_path / "null"  # a private /dev/null (major 1, minor 3), never the system's
    os.mknod(dev, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    write_json(dev, {"a": 1})
    st = os.lstat(dev)
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)
    assert sorted(os.listdir(tmp_path)) == ["null"]
    check_writable(dev)  # a writable device is a fine output path


def test_writer_refuses_a_directory(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError):
        write_text_atomic(tmp_path, "x")
    with pytest.raises(OutputPathError, match="is a directory"):
        check_writable(tmp_path)


def test_check_writable(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(OutputPathError, match="does not exist"):
        check_writable(tmp_path / "nope" / "r.json")
    check_writable(tmp_path / "nope" / "deeper" / "r.json", create_parents=True)
    with pytest.raises(OutputPathError, match="is not a directory"):
        check_writable(tmp_path / "file" / "r.json")
    with pytest.raises(OutputPathError, match="is not a directory"):
        check_writable(tmp_path / "file" / "sub" / "r.json", create_parents=True)
    link = tmp_path / "to-dir"
    link.symlink_to(tmp_path / "nope-dir")
    (tmp_path / "nope-dir").mkdir()
    with pytest.raises(OutputPathError, match="is a directory"):
        check_writable(link)
    assert check_writable(tmp_path / "r.json") == tmp_path / "r.json"


@pytest.mark.skipif(IS_ROOT, reason="root may write into any directory")
def test_check_writable_read_only_directory(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(OutputPathError, match="is not writable"):
            check_writable(ro / "r.json")
    finally:
        ro.chmod(0o700)
