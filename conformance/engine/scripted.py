"""The scripted benchmark: a fast, exact, controllable stand-in for a Meta-World benchmark.

It has Meta-World's benchmark interface (``train_classes``, ``test_classes``, ``train_tasks``,
``test_tasks``) and Meta-World 3's env interface, down to what wrappers touch: each env class
is a :class:`gymnasium.Env` subclass (so ``gymnasium.Wrapper`` and gymnasium's standard wrappers
work on it) with ``set_task``, ``reset(seed=None, options=None)``, ``step``,
``max_path_length``, ``curr_path_length``, ``info["success"]``, Meta-World's spaces and dtypes
(observations float64, actions a float32 ``Box(-1, 1, (4,))``), ``np_random``, ``unwrapped``,
``spec`` (``None``), ``metadata``, ``render_mode``, ``render()`` and ``close()``. Each env is a
few lines of arithmetic whose schedule is chosen by the test:

- Every task carries a tuple of :class:`AttemptScript`: the n-th ``reset()`` after ``set_task``
  runs script ``(n - 1) % len(scripts)``, which says on which steps ``info["success"]`` is truthy
  and on which step (if any) the env returns ``terminated`` or ``truncated`` by itself.
- Like Meta-World, an env truncates when ``curr_path_length`` reaches ``max_path_length`` (a class
  attribute that a wrapper may lift per instance) and raises ``ValueError`` when stepped past it.
  Stepping after a scripted end without ``reset()`` raises ``RuntimeError``.
- Observations (size :data:`OBS_DIM`, float64) are a pure function of the task, the script
  running, the step within the attempt and the last action: entry 0 is the task's uid, 1 the
  script index, 2 the step, 3-6 the last action, 7 the reward; entries 8 on carry information
  in every bit of a float32 (full 24-bit mantissas, magnitudes from 2**-20 to 2**12, both
  signs), so any change of value between the env and a wrapper's output is visible (a cast
  through float16, rounding, clipping). Every value is exact in float32 and lies in
  ``observation_space``; a reset observation never equals a terminal one. Nothing depends on
  the env instance or on how many trials ran before, so equal benchmarks driven alike give
  equal observations whatever their history.
- Rewards are float32-exact numbers with full mantissas in ``[2**-7, 8)``, every
  magnitude in between met within any 10 consecutive steps of an attempt (Meta-World's range
  is 0 to 10).

``api="gymnasium"`` (Meta-World 3) returns ``(obs, info)`` from ``reset`` and 5-tuples from
``step``; ``api="gym"`` (Meta-World 2) returns ``obs`` from ``reset()`` (which takes no
arguments) and ``(obs, reward, done, info)`` from ``step``, with ``info["TimeLimit.truncated"]``.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
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
#: Class names of scripted benchmarks (Meta-World's, in ML45's order of the first ones).
CLASS_NAMES = tuple(f"{n}-v3" for n in (
    "reach", "push", "pick-place", "door-open", "drawer-open", "button-press", "peg-insert-side",
    "window-open", "sweep", "basketball", "bin-picking", "box-close", "hand-insert",
    "door-lock", "faucet-open", "lever-pull", "plate-slide", "shelf-place", "soccer", "stick-push",
    "coffee-push", "dial-turn", "hammer", "handle-press", "drawer-close", "window-close"))
#: Entries of an observation that carry full-precision information (see the module docstring).
INFO_ENTRIES = slice(8, OBS_DIM)
_MASK64 = np.uint64(2**64 - 1)


class ScriptedTask(NamedTuple):
    """A task, shaped like Meta-World's ``Task``: ``env_name`` names its class; ``data`` holds
    the task's definition as JSON (never a pickle). Prints as ``class#uid (split; scripts)``."""

    env_name: str
    data: bytes

    def __repr__(self) -> str:
        spec = decode_task(self)
        label = spec.label() if spec is not None else f"{self.env_name}, {self.data!r:.60}"
        return f"ScriptedTask({label})"


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

    def label(self) -> str:
        """``class#uid (split; script, script, ...)``: what the task means, for messages."""
        scripts = "; ".join(s.describe() for s in self.scripts)
        return f"{self.env_name}#{self.uid} ({self.split}; {scripts})"

    def to_json(self) -> bytes:
        return json.dumps({
            "env_name": self.env_name, "uid": self.uid, "split": self.split,
            "scripts": [[sorted(s.success_steps), s.end_at, s.end_kind] for s in self.scripts],
        }, sort_keys=True).encode()

    @staticmethod
    def from_json(data: bytes) -> TaskSpec:
        d = json.loads(data)
        scripts = tuple(AttemptScript(frozenset(ok), end, kind) for ok, end, kind in d["scripts"])
        return TaskSpec(d["env_name"], d["uid"], d["split"], scripts)


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


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser, elementwise on uint64 (wrapping arithmetic)."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _float32_values(keys: np.ndarray, min_exp: int, n_exps: int, signed: bool) -> np.ndarray:
    """Float32-exact values with full 24-bit mantissas, one per uint64 key."""
    with np.errstate(over="ignore"):
        bits = _mix(keys & _MASK64)
    mantissa = (bits & np.uint64(2**23 - 1)).astype(np.float64) / 2.0**23
    exponent = ((bits >> np.uint64(23)) % np.uint64(n_exps)).astype(np.int64) + min_exp
    sign = np.where((bits >> np.uint64(40)) & np.uint64(1), -1.0, 1.0) if signed else 1.0
    return sign * np.ldexp(1.0 + mantissa, exponent)


_ENTRY_KEYS = np.arange(OBS_DIM - INFO_ENTRIES.start, dtype=np.uint64)


def _key(uid: int, script: int, t: int) -> int:
    return (((uid * 1_000_003 + script) * 4_000_037 + t) * 64) & (2**64 - 1)


@functools.lru_cache(maxsize=65536)
def _information(uid: int, script: int, t: int) -> np.ndarray:
    """The full-precision entries of the observation at step ``t`` of a task's script."""
    out = _float32_values(np.uint64(_key(uid, script, t)) + _ENTRY_KEYS, -20, 33, signed=True)
    out.flags.writeable = False
    return out


#: Scripted rewards lie in ``[2**REWARD_MIN_EXP, 2**(REWARD_MIN_EXP + REWARD_EXPS))``:
#: 0.0078 to 8, orders of magnitude as Meta-World's (0 to 10).
REWARD_MIN_EXP, REWARD_EXPS = -7, 10


@functools.lru_cache(maxsize=65536)
def _reward(uid: int, script: int, t: int) -> float:
    """The reward of step ``t`` of a task's script: a full 24-bit mantissa, and a binary
    exponent that steps through all :data:`REWARD_EXPS` of them on consecutive steps (from an
    offset of the task and script), so every attempt of 10 steps or more meets every magnitude
    from 2**-7 to 2**3."""
    keys = np.array([_key(uid, script, 0), _key(uid, script, t)], dtype=np.uint64) ^ np.uint64(
        0x5DEECE66D)
    offset, mantissa = _float32_values(keys, 0, 1, signed=False)  # both in [1, 2)
    exponent = (int(offset * 2**23) + t) % REWARD_EXPS
    return float(np.ldexp(mantissa, REWARD_MIN_EXP + exponent))


class ScriptedEnv(gym.Env):
    """A scripted env speaking Meta-World 3's gymnasium API. Subclassed per class by the benchmark.

    The constructor takes Meta-World's keyword arguments (``render_mode``, ``camera_name``,
    ``camera_id``, ``reward_function_version``, ``height``, ``width``); only ``render_mode``
    has an effect (``"rgb_array"``: ``render()`` returns a black ``height x width`` image).
    """

    env_name: str = "scripted"
    max_path_length: int = 500
    api: str = "gymnasium"
    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 80}

    def __init__(self, render_mode: str | None = None, camera_name: str | None = None,
                 camera_id: int | None = None, reward_function_version: str = "v2",
                 height: int = 480, width: int = 480) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or one of "
                             f"{self.metadata['render_modes']}, got {render_mode!r}")
        self.render_mode = render_mode
        self.camera_name, self.camera_id = camera_name, camera_id
        self.reward_function_version = reward_function_version
        self.height, self.width = height, width
        self.observation_space = gym.spaces.Box(-OBS_BOUND, OBS_BOUND, (OBS_DIM,), np.float64)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (ACTION_DIM,), np.float32)
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
        spec = decode_task(task)
        if spec is None:
            raise ValueError(f"not a scripted task: {task!r:.80}")
        self._task = spec
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
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an attempt of the current task. ``seed`` seeds ``np_random`` (as gymnasium's
        ``Env.reset`` does) and changes nothing else, as in Meta-World."""
        super().reset(seed=seed)
        return self._reset(), {}

    @property
    def _script_index(self) -> int:
        assert self._task is not None
        return (self._resets_since_task - 1) % len(self._task.scripts)

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
        script = self._task.scripts[self._script_index]
        success = t in script.success_steps
        terminated = script.end_at == t and script.end_kind == "terminated"
        truncated = (script.end_at == t and script.end_kind == "truncated") or (
            t == self.max_path_length
        )
        self._ended = terminated or truncated
        self._last_action = np.clip(action.astype(np.float32), -1.0, 1.0).astype(np.float64)
        reward = _reward(self._task.uid, self._script_index, t)
        info = {"success": float(success), "near_object": 0.0, "grasp_success": 0.0,
                "grasp_reward": 0.0, "in_place_reward": 0.0, "obj_to_target": 0.0,
                "unscaled_reward": reward}
        return self._obs(reward), reward, bool(terminated), bool(truncated), info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Step the attempt by its script; ``info["success"]`` never ends it."""
        return self._step(action)

    def _obs(self, reward: float) -> np.ndarray:
        assert self._task is not None
        obs = np.empty(OBS_DIM, dtype=np.float64)
        obs[0] = self._task.uid
        obs[1] = self._script_index
        obs[2] = self.curr_path_length
        obs[3:7] = self._last_action
        obs[7] = reward
        obs[INFO_ENTRIES] = _information(self._task.uid, self._script_index, self.curr_path_length)
        return obs

    def render(self) -> np.ndarray | None:
        """A black ``height x width x 3`` uint8 image for ``render_mode="rgb_array"``, else None."""
        if self.render_mode == "rgb_array":
            return np.zeros((self.height, self.width, 3), dtype=np.uint8)
        return None

    def close(self) -> None:
        """Nothing to release."""

    def seed(self, seed: int | None = None) -> list[int | None]:
        """Accepted for Meta-World compatibility: seeds ``np_random``, which nothing uses."""
        super().reset(seed=seed)
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
    namespace = {"env_name": spec.name, "max_path_length": spec.max_path_length}
    return type(cls_name, (base,), namespace)


def _make_task(spec: TaskSpec) -> ScriptedTask:
    return ScriptedTask(env_name=spec.env_name, data=spec.to_json())


@dataclass
class ScriptedBenchmark:
    """A benchmark built from a :class:`BenchmarkSpec`, with fresh env classes of its own, or
    with ``classes_of``'s very classes (Meta-World's benchmark objects share their env classes,
    which are module-level); its spec must then have the same classes."""

    spec: BenchmarkSpec
    classes_of: ScriptedBenchmark | None = field(default=None, repr=False, compare=False)
    train_classes: OrderedDict[str, type] = field(init=False)
    test_classes: OrderedDict[str, type] = field(init=False)
    train_tasks: list[ScriptedTask] = field(init=False)
    test_tasks: list[ScriptedTask] = field(init=False)

    def __post_init__(self) -> None:
        if self.spec.api not in API_CHOICES:
            raise ValueError(f"api must be one of {API_CHOICES}, got {self.spec.api!r}")
        built: dict[str, type] = {}
        if self.classes_of is not None:
            other = self.classes_of.spec
            if (other.train_classes, other.test_classes, other.api) != (
                    self.spec.train_classes, self.spec.test_classes, self.spec.api):
                raise ValueError("classes_of must be a benchmark of the same classes and API")
            built.update(self.classes_of.train_classes)
            built.update(self.classes_of.test_classes)
        for cs in self.spec.train_classes + self.spec.test_classes:
            if cs.name not in built:
                built[cs.name] = _make_class(cs, self.spec.api)
        self.train_classes = OrderedDict((c.name, built[c.name]) for c in self.spec.train_classes)
        self.test_classes = OrderedDict((c.name, built[c.name]) for c in self.spec.test_classes)
        self.train_tasks = [_make_task(t) for t in self.spec.train_tasks]
        self.test_tasks = [_make_task(t) for t in self.spec.test_tasks]


def rotated(spec: BenchmarkSpec, by: int = 1) -> BenchmarkSpec:
    """``spec`` with every task's attempt scripts rotated by ``by`` (the second script first,
    ...): the same classes, tasks and uids, other outcomes per attempt."""
    def turn(task: TaskSpec) -> TaskSpec:
        n = by % len(task.scripts)
        return dataclasses.replace(task, scripts=task.scripts[n:] + task.scripts[:n])

    return dataclasses.replace(spec, train_tasks=tuple(map(turn, spec.train_tasks)),
                               test_tasks=tuple(map(turn, spec.test_tasks)))


def rotated_copy(benchmark: ScriptedBenchmark, by: int = 1) -> ScriptedBenchmark:
    """Another benchmark object whose tasks run their scripts rotated by ``by`` (:func:`rotated`)
    and whose env classes are ``benchmark``'s very classes, as two Meta-World benchmark objects
    share theirs."""
    return ScriptedBenchmark(rotated(benchmark.spec, by), classes_of=benchmark)


def decode_task(task: Any) -> TaskSpec | None:
    """The :class:`TaskSpec` behind a scripted task, or ``None`` for any other task."""
    if isinstance(task, ScriptedTask):
        return _decode(task.data)
    return None


@functools.lru_cache(maxsize=4096)
def _decode(data: bytes) -> TaskSpec:
    return TaskSpec.from_json(data)


def task_label(task: Any) -> str:
    """How a task prints in messages: ``class#uid (split; scripts)`` for a scripted task, else
    its class and a short ``repr``."""
    spec = decode_task(task)
    if spec is not None:
        return spec.label()
    return f"{getattr(task, 'env_name', '?')} {task!r:.60}"


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
    names = [n.removesuffix("-v3") for n in CLASS_NAMES]
    if n_train_classes + n_test_classes > len(names):
        raise ValueError(f"at most {len(names)} classes, got {n_train_classes + n_test_classes}")
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
