"""``kmw.evaluate`` and batched agents (kmw/evaluation.py and the modules it puts together): the
calling sequence a recurrent agent sees, per-env trial starts (also when one env's trials end
early), Meta-World's ``Agent`` protocol, pooled and class-mean figures, the JSON, the plot."""

from __future__ import annotations

import json
import sys
from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import pytest

import kmw
from kmw import KEpisodeMetaworld, episode_return_key, episode_success_key
from kmw.benchmarks import make_benchmark
from kmw.cli import main
from kmw.evaluation import (
    BatchedDriver,
    EnvFactory,
    close_vector_env,
    make_vector_env,
    run_trials,
)
from kmw.policies import PolicyError, RandomPolicy
from kmw.results import Results, results_from_dict
from kmw.rollout import TrialResult

MOD = __name__
L = 8  # steps per attempt: short, the runs are about the calling sequence, not about success


# -- a recurrent agent ------------------------------------------------------------------------


def schedule(attempt: int) -> np.ndarray:
    """The memory agent's action in attempt ``attempt`` (0-based) of its trial."""
    return np.array([0.5 * attempt, -0.3 * attempt, 0.0, 0.0])


class MemoryAgent:
    """Acts from memory: the attempt index it counts itself (flags seen since its last reset).

    If kmw resets it anywhere but at a trial start, or misses one, its attempt index is wrong,
    and so are its actions and the per-attempt returns. It also checks what it is shown:
    the first observation after a reset is an attempt start (flag 1.0), flags come every
    ``length`` steps, ``dones`` only after ``k * length`` steps of the trial; and it sums the
    rewards ``observe`` hands it into per-attempt returns (``self.finished``).
    """

    def __init__(self, k: int, length: int, honour_reset: bool = True) -> None:
        self.k, self.length, self.honour_reset = k, length, honour_reset
        self.n = 0
        self.resets: list[np.ndarray] = []
        self.finished: list[list[float]] = []

    def reset(self, env_mask: np.ndarray) -> None:
        assert env_mask.dtype == np.bool_ and env_mask.any()
        if self.n == 0:
            self.n = len(env_mask)
            self.step = np.zeros(self.n, dtype=int)
            self.attempt = np.full(self.n, -1)
            self.returns = [[0.0] * self.k for _ in range(self.n)]
            self.fresh = np.ones(self.n, dtype=bool)
        self.resets.append(env_mask.copy())
        if self.honour_reset:
            self.step[env_mask], self.attempt[env_mask] = 0, -1
            self.fresh |= env_mask
            for i in np.flatnonzero(env_mask):
                self.returns[i] = [0.0] * self.k

    def eval_action(self, observations: np.ndarray) -> np.ndarray:
        assert observations.shape == (self.n, 40)
        flags = observations[:, -1]
        if self.honour_reset:
            assert (flags[self.fresh] == 1.0).all(), "a trial must start with an attempt start"
            assert ((flags == 1.0) == (self.step % self.length == 0)).all(), (flags, self.step)
        self.fresh[:] = False
        self.attempt += flags == 1.0
        return np.stack([schedule(min(int(a), self.k - 1)) for a in self.attempt])

    def observe(self, actions: np.ndarray, rewards: np.ndarray, dones: np.ndarray) -> None:
        assert actions.shape == (self.n, 4) and rewards.shape == dones.shape == (self.n,)
        for i in range(self.n):
            self.returns[i][min(int(self.attempt[i]), self.k - 1)] += float(rewards[i])
        self.step += 1
        if self.honour_reset:
            assert (dones == (self.step == self.k * self.length)).all(), (dones, self.step)
        for i in np.flatnonzero(dones):
            self.finished.append(list(self.returns[i]))


def direct_trials(k: int, length: int, seed: int, trials: int, act=schedule):
    """(task, successes, returns) of ``trials`` trials run on the wrapper itself with the
    attempt schedule ``act``, reset with ``seed`` once and unseeded afterwards."""
    env = KEpisodeMetaworld(make_benchmark("reach-v3"), "test", k, length)
    out = []
    for t in range(trials):
        obs, _ = env.reset(seed=seed if t == 0 else None)
        attempt, succ, ret, done = -1, {}, {}, False
        while not done:
            attempt += obs[-1] == 1.0
            obs, _, term, trunc, info = env.step(act(attempt))
            for j in range(k):
                if episode_success_key(j) in info:
                    succ[j], ret[j] = info[episode_success_key(j)], info[episode_return_key(j)]
            done = term or trunc
        out.append((env.task_name, [succ[j] for j in range(k)], [ret[j] for j in range(k)]))
    env.close()
    return out


@pytest.mark.parametrize("num_envs", [1, 2])
def test_recurrent_agent_gets_the_expected_per_attempt_figures(num_envs):
    k, trials, seed = 3, 4, 5
    agent = MemoryAgent(k, L)
    res = kmw.evaluate(
        agent, "reach-v3", k_episodes=k, trials=trials, num_envs=num_envs, seed=seed,
        max_episode_length=L,
    )  # fmt: skip
    per_env = [direct_trials(k, L, seed + i, trials // num_envs) for i in range(num_envs)]
    expected = [per_env[i][t] for t in range(trials // num_envs) for i in range(num_envs)]
    got = [(t.task, t.successes, t.returns) for t in res.trials]
    assert [g[0] for g in got] == [e[0] for e in expected]
    np.testing.assert_allclose([g[2] for g in got], [e[2] for e in expected], rtol=1e-9)
    # the returns differ by attempt, so a wrong attempt index would show
    assert len({round(r, 6) for r in expected[0][2]}) == k
    # what observe() handed the agent adds up to the logged returns, trial by trial
    np.testing.assert_allclose(agent.finished[:trials], [g[2] for g in got], rtol=1e-6)
    pooled = res.pooled
    np.testing.assert_allclose(pooled.mean_return, np.mean([e[2] for e in expected], axis=0))
    assert res.to_dict()["agent_kind"] == "batched" and res.steps == trials * k * L
    # one reset for all envs at the start, then one per vector step where trials ended
    assert len(agent.resets) == trials // num_envs and agent.resets[0].all()


def test_an_agent_that_forgets_the_trial_boundary_gets_other_figures():
    """The check above has teeth: the same agent ignoring reset() counts attempts on from the
    previous trial, acts as in a late attempt from the second trial's first step, and its
    figures differ (its own boundary checks are off, or they would fail first)."""
    k, trials = 2, 2
    res = kmw.evaluate(
        MemoryAgent(k, L, honour_reset=False), "reach-v3", k_episodes=k, trials=trials, seed=5,
        max_episode_length=L,
    )  # fmt: skip
    expected = direct_trials(k, L, 5, trials)
    assert res.trials[0].returns == pytest.approx(expected[0][2], rel=1e-9)
    assert res.trials[1].returns != pytest.approx(expected[1][2], rel=1e-3)


class RecordingAgent:
    """Zero actions; records (steps taken so far, mask) for every reset call."""

    def __init__(self) -> None:
        self.t = 0
        self.resets: list[tuple[int, list[bool]]] = []
        self.dones: list[tuple[int, list[bool]]] = []
        self.flags: dict[int, list[float]] = {}

    def reset(self, env_mask):
        self.resets.append((self.t, env_mask.tolist()))

    def eval_action(self, observations):
        self.flags[self.t] = observations[:, -1].tolist()
        return np.zeros((len(observations), 4)), {"aux": None}  # adapt_action's shape

    def observe(self, actions, rewards, dones):
        self.t += 1
        if dones.any():
            self.dones.append((self.t, dones.tolist()))


def _five_trials(factories: list, processes: bool) -> tuple:
    """A recording agent run over 5 trials (k = 2) of ``factories``' envs, in worker processes
    or in this one: ``(agent, trials, steps)``."""
    if processes:
        venv = make_vector_env(factories)
        assert isinstance(venv, gym.vector.AsyncVectorEnv)
    else:
        venv = gym.vector.SyncVectorEnv(factories, autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    agent = RecordingAgent()
    try:
        trials, steps, _ = run_trials(
            venv, BatchedDriver(agent, "rec", venv.single_action_space), trials=5, k=2, seed=3
        )
    finally:
        close_vector_env(venv, terminate=False)
    return agent, trials, steps


@pytest.mark.parametrize("processes", [False, True])
def test_reset_is_called_exactly_at_each_envs_trial_starts(processes):
    """Two envs out of phase (attempts of 5 and 7 steps, k = 2: trials of 10 and 14 steps):
    env 0 starts trials at steps 0, 10, 20, env 1 at 0, 14, 28; the fifth trial ends at 30."""
    bench = make_benchmark("reach-v3")
    agent, trials, steps = _five_trials(
        [EnvFactory(bench, "test", 2, 5), EnvFactory(bench, "test", 2, 7)], processes
    )
    assert agent.resets == [
        (0, [True, True]), (10, [True, False]), (14, [False, True]), (20, [True, False]),
        (28, [False, True]),
    ]  # fmt: skip
    assert agent.dones == [(10, [True, False]), (14, [False, True]), (20, [True, False]),
                           (28, [False, True]), (30, [True, False])]  # fmt: skip
    assert steps == 2 * 30

    def env_trials(length, seed, n):
        env = KEpisodeMetaworld(bench, "test", 2, length)
        out = []
        for t in range(n):
            env.reset(seed=seed if t == 0 else None)
            done, info = False, {}
            while not done:
                _, _, term, trunc, info = env.step(np.zeros(4))
                done = term or trunc
            out.append((env.task_name, info[episode_return_key(1)]))
        return out

    e0, e1 = env_trials(5, 3, 3), env_trials(7, 4, 2)
    expected = [e0[0], e1[0], e0[1], e1[1], e0[2]]  # the order the trials finish in
    assert [(t.task, t.returns[1]) for t in trials] == [(n, pytest.approx(r)) for n, r in expected]


class EarlyEndingReach(type(make_benchmark("reach-v3").test_classes["reach-v3"]())):
    """Meta-World's reach env that terminates every episode on its 3rd step (as an env that
    ends episodes itself does): its kmw trials end before k * L steps."""

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        return obs, reward, terminated or self.curr_path_length >= 3, truncated, info


def early_ending_benchmark():
    bench = make_benchmark("reach-v3")
    classes = {"reach-v3": EarlyEndingReach}
    return SimpleNamespace(train_classes=classes, test_classes=classes, train_tasks=bench.train_tasks,
                           test_tasks=bench.test_tasks)  # fmt: skip


def test_terminating_close_after_a_read_cut_by_ctrl_c_kills_the_workers_and_does_not_raise():
    """Ctrl-C can interrupt the main process inside a worker pipe's read, leaving the pipe
    mid-message: gymnasium's close then reads the pending step from it and raises (EOFError
    "Ran out of input"), and ``kmw run`` exited 1 with that traceback instead of 130. Closing
    after an interrupt must end every worker and raise nothing, and the venv is closed (its
    ``__del__`` does not try again)."""
    bench = make_benchmark("reach-v3")
    venv = make_vector_env([EnvFactory(bench, "test", 2, 5), EnvFactory(bench, "test", 2, 5)])
    assert isinstance(venv, gym.vector.AsyncVectorEnv)
    processes = list(venv.processes)
    venv.reset(seed=0)
    venv.step_async(np.zeros((2, *venv.single_action_space.shape), dtype=np.float32))

    def cut_read(timeout=None):
        raise EOFError("Ran out of input")

    venv.step_wait = cut_read  # what the pending step's read finds in a pipe left mid-message
    close_vector_env(venv, terminate=True)
    assert venv.closed
    assert not any(p.is_alive() for p in processes)


@pytest.mark.parametrize("processes", [False, True])
def test_reset_mask_when_one_envs_trials_end_early(processes):
    """On real Meta-World every trial lasts k * L steps, so with 2 envs the masks are all True.
    Here env 0's env terminates each attempt after 3 steps (trials of 6 steps, k = 2) and env 1
    runs its attempts to L = 5 (trials of 10): env 0 starts trials at 0, 6, 12, 18, env 1 at 0,
    10, 20; reset(env_mask) must come exactly then, for that env only."""
    agent, trials, steps = _five_trials(
        [EnvFactory(early_ending_benchmark(), "test", 2, 5),
         EnvFactory(make_benchmark("reach-v3"), "test", 2, 5)], processes
    )
    assert agent.resets == [(0, [True, True]), (6, [True, False]), (10, [False, True]), (12, [True, False]),
                            (18, [True, False])]  # fmt: skip
    assert agent.dones == [(6, [True, False]), (10, [False, True]), (12, [True, False]), (18, [True, False]),
                           (20, [False, True])]  # fmt: skip
    assert steps == 2 * 20 and len(trials) == 5
    assert agent.flags[0] == [1.0, 1.0]  # every trial's first observation is an attempt start
    for t, flags in agent.flags.items():
        if t in (6, 12, 18):
            assert flags[0] == 1.0
        if t in (10, 20):
            assert flags[1] == 1.0


# -- Meta-World's Agent protocol, unchanged ----------------------------------------------------


from metaworld.evaluation import Agent as MetaworldAgent  # noqa: E402


class MWZeroAgent(MetaworldAgent):
    """An agent written against ``metaworld.evaluation.Agent``: nothing kmw-specific."""

    def __init__(self) -> None:
        self.resets = 0

    def eval_action(self, observations):
        return np.zeros((observations.shape[0], 4), dtype=np.float64)

    def reset(self, env_mask):
        self.resets += int(np.sum(env_mask))


MW_AGENT = MWZeroAgent()


def zero_policy(obs):
    return np.zeros(4)


def test_a_metaworld_agent_runs_unchanged_under_evaluate_and_kmw_run(tmp_path, capsys):
    common = dict(k_episodes=2, trials=2, max_episode_length=L, seed=1)
    agent = MWZeroAgent()
    res = kmw.evaluate(agent, "reach-v3", **common)
    ref = kmw.evaluate(zero_policy, "reach-v3", **common)
    assert [t.returns for t in res.trials] == [t.returns for t in ref.trials]
    assert agent.resets == 2  # the start, then the second trial's start
    assert res.settings["agent_kind"] == "batched" and ref.settings["agent_kind"] == "per-observation"
    args = ["run", "reach-v3", "--k", "2", "--trials", "2", "--max-episode-length", str(L)]
    args += ["--seed", "1", "--no-progress"]
    for spec in (f"{MOD}.MW_AGENT", f"{MOD}:MWZeroAgent"):  # an instance, or a class
        out = tmp_path / "r.json"
        assert main([*args, "--policy", spec, "--json", str(out)]) == 0
        report = json.loads(out.read_text())
        assert report["agent_kind"] == "batched"
        assert report["all"]["mean_return"] == pytest.approx(ref.pooled.mean_return, rel=1e-12)
    assert "(batched agent)" in capsys.readouterr().out


class NoReset:
    def eval_action(self, observations):
        return np.zeros((len(observations), 4))


class NeedsArgs(MWZeroAgent):
    def __init__(self, size):
        super().__init__()


class WrongShape(MWZeroAgent):
    def eval_action(self, observations):
        return np.zeros(4)


class FailingReset(MWZeroAgent):
    def reset(self, env_mask):
        raise RuntimeError("no memory")


@pytest.mark.parametrize(
    ("agent", "message"),
    [
        (NoReset(), "has eval_action() but no callable reset(env_mask)"),
        (NeedsArgs, "instantiating it with no arguments raised TypeError"),
        (WrongShape(), "actions of shape (4,) from eval_action, expected shape (1, 4)"),
        (FailingReset(), "raised RuntimeError in reset(): no memory"),
        (42, "is a int, expected a callable policy(obs) -> action or an agent"),
    ],
)
def test_a_wrong_agent_gets_one_clear_error(agent, message):
    with pytest.raises(PolicyError) as err:
        kmw.evaluate(agent, "reach-v3", k_episodes=1, trials=1, max_episode_length=3)
    assert message in str(err.value)


def test_kmw_run_names_what_a_wrong_agent_lacks(tmp_path, capsys):
    argv = ["run", "--policy", f"{MOD}.NoReset", "--trials", "1", "--json", str(tmp_path / "o.json")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "no callable reset(env_mask)" in err and "metaworld.evaluation.Agent" in err
    assert list(tmp_path.iterdir()) == []


def test_results_table_and_json_carry_intervals_and_trial_counts(tmp_path, capsys):
    out = tmp_path / "r.json"
    argv = ["run", "--policy", "random", "--trials", "3", "--k", "2", "--max-episode-length", "5"]
    assert main([*argv, "--no-progress", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "95% Wilson interval" in text and "gain@2-1" in text and "Newcombe" in text
    assert "± " in text and "rest on its 'trials' trials" in text and "'pooled' pools all 3 trials" in text
    report = json.loads(out.read_text())
    assert report["format_version"] == 2 and report["contract_version"] == kmw_contract()
    assert report["classes"] == ["reach-v3"] and report["per_class"] is None
    row = report["all"]
    assert row["averaging"] == "pooled" and report["class_mean"]["averaging"] == "class-mean"
    assert row["trials"] == 3 and len(row["success_ci95"]) == 2 and len(row["return_se"]) == 2
    gain = row["adaptation_gain"]
    assert gain["trials"] == 3 and gain["success"]["method"].startswith("newcombe")
    assert gain["return"]["df"] == 2 and len(gain["return"]["ci95"]) == 2
    assert len(report["trial_results"]) == 3 and "statistics" in report
    assert all(0 <= t["task_index"] < 50 for t in report["trial_results"])


def kmw_contract() -> int:
    from conformance import CONTRACT_VERSION

    return CONTRACT_VERSION


def trial(task: str, successes: list[float], returns: list[float]) -> TrialResult:
    return TrialResult(task, successes, returns)


def test_pooled_and_class_mean_are_both_reported_and_named() -> None:
    """3 trials of a class that always succeeds and 1 of one that never does: pooled 0.75,
    class mean 0.5 (Meta-World's way); the table, the JSON and the plot name each."""
    trials = [trial("easy-v3", [1.0], [10.0])] * 3 + [trial("hard-v3", [0.0], [2.0])]
    res = Results(1, trials, settings={"classes": ["easy-v3", "hard-v3", "never-v3"]})
    assert res.pooled.success_rate == [0.75] and res.class_mean.success_rate == [0.5]
    assert res.class_mean.mean_return == [6.0] and res.pooled.mean_return == [8.0]
    assert res.class_mean.missing == ["never-v3"] and res.class_mean.success_ci95 == [None]  # 1 trial
    data = res.to_dict()
    assert data["all"]["success_rate"] == [0.75] and data["class_mean"]["success_rate"] == [0.5]
    assert data["class_mean"]["classes_without_trials"] == ["never-v3"]
    assert "POOLED" in data["statistics"]["all"] and "CLASS MEAN" in data["statistics"]["class_mean"]
    table = res.format_table()
    rows = {ln.split("  ")[0].strip(): ln for ln in table.splitlines()[:12]}
    assert rows["pooled"].split()[1:3] == ["4", "0.75"] and rows["class mean"].split()[2:4] == ["4", "0.50"]
    assert "never-v3" in rows and "no trials" in rows["never-v3"]
    assert "class mean = the mean of the 2 classes' figures, each class weighted equally" in table
    assert "classes have 1 to 3 trials, so the two means differ" in table


def test_the_class_mean_interval_is_a_stratified_bootstrap_from_3_trials_per_class() -> None:
    rng = np.random.default_rng(0)
    trials = [trial(c, [float(rng.integers(0, 2))] * 2, [float(rng.uniform(0, 9))] * 2)
              for c in ("a-v3", "b-v3") for _ in range(4)]  # fmt: skip
    mean = Results(2, trials).class_mean
    assert mean.method == "stratified-bootstrap-percentile"
    for est, ci in zip(mean.success_rate + mean.mean_return, mean.success_ci95 + mean.return_ci95):
        assert ci is not None and ci[0] <= est <= ci[1]
    assert mean == Results(2, trials).class_mean  # seeded: the same trials, the same interval
    assert Results(2, trials[:2] + trials[4:]).class_mean.method is None  # 2 trials in a class


def test_the_json_reads_back_to_the_same_figures(tmp_path) -> None:
    res = kmw.evaluate("random", "reach-v3", k_episodes=2, trials=3, max_episode_length=5, seed=4)
    back = results_from_dict(json.loads(json.dumps(res.to_dict())))
    assert back.to_dict()["all"] == res.to_dict()["all"] and back.trials == res.trials
    assert back.settings["seed"] == 4 and back.classes == ["reach-v3"]


def test_the_random_policys_batch_is_its_one_by_one_draws() -> None:
    space = gym.spaces.Box(-1, 1, (4,), np.float32)
    one, batch = RandomPolicy(space, 3), RandomPolicy(space, 3)
    obs = np.zeros(40, np.float32)
    singles = np.stack([one.act(obs, None, None) for _ in range(6)])
    np.testing.assert_array_equal(np.concatenate([batch.act_batch(2), batch.act_batch(4)]), singles)


# -- the plot ------------------------------------------------------------------------------------

MAGIC = {".png": b"\x89PNG\r\n\x1a\n", ".pdf": b"%PDF-"}


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"])
def test_plot_writes_a_valid_image(tmp_path, suffix):
    pytest.importorskip("matplotlib")
    path = tmp_path / f"curve{suffix}"
    argv = ["run", "--policy", "random", "--trials", "2", "--k", "3", "--max-episode-length", "4"]
    assert main([*argv, "--no-progress", "--plot", str(path)]) == 0
    data = path.read_bytes()
    if suffix == ".svg":
        import xml.etree.ElementTree as ET

        assert ET.fromstring(data).tag == "{http://www.w3.org/2000/svg}svg"
    else:
        assert data.startswith(MAGIC[suffix])
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp file left


def test_the_tiny_all_fail_run_writes_its_png(tmp_path, capsys):
    """The issue's run: it exited 1 with a traceback and no PNG (an error bar of length -2.8e-17)."""
    pytest.importorskip("matplotlib")
    path = tmp_path / "r.png"
    argv = [
        "run",
        "reach-v3",
        "--policy",
        "random",
        "--trials",
        "3",
        "--k",
        "1",
        "--max-episode-length",
        "10",
    ]
    assert main([*argv, "--no-progress", "--plot", str(path)]) == 0
    assert path.read_bytes().startswith(MAGIC[".png"])
    assert "succ@1" in capsys.readouterr().out


def test_plot_without_matplotlib_is_a_usage_error(tmp_path, capsys, monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # "import matplotlib" now fails
    assert main(["run", "--trials", "1", "--plot", str(tmp_path / "c.png")]) == 2
    err = capsys.readouterr().err
    assert 'pip install "kmw[plot]"' in err and err.count("error:") == 1
    assert list(tmp_path.iterdir()) == []


def test_plot_with_an_unknown_suffix_is_a_usage_error(tmp_path, capsys):
    assert main(["run", "--trials", "1", "--plot", str(tmp_path / "c.jpg")]) == 2
    assert "expected a file name ending in .png, .svg, .pdf" in capsys.readouterr().err


# -- the ML1 seed trap ---------------------------------------------------------------------------


def test_ml1_test_tasks_are_the_train_tasks_of_the_next_seed():
    """Meta-World draws ML1's test tasks with seed + 1 (docs/cli.md, docs/wrapper.md)."""
    s0, s1 = make_benchmark("reach-v3", seed=0), make_benchmark("reach-v3", seed=1)
    assert [t.data for t in s1.train_tasks] == [t.data for t in s0.test_tasks]
    assert [t.data for t in s0.train_tasks] != [t.data for t in s0.test_tasks]
