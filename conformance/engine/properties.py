"""The property runners the conformance suite is made of.

Each runner takes the suite's configuration (:class:`~conformance.front.config.SuiteConfig`)
and a target requirement ID, drives the candidate through
:class:`~conformance.engine.harness.Session` and raises :class:`ContractViolation` when the
target is broken. It runs, in order:

1. the **explicit cases**: the schedule classes of :mod:`conformance.engine.coverage` that can
   expose a violation of the target (scripted backend), the same on every profile;
2. the **random examples**: benchmarks and trial plans drawn by hypothesis, derandomized per
   requirement (every profile of the suite sets ``derandomize``).

Global ``random`` and ``numpy.random`` are seeded before every case and example (hypothesis
does so for its examples), and the first reset of every candidate is seeded, so a candidate's
unseeded draws cannot change the verdict. When no case or example could check the target the
runner raises :class:`NotChecked` with the reason (the pytest front shows a skip). The
runners' frames hide from tracebacks while a violation passes through, so a failure shows the
violation, not the suite's machinery; any other error shows where the suite raised it.
"""

from __future__ import annotations

import contextlib
import functools
import random
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from conformance.engine import coverage
from conformance.engine.checks import (
    METAWORLD_OBS_DIM,
    check_draws,
    same_outputs,
    single_task_view,
    step_after_end,
)
from conformance.engine.harness import (
    Blocked,
    CannotBuild,
    CheckTally,
    MidTrialPair,
    Recording,
    Rejected,
    Session,
    build_candidate,
)
from conformance.engine.plan import TrialPlan
from conformance.engine.scripted import (
    OBS_DIM,
    AttemptScript,
    BenchmarkSpec,
    ClassSpec,
    ScriptedBenchmark,
    TaskSpec,
    second_copy,
    simple_spec,
)
from conformance.engine.spy import SpyBenchmark
from conformance.engine.strategies import benchmark_specs, draw, draw_plan
from conformance.engine.violations import (
    ContractViolation,
    NotChecked,
    add_note,
    hide_frame,
    raised_by_candidate,
)

#: Real Meta-World benchmarks the ``metaworld`` backend draws from (built once per process).
METAWORLD_BENCHMARKS = ("reach-v3", "ml10")
#: Examples per property on the real Meta-World backend (it is ~1000x slower per step).
METAWORLD_MAX_EXAMPLES = 4
#: Runs of the attempt-interleavings state machine on the real Meta-World backend (each run is
#: up to 10 calls, so fewer than :data:`METAWORLD_MAX_EXAMPLES`).
METAWORLD_MACHINE_RUNS = 3


def random_examples(backend: str, profile: settings) -> int:
    """The random examples a property draws, after its schedule classes, on ``backend`` under
    the hypothesis settings ``profile``: its ``max_examples`` (real Meta-World caps them), or 0
    when its ``phases`` leave out ``Phase.generate`` (the explicit cases alone)."""
    if Phase.generate not in profile.phases:
        return 0
    n = profile.max_examples
    return min(n, METAWORLD_MAX_EXAMPLES) if backend == "metaworld" else n




_REAL_BENCHMARKS: dict[str, Any] = {}


def metaworld_benchmark(config: Any, name: str) -> Any:
    """The real Meta-World benchmark ``name``, made by ``config.real_benchmark(name)`` once per
    process (the pytest front hands in kmw's ``make_benchmark(name, seed=0)``)."""
    if name not in _REAL_BENCHMARKS:
        make = getattr(config, "real_benchmark", None)
        if make is None:
            raise ValueError("the metaworld backend needs config.real_benchmark, a function "
                             "from a benchmark name to a Meta-World benchmark")
        from conformance.engine.reproduction import remember

        _REAL_BENCHMARKS[name] = remember(make(name), name)
    return _REAL_BENCHMARKS[name]


@contextlib.contextmanager
def seeded_globals(seed: int = 0) -> Iterator[None]:
    """Seed ``random`` and ``numpy.random``'s global state for one case, then restore them."""
    py_state, np_state = random.getstate(), np.random.get_state()
    random.seed(seed)
    np.random.seed(seed)
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)


def draw_benchmark(data: st.DataObject, config: Any, *, benchmarks=METAWORLD_BENCHMARKS,
                   **spec_kwargs: Any) -> tuple[Any, list[str], int]:
    """A benchmark for the configured backend: ``(benchmark, class names, D)``."""
    if config.backend == "metaworld":
        name = draw(data, st.sampled_from(benchmarks), "metaworld benchmark")
        bench = metaworld_benchmark(config, name)
        names = sorted(set(bench.train_classes) | set(bench.test_classes))
        return bench, names, METAWORLD_OBS_DIM
    spec = draw(data, benchmark_specs(api=config.env_api, **spec_kwargs), "scripted benchmark")
    bench = ScriptedBenchmark(spec)
    return bench, sorted(set(bench.train_classes) | set(bench.test_classes)), OBS_DIM



def draw_single_task_benchmarks(data: st.DataObject, config: Any
                                ) -> tuple[Callable[[], Any], list[str], int]:
    """A maker of equal benchmarks whose splits each hold one task with one script, so that
    every candidate built on one runs the same task on the same data: ``(make, names, D)``."""
    if config.backend == "metaworld":
        from conformance.engine.reproduction import remember

        bench = remember(single_task_view(metaworld_benchmark(config, "reach-v3")), "reach-v3", True)
        return (lambda: bench), sorted(bench.train_classes), METAWORLD_OBS_DIM
    spec = draw(data, benchmark_specs(api=config.env_api, single_task=True), "scripted benchmark")
    names = sorted({c.name for c in spec.train_classes + spec.test_classes})
    return (lambda: ScriptedBenchmark(spec)), names, OBS_DIM


def check_reset_mid_trial(config: Any, target: str) -> None:
    """KMW-ATT-4: after a reset() in the middle of a trial the candidate behaves as a fresh one.

    Both resets are seeded (the same seed on both candidates), so their draws line up where the
    candidate honours seeds; findings about which task was drawn are not compared (see
    :class:`MidTrialPair`). Explicit cases cut a k=3, L=3 trial right after ``reset()``, inside
    the first, a middle and the last attempt, exactly at an attempt boundary, one step before
    the end, just after an env-ended attempt, and just after a success in an attempt that is
    abandoned.
    """
    __tracebackhide__ = hide_frame
    def run(make: Callable[[], Any], plan: TrialPlan, mid_seed: int, cut: int, dim: int,
            tally: CheckTally) -> bool:
        __tracebackhide__ = hide_frame
        try:
            rec = Recording(config.impl, getattr(config.keys, "name", None))
            pair = MidTrialPair(Session(config.candidate, make(), plan, config.keys, None, dim,
                                        recording=rec),
                                Session(config.candidate, make(), plan, config.keys, None, dim,
                                        recording=rec))
        except Rejected:
            return False
        except Blocked as blocked:  # cannot be built (KMW-IFC-6), a finding at construction
            tally.block(blocked)
            return False
        try:
            pair.interrupt(plan.seeds[0], cut, plan.action)
            pair.reset(mid_seed)
            tally.checked += 1
            n = 0
            while not pair.trial_over and n <= plan.k * plan.max_len:
                pair.step(plan.action(n))
                n += 1
        except Blocked as blocked:
            tally.block(blocked)
        return True

    def example(data: st.DataObject, tally: CheckTally) -> None:
        __tracebackhide__ = hide_frame
        make, names, dim = draw_single_task_benchmarks(data, config)
        kw = {"max_k": 2, "max_len": st.integers(1, 4)} if config.backend == "metaworld" else {}
        plan = draw_plan(data, names, n_trials=(1, 1), **kw)
        mid_seed = draw(data, st.integers(0, 2**16), "seed of the mid-trial reset")
        cut = draw(data, st.integers(0, plan.k * plan.max_len - 1), "steps before the mid-trial reset")
        run(make, plan, mid_seed, cut, dim, tally)

    def case(scripts: tuple[AttemptScript, ...], cut: int) -> Case:
        spec = simple_spec(n_train_classes=1, n_test_classes=1, tasks_per_class=1,
                           scripts=scripts, api=config.env_api)
        plan = TrialPlan("train", 3, 3, [11], list(coverage.ACTIONS))
        return lambda tally: run(lambda: ScriptedBenchmark(spec), plan, 12, cut, OBS_DIM, tally)

    plain, ended = (AttemptScript(),), (AttemptScript(frozenset({1}), 2, "terminated"),)
    cases = [(f"mid-trial-reset-after-{cut}-steps", case(plain, cut)) for cut in (0, 1, 3, 4, 7, 8)]
    cases.append(("mid-trial-reset-after-env-end", case(ended, 2)))
    # A success in the abandoned attempt (the second, step 1), none in the new trial's first
    # (the env's scripts cycle: no success, then success on step 1).
    cases.append(("mid-trial-reset-after-a-success",
                  case((AttemptScript(), AttemptScript(frozenset({1}))), 4)))
    _run(config, target, example, cases)


Case = Callable[[CheckTally], bool]
"""An explicit case: runs once, returns whether it checked the target."""


def _run(config: Any, target: str, example: Callable[[st.DataObject, CheckTally], None] | None,
         cases: list[tuple[str, Case]] = (), metaworld_cases: list[tuple[str, Case]] = ()
         ) -> None:
    """Run the explicit ``cases`` (``metaworld_cases`` on the metaworld backend), then
    ``example`` under hypothesis (if given) for ``target``; skip if the target was never
    checked."""
    __tracebackhide__ = hide_frame
    tally = CheckTally(target)
    for name, case in cases if config.backend == "scripted" else metaworld_cases:
        with seeded_globals():
            try:
                checked = case(tally)
            except ContractViolation as exc:
                add_note(exc, f"schedule class: {name} ({_class_doc(name)})")
                raise
        tally.examples += 1
        if checked:
            coverage.EXERCISED.add(target, name)
    if example is not None:
        _explore(config, target, example, tally)
    from conformance.engine.model import unkeyed_reason  # a key the scheme lacks is said as the cause

    reason = unkeyed_reason(config.keys, target, tally.not_checked_reason())
    if reason:
        raise NotChecked(reason)


def _explore(config: Any, target: str, example: Callable[[st.DataObject, CheckTally], None],
             tally: CheckTally) -> None:
    """``example`` under hypothesis, derandomized per requirement."""
    __tracebackhide__ = hide_frame
    def prop(data: st.DataObject) -> None:
        __tracebackhide__ = hide_frame
        tally.examples += 1
        example(data, tally)

    # Each requirement draws its own examples (derandomized profiles seed from this digest).
    prop._hypothesis_internal_add_digest = target.encode()  # type: ignore[attr-defined]
    current = settings()
    n = random_examples(config.backend, current)
    if n == 0:
        return  # a profile that draws nothing: the explicit cases alone (hypothesis would skip)
    capped = settings(current, max_examples=n)
    try:
        capped(given(data=st.data())(prop))()
    except ContractViolation as exc:
        # Hypothesis hands back the failing example's exception with a traceback it rebuilt,
        # in which the suite's frames do not always hide (pytest then points at a line of
        # ``prop``, as if the suite had raised). A violation is about the candidate, and its
        # message holds the trial and a reproduction: show it without the suite's frames.
        raise exc.with_traceback(None)  # noqa: B904 - the same exception, not a new one


def _class_doc(name: str) -> str:
    c = coverage.CLASSES.get(name) or coverage.METAWORLD_CLASSES.get(name)
    return c.what if c is not None else name


def _drive(config: Any, target: str, tally: CheckTally, bench: Any, plan: Any, obs_dim: int,
           after: Callable[[Session], None] | None = None, rejection_conforms: bool = False,
           paired: bool = False, second_len: int | None = None) -> bool:
    """Run ``plan``'s trials on a candidate built on ``bench``, then its last check
    (:meth:`Session.end`: nothing it returned was changed later); whether the target was checked.

    ``rejection_conforms``: the candidate rejecting its arguments (an L above an env's limit)
    is what the target allows (KMW-EPL-2), so it counts as a check that passed. ``paired``:
    a second candidate (with ``max_episode_length=second_len`` if given) runs the same trials,
    its seeds one higher, on a
    copy of the benchmark whose env classes are the first's, as Meta-World's benchmark copies
    share theirs (:func:`second_copy`: a scripted benchmark's tasks run their scripts rotated by
    one, so its attempts succeed and end where the first candidate's do not), a call of one
    candidate then a
    call of the other (see :func:`_run_in_turn`), each checked against its own model, and
    neither allowed to touch the env of the other's running trial."""
    __tracebackhide__ = hide_frame
    sessions: list[Session] = []
    try:
        sessions.append(Session(config.candidate, bench, plan, config.keys, target, obs_dim,
                                impl=config.impl))
        if paired:
            other = TrialPlan(plan.split, plan.k, second_len or plan.max_len,
                              [None if s is None else s + 1 for s in plan.seeds], plan.actions,
                              dict(plan.reward_scales))
            sessions.append(Session(config.candidate, second_copy(bench), other, config.keys,
                                    target, obs_dim, impl=config.impl,
                                    recording=sessions[0].recording,
                                    built_on="rotated" + (f":{second_len}" if second_len else ""),
                                    shares=sessions[0]))
    except Rejected:
        if rejection_conforms:
            tally.checked += 1
        return rejection_conforms
    except Blocked as blocked:  # cannot be built (KMW-IFC-6), a finding at construction
        tally.block(blocked)
        return False
    try:
        _run_in_turn(sessions)
        for session in sessions:
            session.end()
        if after is not None:
            after(sessions[0])
    except Blocked as blocked:
        tally.block(blocked)
    finally:
        checked = any(target in session.model.checked for session in sessions)
        if checked:
            tally.checked += 1
    return checked


def _run_in_turn(sessions: list[Session]) -> None:
    """Every session's trials (its plan's seeds), one call of each session in turn, as a
    vector of envs steps its envs; a session whose trial is over waits for the others (one
    session: its trials one after the other)."""
    __tracebackhide__ = hide_frame
    offsets = [0] * len(sessions)
    for trial in range(len(sessions[0].plan.seeds)):
        calls = [s.trial(s.plan.seeds[trial], offsets[i]) for i, s in enumerate(sessions)]
        steps = [0] * len(sessions)
        running = list(range(len(sessions)))
        while running:
            for i in list(running):
                n = next(calls[i], None)
                if n is None:
                    running.remove(i)
                else:
                    steps[i] = n
        offsets = [o + n for o, n in zip(offsets, steps)]


def _class_cases(config: Any, target: str, after: Callable[[Session], None] | None = None,
                 rejection_conforms: bool = False) -> list[tuple[str, Case]]:
    """The schedule classes of ``target`` as explicit cases of :func:`_drive`."""
    def case(name: str, spec: BenchmarkSpec, plan: TrialPlan) -> Case:
        c = coverage.CLASSES[name]
        return functools.partial(_drive, config, target, bench=ScriptedBenchmark(spec), plan=plan,
                                 obs_dim=OBS_DIM, after=after,
                                 rejection_conforms=rejection_conforms, paired=c.paired,
                                 second_len=c.second_max_len)

    return [(name, case(name, spec, plan))
            for name, spec, plan in coverage.cases_for(target, config.env_api)]


def _metaworld_class_cases(config: Any, target: str) -> list[tuple[str, Case]]:
    """The real-Meta-World classes of ``target`` as explicit cases of :func:`_drive`."""
    def case(c: coverage.MetaworldClass) -> Case:
        return lambda tally: _drive(config, target, tally, metaworld_benchmark(config, c.benchmark),
                                    c.plan(), METAWORLD_OBS_DIM, paired=c.paired)

    return [(name, case(coverage.METAWORLD_CLASSES[name]))
            for name in coverage.METAWORLD_CLASSES_FOR.get(target, [])]


def check_trials(config: Any, target: str, *, spec_kwargs: dict | None = None,
                 plan_kwargs: dict | None = None) -> None:
    """The model-based property: run drawn trials and compare every call with the model."""
    __tracebackhide__ = hide_frame
    spec_kwargs = spec_kwargs or {}
    plan_kwargs = plan_kwargs or {}

    def example(data: st.DataObject, tally: CheckTally) -> None:
        __tracebackhide__ = hide_frame
        bench, names, dim = draw_benchmark(data, config, **spec_kwargs)
        kw = dict(plan_kwargs)
        if config.backend == "metaworld":
            kw.setdefault("max_k", 2)
            kw.setdefault("max_len", st.integers(1, 5))
        plan = draw_plan(data, names, **kw)
        _drive(config, target, tally, bench, plan, dim)

    _run(config, target, example, _class_cases(config, target),
         _metaworld_class_cases(config, target))


def check_long_attempts(config: Any, target: str) -> None:
    """KMW-EPL-2: max_episode_length above the env's own limit runs that long or is rejected."""
    __tracebackhide__ = hide_frame
    def example(data: st.DataObject, tally: CheckTally) -> None:
        __tracebackhide__ = hide_frame
        if config.backend == "metaworld":
            bench, names, dim = draw_benchmark(data, config, benchmarks=("reach-v3",))
            limit = min(c.max_path_length for c in bench.train_classes.values())
            plan = draw_plan(data, names, max_k=1, max_len=st.just(limit + 3), n_trials=(1, 1))
        else:
            bench, names, dim = draw_benchmark(data, config, env_ends=False, min_limit=2,
                                               big_limits=False)
            split = draw(data, st.sampled_from(["train", "test"]), "split")
            classes = bench.train_classes if split == "train" else bench.test_classes
            limit = min(c.max_path_length for c in classes.values())
            plan = draw_plan(data, names, max_len=st.integers(limit + 1, limit + 6), split=split)
        _drive(config, target, tally, bench, plan, dim, rejection_conforms=True)

    _run(config, target, example, _class_cases(config, target, rejection_conforms=True))


def check_constructed(config: Any, target: str, check: Callable[[Any, Any, int], None]) -> None:
    """Build a candidate on a benchmark and run ``check(candidate, env, D)`` on it, where
    ``env`` is an instance of one of the split's classes built for comparison. Explicit cases:
    both splits of KMW-IFC-6's three benchmarks with k=1 and k=3; then drawn benchmarks."""
    __tracebackhide__ = hide_frame
    def run(bench: Any, split: str, k: int, dim: int, tally: CheckTally) -> bool:
        __tracebackhide__ = hide_frame
        classes = bench.train_classes if split == "train" else bench.test_classes
        # an L no class's own step limit is below, so no candidate may reject it (KMW-EPL-2)
        length = min([5] + [c.max_path_length for c in classes.values()
                            if isinstance(getattr(c, "max_path_length", None), int)])
        try:
            session = Session(config.candidate, bench, TrialPlan(split, k, length, [], []),
                              config.keys, target, dim, impl=config.impl)
        except (Blocked, Rejected) as blocked:  # cannot be built: KMW-IFC-6's finding
            if isinstance(blocked, Blocked):
                tally.block(blocked)
            return False
        env = next(iter(classes.values()))()
        tally.checked += 1
        check(session.candidate, env, dim)
        return True

    def example(data: st.DataObject, tally: CheckTally) -> None:
        __tracebackhide__ = hide_frame
        bench, names, dim = draw_benchmark(data, config)
        split = draw(data, st.sampled_from(["train", "test"]), "split")
        k = draw(data, st.integers(1, 3), "k_episodes")
        run(bench, split, k, dim, tally)

    def case(spec: BenchmarkSpec, split: str, k: int) -> Case:
        return lambda tally: run(ScriptedBenchmark(spec), split, k, OBS_DIM, tally)

    cases = [(f"{name}-{split}-k{k}", case(spec, split, k))
             for name, spec in _construction_specs(config.env_api).items()
             for split in ("train", "test") for k in (1, 3)]
    _run(config, target, example, cases)


def _construction_specs(api: str) -> dict[str, BenchmarkSpec]:
    """The benchmarks candidates are built on in explicit cases of construction (KMW-IFC-2,
    OBS-1, IFC-6): several classes, ML1's class shared by the splits, 3 classes of 3 tasks."""
    return {"several-classes": simple_spec(2, 2, api=api),
            "ml1-shared-class": simple_spec(1, 1, tasks_per_class=3, api=api, ml1=True),
            "classes-3x3-tasks": simple_spec(3, 3, tasks_per_class=3, api=api)}


def check_builds(config: Any, target: str) -> None:
    """KMW-IFC-6: the candidate builds with every valid argument (both splits; k from 1 to 12;
    L from 1 to the env's own limit; an L above it may be rejected, KMW-EPL-2) and returns an
    env with ``reset`` and ``step``. Explicit cases on three benchmarks (several classes, ML1's
    shared class, 3 classes of 3 tasks), then random examples (scripted backend); ML1 and
    ML10 on real Meta-World."""
    __tracebackhide__ = hide_frame
    def run(bench: Any, plan: TrialPlan, dim: int, tally: CheckTally) -> bool:
        __tracebackhide__ = hide_frame
        try:
            Session(config.candidate, bench, plan, config.keys, target, dim, impl=config.impl)
        except Rejected:
            pass  # an L above the env's own limit, as KMW-EPL-2 allows
        except Blocked as blocked:  # another requirement's finding at construction
            tally.block(blocked)
            return False
        tally.checked += 1
        return True

    def example(data: st.DataObject, tally: CheckTally) -> None:
        __tracebackhide__ = hide_frame
        bench, names, dim = draw_benchmark(data, config)
        split = draw(data, st.sampled_from(["train", "test"]), "split")
        classes = bench.train_classes if split == "train" else bench.test_classes
        limit = min(c.max_path_length for c in classes.values())
        k = draw(data, st.integers(1, 12), "k_episodes")
        length = draw(data, st.one_of(st.integers(1, limit), st.just(limit)), "max_episode_length")
        run(bench, TrialPlan(split, k, length, [], []), dim, tally)

    shapes = ((1, 1), (3, 4), (12, 2), (2, 260), (10, 500), (1, 501))
    specs = _construction_specs(config.env_api)

    def case(spec: BenchmarkSpec, split: str, k: int, length: int) -> Case:
        plan = TrialPlan(split, k, length, [], [])
        return lambda tally: run(ScriptedBenchmark(spec), plan, OBS_DIM, tally)

    cases = [(f"{name}-{split}-k{k}-L{length}", case(spec, split, k, length))
             for name, spec in specs.items() for split in ("train", "test")
             for k, length in shapes]

    def metaworld_case(name: str, split: str, k: int, length: int) -> Case:
        plan = TrialPlan(split, k, length, [], [])
        return lambda tally: run(metaworld_benchmark(config, name), plan, METAWORLD_OBS_DIM, tally)

    on_metaworld = [(f"{name}-{split}-k{k}-L{length}", metaworld_case(name, split, k, length))
                    for name in METAWORLD_BENCHMARKS for split in ("train", "test")
                    for k, length in ((1, 1), (10, 500))]
    _run(config, target, example, cases, on_metaworld)



def check_every_class_drawn(config: Any, target: str) -> None:
    """KMW-TSK-2: over many resets every class of the split runs, and every class with more
    than one task runs more than one of them (:func:`resets_needed` resets, the first seeded)."""
    __tracebackhide__ = hide_frame
    def run(bench: Any, plan: TrialPlan, seed: int, dim: int, tally: CheckTally) -> bool:
        __tracebackhide__ = hide_frame
        try:
            session = Session(config.candidate, bench, plan, config.keys, target, dim,
                              impl=config.impl)
            check_draws(session, seed, tally)
        except Rejected:
            return False
        except Blocked as blocked:
            tally.block(blocked)
            return False
        return True

    def example(data: st.DataObject, tally: CheckTally) -> None:
        __tracebackhide__ = hide_frame
        many = draw(data, st.sampled_from((False,) * 4 + (True,)), "many classes")
        bench, names, dim = draw_benchmark(data, config, min_train_classes=2,
                                           max_train_classes=13 if many else 3)
        plan = draw_plan(data, names, max_k=2, n_trials=(1, 1), scales=False,
                         max_len=st.integers(1, 3))
        seed = draw(data, st.integers(0, 2**16), "first reset seed")
        run(bench, plan, seed, dim, tally)

    def case(spec: BenchmarkSpec, split: str) -> Case:
        plan = TrialPlan(split, 1, 1, [None], list(coverage.ACTIONS))
        return lambda tally: run(ScriptedBenchmark(spec), plan, 5, OBS_DIM, tally)

    cases = []
    for name, spec in _tsk2_specs(config.env_api).items():
        cases += [(f"{name}-{split}", case(spec, split)) for split in ("train", "test")]

    def metaworld_case(name: str, split: str) -> Case:
        plan = TrialPlan(split, 1, 1, [None], [np.zeros(4, dtype=np.float32)])
        return lambda tally: run(metaworld_benchmark(config, name), plan, 5, METAWORLD_OBS_DIM, tally)

    # Real Meta-World: ML1's 50 tasks of one class and ML10's test split (5 classes of 50), no
    # random examples (ML10's train split needs 262 resets, minutes for a wrapper that builds
    # an env per trial).
    on_metaworld = [("reach-v3-train", metaworld_case("reach-v3", "train")),
                    ("ml10-test", metaworld_case("ml10", "test"))]
    _run(config, target, example if config.backend == "scripted" else None, cases, on_metaworld)


def _tsk2_specs(api: str) -> dict[str, BenchmarkSpec]:
    """KMW-TSK-2's explicit benchmarks: even classes, uneven classes, ML1-style."""
    uneven_counts = (1, 2, 5)
    classes = tuple(ClassSpec(n, 500) for n in ("reach-v3", "push-v3", "pick-place-v3"))
    uid = iter(range(1, 100))
    uneven = BenchmarkSpec(
        classes, classes,
        tuple(TaskSpec(c.name, next(uid), "train") for c, n in zip(classes, uneven_counts)
              for _ in range(n)),
        tuple(TaskSpec(c.name, next(uid), "test") for c, n in zip(classes, uneven_counts)
              for _ in range(n)), api)
    return {
        "classes-3x3-tasks": simple_spec(3, 3, tasks_per_class=3, api=api),
        "classes-12-of-2-tasks": simple_spec(12, 1, tasks_per_class=2, api=api),
        "classes-of-1-2-5-tasks": uneven,
        "ml1-5-tasks": simple_spec(1, 1, tasks_per_class=5, api=api, ml1=True),
    }



def check_seeded_reproducible(config: Any, target: str) -> None:
    """KMW-TSK-3: a candidate that ran other trials before ``reset(seed=s)`` does what a fresh
    candidate does after ``reset(seed=s)``, call for call (same task, outputs equal).

    Every task runs a single script and scripted observations do not depend on the env's
    history, so both candidates' envs behave alike whatever the candidates did before. The
    history's trials are complete: a reset in the middle of a trial is KMW-ATT-4's business.
    """
    __tracebackhide__ = hide_frame
    def run(make: Callable[[], Any], plan: TrialPlan, history: list[int | None], seed: int,
            dim: int, tally: CheckTally) -> bool:
        __tracebackhide__ = hide_frame
        try:
            rec = Recording(config.impl, getattr(config.keys, "name", None))
            fresh = Session(config.candidate, make(), plan, config.keys, target, dim,
                            recording=rec)
            used = Session(config.candidate, make(), plan, config.keys, target, dim,
                           recording=rec)
        except Rejected:
            return False
        except Blocked as blocked:  # cannot be built (KMW-IFC-6), a finding at construction
            tally.block(blocked)
            return False
        try:
            offset = 0
            for s in history:
                offset += used.run_trial(s, action_offset=offset)
            used.trace.append(f"-- the history ends; both candidates now reset(seed={seed})")
            ra, rb = fresh.reset(seed), used.reset(seed)
            tally.checked += 1
            same_outputs(fresh, used, ra, rb, f"reset(seed={seed})")
            n = 0
            while not fresh.model.trial_over and n <= plan.k * plan.max_len:
                action = plan.action(n)
                ra, rb = fresh.step(action), used.step(action)
                same_outputs(fresh, used, ra, rb, f"step {n + 1} after reset(seed={seed})")
                n += 1
        except Blocked as blocked:
            tally.block(blocked)
        return True

    def example(data: st.DataObject, tally: CheckTally) -> None:
        __tracebackhide__ = hide_frame
        if config.backend == "metaworld":
            bench, names, dim = draw_benchmark(data, config)
            make: Callable[[], Any] = lambda: bench  # noqa: E731 - the classes are shared
            plan = draw_plan(data, names, max_k=2, max_len=st.integers(1, 3), scales=False)
        else:
            spec = draw(data, benchmark_specs(api=config.env_api, min_train_classes=2,
                                              min_tasks_per_class=2, max_scripts=1),
                        "scripted benchmark")
            make, dim = (lambda: ScriptedBenchmark(spec)), OBS_DIM
            plan = draw_plan(data, sorted({c.name for c in spec.train_classes + spec.test_classes}),
                             max_len=st.integers(1, 4), scales=False, n_trials=(1, 3))
        seed = draw(data, st.integers(0, 2**16), "seed of the compared reset")
        run(make, plan, plan.seeds, seed, dim, tally)

    def case(history: list[int | None], seed: int, k: int, length: int, ml1: bool = False
             ) -> Case:
        spec = simple_spec(2 if not ml1 else 1, 2, tasks_per_class=3 if not ml1 else 5,
                           api=config.env_api, ml1=ml1)
        plan = TrialPlan("train", k, length, history, list(coverage.ACTIONS))
        return lambda tally: run(lambda: ScriptedBenchmark(spec), plan, history, seed, OBS_DIM,
                                 tally)

    cases = [
        ("history-other-seeds", case([5, 9], 11, 2, 3)),
        ("history-unseeded", case([None, None], 11, 2, 2)),
        ("history-same-seed-first", case([11, None], 11, 1, 2)),
        ("history-long", case([3, None, 8, None, 1], 11, 1, 1)),
        ("history-ml1", case([None, 4], 4, 1, 2, ml1=True)),
    ]
    _run(config, target, example, cases)



def check_step_after_end(config: Any, target: str) -> None:
    """KMW-ATT-5: step() after the trial's end raises, without stepping the underlying env."""
    __tracebackhide__ = hide_frame
    after = functools.partial(step_after_end, target=target)

    def example(data: st.DataObject, tally: CheckTally) -> None:
        __tracebackhide__ = hide_frame
        bench, names, dim = draw_benchmark(data, config)
        plan = draw_plan(data, names, max_k=2, max_len=st.integers(1, 3), n_trials=(1, 1))
        _drive(config, target, tally, bench, plan, dim, after=after)

    _run(config, target, example, _class_cases(config, target, after))


def check_bad_arguments(config: Any, target: str, kwargs: dict[str, Any], argument: str,
                        want_value_error: bool) -> None:
    """KMW-IFC-3/4: bad constructor arguments raise (a ValueError naming the argument)."""
    __tracebackhide__ = hide_frame
    if config.backend == "metaworld":
        bench = metaworld_benchmark(config, "reach-v3")
    else:
        from conformance.engine.scripted import simple_spec

        bench = ScriptedBenchmark(simple_spec(api=config.env_api))
    args = {"split": "train", "k_episodes": 2, "max_episode_length": 5}
    try:
        build_candidate(config.candidate, SpyBenchmark(bench), TrialPlan("train", 2, 5, [], []))
    except CannotBuild as exc:
        raise NotChecked(f"not checked: valid arguments raise too (KMW-IFC-6): {exc.call} "
                         f"{exc.error}") from exc
    args.update(kwargs)
    try:
        config.candidate(SpyBenchmark(bench), args["split"], args["k_episodes"],
                         max_episode_length=args["max_episode_length"])
    except BaseException as exc:
        if not raised_by_candidate(exc):
            raise
        if want_value_error and not (isinstance(exc, ValueError) and argument in str(exc)):
            raise ContractViolation(
                target, f"bad {argument} raised, but not a ValueError naming {argument!r}",
                expected=f"ValueError mentioning {argument!r}",
                got=f"{type(exc).__name__}: {exc}", where=f"construction with {kwargs}") from exc
        return
    if want_value_error:
        raise NotChecked(f"not checked: bad {argument} was accepted (a KMW-IFC-3 failure)")
    raise ContractViolation(target, f"bad {argument} accepted at construction",
                            expected="an error at construction", got="a constructed candidate",
                            where=f"construction with {kwargs}")
