"""``kmw run`` and ``kmw aggregate``: evaluate an agent on k-attempt trials; aggregate several runs.

``main(argv=None) -> int`` is the console script (``kmw``) and ``python -m kmw``.

``kmw run`` is a thin front on :mod:`kmw.evaluation` (``kmw.evaluate``): it parses the
arguments, checks the output paths (made absolute at once, so a policy that changes the working
directory cannot move them), runs the trials on ``--num-envs`` envs (1: in this process; more:
gymnasium ``AsyncVectorEnv`` worker processes) with a tqdm progress bar on stderr, and prints
per class, pooled and as a class mean, per attempt, the success rate, the mean return and the
adaptation gain (attempt k - attempt 1) with 95% intervals; ``--json PATH`` writes the same
figures, ``--plot PATH`` draws them. ``--per-class N`` runs exactly N trials of every class.

``kmw aggregate RUN.json ... [--vs RUN.json ...]`` is a front on :mod:`kmw.aggregate`: the IQM
and the mean over runs x classes with stratified-bootstrap intervals, and the probability of
improvement of one group over another.

Exit status: 0 on success, 2 on bad input (unknown benchmark or policy, a policy returning a bad
action, an unusable output path, ``--plot`` without matplotlib, run files that cannot be
aggregated, installed packages that cannot build Meta-World's envs:
``kmw.support``), 130 on Ctrl-C, with one line on stderr and no output file. See docs/cli.md.
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from kmw._files import OutputPathError, check_writable, resolve_output, write_json
from kmw._validation import SPLITS, check_run_seed
from kmw._version import __version__
from kmw.benchmarks import BenchmarkName, resolve_benchmark_name
from kmw.cache import cache_path, metaworld_version
from kmw.kinds import ML_BENCHMARKS
from kmw.plotting import PLOT_INSTALL_HINT, PLOT_SUFFIXES, require_matplotlib
from kmw.policies import BUILTIN_POLICIES, PolicyError, check_policy_object, import_object
from kmw.support import known_problem

PROG = "kmw"
ORACLE_NOTE = (
    "expert is an oracle: Meta-World's scripted policies, handed each task's true goal, "
    "which ML benchmarks hide from the observation"
)


class UsageError(Exception):
    """Bad input to ``kmw run`` or ``kmw aggregate``: reported on stderr with exit status 2."""


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
    """A seed by ``kmw._validation.check_run_seed``'s rule, the one ``kmw.evaluate`` applies."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer in [0, 2**31 - 1), got {text!r}") from None
    try:
        return int(check_run_seed(value))  # type: ignore[arg-type]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer in [0, 2**31 - 1), got {value}") from None


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
        "batched agent and print each class's per-attempt success rate, mean return and "
        "adaptation gain (attempt k - attempt 1) with 95% intervals, pooled over trials and "
        "as a mean over classes.",
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
    how_many = run.add_mutually_exclusive_group()
    how_many.add_argument(
        "--trials", type=_positive_int, default=None,
        help="trials to run, each of a task the wrapper draws at random (default: 6)",
    )  # fmt: skip
    how_many.add_argument(
        "--per-class", type=_positive_int, default=None, metavar="N",
        help="instead of --trials: exactly N trials of every class of the split, each class's "
        "tasks without replacement, interleaved in rounds, drawn from --seed",
    )  # fmt: skip
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
        "(gymnasium AsyncVectorEnv); capped at the number of trials (default: 1)",
    )
    run.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON")
    run.add_argument(
        "--plot",
        type=Path,
        metavar="PATH",
        help="also draw the adaptation curve (success and return per attempt: pooled, class "
        f"mean and per class, with 95%% intervals) to PATH: .png, .svg or .pdf (needs {PLOT_INSTALL_HINT})",
    )
    run.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: only when stderr is a terminal)",
    )
    agg = sub.add_parser(
        "aggregate",
        help="aggregate several kmw run --json results (e.g. training seeds): IQM, mean, "
        "probability of improvement",
        description="Aggregate runs of the same benchmark, split, k, attempt length and "
        "contract version (kmw run --json files, e.g. one per training seed): per attempt and "
        "for the gain, the IQM and the mean of the run x class success rates with 95% "
        "stratified-bootstrap intervals (Agarwal et al. 2021). With --vs, the probability that "
        "the first group improves on the second.",
    )
    agg.add_argument("runs", nargs="+", type=Path, metavar="RUN.json", help="runs of group A")
    agg.add_argument(
        "--vs", nargs="+", type=Path, metavar="RUN.json", default=None,
        help="runs of group B: also print P(A > B) per attempt with its interval",
    )  # fmt: skip
    agg.add_argument(
        "--plot", type=Path, metavar="PATH",
        help=f"also draw the aggregate curve to PATH: .png, .svg or .pdf (needs {PLOT_INSTALL_HINT})",
    )  # fmt: skip
    agg.add_argument(
        "--reps", type=_positive_int, default=None, metavar="N",
        help="bootstrap resamples, >= 100 (default: 10000)",
    )  # fmt: skip
    agg.add_argument("--seed", type=_seed, default=0, help="seed of the bootstrap (default: 0)")
    return parser


# -- output paths -------------------------------------------------------------------------------


def _output(option: str, path: Path | None) -> Path | None:
    """``path`` made absolute now (so a policy that changes the working directory cannot move
    it), checked writable now (a bad path must not cost the whole run)."""
    if path is None:
        return None
    try:
        absolute = Path.cwd() / path
        check_writable(absolute)
    except (OutputPathError, OSError) as exc:
        raise UsageError(f"{option} {exc}") from None
    return absolute


def _plot_output(path: Path | None) -> Path | None:
    """``--plot``'s path: a known suffix, then as :func:`_output`."""
    if path is None:
        return None
    if path.suffix.lower() not in PLOT_SUFFIXES:
        raise UsageError(f"--plot {path}: expected a file name ending in {', '.join(PLOT_SUFFIXES)}")
    return _output("--plot", path)


def _check_matplotlib() -> None:
    try:
        require_matplotlib()
    except ImportError:
        raise UsageError(f"--plot needs matplotlib, which is not installed: {PLOT_INSTALL_HINT}") from None


def _same_file(a: Path, b: Path) -> bool:
    """True if ``a`` and ``b`` name the same file (after symlinks and ``..``, or hard links)."""
    if resolve_output(a) == resolve_output(b):
        return True
    try:
        return a.samefile(b)
    except OSError:
        return False


def _write(option: str, path: Path, write: Callable[[], object]) -> None:
    """Run ``write``; an ``OSError`` becomes a one-line usage error naming ``option``."""
    try:
        write()
    except OSError as exc:
        raise UsageError(f"{option} {path}: cannot write: {exc.strerror or exc}") from None


# -- kmw run ------------------------------------------------------------------------------------


def run_command(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    """``kmw run`` with parsed ``args``; raises ``UsageError``/``PolicyError`` on bad input."""
    from kmw.evaluation import Evaluation

    try:
        name: BenchmarkName = resolve_benchmark_name(args.benchmark)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    json_path = _output("--json", args.json)
    plot_path = _plot_output(args.plot)
    if json_path is not None and plot_path is not None and _same_file(json_path, plot_path):
        raise UsageError(
            f"--json {args.json} and --plot {args.plot} are the same file: one would overwrite the other"
        )
    if plot_path is not None:
        _check_matplotlib()
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
        per_class=args.per_class,
        num_envs=args.num_envs,
        seed=args.seed,
        max_episode_length=args.max_episode_length,
        benchmark_seed=args.benchmark_seed,
    )
    kind = f"ML1 {name.task}" if name.kind == "ML1" else name.kind
    agent = f"{ev.agent_name} (batched agent)" if ev.driver.batched else ev.agent_name
    count = (
        f"{ev.per_class} trials per class ({len(ev.classes)} classes: {ev.trials} trials)"
        if ev.per_class is not None
        else f"{ev.trials} trials"
    )
    print(
        f"kmw run: {kind}, split {args.split}, policy {agent}, k={args.k}, "
        f"max_episode_length={args.max_episode_length}, {count}, seed {args.seed}, "
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

    if json_path is not None:
        data = results.to_dict()
        data["versions"] = {
            "kmw": __version__,
            "metaworld": metaworld_version(),
            "python": platform.python_version(),
        }
        _write("--json", args.json, lambda: write_json(json_path, data))
        print(f"wrote {args.json}", file=stdout)
    if plot_path is not None:
        title = (
            f"{kind} {args.split}, policy {ev.agent_name}, k={args.k}, "
            f"{len(results.trials)} trials"
        )
        _write("--plot", args.plot, lambda: results.plot(plot_path, title=title))
        print(f"wrote {args.plot}", file=stdout)
    return 0


# -- kmw aggregate ------------------------------------------------------------------------------


def aggregate_command(args: argparse.Namespace, stdout: TextIO) -> int:
    """``kmw aggregate`` with parsed ``args``; raises ``UsageError`` on bad input."""
    from kmw.aggregate import RunError, aggregate_runs, compare
    from kmw.bootstrap import DEFAULT_REPS, require_scipy

    plot_path = _plot_output(args.plot)
    if plot_path is not None:
        _check_matplotlib()
    reps = DEFAULT_REPS if args.reps is None else args.reps
    if reps < 100:
        raise UsageError(f"--reps {reps}: expected at least 100 resamples")
    try:
        require_scipy()
    except ImportError as exc:
        raise UsageError(str(exc)) from None
    try:
        a = aggregate_runs(args.runs, reps=reps, seed=args.seed)
    except RunError as exc:
        raise UsageError(str(exc)) from None
    try:
        b = aggregate_runs(args.vs, reps=reps, seed=args.seed) if args.vs else None
        comparison = compare(a, b) if b is not None else None
    except RunError as exc:
        raise UsageError(f"--vs: {exc}") from None
    print(f"kmw aggregate: {'A = ' if b else ''}{a.describe()}", file=stdout)
    print(a.format(), file=stdout)
    if b is not None and comparison is not None:
        print("", file=stdout)
        print(f"B = {b.describe()}", file=stdout)
        print(b.format(), file=stdout)
        print("", file=stdout)
        print(comparison.format(), file=stdout)
    if plot_path is not None:
        from kmw.plotting import plot_aggregate

        key = a.key
        title = f"{key['benchmark']} {key['split']}, k={key['k']}: {a.runs} runs" + (
            f" (A) vs {b.runs} runs (B)" if b is not None else ""
        )
        _write("--plot", args.plot, lambda: plot_aggregate(a, plot_path, title, comparison))
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
    if args.command not in ("run", "aggregate"):
        parser.print_help(sys.stderr)
        return 2
    try:
        if args.command == "run":
            return run_command(args, sys.stdout, sys.stderr)
        return aggregate_command(args, sys.stdout)
    except (UsageError, PolicyError) as exc:
        print(f"{PROG} {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG} {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
