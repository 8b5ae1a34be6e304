"""A spy on a benchmark: every env the candidate builds records what it was asked and answered.

:func:`spy_benchmark` returns a benchmark with the same tasks (the very same objects) whose
classes are subclasses of the originals that append an :class:`Event` to a shared
:class:`EventLog` on construction, ``set_task``, ``reset`` and ``step``. It works for the scripted
benchmark (either env API) and for real Meta-World classes alike; it changes no behaviour.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Event:
    """One call the candidate made on an underlying env.

    ``kind`` is ``"init"``, ``"set_task"``, ``"reset"``, ``"step"`` or ``"error"`` (a ``step``
    or ``reset`` that raised). ``path_length`` and ``limit`` are the env's ``curr_path_length``
    and ``max_path_length`` after the call (``None`` when it has none); ``own_limit`` its
    ``max_path_length`` as its constructor left it (the class's own limit).
    """

    kind: str
    env_id: int
    env_name: str
    task: Any = None
    obs: np.ndarray | None = None
    reward: float = 0.0
    terminated: bool = False
    truncated: bool = False
    info: dict[str, Any] = field(default_factory=dict)
    error: BaseException | None = None
    call: str = ""
    path_length: int | None = None
    limit: int | None = None
    own_limit: int | None = None

    @property
    def limit_set_by_candidate(self) -> bool:
        """True when the env's step limit is not the one its constructor set: the candidate set
        it (lifted it to L, or lowered it to L to let the env cut its attempts)."""
        return self.limit is not None and self.limit != self.own_limit

    @property
    def own_limit_truncation(self) -> bool:
        """True when this step was truncated because the env reached its own step limit."""
        return (
            self.kind == "step"
            and self.truncated
            and self.limit is not None
            and self.path_length is not None
            and self.path_length >= self.limit
        )


class EventLog:
    """The events of every spied env, in call order."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._mark = 0
        self.instances: list[Any] = []

    def new_env(self, env: Any) -> int:
        self.instances.append(env)
        return len(self.instances) - 1

    def add(self, event: Event) -> None:
        self.events.append(event)

    def take(self) -> list[Event]:
        """The events recorded since the previous ``take()``."""
        new = self.events[self._mark :]
        self._mark = len(self.events)
        return new


def _state(env: Any) -> tuple[int | None, int | None]:
    return getattr(env, "curr_path_length", None), getattr(env, "max_path_length", None)


def _spy_class(cls: type, env_name: str, log: EventLog) -> type:
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        cls.__init__(self, *args, **kwargs)
        self._kmw_own_limit = getattr(self, "max_path_length", None)
        self._kmw_spy_id = log.new_env(self)
        log.add(Event("init", self._kmw_spy_id, env_name))

    def set_task(self: Any, task: Any) -> Any:
        out = cls.set_task(self, task)
        log.add(Event("set_task", self._kmw_spy_id, env_name, task=task))
        return out

    def reset(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            out = cls.reset(self, *args, **kwargs)
        except Exception as exc:
            log.add(Event("error", self._kmw_spy_id, env_name, error=exc, call="reset"))
            raise
        obs = out[0] if isinstance(out, tuple) else out
        log.add(Event("reset", self._kmw_spy_id, env_name, obs=np.array(obs, copy=True)))
        return out

    def step(self: Any, action: Any) -> Any:
        try:
            out = cls.step(self, action)
        except Exception as exc:
            pl, lim = _state(self)
            log.add(
                Event("error", self._kmw_spy_id, env_name, error=exc, call="step",
                      path_length=pl, limit=lim)
            )
            raise
        if len(out) == 5:
            obs, reward, terminated, truncated, info = out
        else:
            obs, reward, done, info = out
            truncated = bool(info.get("TimeLimit.truncated", False))
            terminated = bool(done) and not truncated
        pl, lim = _state(self)
        log.add(
            Event(
                "step", self._kmw_spy_id, env_name, obs=np.array(obs, copy=True),
                reward=float(reward), terminated=bool(terminated), truncated=bool(truncated),
                info=copy.copy(dict(info)), path_length=pl, limit=lim,
                own_limit=getattr(self, "_kmw_own_limit", None),
            )
        )
        return out

    namespace = {"__init__": __init__, "set_task": set_task, "reset": reset, "step": step,
                 "__module__": cls.__module__, "__qualname__": cls.__qualname__}
    return type(cls.__name__, (cls,), namespace)


class SpyBenchmark:
    """``benchmark`` with spied classes; tasks are the original objects; ``log`` the event log.

    ``shares=other`` spies a *copy* of ``other``'s benchmark as Meta-World's copies are: with the
    very same spied class objects (Meta-World's env classes are module-level, so
    ``ML1("reach-v3", seed=0)`` and ``ML1("reach-v3", seed=1)`` hand out one class) and ``other``'s
    event log; ``benchmark``'s classes must be ``other``'s original ones.
    """

    def __init__(self, benchmark: Any, log: EventLog | None = None,
                 shares: SpyBenchmark | None = None) -> None:
        self.log = shares.log if shares is not None else log if log is not None else EventLog()
        self.original = benchmark
        made: dict[int, type] = shares._made if shares is not None else {}
        self._made = made

        def spied(classes: Any) -> OrderedDict[str, type]:
            out: OrderedDict[str, type] = OrderedDict()
            for name, cls in classes.items():
                if id(cls) not in made:
                    made[id(cls)] = _spy_class(cls, name, self.log)
                out[name] = made[id(cls)]
            return out

        self.train_classes = spied(benchmark.train_classes)
        self.test_classes = spied(benchmark.test_classes)
        self.train_tasks = list(benchmark.train_tasks)
        self.test_tasks = list(benchmark.test_tasks)


def spy_benchmark(benchmark: Any) -> SpyBenchmark:
    """Wrap ``benchmark`` so every env built from it is watched (see :class:`SpyBenchmark`)."""
    return SpyBenchmark(benchmark)
