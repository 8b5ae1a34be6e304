"""Schedule classes: the situations that can expose a violation, each run as an explicit case.

Random exploration finds a bug only when it happens to draw the schedule that shows it. The
classes below make the schedules that matter certain: every property runs the classes listed for
its requirement (:data:`CLASSES_FOR`) as explicit cases first, on every profile and in the same
order, then its random examples. The report lists, per requirement, the classes in which it was
actually checked (``schedule_classes``).

Each class is a scripted benchmark in which **every task runs the same attempt script**, so the
schedule is exercised whatever task the candidate draws (its draws may be unseeded), and trial
plans whose first reset is seeded. Classes apply to the scripted backend only; on
``--kmw-backend=metaworld`` the schedule is Meta-World's own and only random examples run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from conformance.engine.plan import TrialPlan
from conformance.engine.scripted import AttemptScript, BenchmarkSpec, simple_spec

#: Actions of the explicit cases (multiples of 1/8, exact in float32).
ACTIONS = (np.array([0.5, -0.25, 1.0, 0.0], dtype=np.float32),
           np.array([-1.0, 0.125, -0.5, 0.75], dtype=np.float32))


@dataclass(frozen=True)
class ScheduleClass:
    """One situation: a benchmark whose tasks all run ``scripts``, and how it is driven."""

    name: str
    what: str
    scripts: tuple[AttemptScript, ...]
    k: int
    max_len: int
    limit: int = 500
    trials: int = 2
    split: str = "train"
    classes: int = 2
    tasks_per_class: int = 2
    ml1: bool = False
    scales: tuple[float, ...] = ()
    #: Set ``scales`` only on the classes of this split (``None``: on every class).
    scale_split: str | None = None
    #: Drive two candidates, each on its own copy of the benchmark, a call of one then a call
    #: of the other (as a vector of envs steps them); each is checked against its own model.
    paired: bool = False
    #: The second candidate's ``max_episode_length`` when it differs from the first's.
    second_max_len: int | None = None

    def spec(self, api: str) -> BenchmarkSpec:
        """The class's scripted benchmark for env API ``api``."""
        return simple_spec(n_train_classes=self.classes, n_test_classes=self.classes,
                           tasks_per_class=self.tasks_per_class, max_path_length=self.limit,
                           scripts=self.scripts, api=api, ml1=self.ml1)

    def plan(self, split: str | None = None) -> TrialPlan:
        """The trials to run: the first reset seeded, later ones alternately unseeded."""
        spec = self.spec("gymnasium")
        scaled = {"train": spec.train_classes, "test": spec.test_classes}.get(
            self.scale_split, spec.train_classes + spec.test_classes)
        names = sorted({c.name for c in scaled})
        scales = {n: self.scales[i % len(self.scales)] for i, n in enumerate(names)} \
            if self.scales else {}
        seeds = [7 + 1000 * i if i % 2 == 0 else None for i in range(self.trials)]
        return TrialPlan(split or self.split, self.k, self.max_len, seeds, list(ACTIONS), scales)


def _end(step: int, kind: str) -> tuple[AttemptScript, ...]:
    return (AttemptScript(end_at=step, end_kind=kind),)


_NONE = (AttemptScript(),)
#: Attempt scripts of the reward-scale classes: the env terminates attempt 1 on its step 1,
#: truncates attempt 2 on step 2, and lets attempt 3 run to L (10 steps: its rewards meet every
#: magnitude the scripted world has, 2**-7 to 8, so a clip or a cap on large rewards shows).
_SCALE_ENDS = (AttemptScript(frozenset({1}), 1, "terminated"),
               AttemptScript(frozenset(), 2, "truncated"), AttemptScript())
_SCALE_L = 10

#: Every schedule class, by name.
CLASSES: dict[str, ScheduleClass] = {c.name: c for c in (
    ScheduleClass("L-only", "no env end: attempts end at L on the first, middle and last attempt",
                  _NONE, k=3, max_len=3),
    ScheduleClass("env-terminated-mid", "the env terminates at step 2 of L=4 in every attempt",
                  _end(2, "terminated"), k=3, max_len=4, split="test"),
    ScheduleClass("env-truncated-mid", "the env truncates at step 2 of L=4 in every attempt",
                  _end(2, "truncated"), k=3, max_len=4),
    ScheduleClass("env-terminated-step-1", "the env terminates on step 1 of every attempt",
                  _end(1, "terminated"), k=3, max_len=3),
    ScheduleClass("env-truncated-step-1", "the env truncates on step 1 of every attempt",
                  _end(1, "truncated"), k=3, max_len=3, split="test"),
    ScheduleClass("env-terminated-at-L", "the env terminates exactly at step L",
                  _end(3, "terminated"), k=3, max_len=3),
    ScheduleClass("env-truncated-at-L", "the env truncates exactly at step L",
                  _end(3, "truncated"), k=3, max_len=3, split="test"),
    ScheduleClass("env-limit-equals-L", "L equals the env's own step limit (it truncates at L)",
                  _NONE, k=3, max_len=3, limit=3),
    ScheduleClass("env-ends-alternate", "the env ends odd attempts at step 2, L ends even ones",
                  (AttemptScript(frozenset({2}), 2, "terminated"), AttemptScript()),
                  k=4, max_len=3),
    ScheduleClass("success-first-and-last-step", "success on an attempt's first and last step",
                  (AttemptScript(frozenset({1, 4})),), k=3, max_len=4, split="test"),
    ScheduleClass("success-last-step-only", "success only on the step that ends the attempt",
                  (AttemptScript(frozenset({3})),), k=2, max_len=3),
    ScheduleClass("success-on-env-end", "success on the step where the env terminates",
                  (AttemptScript(frozenset({2}), 2, "terminated"),), k=2, max_len=4),
    ScheduleClass("success-alternate", "success in every other attempt only",
                  (AttemptScript(frozenset({1})), AttemptScript()), k=3, max_len=2, split="test"),
    ScheduleClass("k-1", "a single attempt (k=1)", (AttemptScript(frozenset({2})),),
                  k=1, max_len=3),
    ScheduleClass("k-1-env-end", "k=1, the env truncates before L", _end(2, "truncated"),
                  k=1, max_len=4, split="test"),
    ScheduleClass("k-1-env-end-step-1", "k=1, the env terminates on the trial's first step",
                  _end(1, "terminated"), k=1, max_len=3),
    ScheduleClass("L-1", "one-step attempts (L=1)", (AttemptScript(frozenset({1})),),
                  k=3, max_len=1),
    ScheduleClass("k-1-L-1", "one attempt of one step", _NONE, k=1, max_len=1, split="test"),
    ScheduleClass("large-k", "k=12 (keys from Episode 10 on, fixed-size buffers)",
                  (AttemptScript(frozenset({2})), AttemptScript(), AttemptScript(frozenset({1}))),
                  k=12, max_len=2, trials=1),
    ScheduleClass("large-L", "L=260, above 255 and below the env limit 500 (narrow counters)",
                  _NONE, k=2, max_len=260, trials=1, classes=1, tasks_per_class=1),
    ScheduleClass("large-L-one-attempt", "k=1, L=260: the one attempt must end, with the done "
                  "flag, at step 260", _NONE, k=1, max_len=260, trials=1, classes=1,
                  tasks_per_class=1),
    ScheduleClass("L-above-limit", "L=5 above the env's own limit of 3, 10 trials (so envs "
                  "built after the first are lifted too)", _NONE, k=1, max_len=5, limit=3,
                  trials=10),
    ScheduleClass("L-above-500", "L=510 above Meta-World's limit of 500", _NONE,
                  k=1, max_len=510, trials=1, classes=1, tasks_per_class=1),
    ScheduleClass("many-classes-many-tasks", "3 classes of 3 tasks per split, 5 trials",
                  (AttemptScript(frozenset({1}), 2, "truncated"), AttemptScript()),
                  k=2, max_len=2, trials=5, classes=3, tasks_per_class=3),
    ScheduleClass("ml1-shared-class", "ML1-style: one class shared by the splits, 4 tasks each",
                  _NONE, k=1, max_len=1, trials=6, classes=1, tasks_per_class=4, ml1=True),
    ScheduleClass("several-trials", "4 trials in a row, env ends in every other attempt",
                  (AttemptScript(frozenset({1}), 1, "terminated"), AttemptScript(frozenset({2}))),
                  k=2, max_len=2, trials=4),
    ScheduleClass("many-trials", "12 short trials in a row (objects reused every few trials)",
                  (AttemptScript(frozenset({1})), AttemptScript(frozenset(), 1, "truncated")),
                  k=1, max_len=2, trials=12, classes=1),
    ScheduleClass("long-session", "2 trials of k=2, L=260: over 1024 observations and infos "
                  "from one candidate (ring buffers)", _NONE, k=2, max_len=260, classes=1,
                  tasks_per_class=1),
    ScheduleClass("protocol-size", "k=10, L=500 on envs whose limit is 500: a 5000-step trial, "
                  "the size of a 10-attempt Meta-World protocol", _NONE, k=10, max_len=500,
                  trials=1, classes=1, tasks_per_class=1),
    ScheduleClass("many-attempts", "260 one-step attempts of one env (k=13, 20 trials): an env "
                  "reset hundreds of times in one candidate's life", (AttemptScript(frozenset({1})),
                  AttemptScript()), k=13, max_len=1, trials=20, classes=1, tasks_per_class=1),
    ScheduleClass("two-instances-lifted", "two candidates stepped in turn, L=5 and L=4, on "
                  "shared classes whose own limit (3) is below both: a limit set on the class by "
                  "one must not shorten the other's attempts", _NONE, k=2, max_len=5, limit=3,
                  classes=1, tasks_per_class=1, paired=True, second_max_len=4),
    ScheduleClass("two-instances", "two candidates stepped in turn, as a vector of envs steps "
                  "them, on two benchmark objects sharing their env classes (as Meta-World's "
                  "do): nothing of one may show in the other",
                  (AttemptScript(frozenset({2})), AttemptScript(frozenset(), 1, "terminated"),
                   AttemptScript()), k=3, max_len=3, paired=True),
    # One class per split, so every trial runs the scale under test whatever the candidate
    # draws (a scale on one class of several would run only if that class were drawn).
    # Attempts end by an env termination, an env truncation before L, and L, so the scale is
    # applied on every kind of step.
    *(ScheduleClass(f"reward-scale-{label}", f"every class has reward scale {scale:g}; "
                    "attempts end by the env (terminated, truncated) and by L=10 (rewards from "
                    "2**-7 to 8)", _SCALE_ENDS, k=3, max_len=_SCALE_L, classes=1,
                    tasks_per_class=1, scales=(scale,))
      for label, scale in (("2", 2.0), ("negative", -0.5), ("0", 0.0), ("10", 10.0))),
    ScheduleClass("reward-scale-elsewhere", "a scale on the other split's class only: the "
                  "trial's class has none (1.0)", _SCALE_ENDS, k=3, max_len=_SCALE_L, classes=1,
                  tasks_per_class=1, scales=(3.0,), scale_split="test"),
)}

#: The reward-scale classes: each scale Meta-World agents use (a factor, a penalty, zero,
#: a large one) on the trial's own class, and a scale set only on a class the trial does not run.
_SCALES = ["reward-scale-2", "reward-scale-negative", "reward-scale-0", "reward-scale-10",
           "reward-scale-elsewhere"]

_ENDS = ["env-terminated-mid", "env-truncated-mid", "env-terminated-step-1",
         "env-truncated-step-1", "env-terminated-at-L", "env-truncated-at-L",
         "env-limit-equals-L", "env-ends-alternate", "k-1-env-end", "k-1-env-end-step-1"]
_SUCCESS = ["success-first-and-last-step", "success-last-step-only", "success-on-env-end",
            "success-alternate"]
_SHAPES = ["L-only", "k-1", "L-1", "k-1-L-1", "large-k"]

#: For every requirement checked by running trials, the schedule classes that can expose a
#: violation of it (why, in one line each). ``two-instances`` is listed for every requirement
#: whose values state shared between candidates (a class attribute, a module-level cache) can
#: corrupt, so such a bug fails the requirement it breaks; ``protocol-size`` (5000 steps, the
#: costliest class) only for KMW-ATT-2, where a cap on the trial shows as an early done flag.
CLASSES_FOR: dict[str, list[str]] = {
    # types of every kind of step: inside an attempt, at a boundary, the final one
    "KMW-IFC-1": ["L-only", "env-terminated-mid", "env-truncated-step-1", "k-1-L-1"],
    # the name must follow the task across classes and trials
    "KMW-IFC-5": ["many-classes-many-tasks", "ml1-shared-class", "several-trials",
                  "two-instances"],
    # shape/dtype/bounds and values on reset, inside attempts, at boundaries and final steps
    "KMW-OBS-2": ["L-only", "env-terminated-mid", "k-1-L-1", "large-k"],
    "KMW-OBS-3": ["L-only", "env-terminated-mid", "env-truncated-step-1", "large-L",
                  "many-classes-many-tasks", "many-attempts", "two-instances"],
    # an array or dict reused later shows on a later call of any kind, of the trial or a later
    # one (every object a candidate returned is compared again at each reset and at the end);
    # rings of over a thousand buffers are tried for observations only (long-session costs
    # about 1000 checked steps)
    "KMW-OBS-4": ["L-only", "env-terminated-mid", "k-1-L-1", "several-trials", "many-trials",
                  "long-session", "two-instances"],
    "KMW-LOG-5": ["L-only", "env-terminated-mid", "k-1-L-1", "several-trials", "many-trials",
                  "two-instances"],
    # attempt ends: every way an attempt ends, at every position, and success never ending one
    "KMW-ATT-1": [*_ENDS, *_SUCCESS, "L-only", "large-L", "two-instances"],
    "KMW-ATT-2": [*_ENDS, *_SHAPES, "large-L-one-attempt", "two-instances", "protocol-size"],
    # (two-instances-lifted: L above the env's own limit, so the env truncates at L where the
    # candidate lifted the limit to L: its own cut, which must not end the trial early)
    "KMW-ATT-3": ["L-only", "k-1", "L-1", "large-k", "large-L-one-attempt", *_SUCCESS[:2],
                  "two-instances", "two-instances-lifted"],
    "KMW-SR-1": [*_ENDS, *_SHAPES, "two-instances"],
    "KMW-SR-2": [*_ENDS, "L-only", "L-1", "large-k", "two-instances"],
    "KMW-SR-3": [*_ENDS, *_SHAPES, "two-instances"],
    # an env used for hundreds of attempts (rebuilt after some number of resets)
    "KMW-SR-4": [*_ENDS, "L-only", "L-1", "large-k", "many-classes-many-tasks", "many-attempts",
                 "two-instances"],
    "KMW-EPL-1": ["L-only", "L-1", "large-k", "large-L", "env-limit-equals-L", "k-1",
                  "two-instances"],
    # an L above the env's limit (honoured or rejected), and one equal to it (never rejected)
    "KMW-EPL-2": ["L-above-limit", "L-above-500", "env-limit-equals-L", "two-instances-lifted"],
    # the step after the end: after an L end, an env end, and a one-step trial
    "KMW-ATT-5": ["L-only", "env-terminated-mid", "k-1-L-1"],
    "KMW-TSK-1": ["many-classes-many-tasks", "ml1-shared-class", "two-instances"],
    "KMW-LOG-1": [*_SUCCESS, *_ENDS, "large-k", "k-1", "L-1", "many-attempts", "two-instances"],
    "KMW-LOG-2": ["L-only", "env-terminated-mid", "env-truncated-step-1", "large-k",
                  *_SCALES, "several-trials", "two-instances"],
    "KMW-LOG-3": [*_SUCCESS, "large-k", "k-1", "L-1", "k-1-L-1", "env-terminated-mid",
                  "two-instances"],
    "KMW-LOG-4": ["several-trials", "large-k", "env-ends-alternate", "env-truncated-step-1",
                  "two-instances"],
    "KMW-REW-1": [*_SCALES, "many-classes-many-tasks"],
}

#: Requirements whose classes run on both splits (the split is what they are about).
BOTH_SPLITS = {"KMW-TSK-1", "KMW-IFC-5"}


@dataclass(frozen=True)
class MetaworldClass:
    """A situation run as an explicit case on ``--kmw-backend=metaworld`` (real Meta-World,
    whose schedule is its own: only the trial's shape and pairing are chosen)."""

    name: str
    what: str
    benchmark: str
    split: str
    k: int
    max_len: int
    paired: bool = False

    def plan(self) -> TrialPlan:
        return TrialPlan(self.split, self.k, self.max_len, [3], list(ACTIONS))


#: The real-Meta-World classes, by name.
METAWORLD_CLASSES: dict[str, MetaworldClass] = {c.name: c for c in (
    MetaworldClass("metaworld-protocol", "ML1 reach-v3, k=2, L=500: Meta-World's own step limit "
                   "is L, as in the papers' protocol (the env truncates every attempt at L)",
                   "reach-v3", "test", k=2, max_len=500),
    MetaworldClass("metaworld-two-instances", "two candidates on ML1 reach-v3 stepped in turn: "
                   "Meta-World's env classes are shared by every benchmark object",
                   "reach-v3", "train", k=2, max_len=3, paired=True),
)}

#: For requirements checked by running trials, the Meta-World classes run before the random
#: examples on the metaworld backend: the protocol's L=500 where attempt ends, flags and logs
#: are decided, and two instances wherever the scripted ``two-instances`` class is listed.
METAWORLD_CLASSES_FOR: dict[str, list[str]] = {
    rid: (["metaworld-protocol"] if rid in {"KMW-ATT-1", "KMW-ATT-2", "KMW-EPL-1", "KMW-SR-1",
                                            "KMW-SR-3", "KMW-LOG-1"} else [])
    + (["metaworld-two-instances"] if "two-instances" in names else [])
    for rid, names in CLASSES_FOR.items()
}


def cases_for(req_id: str, api: str) -> list[tuple[str, BenchmarkSpec, TrialPlan]]:
    """``(class name, benchmark spec, trial plan)`` for every class of ``req_id``, in order."""
    out = []
    for name in CLASSES_FOR.get(req_id, []):
        c = CLASSES[name]
        splits: Iterable[str] = ("train", "test") if req_id in BOTH_SPLITS else (c.split,)
        for split in splits:
            out.append((name, c.spec(api), c.plan(split)))
    return out


class Exercised:
    """The schedule classes in which each requirement was checked, in this process (read by
    the plugin after each test, for the report)."""

    def __init__(self) -> None:
        self._by_req: dict[str, list[str]] = {}

    def add(self, req_id: str, name: str) -> None:
        got = self._by_req.setdefault(req_id, [])
        if name not in got:
            got.append(name)

    def take(self, req_id: str) -> list[str]:
        """The classes recorded for ``req_id`` since the last ``take`` of it."""
        return self._by_req.pop(req_id, [])


#: The process-wide record the properties write and the plugin reads.
EXERCISED = Exercised()
