"""The property runners the conformance suite is made of.

Each runner takes the suite's :class:`~conformance.config.SuiteConfig` and a target requirement
ID, draws benchmarks and trial plans with hypothesis, drives the candidate through
:class:`~conformance.harness.Session` and raises :class:`ContractViolation` when the target is
broken. When no example could check the target it skips with a "not checked" reason.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.harness import Blocked, CheckTally, MidTrialPair, Rejected, Session
from conformance.scripted import OBS_DIM, ScriptedBenchmark
from conformance.spy import SpyBenchmark
from conformance.strategies import benchmark_specs, draw, draw_plan
from conformance.violations import ContractViolation

#: Real Meta-World benchmarks the ``metaworld`` backend draws from (built once per process).
METAWORLD_BENCHMARKS = ("reach-v3", "ml10")
#: Examples per property on the real Meta-World backend (it is ~1000x slower per step).
METAWORLD_MAX_EXAMPLES = 4
METAWORLD_OBS_DIM = 39


@functools.cache
def metaworld_benchmark(name: str) -> Any:
    """The real Meta-World benchmark ``name`` with seed 0, built (or loaded from kmw's task
    cache) once per process."""
    from kmw.benchmarks import make_benchmark

    return make_benchmark(name, seed=0)


def _settings() -> Callable[[Callable], Callable]:
    current = settings()
    if _backend == "metaworld":
        return settings(current, max_examples=min(current.max_examples, METAWORLD_MAX_EXAMPLES))
    return settings(current)


_backend = "scripted"


def draw_benchmark(data: st.DataObject, config: Any, *, benchmarks=METAWORLD_BENCHMARKS,
                   **spec_kwargs: Any) -> tuple[Any, list[str], int]:
    """A benchmark for the configured backend: ``(benchmark, class names, D)``."""
    if config.backend == "metaworld":
        name = draw(data, st.sampled_from(benchmarks), "metaworld benchmark")
        bench = metaworld_benchmark(name)
        names = sorted(set(bench.train_classes) | set(bench.test_classes))
        return bench, names, METAWORLD_OBS_DIM
    spec = draw(data, benchmark_specs(api=config.env_api, **spec_kwargs), "scripted benchmark")
    bench = ScriptedBenchmark(spec)
    return bench, sorted(set(bench.train_classes) | set(bench.test_classes)), OBS_DIM


def single_task_view(benchmark: Any) -> Any:
    """``benchmark`` cut down to one class and one task per split (same class objects)."""
    from collections import OrderedDict
    from types import SimpleNamespace

    def first(classes: Any, tasks: list[Any]) -> tuple[OrderedDict, list[Any]]:
        name, cls = next(iter(classes.items()))
        return OrderedDict([(name, cls)]), [next(t for t in tasks if t.env_name == name)]

    train_classes, train_tasks = first(benchmark.train_classes, benchmark.train_tasks)
    test_classes, test_tasks = first(benchmark.test_classes, benchmark.test_tasks)
    return SimpleNamespace(train_classes=train_classes, test_classes=test_classes,
                           train_tasks=train_tasks, test_tasks=test_tasks)


def draw_single_task_benchmarks(data: st.DataObject, config: Any
                                ) -> tuple[Callable[[], Any], list[str], int]:
    """A maker of equal benchmarks whose splits each hold one task with one script, so that
    every candidate built on one runs the same task on the same data: ``(make, names, D)``."""
    if config.backend == "metaworld":
        bench = single_task_view(metaworld_benchmark("reach-v3"))
        return (lambda: bench), sorted(bench.train_classes), METAWORLD_OBS_DIM
    spec = draw(data, benchmark_specs(api=config.env_api, single_task=True), "scripted benchmark")
    names = sorted({c.name for c in spec.train_classes + spec.test_classes})
    return (lambda: ScriptedBenchmark(spec)), names, OBS_DIM


def check_reset_mid_trial(config: Any, target: str = "KMW-ATT-4") -> None:
    """KMW-ATT-4: after a reset() in the middle of a trial the candidate behaves as a fresh one."""
    def example(data: st.DataObject, tally: CheckTally) -> None:
        make, names, dim = draw_single_task_benchmarks(data, config)
        kw = {"max_k": 2, "max_len": st.integers(1, 4)} if config.backend == "metaworld" else {}
        plan = draw_plan(data, names, n_trials=(2, 2), **kw)
        cut = draw(data, st.integers(0, plan.k * plan.max_len - 1), "steps before the mid-trial reset")
        try:
            pair = MidTrialPair(Session(config.candidate, make(), plan, config.keys, None, dim),
                                Session(config.candidate, make(), plan, config.keys, None, dim))
        except Rejected:
            return
        try:
            pair.interrupt(plan.seeds[0], cut, plan.action)
            pair.reset(plan.seeds[1])
            tally.checked += 1
            n = 0
            while not pair.trial_over and n <= plan.k * plan.max_len:
                pair.step(plan.action(n))
                n += 1
        except Blocked as blocked:
            tally.block(blocked)

    _run(config, target, example)


def _run(config: Any, target: str, example: Callable[[st.DataObject, CheckTally], None]) -> None:
    """Run ``example`` under hypothesis for ``target``; skip if the target was never checked."""
    global _backend
    _backend = config.backend
    tally = CheckTally(target)

    @_settings()
    @given(data=st.data())
    def prop(data: st.DataObject) -> None:
        tally.examples += 1
        example(data, tally)

    prop()
    reason = tally.not_checked_reason()
    if reason:
        pytest.skip(reason)


def _drive(config: Any, target: str, tally: CheckTally, bench: Any, plan: Any, obs_dim: int,
           after: Callable[[Session], None] | None = None) -> None:
    try:
        session = Session(config.candidate, bench, plan, config.keys, target, obs_dim)
    except Rejected:
        return
    try:
        offset = 0
        for seed in plan.seeds:
            offset += session.run_trial(seed, action_offset=offset)
        if after is not None:
            after(session)
    except Blocked as blocked:
        tally.block(blocked)
    finally:
        if target in session.model.checked:
            tally.checked += 1


def check_trials(config: Any, target: str, *, spec_kwargs: dict | None = None,
                 plan_kwargs: dict | None = None) -> None:
    """The model-based property: run drawn trials and compare every call with the model."""
    spec_kwargs = spec_kwargs or {}
    plan_kwargs = plan_kwargs or {}

    def example(data: st.DataObject, tally: CheckTally) -> None:
        bench, names, dim = draw_benchmark(data, config, **spec_kwargs)
        kw = dict(plan_kwargs)
        if config.backend == "metaworld":
            kw.setdefault("max_k", 2)
            kw.setdefault("max_len", st.integers(1, 5))
        plan = draw_plan(data, names, **kw)
        _drive(config, target, tally, bench, plan, dim)

    _run(config, target, example)


def check_long_attempts(config: Any, target: str = "KMW-EPL-2") -> None:
    """KMW-EPL-2: max_episode_length above the env's own limit runs that long or is rejected."""
    def example(data: st.DataObject, tally: CheckTally) -> None:
        if config.backend == "metaworld":
            bench, names, dim = draw_benchmark(data, config, benchmarks=("reach-v3",))
            limit = min(c.max_path_length for c in bench.train_classes.values())
            plan = draw_plan(data, names, max_k=1, max_len=st.just(limit + 3), n_trials=(1, 1))
        else:
            bench, names, dim = draw_benchmark(data, config, env_ends=False, min_limit=2)
            limit = min(c.max_path_length for c in bench.train_classes.values())
            plan = draw_plan(data, names, max_len=st.integers(limit + 1, limit + 6))
        _drive(config, target, tally, bench, plan, dim)

    _run(config, target, example)


def check_constructed(config: Any, target: str, check: Callable[[Any, Any, int], None]) -> None:
    """Build a candidate on a drawn benchmark and run ``check(candidate, env, D)`` on it, where
    ``env`` is an instance of one of the split's classes built for comparison."""
    def example(data: st.DataObject, tally: CheckTally) -> None:
        bench, names, dim = draw_benchmark(data, config)
        split = draw(data, st.sampled_from(["train", "test"]), "split")
        k = draw(data, st.integers(1, 3), "k_episodes")
        classes = bench.train_classes if split == "train" else bench.test_classes
        # an L no class's own step limit is below, so no candidate may reject it (KMW-EPL-2)
        length = min([5] + [c.max_path_length for c in classes.values()
                            if isinstance(getattr(c, "max_path_length", None), int)])
        candidate = config.candidate(SpyBenchmark(bench), split, k, max_episode_length=length)
        env = next(iter(classes.values()))()
        tally.checked += 1
        check(candidate, env, dim)

    _run(config, target, example)


def check_every_class_drawn(config: Any, target: str = "KMW-TSK-2") -> None:
    """KMW-TSK-2: over many resets every class of the split is set, and more than one task."""
    def example(data: st.DataObject, tally: CheckTally) -> None:
        bench, names, dim = draw_benchmark(data, config, min_train_classes=2)
        plan = draw_plan(data, names, max_k=2, n_trials=(1, 1), scales=False,
                         max_len=st.integers(1, 3))
        seed = draw(data, st.integers(0, 2**16), "first reset seed")
        try:
            session = Session(config.candidate, bench, plan, config.keys, target, dim)
        except Rejected:
            return
        classes = session.spy.train_classes if plan.split == "train" else session.spy.test_classes
        tasks = session.split_tasks
        n_resets = 12 * len(classes) + 8
        drawn_classes: set[str] = set()
        drawn_tasks: set[int] = set()
        try:
            for i in range(n_resets):
                session.reset(seed if i == 0 else None)
                for e in session.log.events:
                    if e.kind == "set_task":
                        drawn_classes.add(e.env_name)
                        drawn_tasks.add(id(e.task))
        except Blocked as blocked:
            tally.block(blocked)
            return
        tally.checked += 1
        missing = sorted(set(classes) - drawn_classes)
        if missing:
            session._fail(f"classes of the {plan.split} split never drawn in {n_resets} resets",
                          expected=sorted(classes), got=sorted(drawn_classes))
        if len(tasks) > 1 and len(drawn_tasks) < 2:
            session._fail(f"the same task was set on every one of {n_resets} resets",
                          expected=f"tasks drawn afresh among {len(tasks)}",
                          got="one task")

    _run(config, target, example)


def _comparable(result: Any) -> Any:
    """A candidate's output as plain data for equality."""
    if isinstance(result, np.ndarray):
        return ("array", result.dtype.str, result.tobytes())
    if isinstance(result, tuple):
        return tuple(_comparable(x) for x in result)
    if isinstance(result, dict):
        return tuple(sorted((str(k), _comparable(v)) for k, v in result.items()))
    if isinstance(result, (float, np.floating)):
        return float(result)
    if isinstance(result, (bool, np.bool_)):
        return bool(result)
    return result


def _task_identity(task: Any) -> Any:
    data = getattr(task, "data", None)
    return (getattr(task, "env_name", None), data if isinstance(data, bytes) else repr(task))


def check_seeded_reproducible(config: Any, target: str = "KMW-TSK-3") -> None:
    """KMW-TSK-3: two candidates on equal benchmarks, same seeds and actions, same trials."""
    def example(data: st.DataObject, tally: CheckTally) -> None:
        if config.backend == "metaworld":
            bench_a, names, dim = draw_benchmark(data, config)
            bench_b = bench_a
            plan = draw_plan(data, names, max_k=2, max_len=st.integers(1, 3), scales=False)
        else:
            spec = draw(data, benchmark_specs(api=config.env_api, min_train_classes=2,
                                              min_tasks_per_class=2), "scripted benchmark")
            bench_a, bench_b, dim = ScriptedBenchmark(spec), ScriptedBenchmark(spec), OBS_DIM
            plan = draw_plan(data, sorted(bench_a.train_classes), max_len=st.integers(1, 4),
                             scales=False, n_trials=(2, 3))
        plan.seeds = [s if s is not None else i for i, s in enumerate(plan.seeds)]
        try:
            a = Session(config.candidate, bench_a, plan, config.keys, target, dim)
            b = Session(config.candidate, bench_b, plan, config.keys, target, dim)
        except Rejected:
            return
        try:
            offset = 0
            for seed in plan.seeds:
                ra, rb = a.reset(seed), b.reset(seed)
                tally.checked += 1 if offset == 0 else 0
                _same(a, b, ra, rb, f"reset(seed={seed})")
                n = 0
                while not a.model.trial_over and n <= plan.k * plan.max_len:
                    action = plan.action(offset + n)
                    ra, rb = a.step(action), b.step(action)
                    _same(a, b, ra, rb, f"step {n + 1} after reset(seed={seed})")
                    n += 1
                offset += n
        except Blocked as blocked:
            tally.block(blocked)

    _run(config, target, example)


def _same(a: Session, b: Session, ra: Any, rb: Any, when: str) -> None:
    ta, tb = _task_identity(a.model.task), _task_identity(b.model.task)
    if ta != tb:
        a._fail(f"same seed, different task at {when}", expected=f"task {a.model.task_name}",
                got=f"task {b.model.task_name} on the second candidate")
    if _comparable(ra) != _comparable(rb):
        a._fail(f"same seed and actions, different output at {when}", expected=repr(ra)[:300],
                got=repr(rb)[:300])


def check_step_after_end(config: Any, target: str = "KMW-ATT-5") -> None:
    """KMW-ATT-5: step() after the trial's end raises, without stepping the underlying env."""
    def after(session: Session) -> None:
        if not session.model.trial_over:
            return
        session.model.checked.add(target)
        try:
            session.candidate.step(session.plan.action(0))
        except Exception as exc:  # the contract asks for an error
            stepped = [e for e in session.log.take() if e.kind in ("step", "error")]
            if stepped:
                session._fail("step() after the trial ended stepped the underlying env before "
                              "raising", expected="an error before any env step",
                              got=f"{type(exc).__name__}: {exc} after an env step")
            return
        session._fail("step() after the trial ended was accepted silently",
                      expected="an error telling the caller to reset()", got="a normal return")

    def example(data: st.DataObject, tally: CheckTally) -> None:
        bench, names, dim = draw_benchmark(data, config)
        plan = draw_plan(data, names, max_k=2, max_len=st.integers(1, 3), n_trials=(1, 1))
        _drive(config, target, tally, bench, plan, dim, after=after)

    _run(config, target, example)


def check_bad_arguments(config: Any, target: str, kwargs: dict[str, Any], argument: str,
                        want_value_error: bool) -> None:
    """KMW-IFC-3/4: bad constructor arguments raise (a ValueError naming the argument)."""
    if config.backend == "metaworld":
        bench = metaworld_benchmark("reach-v3")
    else:
        from conformance.scripted import simple_spec

        bench = ScriptedBenchmark(simple_spec(api=config.env_api))
    args = {"split": "train", "k_episodes": 2, "max_episode_length": 5}
    args.update(kwargs)
    try:
        config.candidate(SpyBenchmark(bench), args["split"], args["k_episodes"],
                         max_episode_length=args["max_episode_length"])
    except Exception as exc:
        if want_value_error and not (isinstance(exc, ValueError) and argument in str(exc)):
            raise ContractViolation(
                target, f"bad {argument} raised, but not a ValueError naming {argument!r}",
                expected=f"ValueError mentioning {argument!r}",
                got=f"{type(exc).__name__}: {exc}", where=f"construction with {kwargs}") from exc
        return
    if want_value_error:
        pytest.skip(f"not checked: bad {argument} was accepted (a KMW-IFC-3 failure)")
    raise ContractViolation(target, f"bad {argument} accepted at construction",
                            expected="an error at construction", got="a constructed candidate",
                            where=f"construction with {kwargs}")
