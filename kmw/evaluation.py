"""Evaluate a policy or a batched, stateful meta-RL agent on k-attempt trials: ``kmw.evaluate``.

``evaluate(agent, "ml10", split="test", k_episodes=3, trials=50, num_envs=2)`` runs ``trials``
trials of :class:`kmw.KEpisodeMetaworld` on ``num_envs`` envs and returns
:class:`kmw.results.Results`: every trial's per-attempt success and return, and per class,
pooled and as a mean over classes the success rate per attempt, the mean return per attempt and
the adaptation gain (attempt k minus attempt 1), with 95% intervals. ``per_class=N`` instead of
``trials`` runs exactly N trials of every class of the split (:mod:`kmw.schedule`). ``kmw run``
(:mod:`kmw.cli`) is a thin front on it. See docs/cli.md.

The work is split by job: :mod:`kmw.agents` (who acts), :mod:`kmw.vector` (the envs, in this
process or in workers), :mod:`kmw.schedule` (which task a trial runs), :mod:`kmw.rollout` (the
loop), :mod:`kmw.progress` (the bar), :mod:`kmw.intervals` and :mod:`kmw.bootstrap` (the
statistics), :mod:`kmw.results` (the figures and the JSON), :mod:`kmw.table` and
:mod:`kmw.plotting` (what is shown). This module puts them together.

Two kinds of agent (``agent`` may also be ``"random"``, ``"expert"`` or a dotted path to either):

* a **per-observation policy**: a callable ``policy(obs) -> action``, called once per env per
  step with one observation of shape ``(40,)``;
* a **batched agent**, Meta-World 3's ``metaworld.evaluation.Agent``: an object with
  ``eval_action(observations) -> actions`` and ``reset(env_mask)``, and optionally
  ``observe(actions, rewards, dones)``. What it is called with, and when:

  1. ``reset(np.ones(num_envs, bool))`` once, before the first ``eval_action``;
  2. ``eval_action(obs)`` once per vector step with all envs' observations, float32 of shape
     ``(num_envs, 40)`` (the last entry of each row is the soft-reset flag: 1.0 on the first
     observation of every attempt); it returns actions of shape ``(num_envs, 4)``, or a pair
     ``(actions, aux)`` with ``aux`` a dict (the shape of Meta-World's ``adapt_action``; ``aux``
     is ignored);
  3. after the step, ``observe(actions, rewards, dones)`` if the agent has it: the actions just
     taken (float32 ``(num_envs, 4)``, after the cast to the action space's dtype), the rewards
     they earned (float64 ``(num_envs,)``) and ``dones`` (bool ``(num_envs,)``): True only on the
     step that ends an env's *trial* (its k-th attempt). An attempt boundary inside a trial is
     *not* a done: it shows as flag 1.0 in the next observation, and the agent's memory must be
     kept across it (that is what adapts);
  4. then, if any env's trial ended, ``reset(dones)``: the mask of the envs whose next
     observation, passed to the next ``eval_action``, is the first of a new trial (a new task).

  So for one env the agent sees ``reset`` -> ``eval_action(o_0)`` -> ``observe(a_0, r_0,
  False)`` -> ``eval_action(o_1)`` ... -> ``observe(a_T, r_T, True)`` -> ``reset`` ->
  ``eval_action(first observation of the next trial)``; the reward and done of a trial's last
  step reach ``observe`` before the reset, never the next trial's first ``eval_action``. This
  is the shape of Meta-World 3's ``metaworld.evaluation.evaluation()`` loop with a kmw trial
  in the place of its episode; docs/cli.md lists every difference (Meta-World ends an episode
  at success, calls ``reset`` on every step, has no ``observe``, ...).

  The envs auto-reset in gymnasium's ``SAME_STEP`` way: the step that ends env i's trial
  already returns the next trial's first observation for env i, so no step is wasted on a
  reset and every env's trial start is known from its own done flag.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from kmw._validation import check_positive_int, check_run_seed, check_split
from kmw.agents import Agent, BatchedDriver, PerObservationDriver, resolve_agent
from kmw.intervals import newcombe_paired_interval, t_quantile_975, wilson_interval
from kmw.plotting import PLOT_INSTALL_HINT, PLOT_SUFFIXES, require_matplotlib
from kmw.policies import BUILTIN_POLICIES, check_policy_object, import_object
from kmw.progress import Progress
from kmw.results import ClassMeanStats, GroupStats, Results
from kmw.rollout import TrialResult, run_trials
from kmw.schedule import split_schedule, stratified_schedule, tasks_per_class
from kmw.vector import EnvFactory, close_vector_env, make_envs, make_vector_env

__all__ = [
    "PLOT_INSTALL_HINT",
    "PLOT_SUFFIXES",
    "Agent",
    "BatchedDriver",
    "ClassMeanStats",
    "EnvFactory",
    "Evaluation",
    "GroupStats",
    "PerObservationDriver",
    "Results",
    "TrialResult",
    "close_vector_env",
    "evaluate",
    "make_vector_env",
    "newcombe_paired_interval",
    "require_matplotlib",
    "run_trials",
    "t_quantile_975",
    "wilson_interval",
]

#: Trials when neither ``trials`` nor ``per_class`` is given.
DEFAULT_TRIALS = 6


def contract_version() -> int | None:
    """The version of the contract (conformance/SPEC.md) the reference wrapper implements."""
    try:
        from conformance.engine.spec import contract_version as spec_version

        return spec_version()
    except Exception:  # a broken install: say nothing rather than fail the run
        return None


class Evaluation:
    """A prepared run: benchmark built, agent resolved, schedule drawn, not yet stepped.

    :func:`evaluate` is ``Evaluation(...).run()``; ``kmw run`` prepares first so that it can
    print what it is about to run (``agent_name``, ``oracle``, ``num_envs``, ``trials``) before
    stepping. Arguments as :func:`evaluate`'s.
    """

    def __init__(
        self,
        agent: Any,
        benchmark: str = "reach-v3",
        *,
        split: str = "test",
        k_episodes: int = 3,
        trials: int | None = None,
        per_class: int | None = None,
        num_envs: int = 1,
        seed: int | None = 0,
        max_episode_length: int = 500,
        benchmark_seed: int | None = 0,
    ) -> None:
        from kmw.benchmarks import make_benchmark, resolve_benchmark_name

        self.split = check_split(split)
        self.k = check_positive_int("k_episodes", k_episodes)
        if trials is not None and per_class is not None:
            raise ValueError(
                f"give trials or per_class, not both (got trials={trials!r}, per_class={per_class!r})"
            )
        self.per_class = None if per_class is None else check_positive_int("per_class", per_class)
        requested = check_positive_int("trials", DEFAULT_TRIALS if trials is None else trials)
        wanted_envs = check_positive_int("num_envs", num_envs)
        self.max_episode_length = check_positive_int("max_episode_length", max_episode_length)
        self.seed = check_run_seed(seed, "seed")
        self.benchmark_seed = check_run_seed(benchmark_seed, "benchmark_seed")
        if isinstance(agent, str) and agent not in BUILTIN_POLICIES:
            check_policy_object(import_object(agent), f"policy {agent!r}")  # before the build
        self.name = resolve_benchmark_name(benchmark)
        bench = make_benchmark(self.name, seed=self.benchmark_seed)
        counts = tasks_per_class(bench, self.split)
        #: The split's classes, in the benchmark's order.
        self.classes = list(counts)
        self.schedule = (
            stratified_schedule(counts, self.per_class, self.seed) if self.per_class is not None else None
        )
        self.trials = len(self.schedule) if self.schedule is not None else requested
        self.num_envs = min(wanted_envs, self.trials)
        probe = EnvFactory(bench, self.split, self.k, self.max_episode_length, goals=False)()
        self.action_space = probe.action_space
        probe.close()
        self.driver = resolve_agent(agent, self.action_space, seed=self.seed)
        shares = (
            split_schedule(self.schedule, self.num_envs)
            if self.schedule is not None
            else [()] * self.num_envs
        )
        self.factories = [
            EnvFactory(
                bench, self.split, self.k, self.max_episode_length, tasks=share, goals=self.driver.oracle
            )
            for share in shares
        ]

    @property
    def agent_name(self) -> str:
        return self.driver.name

    @property
    def oracle(self) -> bool:
        return self.driver.oracle

    def settings(self) -> dict[str, Any]:
        return {
            "benchmark": str(self.name),
            "benchmark_kind": self.name.kind,
            "split": self.split,
            "classes": self.classes,
            "policy": self.driver.name,
            "agent_kind": "batched" if self.driver.batched else "per-observation",
            "oracle": self.driver.oracle,
            "k": self.k,
            "max_episode_length": self.max_episode_length,
            "trials": self.trials,
            "per_class": self.per_class,
            "seed": self.seed,
            "benchmark_seed": self.benchmark_seed,
            "num_envs": self.num_envs,
            "contract_version": contract_version(),
        }

    def run(self, progress: bool = False, stream: TextIO | None = None) -> Results:
        """Step the trials (a tqdm bar on ``stream``, default stderr, if ``progress``)."""
        bar = Progress(
            self.trials,
            self.trials * self.k * self.max_episode_length,
            stream if stream is not None else sys.stderr,
            progress,
        )
        envs = make_envs(self.factories)
        try:
            trials, steps, seconds = run_trials(
                envs, self.driver, trials=self.trials, k=self.k, seed=self.seed, progress=bar,
                scheduled=self.schedule is not None,
            )  # fmt: skip
        except BaseException:
            # Ctrl-C (or any error) may land while workers are mid-step: a plain close() would
            # wait for that step forever. Kill the workers instead.
            bar.close()
            envs.close(terminate=True)
            raise
        bar.close()
        envs.close(terminate=False)
        return Results(self.k, trials, steps, seconds, self.settings())


def evaluate(
    agent: Any,
    benchmark: str = "reach-v3",
    *,
    split: str = "test",
    k_episodes: int = 3,
    trials: int | None = None,
    per_class: int | None = None,
    num_envs: int = 1,
    seed: int | None = 0,
    max_episode_length: int = 500,
    benchmark_seed: int | None = 0,
    progress: bool = False,
) -> Results:
    """Run k-attempt trials of ``benchmark``'s ``split`` with ``agent``; see the module
    docstring for what ``agent`` may be and how a batched agent is called.

    How many trials, and of which tasks: ``trials`` (default 6) trials whose tasks the wrapper
    draws at random (a class uniformly, then one of its tasks), counted as they finish; or
    ``per_class=N``: exactly N trials of every class of the split, each class's tasks without
    replacement, interleaved in rounds, drawn from ``seed`` (:mod:`kmw.schedule`). Not both.

    ``num_envs`` envs step together (1: in this process; more: gymnasium ``AsyncVectorEnv``
    worker processes; capped at the number of trials); env i is seeded with ``seed + i``.
    ``seed`` and ``benchmark_seed`` are ``None`` or integers in ``[0, 2**31 - 1)`` (``kmw
    run``'s rule). ``benchmark`` is ``"ml10"``, ``"ml25"``, ``"ml45"`` or an ML1 task name,
    built with ``benchmark_seed`` through kmw's task cache. Raises
    ``kmw.policies.PolicyError`` for an unusable agent or action and ``ValueError`` for a bad
    argument.
    """
    return Evaluation(
        agent,
        benchmark,
        split=split,
        k_episodes=k_episodes,
        trials=trials,
        per_class=per_class,
        num_envs=num_envs,
        seed=seed,
        max_episode_length=max_episode_length,
        benchmark_seed=benchmark_seed,
    ).run(progress=progress)
