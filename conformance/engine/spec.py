"""Read the requirements table of ``conformance/SPEC.md``.

``load_spec()`` returns every requirement of the contract, keyed by ID, in table order. The table
is the one whose header is ``| ID | level | requirement | enforced by |``; each row is one
requirement. A table that does not have that shape raises ``SpecError`` naming the line.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

#: The levels a requirement can have.
LEVELS = ("MUST", "SHOULD")

#: The file the suite checks against.
SPEC_PATH = Path(__file__).resolve().parents[1] / "SPEC.md"

_ID_RE = re.compile(r"^KMW-[A-Z]+-[0-9]+$")
_HEADER = ("id", "level", "requirement", "enforced by")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_SEPARATOR_CELL = re.compile(r"^:?-{3,}:?$")
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class SpecError(ValueError):
    """SPEC.md's requirements table is malformed."""


@dataclass(frozen=True)
class Requirement:
    """One row of the requirements table.

    ``id`` is e.g. ``"KMW-ATT-1"``; ``level`` is ``"MUST"`` or ``"SHOULD"``; ``text`` is the
    requirement as written; ``enforced_by`` names the suite's test functions or classes that
    check it (at least one).
    """

    id: str
    level: str
    text: str
    enforced_by: tuple[str, ...]

    @property
    def is_should(self) -> bool:
        """True for a SHOULD requirement (its violations are findings, not failures)."""
        return self.level == "SHOULD"


def _cells(line: str) -> list[str]:
    body = line.strip()
    if not (body.startswith("|") and body.endswith("|")):
        raise SpecError(f"not a table row (must start and end with '|'): {line!r}")
    return [c.strip().replace("\\|", "|") for c in _CELL_SPLIT.split(body[1:-1])]


def parse_spec(text: str, source: str = "SPEC.md") -> dict[str, Requirement]:
    """Parse the requirements table out of SPEC.md's ``text``.

    Raises ``SpecError`` (message names ``source`` and the line number) when the table is
    missing, a row does not have four cells, an ID is malformed or repeated, a level is not
    MUST/SHOULD, or a row names no enforcing test.
    """
    lines = text.splitlines()
    start = None
    for n, line in enumerate(lines):
        if line.strip().startswith("|"):
            try:
                cells = tuple(c.lower() for c in _cells(line))
            except SpecError:
                continue
            if cells == _HEADER:
                start = n
                break
    if start is None:
        raise SpecError(
            f"{source}: no requirements table found (expected a header row "
            "'| ID | level | requirement | enforced by |')"
        )
    if start + 1 >= len(lines) or not all(
        _SEPARATOR_CELL.match(c) for c in _cells(lines[start + 1])
    ):
        raise SpecError(f"{source}:{start + 2}: expected the table's separator row '|---|---|...'")

    reqs: dict[str, Requirement] = {}
    for n in range(start + 2, len(lines)):
        line = lines[n]
        if not line.strip():
            break
        where = f"{source}:{n + 1}"
        try:
            cells = _cells(line)
        except SpecError as e:
            raise SpecError(f"{where}: {e}") from None
        if len(cells) != 4:
            raise SpecError(
                f"{where}: expected 4 cells (ID | level | requirement | enforced by), "
                f"got {len(cells)}"
            )
        rid, level, req_text, enforced = cells
        if not _ID_RE.match(rid):
            raise SpecError(f"{where}: requirement ID {rid!r} is not of the form KMW-AREA-N")
        if rid in reqs:
            raise SpecError(f"{where}: requirement ID {rid} appears twice")
        if level not in LEVELS:
            raise SpecError(f"{where}: {rid}: level {level!r} is not one of {', '.join(LEVELS)}")
        if not req_text:
            raise SpecError(f"{where}: {rid}: empty requirement text")
        names = tuple(x.strip().strip("`").strip() for x in enforced.split(",") if x.strip())
        if not names:
            raise SpecError(f"{where}: {rid}: the 'enforced by' cell names no test")
        for name in names:
            if not _NAME_RE.match(name):
                raise SpecError(
                    f"{where}: {rid}: {name!r} in 'enforced by' is not a test function or "
                    "class name"
                )
        reqs[rid] = Requirement(rid, level, req_text, names)
    if not reqs:
        raise SpecError(f"{source}:{start + 1}: the requirements table has no rows")
    return reqs


_VERSION_RE = re.compile(r"^Contract version:\s*\**\s*([0-9]+)", re.MULTILINE)


def parse_contract_version(text: str, source: str = "SPEC.md") -> int:
    """The number on SPEC.md's ``Contract version: **N**`` line; ``SpecError`` if absent."""
    m = _VERSION_RE.search(text)
    if m is None:
        raise SpecError(f"{source}: no 'Contract version: **N**' line")
    return int(m.group(1))


def contract_version(path: Path | str | None = None) -> int:
    """The contract version SPEC.md states."""
    p = Path(path) if path is not None else SPEC_PATH
    return parse_contract_version(p.read_text(encoding="utf-8"), source=str(p))


@functools.cache
def _load(path: Path) -> dict[str, Requirement]:
    return parse_spec(path.read_text(encoding="utf-8"), source=str(path))


def load_spec(path: Path | str | None = None) -> dict[str, Requirement]:
    """Every requirement of the contract (``SPEC.md`` next to this module unless ``path``), by ID.

    Cached per path; do not mutate the returned dict.
    """
    return _load(Path(path) if path is not None else SPEC_PATH)
