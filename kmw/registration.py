"""gymnasium ids for the k-episode Meta-World benchmarks.

``import kmw`` registers, in gymnasium's ``kmw`` namespace:

- ``kmw/ML10-train``, ``kmw/ML10-test``, ``kmw/ML25-train``, ``kmw/ML25-test``,
  ``kmw/ML45-train``, ``kmw/ML45-test``: ``gymnasium.make("kmw/ML10-test", k_episodes=3)``;
- ``kmw/ML1-train``, ``kmw/ML1-test``, which take the task by keyword:
  ``gymnasium.make("kmw/ML1-train", task="reach-v3", k_episodes=3)``.

Keywords ``make`` passes on: ``k_episodes`` (required), ``max_episode_length`` (default 500),
``benchmark_seed`` (default 0) and, for ML1 only, ``task`` (required). The id fixes the benchmark
and the split; anything else is a ``ValueError`` naming what was expected.

gymnasium 1.x has no plugin entry points (``load_plugin_envs`` and the ``"gymnasium.envs"``
entry-point group were removed in 1.0), so the ids exist once ``kmw`` is imported; without
importing it first, ``gymnasium.make("kmw:kmw/ML10-test", k_episodes=3)`` imports it.

The ids are registered with ``max_episode_steps=None`` (no ``TimeLimit``: the trial's length is the
wrapper's business) and ``disable_env_checker=True``: gymnasium's passive checker would warn on
every ``make`` that the observation space has equal bounds, which is by design (Meta-World's ML
benchmarks hide the goal, its three entries are always 0). ``make`` still adds
``OrderEnforcing`` (``step()`` before ``reset()`` raises ``ResetNeeded``), which changes nothing
else. Pass ``disable_env_checker=False`` to ``make`` to get the checker back.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from kmw._validation import SPLITS
from kmw.kinds import KINDS

NAMESPACE = "kmw"

#: Every id this module registers.
ENV_IDS: tuple[str, ...] = tuple(
    f"{NAMESPACE}/{kind}-{split}" for kind in KINDS for split in SPLITS
)

_ENTRY_POINT = "kmw.registration:make_env"
_OPTIONAL = {"max_episode_length": 500, "benchmark_seed": 0}


def parse_env_id(env_id: str) -> tuple[str, str]:
    """Split one of :data:`ENV_IDS` into ``(kind, split)``, e.g. ``("ML10", "test")``.

    Raises ``ValueError`` listing the valid ids for anything else.
    """
    if env_id not in ENV_IDS:
        raise ValueError(f"unknown kmw env id {env_id!r}: expected one of {', '.join(ENV_IDS)}")
    kind, split = env_id[len(NAMESPACE) + 1 :].split("-")
    return kind, split


def make_env(kmw_id: str, **kwargs: Any) -> Any:
    """gymnasium's entry point for every id of :data:`ENV_IDS`: build its ``kmw.Metaworld``.

    ``kmw_id`` comes from the registered spec; ``kwargs`` are ``gymnasium.make``'s:
    ``k_episodes`` (required), ``max_episode_length``, ``benchmark_seed``, and ``task`` for
    the ML1 ids (required there, rejected elsewhere).
    """
    # Imported here, as they import Meta-World: registering the ids must stay cheap.
    from kmw.benchmarks import ml1_task_names, resolve_benchmark_name
    from kmw.named import Metaworld

    kind, split = parse_env_id(kmw_id)
    allowed = ["k_episodes", *_OPTIONAL] + (["task"] if kind == "ML1" else [])
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise ValueError(
            f"{kmw_id} got unexpected keyword(s) {', '.join(unknown)}; it takes "
            f"{', '.join(allowed)} (the id fixes the benchmark and the split)"
        )
    if "k_episodes" not in kwargs:
        raise ValueError(
            f"{kmw_id} needs k_episodes, an integer >= 1: "
            f"gymnasium.make({kmw_id!r}, k_episodes=3)"
        )
    if kind == "ML1":
        task = kwargs.get("task")
        if task is None:
            raise ValueError(
                f"{kmw_id} needs task, an ML1 task name, e.g. "
                f"gymnasium.make({kmw_id!r}, task='reach-v3', k_episodes=3); "
                f"valid tasks: {', '.join(ml1_task_names())}"
            )
        resolved = resolve_benchmark_name(task)  # ValueError listing the names for a bad one
        if resolved.kind != "ML1":
            raise ValueError(
                f"{kmw_id} needs task to be an ML1 task name such as 'reach-v3', got {task!r}; "
                f"for {resolved.kind} use the id {NAMESPACE}/{resolved.kind}-{split}"
            )
        name = str(resolved)
    else:
        name = kind.lower()
    options = {key: kwargs.get(key, default) for key, default in _OPTIONAL.items()}
    return Metaworld(name, split, kwargs["k_episodes"], **options)


def register_envs() -> None:
    """Register :data:`ENV_IDS` with gymnasium (ids already registered are left as they are)."""
    for env_id in ENV_IDS:
        if env_id in gym.registry:
            continue
        gym.register(
            id=env_id,
            entry_point=_ENTRY_POINT,
            kwargs={"kmw_id": env_id},
            max_episode_steps=None,
            disable_env_checker=True,
        )
