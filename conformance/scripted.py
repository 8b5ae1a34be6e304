"""The scripted benchmark: a fast, exact, controllable stand-in for a Meta-World benchmark.

It has Meta-World's benchmark interface (``train_classes``, ``test_classes``, ``train_tasks``,
``test_tasks``) and env interface (``set_task``, ``reset``, ``step``, ``max_path_length``,
``info["success"]``, ``observation_space``, ``action_space``), but each env is a few lines of
arithmetic whose schedule is chosen by the test:

- Every task carries a tuple of :class:`AttemptScript`: the n-th ``reset()`` after ``set_task``
  runs script ``(n - 1) % len(scripts)``, which says on which steps ``info["success"]`` is truthy
  and on which step (if any) the env returns ``terminated`` or ``truncated`` by itself.
- Like Meta-World, an env truncates when ``curr_path_length`` reaches ``max_path_length`` (a class
  attribute that a wrapper may lift per instance) and raises ``ValueError`` when stepped past it.
  Stepping after a scripted end without ``reset()`` raises ``RuntimeError``.
- Observations (size :data:`OBS_DIM`, float64) encode the task's uid, the number of resets since
  ``set_task``, the step within the attempt, the env instance and the last action, so a reset
  observation never equals a terminal one; every value is exact in float32.
- Rewards are binary fractions of the task uid, the step and the attempt, exact in float32.

``api="gymnasium"`` (Meta-World 3) returns ``(obs, info)`` from ``reset`` and 5-tuples from
``step``; ``api="gym"`` (Meta-World 2) returns ``obs`` from ``reset()`` (which takes no
arguments) and ``(obs, reward, done, info)`` from ``step``, with ``info["TimeLimit.truncated"]``.
"""

from __future__ import annotations

import itertools
import pickle
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np

#: Size of a scripted observation (Meta-World's is 39 too).
OBS_DIM = 39
#: Scripted observations lie in ``[-OBS_BOUND, OBS_BOUND]``.
OBS_BOUND = 1.0e4
ACTION_DIM = 4
API_CHOICES = ("gymnasium", "gym")

class ScriptedTask(NamedTuple):
    """A task, shaped like Meta-World's ``Task``: ``env_name`` names its class; ``data`` is opaque."""

    env_name: str
    data: bytes


@dataclass(frozen=True)
class AttemptScript:
    """What the env does during one attempt (steps are 1-based within the attempt)."""

    success_steps: frozenset[int] = frozenset()
    end_at: int | None = None
    end_kind: str = "terminated"

    def describe(self) -> str:
        parts = []
        if self.success_steps:
            parts.append(f"success at {sorted(self.success_steps)}")
        if self.end_at is not None:
            parts.append(f"{self.end_kind} at step {self.end_at}")
        return ", ".join(parts) or "no success, no end"


@dataclass(frozen=True)
class ClassSpec:
    """One env class: its name and its own step limit."""

    name: str
    max_path_length: int


@dataclass(frozen=True)
class TaskSpec:
    """One task: its class, its uid (unique in the benchmark) and its attempt scripts."""

    env_name: str
    uid: int
    split: str
    scripts: tuple[AttemptScript, ...] = (AttemptScript(),)


@dataclass(frozen=True)
class BenchmarkSpec:
    """Everything that defines a scripted benchmark; equal specs build equal benchmarks.

    ``test_classes`` may repeat train class names (ML1-style: shared class, disjoint tasks).
    """

    train_classes: tuple[ClassSpec, ...]
    test_classes: tuple[ClassSpec, ...]
    train_tasks: tuple[TaskSpec, ...]
    test_tasks: tuple[TaskSpec, ...]
    api: str = "gymnasium"

    def classes(self, split: str) -> tuple[ClassSpec, ...]:
        return self.train_classes if split == "train" else self.test_classes

    def tasks(self, split: str) -> tuple[TaskSpec, ...]:
        return self.train_tasks if split == "train" else self.test_tasks

    def task_by_uid(self, uid: int) -> TaskSpec:
        for task in self.train_tasks + self.test_tasks:
            if task.uid == uid:
                return task
        raise KeyError(uid)


class ScriptedEnv:
    """A scripted env speaking Meta-World 3's gymnasium API. Subclassed per class by the benchmark."""

    env_name: str = "scripted"
    _instances = itertools.count(1)
    max_path_length: int = 500
    api: str = "gymnasium"
    metadata: dict[str, Any] = {"render_modes": []}
    render_mode = None

    def __init__(self) -> None:
        self.observation_space = gym.spaces.Box(-OBS_BOUND, OBS_BOUND, (OBS_DIM,), np.float64)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (ACTION_DIM,), np.float32)
        self.instance_uid = next(type(self)._instances)
        self.curr_path_length = 0
        self._task: TaskSpec | None = None
        self._resets_since_task = 0
        self._needs_reset = True
        self._ended = False
        self._last_action = np.zeros(ACTION_DIM)

    # -- Meta-World's env interface --------------------------------------------------------

    def set_task(self, task: Any) -> None:
        """Set ``task`` (a task of this class); the env must be reset before it is stepped."""
        if getattr(task, "env_name", None) != self.env_name:
            raise ValueError(
                f"task of class {getattr(task, 'env_name', None)!r} set on a {self.env_name!r} env"
            )
        self._task = pickle.loads(task.data)
        self._resets_since_task = 0
        self._needs_reset = True

    def _reset(self) -> np.ndarray:
        if self._task is None:
            raise RuntimeError("reset() before set_task(): call set_task(task) first")
        self.curr_path_length = 0
        self._resets_since_task += 1
        self._needs_reset = False
        self._ended = False
        self._last_action = np.zeros(ACTION_DIM)
        return self._obs(0.0)

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an attempt of the current task; ``seed`` is ignored, as in Meta-World."""
        return self._reset(), {}

    def _step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._task is None or self._needs_reset:
            raise RuntimeError("step() before reset(): call set_task(task) and reset() first")
        action = np.asarray(action, dtype=np.float64)
        if action.shape != (ACTION_DIM,):
            raise ValueError(f"action must have shape ({ACTION_DIM},), got {action.shape}")
        if self.curr_path_length >= self.max_path_length:
            raise ValueError("You must reset the env manually once truncate==True")
        if self._ended:
            raise RuntimeError("step() after the env terminated or truncated, without reset()")
        self.curr_path_length += 1
        t = self.curr_path_length
        attempt = self._resets_since_task - 1
        script = self._task.scripts[attempt % len(self._task.scripts)]
        success = t in script.success_steps
        terminated = script.end_at == t and script.end_kind == "terminated"
        truncated = (script.end_at == t and script.end_kind == "truncated") or (
            t == self.max_path_length
        )
        self._ended = terminated or truncated
        reward = self._task.uid * 0.125 + t * 0.25 + attempt * 0.5
        self._last_action = np.clip(action.astype(np.float32), -1.0, 1.0).astype(np.float64)
        info = {"success": float(success), "near_object": 0.0, "unscaled_reward": reward}
        return self._obs(reward), reward, terminated, truncated, info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Step the attempt by its script; ``info["success"]`` never ends it."""
        return self._step(action)

    def _obs(self, reward: float) -> np.ndarray:
        assert self._task is not None
        obs = np.empty(OBS_DIM, dtype=np.float64)
        obs[0] = self._task.uid
        obs[1] = self._resets_since_task
        obs[2] = self.curr_path_length
        obs[3] = self.instance_uid
        obs[4:8] = self._last_action
        obs[8] = reward
        obs[9:] = self._task.uid * 0.5 + np.arange(OBS_DIM - 9)
        return obs

    def close(self) -> None:
        """Nothing to release."""

    def seed(self, seed: int | None = None) -> list[int | None]:
        """Accepted for Meta-World compatibility; the scripted env has no randomness."""
        return [seed]


class GymScriptedEnv(ScriptedEnv):
    """A scripted env speaking Meta-World 2's older gym API."""

    api = "gym"

    def reset(self) -> np.ndarray:  # type: ignore[override]
        """Start an attempt; returns the observation only."""
        return self._reset()

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, dict[str, Any]]:  # type: ignore[override]
        """Step; ``done`` is terminated or truncated, ``info["TimeLimit.truncated"]`` tells which."""
        obs, reward, terminated, truncated, info = self._step(action)
        info["TimeLimit.truncated"] = bool(truncated and not terminated)
        return obs, reward, bool(terminated or truncated), info


def _make_class(spec: ClassSpec, api: str) -> type[ScriptedEnv]:
    base = GymScriptedEnv if api == "gym" else ScriptedEnv
    cls_name = "Scripted" + "".join(p.capitalize() for p in spec.name.replace("-", "_").split("_"))
    namespace = {"env_name": spec.name, "max_path_length": spec.max_path_length,
                 "_instances": itertools.count(1)}
    return type(cls_name, (base,), namespace)


def _make_task(spec: TaskSpec) -> ScriptedTask:
    return ScriptedTask(env_name=spec.env_name, data=pickle.dumps(spec))


@dataclass
class ScriptedBenchmark:
    """A benchmark built from a :class:`BenchmarkSpec`, with fresh env classes of its own."""

    spec: BenchmarkSpec
    train_classes: OrderedDict[str, type] = field(init=False)
    test_classes: OrderedDict[str, type] = field(init=False)
    train_tasks: list[ScriptedTask] = field(init=False)
    test_tasks: list[ScriptedTask] = field(init=False)

    def __post_init__(self) -> None:
        if self.spec.api not in API_CHOICES:
            raise ValueError(f"api must be one of {API_CHOICES}, got {self.spec.api!r}")
        built: dict[str, type] = {}
        for cs in self.spec.train_classes + self.spec.test_classes:
            if cs.name not in built:
                built[cs.name] = _make_class(cs, self.spec.api)
        self.train_classes = OrderedDict((c.name, built[c.name]) for c in self.spec.train_classes)
        self.test_classes = OrderedDict((c.name, built[c.name]) for c in self.spec.test_classes)
        self.train_tasks = [_make_task(t) for t in self.spec.train_tasks]
        self.test_tasks = [_make_task(t) for t in self.spec.test_tasks]


def decode_task(task: Any) -> TaskSpec | None:
    """The :class:`TaskSpec` behind a scripted task, or ``None`` for any other task."""
    if isinstance(task, ScriptedTask):
        return pickle.loads(task.data)
    return None


def simple_spec(
    n_train_classes: int = 2,
    n_test_classes: int = 1,
    tasks_per_class: int = 2,
    max_path_length: int = 500,
    scripts: tuple[AttemptScript, ...] = (AttemptScript(),),
    api: str = "gymnasium",
    ml1: bool = False,
) -> BenchmarkSpec:
    """A small, regular benchmark spec (for docs, examples and quick checks)."""
    names = ["reach", "push", "pick-place", "door-open", "drawer-open", "button-press"]
    train = tuple(ClassSpec(f"{n}-v3", max_path_length) for n in names[:n_train_classes])
    test = train if ml1 else tuple(
        ClassSpec(f"{n}-v3", max_path_length)
        for n in names[n_train_classes : n_train_classes + n_test_classes]
    )
    uid = itertools.count(1)
    train_tasks = tuple(
        TaskSpec(c.name, next(uid), "train", scripts) for c in train for _ in range(tasks_per_class)
    )
    test_tasks = tuple(
        TaskSpec(c.name, next(uid), "test", scripts) for c in test for _ in range(tasks_per_class)
    )
    return BenchmarkSpec(train, test, train_tasks, test_tasks, api)
