"""``python -m conformance.replay REPORT.json KMW-ID [--run]``: a report's stored reproduction.

Prints (or, with ``--run``, runs) the Python that a failed requirement's ``failing_example``
ends with (see :mod:`conformance.engine.replay` for what it does).
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path

from conformance.engine.violations import REPRODUCE_HEADING, ContractViolation


def reproductions(text: str) -> list[str]:
    """The reproductions in a failure's text (a report's ``failing_example``), dedented."""
    out = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.rstrip() == REPRODUCE_HEADING.rstrip():
            block = []
            for nxt in lines[i + 1:]:
                if not nxt.startswith("    "):
                    break
                block.append(nxt)
            if block:
                out.append(textwrap.dedent("\n".join(block)) + "\n")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m conformance.replay",
        description="Print (or run) the reproduction a kmw conformance report stores for a "
                    "failed requirement.")
    parser.add_argument("report", help="the JSON report (--kmw-report)")
    parser.add_argument("req_id", help="a requirement ID, e.g. KMW-ATT-2")
    parser.add_argument("--run", action="store_true", help="run it and show the violation")
    parser.add_argument("--index", type=int, default=0,
                        help="which reproduction, when several tests failed the requirement")
    args = parser.parse_args(argv)
    try:
        report = json.loads(Path(args.report).read_text())
    except (OSError, ValueError) as exc:
        parser.exit(2, f"cannot read report {args.report}: {exc}\n")
    entry = report.get("requirements", {}).get(args.req_id)
    if entry is None:
        parser.exit(2, f"{args.req_id} is not in the report\n")
    found = reproductions(entry.get("failing_example") or "")
    if not found:
        why = "it did not fail" if entry.get("outcome") != "fail" and not \
            entry.get("failing_example") else "its failure has no reproduction (not raised by " \
            "a session, or trimmed from the report)"
        parser.exit(1, f"no reproduction stored for {args.req_id}: {why}\n")
    if not 0 <= args.index < len(found):
        parser.exit(2, f"--index {args.index}: {len(found)} reproduction(s) stored\n")
    code = found[args.index]
    if len(found) > 1:
        print(f"# {len(found)} reproductions stored for {args.req_id}; this is --index "
              f"{args.index}", file=sys.stderr)
    if not args.run:
        sys.stdout.write(code)
        return 0
    try:
        exec(compile(code, f"<reproduction of {args.req_id}>", "exec"), {"__name__": "__main__"})
    except ContractViolation as exc:
        print(f"reproduced: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
