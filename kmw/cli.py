"""``kmw run``: evaluate a policy or a batched agent on k-attempt trials of a benchmark split.

``main(argv=None) -> int`` is the console script (``kmw``) and ``python -m kmw``. It is a thin
front on :mod:`kmw.evaluation` (``kmw.evaluate``): it parses the arguments, checks the output
paths, runs the trials on ``--num-envs`` envs (1: in this process; more: gymnasium
``AsyncVectorEnv`` worker processes) with a tqdm progress bar on stderr, and prints per task and
pooled, per attempt, the success rate with its 95% Wilson interval, the mean return with its
standard error, and the adaptation gain (attempt k - attempt 1) with its 95% interval;
``--json PATH`` writes the same figures, ``--plot PATH`` draws them. Exit status: 0 on success,
2 on bad input (unknown benchmark or policy, a policy returning a bad action, an unusable
output path, ``--plot`` without matplotlib, installed packages that cannot build Meta-World's
envs: ``kmw.support``), 130 on Ctrl-C, with a message on stderr and no
output file. See docs/cli.md.
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from kmw import __version__
from kmw._files import OutputPathError, check_writable, write_json
from kmw._validation import SPLITS
from kmw.benchmarks import BenchmarkName, resolve_benchmark_name
from kmw.cache import cache_path, metaworld_version
from kmw.evaluation import (
    PLOT_INSTALL_HINT,
    PLOT_SUFFIXES,
    Evaluation,
    require_matplotlib,
)
from kmw.kinds import ML_BENCHMARKS
from kmw.policies import BUILTIN_POLICIES, PolicyError, check_policy_object, import_object
from kmw.support import known_problem

PROG = "kmw"
ORACLE_NOTE = (
    "expert is an oracle: Meta-World's scripted policies, handed each task's true goal, "
    "which ML benchmarks hide from the observation"
)


class UsageError(Exception):
    """Bad input to ``kmw run``: reported on stderr with exit status 2."""


# -- argument parsing -------------------------------------------------------------------------


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if not 0 <= value < 2**31 - 1:
        raise argparse.ArgumentTypeError(f"expected an integer in [0, 2**31 - 1), got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Tools for the k-episode Meta-World wrapper (kmw)."
    )
    parser.add_argument("--version", action="version", version=f"kmw {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = sub.add_parser(
        "run",
        help="evaluate a policy or a batched agent on k-attempt trials of a benchmark",
        description="Run k-attempt trials of a Meta-World benchmark split with a policy or a "
        "batched agent and print each task's per-attempt success rate (95% Wilson interval), "
        "mean return (± standard error) and adaptation gain (attempt k - attempt 1).",
    )
    run.add_argument(
        "benchmark",
        nargs="?",
        default="reach-v3",
        help=f"{', '.join(ML_BENCHMARKS)}, or an ML1 task name such as reach-v3 (default: reach-v3)",
    )
    run.add_argument("--split", choices=SPLITS, default="test", help="default: test")
    run.add_argument(
        "--policy",
        default="expert",
        help="random, expert (Meta-World's scripted policies as a goal-given oracle), or "
        "DOTTED.PATH to a callable policy(obs) -> action or to a batched agent with "
        "eval_action(observations) and reset(env_mask) (metaworld.evaluation.Agent; a class is "
        "instantiated with no arguments) (default: expert)",
    )
    run.add_argument("--trials", type=_positive_int, default=6, help="trials to run (default: 6)")
    run.add_argument("--k", type=_positive_int, default=3, help="attempts per trial (default: 3)")
    run.add_argument(
        "--max-episode-length",
        type=_positive_int,
        default=500,
        help="steps per attempt at most (default: 500)",
    )
    run.add_argument("--seed", type=_seed, default=0, help="seed of the trials (default: 0)")
    run.add_argument(
        "--benchmark-seed",
        type=_seed,
        default=0,
        help="seed Meta-World draws the benchmark's tasks with (default: 0)",
    )
    run.add_argument(
        "--num-envs",
        type=_positive_int,
        default=1,
        help="envs stepped in parallel: 1 = in this process, N > 1 = N worker processes "
        "(gymnasium AsyncVectorEnv); capped at --trials (default: 1)",
    )
    run.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON")
    run.add_argument(
        "--plot",
        type=Path,
        metavar="PATH",
        help="also draw the adaptation curve (success and return per attempt, per task and "
        f"pooled, with 95%% intervals) to PATH: .png, .svg or .pdf (needs {PLOT_INSTALL_HINT})",
    )
    run.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: only when stderr is a terminal)",
    )
    return parser


# -- the command ------------------------------------------------------------------------------


def _check_output(option: str, path: Path | None) -> None:
    if path is None:
        return
    try:  # before anything runs: a bad path must not cost the whole run
        check_writable(path)
    except (OutputPathError, OSError) as exc:
        raise UsageError(f"{option} {exc}") from None


def run_command(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    """``kmw run`` with parsed ``args``; raises ``UsageError``/``PolicyError`` on bad input."""
    try:
        name: BenchmarkName = resolve_benchmark_name(args.benchmark)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    _check_output("--json", args.json)
    if args.plot is not None:
        if args.plot.suffix.lower() not in PLOT_SUFFIXES:
            raise UsageError(
                f"--plot {args.plot}: expected a file name ending in {', '.join(PLOT_SUFFIXES)}"
            )
        try:
            require_matplotlib()
        except ImportError:
            raise UsageError(
                f"--plot needs matplotlib, which is not installed: {PLOT_INSTALL_HINT}"
            ) from None
        _check_output("--plot", args.plot)
    if args.policy not in BUILTIN_POLICIES:
        # Fail on a bad name before the (possibly slow) build; a module that calls sys.exit()
        # at import is a bad policy too, not the end of kmw run.
        try:
            obj = import_object(args.policy)
        except (PolicyError, KeyboardInterrupt):
            raise
        except BaseException as exc:
            raise PolicyError(
                f"importing policy {args.policy!r} raised {type(exc).__name__}: {exc}"
            ) from None
        check_policy_object(obj, f"policy {args.policy!r}")

    problem = known_problem()  # before the build: a broken install is not a failed run
    if problem is not None:
        raise UsageError(problem)
    cached_file = cache_path(name.kind, name.task, args.benchmark_seed)
    if not cached_file.is_file():
        print(
            f"{PROG} run: building the {name} tasks with Meta-World (once: ML1 takes seconds, "
            f"ML10 about 20 s, ML45 about a minute); later runs load them from {cached_file}",
            file=stderr,
        )
    ev = Evaluation(
        args.policy,
        str(name),
        split=args.split,
        k_episodes=args.k,
        trials=args.trials,
        num_envs=args.num_envs,
        seed=args.seed,
        max_episode_length=args.max_episode_length,
        benchmark_seed=args.benchmark_seed,
    )
    kind = f"ML1 {name.task}" if name.kind == "ML1" else name.kind
    agent = f"{ev.agent_name} (batched agent)" if ev.driver.batched else ev.agent_name
    print(
        f"kmw run: {kind}, split {args.split}, policy {agent}, k={args.k}, "
        f"max_episode_length={args.max_episode_length}, {args.trials} trials, seed {args.seed}, "
        f"{ev.num_envs} {'process' if ev.num_envs == 1 else 'worker processes'}",
        file=stdout,
    )
    if ev.oracle:
        print(f"note: {ORACLE_NOTE}", file=stdout)
    stdout.flush()

    show = args.progress if args.progress is not None else stderr.isatty()
    results = ev.run(progress=show, stream=stderr)
    rate = results.steps / results.seconds if results.seconds > 0 else math.inf
    print(results.format_table(), file=stdout)
    print(f"{results.steps} steps in {results.seconds:.1f} s ({rate:.0f} steps/s)", file=stdout)

    if args.json is not None:
        data = results.to_dict()
        data["versions"] = {
            "kmw": __version__,
            "metaworld": metaworld_version(),
            "python": platform.python_version(),
        }
        try:
            write_json(args.json, data)
        except OSError as exc:
            raise UsageError(f"--json {args.json}: cannot write: {exc.strerror or exc}") from None
        print(f"wrote {args.json}", file=stdout)
    if args.plot is not None:
        title = (
            f"{kind} {args.split}, policy {ev.agent_name}, k={args.k}, "
            f"{len(results.trials)} trials"
        )
        try:
            results.plot(args.plot, title=title)
        except OSError as exc:
            raise UsageError(f"--plot {args.plot}: cannot write: {exc.strerror or exc}") from None
        print(f"wrote {args.plot}", file=stdout)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """The ``kmw`` console script; returns the exit status."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help/--version (0) or a usage error (2)
        return int(exc.code) if isinstance(exc.code, int) else 2
    if args.command != "run":
        parser.print_help(sys.stderr)
        return 2
    try:
        return run_command(args, sys.stdout, sys.stderr)
    except (UsageError, PolicyError) as exc:
        print(f"{PROG} run: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG} run: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
