"""``python -m conformance.replay REPORT.json KMW-ID [--run]``: replay a report's failing example.

A JSON report (``--kmw-report``) stores, per failing example, its reproduction as data (the
``reproductions`` list of a requirement's entry: :class:`conformance.engine.reproduction.Reproduction`).
This command validates that data strictly and prints the reproduction made from it, the
candidate it would import first; with ``--run`` it replays it by calling
:func:`conformance.engine.replay.replay`. A report may come from someone else (a pull
request's CI artifact), so nothing in it is run as code: the only code ``--run`` imports is the
candidate named by the data's ``impl`` (and the key scheme named by ``keys`` when that is a
dotted path), both printed before anything is imported. The ``failing_example`` text is never
run, nor read for a reproduction.

Exit status: 0 printed; 1 ``--run`` reproduced the violation (shown on stderr), or nothing is
stored to replay (the requirement did not fail, or its failure has no reproduction); 2 bad
input: a report or reproduction that is unreadable or malformed, one written by a kmw that
stored no reproduction data, a candidate that does not import; 3 ``--run`` ran but did not
reproduce the violation. Every error is one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, NoReturn

from conformance.engine.reproduction import Reproduction
from conformance.engine.violations import REPRODUCE_HEADING

#: Largest report this command reads.
MAX_REPORT_BYTES = 64 * 2**20
USAGE, MISMATCH = 2, 3


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not argparse's usage block
        self.exit(USAGE, f"{self.prog}: error: {message}\n")


def _fail(message: str, status: int = USAGE) -> NoReturn:
    text = " ".join(message.split())
    print(f"python -m conformance.replay: {text}", file=sys.stderr)
    raise SystemExit(status)


def _read_report(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_REPORT_BYTES + 1)
    except OSError as e:
        _fail(f"cannot read report {path}: {e.strerror or e}")
    if len(raw) > MAX_REPORT_BYTES:
        _fail(f"report {path} is larger than {MAX_REPORT_BYTES // 2**20} MiB: not a kmw report")
    try:
        report = json.loads(raw)
    except (ValueError, RecursionError) as e:
        why = "nested too deeply" if isinstance(e, RecursionError) else str(e)
        _fail(f"report {path} is not JSON: {why}")
    if not isinstance(report, dict) or not isinstance(report.get("requirements"), dict):
        _fail(f"report {path} is not a kmw report: it has no 'requirements' object")
    return report


def _stored(report: dict[str, Any], req_id: str) -> list[Any]:
    """The reproductions stored for ``req_id`` (``SystemExit`` when there are none to replay)."""
    entry = report["requirements"].get(req_id)
    if entry is None:
        _fail(f"{req_id} is not in the report")
    if not isinstance(entry, dict):
        _fail(f"report: requirements[{req_id!r}] is not an object")
    stored = entry.get("reproductions")
    example = entry.get("failing_example")
    if stored is None:
        if isinstance(example, str) and REPRODUCE_HEADING.rstrip() in example:
            version = report.get("plugin_version")
            shown = version if isinstance(version, str) and len(version) < 40 else "?"
            _fail(f"the report (kmw {shown}) stores {req_id}'s reproduction only as text, which "
                  "replay does not run (it may come from anyone); rerun the suite with this kmw "
                  "to store it as data, or read it in the report's failing_example")
        stored = []
    if not isinstance(stored, list):
        _fail(f"report: requirements[{req_id!r}].reproductions is not a list")
    if not stored:
        why = "it did not fail" if entry.get("outcome") != "fail" and not example else \
            "its failure has no reproduction (not raised by a session, or trimmed from the report)"
        _fail(f"no reproduction stored for {req_id}: {why}", 1)
    return stored


def _benchmark(rep: Reproduction) -> Any:
    """The benchmark :func:`~conformance.engine.replay.replay` takes: the spec, or the Meta-World
    benchmark of that name, made by kmw."""
    if not isinstance(rep.benchmark, tuple):
        return rep.benchmark
    from kmw.benchmarks import make_benchmark, resolve_benchmark_name

    name = rep.benchmark[0]
    try:
        resolve_benchmark_name(name)
    except ValueError:
        _fail(f"reproduction.benchmark.metaworld: unknown Meta-World benchmark {name!r}")
    try:
        return make_benchmark(name, seed=0)
    except Exception as e:  # noqa: BLE001 - Meta-World missing or failing: one line
        _fail(f"cannot make the Meta-World benchmark {name!r}: {type(e).__name__}: {e}")


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(
        prog="python -m conformance.replay",
        description="Print (or replay) the reproduction a kmw conformance report stores for a "
                    "failed requirement. The report is data: --run imports only the candidate "
                    "it names (and a key scheme named by a dotted path), printed first.")
    parser.add_argument("report", help="the JSON report (--kmw-report)")
    parser.add_argument("req_id", help="a requirement ID, e.g. KMW-ATT-2")
    parser.add_argument("--run", action="store_true",
                        help="replay it (imports the candidate) and show the violation")
    parser.add_argument("--index", type=int, default=0,
                        help="which reproduction, when several tests failed the requirement")
    args = parser.parse_args(argv)
    stored = _stored(_read_report(args.report), args.req_id)
    if not 0 <= args.index < len(stored):
        _fail(f"--index {args.index}: {len(stored)} reproduction(s) stored")
    item = stored[args.index]
    where = f"reproductions[{args.index}]"
    if not isinstance(item, dict) or "reproduction" not in item:
        _fail(f"report: {args.req_id} {where} is not an object with a 'reproduction'")
    try:
        rep = Reproduction.from_json(item["reproduction"])
    except ValueError as e:
        _fail(f"report: {args.req_id} {where}: {e}")
    if len(stored) > 1:
        print(f"# {len(stored)} reproductions stored for {args.req_id}; this is --index "
              f"{args.index}", file=sys.stderr)
    imports = " and ".join(f"the {what} {path}" for what, path in rep.imports())
    if not args.run:
        sys.stdout.write(f"# --run imports {imports}; nothing else from the report is run\n"
                         f"{rep.source()}\n")
        return 0
    return _run(rep, f"replaying {args.req_id}: importing {imports}")


def _run(rep: Reproduction, header: str) -> int:
    """Replay ``rep``: ``header`` on stderr, then :func:`~conformance.engine.replay.replay`."""
    from conformance.engine.harness import CannotBuild, Rejected
    from conformance.engine.keys import KeySchemeError
    from conformance.engine.loader import LoadError
    from conformance.engine.replay import ReplayMismatch, replay
    from conformance.engine.violations import ContractViolation

    benchmark = _benchmark(rep)
    single_task = isinstance(rep.benchmark, tuple) and rep.benchmark[1]
    print(header, file=sys.stderr)
    try:
        replay(rep.impl, benchmark, rep.split, rep.k, rep.max_episode_length, rep.calls,
               [list(a) for a in rep.actions], target=rep.target, keys=rep.keys,
               reward_scales=dict(rep.reward_scales) or None, single_task=single_task)
    except ContractViolation as exc:
        print(f"reproduced: {exc}", file=sys.stderr)
        return 1
    except (LoadError, KeySchemeError) as exc:
        _fail(str(exc))
    except (ReplayMismatch, CannotBuild, Rejected) as exc:
        _fail(f"not reproduced: {exc}", MISMATCH)
    except SystemExit as exc:
        _fail(f"not reproduced: the candidate raised SystemExit({exc.code!r})", MISMATCH)
    return 0  # not reached: replay raises


if __name__ == "__main__":
    sys.exit(main())
