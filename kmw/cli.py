"""``kmw run``: evaluate a policy on k-attempt trials of a Meta-World benchmark split.

``main(argv=None) -> int`` is the console script (``kmw``) and ``python -m kmw``. It runs
``--trials`` trials of :class:`kmw.KEpisodeMetaworld` on ``--num-envs`` envs (1: in this
process; more: gymnasium ``AsyncVectorEnv`` worker processes), shows a progress bar on stderr,
and prints a per-task, per-attempt table of success rate and mean return; ``--json PATH``
writes the same figures. Exit status: 0 on success, 2 on bad input (unknown benchmark or policy,
a policy returning a bad action, an unusable ``--json`` path), with a message on stderr and no
output file. See docs/cli.md.
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import gymnasium as gym
import numpy as np

from kmw import __version__
from kmw._files import OutputPathError, check_writable, write_json
from kmw.benchmarks import BenchmarkName, make_benchmark, resolve_benchmark_name
from kmw.cache import cache_path, metaworld_version
from kmw.policies import (
    BUILTIN_POLICIES,
    GOAL_KEY,
    TASK_KEY,
    Policy,
    PolicyError,
    TaskInfo,
    check_policy_action,
    import_callable,
    load_policy,
)
from kmw.wrapper import KEpisodeMetaworld, episode_return_key, episode_success_key

PROG = "kmw"
ORACLE_NOTE = (
    "expert is an oracle: Meta-World's scripted policies, handed each task's true goal, "
    "which ML benchmarks hide from the observation"
)


#: Seconds a normal close of the worker processes may take before they are terminated.
CLOSE_TIMEOUT = 10.0


class UsageError(Exception):
    """Bad input to ``kmw run``: reported on stderr with exit status 2."""


# -- environments -----------------------------------------------------------------------------


@dataclass(frozen=True)
class EnvFactory:
    """Builds one wrapped env; picklable so ``AsyncVectorEnv`` can ship it to a worker."""

    benchmark: Any
    split: str
    k: int
    max_episode_length: int

    def __call__(self) -> gym.Env:
        env = KEpisodeMetaworld(self.benchmark, self.split, self.k, self.max_episode_length)
        return TaskInfo(env, slim=True)  # only the logging keys and the task/goal cross processes


def make_vector_env(factory: EnvFactory, num_envs: int) -> gym.vector.VectorEnv:
    """``num_envs`` copies of the env: in this process if 1, else one worker process each."""
    fns = [factory] * num_envs
    if num_envs == 1:
        return gym.vector.SyncVectorEnv(fns)
    return gym.vector.AsyncVectorEnv(fns, shared_memory=True)


def close_vector_env(venv: gym.vector.VectorEnv, terminate: bool) -> None:
    """Close ``venv``; with ``terminate`` (after an error or Ctrl-C) without waiting for a
    pending step, and make sure no worker process outlives the call."""
    if not isinstance(venv, gym.vector.AsyncVectorEnv):
        venv.close()
        return
    processes = list(getattr(venv, "processes", []))
    try:
        if terminate:
            with warnings.catch_warnings():  # "Calling `close` while waiting for ... `step`"
                warnings.simplefilter("ignore")
                venv.close(terminate=True)
        else:
            venv.close(timeout=CLOSE_TIMEOUT)
    except BaseException:
        _kill(processes)
        raise
    finally:
        _kill(processes)


def _kill(processes: list[Any]) -> None:
    """Terminate, then kill, every still-running process of ``processes``; reap them all."""
    for p in processes:
        if p.is_alive():
            p.terminate()
    for p in processes:
        p.join(timeout=2.0)
        if p.is_alive():
            p.kill()
            p.join(timeout=2.0)


# -- results ----------------------------------------------------------------------------------


@dataclass
class TrialResult:
    """One finished trial: its task and each attempt's success (0/1) and return."""

    task: str
    successes: list[float]
    returns: list[float]


@dataclass
class RunStats:
    """Everything ``kmw run`` reports."""

    trials: list[TrialResult] = field(default_factory=list)
    steps: int = 0
    seconds: float = 0.0

    def table(self, k: int) -> dict[str, dict[str, Any]]:
        """Per task (and ``"all"``): trial count, per-attempt success rate and mean return."""
        groups: dict[str, list[TrialResult]] = {}
        for t in self.trials:
            groups.setdefault(t.task, []).append(t)
        rows = {name: groups[name] for name in sorted(groups)}
        rows["all"] = list(self.trials)
        out: dict[str, dict[str, Any]] = {}
        for name, ts in rows.items():
            succ = np.array([t.successes for t in ts], dtype=np.float64).reshape(len(ts), k)
            rets = np.array([t.returns for t in ts], dtype=np.float64).reshape(len(ts), k)
            out[name] = {
                "trials": len(ts),
                "success_rate": [float(x) for x in succ.mean(axis=0)],
                "mean_return": [float(x) for x in rets.mean(axis=0)],
            }
        return out


class ProgressBar:
    """A one-line progress bar redrawn in place on a stream (at most ~10 times a second).

    Progress is the larger of finished trials / ``total`` and steps / ``expected_steps`` (the
    steps of ``total`` trials that run every attempt to its length limit), so it moves
    within a trial too; the ETA extrapolates from it.
    """

    def __init__(
        self, total: int, expected_steps: int, stream: TextIO, enabled: bool, width: int = 24
    ) -> None:
        self.total, self.expected_steps = total, max(expected_steps, 1)
        self.stream, self.enabled, self.width = stream, enabled, width
        self._start = time.perf_counter()
        self._last = 0.0
        self._done = self._steps = 0
        self._drawn = 0

    def update(self, done: int, steps: int, force: bool = False) -> None:
        """Record ``done`` trials and ``steps`` steps; redraw if due (or ``force``)."""
        self._done, self._steps = done, steps
        if not self.enabled:
            return
        now = time.perf_counter()
        if not force and now - self._last < 0.1:
            return
        self._last = now
        elapsed = max(now - self._start, 1e-9)
        frac = min(1.0, max(done / self.total, steps / self.expected_steps))
        filled = int(self.width * frac)
        bar = "#" * filled + "-" * (self.width - filled)
        eta = f"{elapsed * (1 - frac) / frac:.0f}s" if frac > 0 else "?"
        line = (
            f"[{bar}] {done}/{self.total} trials | {steps} steps | "
            f"{steps / elapsed:.0f} steps/s | eta {eta}"
        )
        self.stream.write("\r" + line + " " * max(0, self._drawn - len(line)))
        self.stream.flush()
        self._drawn = len(line)

    def close(self) -> None:
        """Draw the last recorded state and end the line (once; later calls do nothing)."""
        if self.enabled:
            self.update(self._done, self._steps, force=True)
            self.stream.write("\n")
            self.stream.flush()
            self.enabled = False


# -- the run loop -----------------------------------------------------------------------------


def _row(info: dict[str, Any], key: str, i: int) -> Any:
    """``info[key][i]`` of a vector env's info if sub-env ``i`` set ``key``, else ``None``."""
    mask = info.get("_" + key)
    if mask is None or not mask[i]:
        return None
    return info[key][i]


def run_trials(
    venv: gym.vector.VectorEnv,
    policy: Policy,
    *,
    trials: int,
    k: int,
    seed: int,
    progress: ProgressBar,
) -> RunStats:
    """Step ``venv`` with ``policy`` until ``trials`` trials have finished; collect their results.

    Trials are counted in the order they finish (ties: by sub-env index); the other sub-envs'
    unfinished trials are dropped. Steps where a sub-env only auto-resets are not counted.
    """
    n = venv.num_envs
    space = venv.single_action_space
    stats = RunStats()
    tasks: list[str | None] = [None] * n
    goals: list[np.ndarray | None] = [None] * n
    attempt_succ: list[dict[int, float]] = [{} for _ in range(n)]
    attempt_ret: list[dict[int, float]] = [{} for _ in range(n)]
    succ_keys = [episode_success_key(j) for j in range(k)]
    ret_keys = [episode_return_key(j) for j in range(k)]

    def take_task_info(info: dict[str, Any]) -> None:
        for i in range(n):
            name = _row(info, TASK_KEY, i)
            if name is not None:
                tasks[i] = str(name)
                goals[i] = np.asarray(_row(info, GOAL_KEY, i), dtype=np.float64)

    start = time.perf_counter()
    obs, info = venv.reset(seed=seed)
    take_task_info(info)
    autoresetting = np.zeros(n, dtype=bool)
    actions = np.zeros((n, *space.shape), dtype=space.dtype)
    while len(stats.trials) < trials:
        for i in range(n):
            try:
                raw = policy.act(obs[i], tasks[i], goals[i])
            except (PolicyError, KeyboardInterrupt):
                raise
            except BaseException as exc:  # SystemExit, GeneratorExit...: still the policy's fault
                raise PolicyError(
                    f"policy {policy.name!r} raised {type(exc).__name__}: {exc}"
                ) from exc
            if np.iscomplexobj(raw):  # a cast to the float dtype would drop the imaginary part
                raise PolicyError(
                    f"policy {policy.name!r} returned a complex action {np.asarray(raw).tolist()}, "
                    "expected real numbers"
                )
            with np.errstate(over="ignore", invalid="ignore"):  # 1e300 -> inf: refused in it
                actions[i] = check_policy_action(raw, space, policy.name)
        obs, _, terminated, truncated, info = venv.step(actions)
        stats.steps += int(n - autoresetting.sum())
        take_task_info(info)
        done = np.logical_or(terminated, truncated)
        for i in range(n):
            if autoresetting[i]:
                continue
            for j in range(k):
                s = _row(info, succ_keys[j], i)
                if s is not None:
                    attempt_succ[i][j] = float(s)
                    attempt_ret[i][j] = float(_row(info, ret_keys[j], i))
            if done[i] and len(stats.trials) < trials:
                stats.trials.append(
                    TrialResult(
                        task=str(tasks[i]),
                        successes=[attempt_succ[i][j] for j in range(k)],
                        returns=[attempt_ret[i][j] for j in range(k)],
                    )
                )
            if done[i]:
                attempt_succ[i], attempt_ret[i] = {}, {}
        autoresetting = done
        progress.update(len(stats.trials), stats.steps)
    stats.seconds = time.perf_counter() - start
    return stats


# -- output -----------------------------------------------------------------------------------


def format_table(table: dict[str, dict[str, Any]], k: int) -> str:
    """The per-task, per-attempt table as aligned text."""
    name_w = max(len("task"), *(len(name) for name in table))
    head = (
        f"{'task':<{name_w}}  {'trials':>6}  "
        + "  ".join(f"{f'succ@{j + 1}':>7}" for j in range(k))
        + "  "
        + "  ".join(f"{f'return@{j + 1}':>9}" for j in range(k))
    )
    lines = [head, "-" * len(head)]
    for name, row in table.items():
        if name == "all":
            lines.append("-" * len(head))
        lines.append(
            f"{name:<{name_w}}  {row['trials']:>6}  "
            + "  ".join(f"{x:>7.2f}" for x in row["success_rate"])
            + "  "
            + "  ".join(f"{x:>9.1f}" for x in row["mean_return"])
        )
    return "\n".join(lines)


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as JSON to ``path`` with the project's writer (:mod:`kmw._files`)."""
    write_json(path, data)


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
        help="evaluate a policy on k-attempt trials of a benchmark",
        description="Run k-attempt trials of a Meta-World benchmark split with a policy and "
        "print each task's per-attempt success rate and mean return.",
    )
    run.add_argument(
        "benchmark",
        nargs="?",
        default="reach-v3",
        help="ml10, ml25, ml45, or an ML1 task name such as reach-v3 (default: reach-v3)",
    )
    run.add_argument("--split", choices=("train", "test"), default="test", help="default: test")
    run.add_argument(
        "--policy",
        default="expert",
        help="random, expert (Meta-World's scripted policies as a goal-given oracle), or "
        "DOTTED.PATH to a callable policy(obs) -> action (default: expert)",
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
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: only when stderr is a terminal)",
    )
    return parser


# -- the command ------------------------------------------------------------------------------


def run_command(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    """``kmw run`` with parsed ``args``; raises ``UsageError``/``PolicyError`` on bad input."""
    try:
        name: BenchmarkName = resolve_benchmark_name(args.benchmark)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.json is not None:
        try:  # before anything runs: a bad path must not cost the whole run
            check_writable(args.json)
        except (OutputPathError, OSError) as exc:
            raise UsageError(f"--json {exc}") from None
    if args.policy not in BUILTIN_POLICIES:
        # Fail on a bad name before the (possibly slow) build; a module that calls sys.exit()
        # at import is a bad policy too, not the end of kmw run.
        try:
            import_callable(args.policy)
        except (PolicyError, KeyboardInterrupt):
            raise
        except BaseException as exc:
            raise PolicyError(
                f"importing policy {args.policy!r} raised {type(exc).__name__}: {exc}"
            ) from None
    num_envs = min(args.num_envs, args.trials)

    cached_file = cache_path(name.kind, name.task, args.benchmark_seed)
    if not cached_file.is_file():
        print(
            f"{PROG} run: building the {name} tasks with Meta-World (once: ML1 takes seconds, "
            f"ML10 about 20 s, ML45 about a minute); later runs load them from {cached_file}",
            file=stderr,
        )
    benchmark = make_benchmark(name, seed=args.benchmark_seed)
    factory = EnvFactory(benchmark, args.split, args.k, args.max_episode_length)
    probe = factory()
    action_space = probe.action_space
    probe.close()
    policy = load_policy(args.policy, action_space, seed=args.seed)

    described = str(name) if name.kind == "ML1" else name.kind
    kind = f"ML1 {name.task}" if name.kind == "ML1" else name.kind
    print(
        f"kmw run: {kind}, split {args.split}, policy {policy.name}, k={args.k}, "
        f"max_episode_length={args.max_episode_length}, {args.trials} trials, seed {args.seed}, "
        f"{num_envs} {'process' if num_envs == 1 else 'worker processes'}",
        file=stdout,
    )
    if policy.oracle:
        print(f"note: {ORACLE_NOTE}", file=stdout)
    stdout.flush()

    show = args.progress if args.progress is not None else stderr.isatty()
    expected = args.trials * args.k * args.max_episode_length
    progress = ProgressBar(args.trials, expected, stderr, show)
    venv = make_vector_env(factory, num_envs)
    try:
        stats = run_trials(
            venv, policy, trials=args.trials, k=args.k, seed=args.seed, progress=progress
        )
    except BaseException:
        # Ctrl-C (or any error) may land while workers are mid-step: a plain close() would
        # wait for that step forever. Kill the workers instead.
        progress.close()
        close_vector_env(venv, terminate=True)
        raise
    progress.close()
    close_vector_env(venv, terminate=False)

    table = stats.table(args.k)
    rate = stats.steps / stats.seconds if stats.seconds > 0 else math.inf
    print(format_table(table, args.k), file=stdout)
    print(f"{stats.steps} steps in {stats.seconds:.1f} s ({rate:.0f} steps/s)", file=stdout)

    if args.json is not None:
        try:
            write_json_atomic(
                args.json,
                {
                    "benchmark": described,
                    "benchmark_kind": name.kind,
                    "split": args.split,
                    "policy": policy.name,
                    "oracle": policy.oracle,
                    "k": args.k,
                    "max_episode_length": args.max_episode_length,
                    "trials": args.trials,
                    "seed": args.seed,
                    "benchmark_seed": args.benchmark_seed,
                    "num_envs": num_envs,
                    "tasks": {n: row for n, row in table.items() if n != "all"},
                    "all": table["all"],
                    "steps": stats.steps,
                    "seconds": stats.seconds,
                    "steps_per_second": rate,
                    "versions": {
                        "kmw": __version__,
                        "metaworld": metaworld_version(),
                        "python": platform.python_version(),
                    },
                },
            )
        except OSError as exc:
            raise UsageError(f"--json {args.json}: cannot write: {exc.strerror or exc}") from None
        print(f"wrote {args.json}", file=stdout)
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
