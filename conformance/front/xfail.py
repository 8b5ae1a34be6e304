"""The ``--kmw-xfail`` file: requirement IDs a candidate is known to break, with reasons.

Format (like stubtest's allowlist): one entry per line, ``KMW-XXX-N  reason text``; blank lines
and ``#`` comments (whole-line or trailing) are ignored. Every ID must be in SPEC.md and appear
once; a reason is optional but recommended.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from conformance.engine.spec import Requirement

_LINE_RE = re.compile(r"^(?P<id>\S+)(?:\s+(?P<reason>.*))?$")


class XfailFileError(ValueError):
    """The xfail file is missing or has a bad line; the message names file and line."""


def parse_xfail_text(
    text: str, spec: Mapping[str, Requirement], source: str = "<xfail>"
) -> dict[str, str]:
    """``{requirement ID: reason}`` from the xfail file's ``text``; raises ``XfailFileError``."""
    entries: dict[str, str] = {}
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        m = _LINE_RE.match(line)
        assert m is not None  # a non-empty stripped line always matches
        rid, reason = m["id"], (m["reason"] or "").strip()
        if rid not in spec:
            raise XfailFileError(
                f"{source}:{n}: unknown requirement ID {rid!r} (expected an ID of SPEC.md such as "
                f"{next(iter(spec))}; line format: 'KMW-XXX-N  reason text')"
            )
        if rid in entries:
            raise XfailFileError(f"{source}:{n}: {rid} is listed twice")
        entries[rid] = reason or "listed in the xfail file"
    return entries


#: The largest xfail file read (a few hundred lines are a few KB).
MAX_BYTES = 1 << 20


def load_xfail_file(path: str | Path, spec: Mapping[str, Requirement]) -> dict[str, str]:
    """Read and parse the xfail file at ``path``; raises ``XfailFileError``. Only a regular
    file of at most ``MAX_BYTES`` is read, without blocking (a FIFO, a device or a socket is
    refused, as a huge file is)."""
    from kmw._files import read_bounded

    p = Path(path)
    try:
        data = read_bounded(p, MAX_BYTES)
    except OSError as e:
        raise XfailFileError(
            f"cannot read --kmw-xfail file {str(p)!r}: {e.strerror or e}"
        ) from None
    except ValueError as e:
        raise XfailFileError(f"cannot read --kmw-xfail file {str(p)!r}: {e}") from None
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark, as some editors write
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise XfailFileError(
            f"{p}:{line}: the --kmw-xfail file is not UTF-8 text (byte {e.object[e.start]:#04x} "
            f"at offset {e.start})"
        ) from None
    return parse_xfail_text(text, spec, source=str(p))
