"""KMW-OBS-4 / KMW-LOG-5's record of what a candidate returned (``ReturnedObjects``, used by
the harness): memory that does not grow with the size of the candidate's infos, every reuse
still seen, and no candidate code run (or crash) while fingerprinting."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from conformance.engine import harness

FRAME = (240, 240, 3)


def _model() -> Any:
    return SimpleNamespace(checked=set())


def _run(call: Callable[[int], tuple[Any, Any]], n: int = 30) -> list[str]:
    """Feed the ``(obs, info)`` of ``call(0)``, ..., ``call(n - 1)`` as results to a
    ``ReturnedObjects`` (a reset every 10 calls), then its last check; the requirement IDs of
    its findings."""
    model, returned = _model(), harness.ReturnedObjects()
    found = []
    for i in range(n):
        obs, info = call(i)
        if i % 10 == 0:
            found += returned.check(model, f"reset {i}", (obs, info), sweep=True)
        else:
            found += returned.check(model, f"step {i}", (obs, 0.0, False, False, info))
    found += returned.check(model, "the end", harness._NO_RESULT, everything=True)
    return sorted({f.req_id for f in found})


def test_fresh_heavy_values_are_not_kept() -> None:
    """200 calls, each with a new 240x240x3 frame in its info (35 MB in all): what the check
    keeps stays under 4 MB (before: every frame, and a copy of its bytes)."""
    model, returned = _model(), harness.ReturnedObjects()
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for i in range(200):
            obs = np.arange(41, dtype=np.float32)
            info = {"success": 0.0, "frame": np.full(FRAME, i % 250, np.uint8),
                    "episode": {"r": [1.0, 2.0]}}
            assert not returned.check(model, f"step {i}", (obs, 0.0, False, False, info))
            del obs, info
        kept = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert kept < 4_000_000, kept
    assert not returned.check(model, "the end", harness._NO_RESULT, everything=True)


def test_sessions_alive_at_once_keep_a_bounded_number_of_heavy_calls() -> None:
    """30 sessions left alive (as a hypothesis state machine's wait for the cyclic garbage
    collector), 3 calls each with a new frame: a handful of frames kept, not 60 or 90."""
    model = _model()
    sessions = [harness.ReturnedObjects() for _ in range(30)]
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for returned in sessions:
            for i in range(3):
                info = {"frame": np.full(FRAME, i, np.uint8)}
                assert not returned.check(model, f"step {i}", (np.zeros(41), 0.0, False, False,
                                                               info))
                del info
        kept = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert kept < 2_000_000, kept  # a frame is 172,800 bytes


def test_reused_heavy_objects_are_still_caught() -> None:
    obs = [np.arange(41, dtype=np.float32) + i for i in range(30)]

    ring = np.zeros((4, *FRAME), np.uint8)  # a ring of frames, rows handed out as views

    def ring_row(i: int) -> np.ndarray:
        ring[i % 4] = i
        return ring[i % 4]

    assert _run(lambda i: (obs[i], {"frame": ring_row(i)})) == ["KMW-LOG-5"]

    pool: list[dict] = [{} for _ in range(3)]  # a pool of dicts, refilled in turn

    def from_pool(i: int) -> dict:
        pool[i % 3]["frame"] = np.full(FRAME, i, np.uint8)
        return pool[i % 3]

    assert _run(lambda i: (obs[i], from_pool(i))) == ["KMW-LOG-5"]

    frame = np.zeros(FRAME, np.uint8)  # new dicts, one frame array rewritten in place

    def same_frame(i: int) -> dict:
        frame[:] = i
        return {"frame": frame, "success": 0.0}

    assert _run(lambda i: (obs[i], same_frame(i))) == ["KMW-LOG-5"]

    inner: dict = {}  # new heavy dicts, one nested dict refilled

    def nested(i: int) -> dict:
        inner["t"] = i
        return {"frame": np.zeros(FRAME, np.uint8), "episode": inner}

    assert _run(lambda i: (obs[i], nested(i))) == ["KMW-LOG-5"]

    big_obs = np.zeros(100_000, np.float32)  # a heavy observation overwritten in place

    def big(i: int) -> np.ndarray:
        big_obs[:] = i
        return big_obs

    assert _run(lambda i: (big(i), {})) == ["KMW-OBS-4"]

    # and nothing is found when nothing is reused
    assert _run(lambda i: (obs[i], {"frame": np.full(FRAME, i, np.uint8), "ep": {"r": [i]}})) \
        == []


class Hostile:
    """Every dunder a careless fingerprint would call raises."""

    def __repr__(self) -> str:
        raise RuntimeError("repr")

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("eq")

    def __hash__(self) -> int:
        return 1

    def __len__(self) -> int:
        raise RuntimeError("len")

    @property
    def __class__(self) -> type:  # type: ignore[override]
        raise RuntimeError("class")


class HostileDict(dict):
    def items(self):
        raise RuntimeError("items")

    def __iter__(self):
        raise RuntimeError("iter")


class HostileArray(np.ndarray):
    @property
    def shape(self):  # type: ignore[override]
        raise RuntimeError("shape")


def test_hostile_values_are_fingerprinted_without_calling_them() -> None:
    loop: dict = {"x": 1.0}
    loop["self"] = loop
    values = [Hostile(), HostileDict(a=Hostile()), np.zeros(3).view(HostileArray), loop,
              10 ** 5000, float("nan"), np.array([Hostile()], dtype=object), {Hostile()},
              bytearray(b"ab"), "x" * 1_000_000]
    info = {f"v{i}": v for i, v in enumerate(values)}
    assert _run(lambda i: (np.zeros(41, np.float32), info)) == []

    def replaced(i: int) -> tuple[Any, Any]:
        info["v0"] = Hostile()  # replacing an opaque object is a change
        return np.zeros(41, np.float32), info

    assert _run(replaced) == ["KMW-LOG-5"]


@pytest.mark.parametrize("size", [5, 100_000])
def test_the_trial_log_keeps_nothing_the_candidate_returned(size: int) -> None:
    obs = np.arange(size, dtype=np.float32)
    frame = np.zeros(FRAME, np.uint8)
    info = {"kmw/success": 1.0, "frame": frame, "nested": {"a": 1}}
    kept = harness._frozen((obs, 1.0, False, True, info))
    assert kept[0] is not obs and kept[0].size <= 5
    assert list(kept[0][:3]) == [0.0, 1.0, 2.0] and kept[0][-1] == size - 1
    assert kept[4]["kmw/success"] == 1.0
    assert repr(kept[4]["frame"]) == "<array of |u1, shape (240, 240, 3)>"
    assert repr(kept[4]["nested"]) == "<dict>"
    assert kept[1:4] == (1.0, False, True)
