"""The task cache (kmw/cache.py) against real Meta-World builds: fidelity, damage, tampering
(pickles planted with a recomputed hash must never run), concurrency."""

from __future__ import annotations

import base64
import hashlib
import json
import multiprocessing
import os
import pickle
import re
import socket
import threading
import warnings
from pathlib import Path

import metaworld
import numpy as np
import pytest

from kmw import cache
from kmw.benchmarks import make_benchmark

TASK = "reach-v3"


def task_bytes(tasks) -> list[tuple[str, bytes]]:
    return [(t.env_name, t.data) for t in tasks]


def digest(bench) -> str:
    """A hash of everything a benchmark carries: class names, class objects' qualnames, tasks."""
    h = hashlib.sha256()
    for split in ("train", "test"):
        for name, cls in getattr(bench, f"{split}_classes").items():
            h.update(f"{split}:{name}:{cls.__module__}.{cls.__qualname__}".encode())
        for name, data in task_bytes(getattr(bench, f"{split}_tasks")):
            h.update(name.encode() + b"\0" + data)
    return h.hexdigest()


@pytest.fixture(scope="module")
def fresh_ml1():
    """ML1 reach-v3, seed 7, built by Meta-World itself (the independent reference)."""
    return metaworld.ML1(TASK, seed=7)


@pytest.fixture
def cache_root(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv(cache.CACHE_DIR_ENV, str(root))
    return root


class CountingBuild:
    """A build function returning a given benchmark and counting its calls."""

    def __init__(self, bench):
        self.bench, self.calls = bench, 0

    def __call__(self):
        self.calls += 1
        return self.bench


def assert_same_benchmark(got, want) -> None:
    assert type(got) is type(want)
    assert got.train_classes == want.train_classes
    assert got.test_classes == want.test_classes
    for name in got.train_classes:
        assert got.train_classes[name] is want.train_classes[name]
    assert task_bytes(got.train_tasks) == task_bytes(want.train_tasks)
    assert task_bytes(got.test_tasks) == task_bytes(want.test_tasks)
    assert all(isinstance(t, metaworld.Task) for t in got.train_tasks + got.test_tasks)


def test_cached_ml1_equals_fresh_metaworld_build(cache_root, fresh_ml1):
    first = make_benchmark(TASK, seed=7)  # cold: built by make_benchmark and stored
    path = cache.cache_path("ML1", TASK, 7)
    assert path.is_file() and path.is_relative_to(cache_root)

    def must_not_build():
        raise AssertionError("the cache file was not used")

    second = cache.load_or_build("ML1", TASK, 7, build=must_not_build)  # warm: from disk
    for bench in (first, second):
        assert_same_benchmark(bench, fresh_ml1)
        # ML1's test tasks are drawn with seed + 1, so they differ from the train tasks
        assert task_bytes(bench.test_tasks) != task_bytes(bench.train_tasks)
    # the reconstructed object is a working benchmark: its tasks set on its own class
    env = second.train_classes[TASK]()
    env.set_task(second.test_tasks[3])
    obs, _ = env.reset()
    assert obs.shape == (39,)
    env.close()


def test_other_seed_and_version_are_separate_files(cache_root):
    assert cache.cache_path("ML1", TASK, 0) != cache.cache_path("ML1", TASK, 1)
    assert cache.cache_path("ML10", None, 0) != cache.cache_path("ML45", None, 0)
    assert f"metaworld-{cache.metaworld_version()}" in cache.cache_path("ML10", None, 0).parts


def damage(path: Path, how: str) -> None:
    blob = path.read_bytes()
    if how == "truncated":
        path.write_bytes(blob[: len(blob) // 2])
    elif how == "garbage":
        path.write_bytes(os.urandom(len(blob)))
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "flipped_payload_byte":
        i = len(blob) - 100
        path.write_bytes(blob[:i] + bytes([blob[i] ^ 0xFF]) + blob[i + 1 :])
    elif how == "other_metaworld_version":
        end = blob.index(b"\n", len(cache.MAGIC))
        header = json.loads(blob[len(cache.MAGIC) : end])
        header["metaworld"] = "0.0.0"
        path.write_bytes(cache.MAGIC + json.dumps(header).encode() + b"\n" + blob[end + 1 :])
    else:  # pragma: no cover
        raise ValueError(how)


@pytest.mark.parametrize(
    "how", ["truncated", "garbage", "empty", "flipped_payload_byte", "other_metaworld_version"]
)
def test_damaged_file_is_detected_rebuilt_and_replaced(cache_root, fresh_ml1, how):
    build = CountingBuild(fresh_ml1)
    cache.load_or_build("ML1", TASK, 7, build=build)
    path = cache.cache_path("ML1", TASK, 7)
    damage(path, how)
    with pytest.warns(UserWarning, match="damaged or stale"):
        bench = cache.load_or_build("ML1", TASK, 7, build=build)
    assert build.calls == 2  # rebuilt, not read from the damaged file
    assert_same_benchmark(bench, fresh_ml1)
    # the damaged file was replaced by a good one: the next load builds nothing and warns nothing
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = cache.load_or_build("ML1", TASK, 7, build=build)
    assert build.calls == 2
    assert_same_benchmark(again, fresh_ml1)


# -- forged files: a valid header with a recomputed length and sha256 -------------------------


def split_file(path: Path) -> tuple[dict, bytes]:
    blob = path.read_bytes()
    end = blob.index(b"\n", len(cache.MAGIC))
    return json.loads(blob[len(cache.MAGIC) : end]), blob[end + 1 :]


def forge(path: Path, body: bytes, **header_changes) -> None:
    """Replace the payload of the cache file at ``path`` by ``body`` and recompute the header's
    length and sha256, as anyone who can write the file can (the hash is unkeyed)."""
    header, _ = split_file(path)
    header.update(header_changes, length=len(body), sha256=hashlib.sha256(body).hexdigest())
    path.write_bytes(cache.MAGIC + json.dumps(header).encode() + b"\n" + body)


def stored_payload(path: Path) -> dict:
    return json.loads(split_file(path)[1])


def load_expecting_rejection(build, fresh, match: str):
    """``load_or_build`` on a bad file: exactly one warning, the cache's rejection (every other
    warning fails the test, none is filtered away), a rebuild, and a clean file afterwards."""
    calls = build.calls
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bench = cache.load_or_build("ML1", TASK, 7, build=build)
    messages = [f"{w.category.__name__}: {w.message}" for w in caught]
    assert len(caught) == 1 and caught[0].category is UserWarning, messages
    assert "ignoring damaged or stale" in messages[0] and match in messages[0], messages
    assert build.calls == calls + 1  # rebuilt, not read from the bad file
    assert_same_benchmark(bench, fresh)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = cache.load_or_build("ML1", TASK, 7, build=build)  # the file was replaced
    assert build.calls == calls + 1
    assert_same_benchmark(again, fresh)
    return bench


def test_valid_payload_with_stale_hash_is_never_used(cache_root, fresh_ml1):
    """A payload swapped for another well-formed one (train and test tasks exchanged) is refused."""
    build = CountingBuild(fresh_ml1)
    cache.load_or_build("ML1", TASK, 7, build=build)
    path = cache.cache_path("ML1", TASK, 7)
    header, _ = split_file(path)
    payload = stored_payload(path)
    payload["train_tasks"], payload["test_tasks"] = payload["test_tasks"], payload["train_tasks"]
    forged = json.dumps(payload).encode()
    header["length"] = len(forged)  # right length, stale hash
    path.write_bytes(cache.MAGIC + json.dumps(header).encode() + b"\n" + forged)
    bench = load_expecting_rejection(build, fresh_ml1, "sha256")
    assert task_bytes(bench.train_tasks) == task_bytes(fresh_ml1.train_tasks)


# -- planted pickles never run ----------------------------------------------------------------


class _Payload:
    """Unpickling this calls ``open(marker, "w")``, creating the marker file."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture(scope="module")
def reach_env():
    env = metaworld.env_dict.ALL_V3_ENVIRONMENTS[TASK]()
    yield env
    env.close()


@pytest.fixture
def poison(tmp_path) -> tuple[bytes, Path]:
    """A live malicious pickle and the marker file it creates when unpickled."""
    marker = tmp_path / "PWNED"
    evil = pickle.dumps(_Payload(marker))
    pickle.loads(evil).close()  # the payload really runs when unpickled...
    assert marker.exists()
    marker.unlink()  # ...so the marker staying absent below means nothing unpickled it
    return evil, marker


def _old_format_body(payload: dict, evil: bytes) -> bytes:
    """A format-1 payload (what the cache used to hold): a pickle whose task data are pickles."""
    old = dict(payload)
    for split in ("train_tasks", "test_tasks"):
        old[split] = [(t["env_name"], evil) for t in payload[split]]
    return pickle.dumps(old)


def _set_first(payload: dict, field: str, value) -> None:
    payload["train_tasks"][0][field] = value


#: Every place a pickle went in format 1, or could be smuggled into format 2, as
#: (how to plant it, the reason the rejection must give).
PLANTS = {
    # the file's or the payload's bytes are a pickle
    "whole_file": ("bad magic",),
    "payload_bytes": ("unreadable payload",),
    "format1_file": ("header format is 1",),
    "format1_payload_under_format2_header": ("unreadable payload",),
    # a pickle (as text) in a field of the JSON payload, where Task.data used to be, ...
    "task_data_field": ("not a task record",),
    "task_record": ("not a task record",),
    "env_name": ("env_name",),
    "env_cls": ("env_cls",),
    "rand_vec": ("rand_vec",),
    "rand_vec_item": ("rand_vec",),
    "partially_observable": ("partially_observable",),
    "test_task_record": ("not a task record",),
    "train_classes": ("class names",),
    "test_classes": ("class names",),
    "kind": ("payload is for",),
    "task": ("payload is for",),
    "seed": ("payload is for",),
    "extra_top_level_key": ("payload is not a mapping",),
}


def plant(path: Path, where: str, evil: bytes, text: str) -> None:
    payload = stored_payload(path)
    if where == "whole_file":
        path.write_bytes(evil)
        return
    if where == "payload_bytes":
        return forge(path, evil)
    if where == "format1_file":
        return forge(path, _old_format_body(payload, evil), format=1)
    if where == "format1_payload_under_format2_header":
        return forge(path, _old_format_body(payload, evil))
    if where == "task_data_field":
        payload["train_tasks"][0]["data"] = text
    elif where == "task_record":
        payload["train_tasks"][0] = text
    elif where == "rand_vec_item":
        payload["train_tasks"][0]["rand_vec"][0] = text
    elif where in ("env_name", "env_cls", "rand_vec", "partially_observable"):
        _set_first(payload, where, text)
    elif where == "test_task_record":
        payload["test_tasks"][-1] = text
    elif where in ("train_classes", "test_classes"):
        payload[where] = [text]
    elif where in ("kind", "task", "seed"):
        payload[where] = text
    elif where == "extra_top_level_key":
        payload["data"] = text
    else:  # pragma: no cover
        raise ValueError(where)
    forge(path, json.dumps(payload).encode())


@pytest.mark.parametrize("text_encoding", ["latin-1", "base64"])
@pytest.mark.parametrize("where", sorted(PLANTS))
def test_planted_pickle_never_runs_and_the_cache_is_rebuilt(
    cache_root, fresh_ml1, reach_env, poison, where, text_encoding
):
    evil, marker = poison
    text = evil.decode("latin-1") if text_encoding == "latin-1" else base64.b64encode(evil).decode()
    build = CountingBuild(fresh_ml1)
    cache.load_or_build("ML1", TASK, 7, build=build)
    path = cache.cache_path("ML1", TASK, 7)
    plant(path, where, evil, text)
    bench = load_expecting_rejection(build, fresh_ml1, *PLANTS[where])
    # set_task unpickles task.data: doing it for every loaded task runs nothing either
    for t in bench.train_tasks + bench.test_tasks:
        reach_env.set_task(t)
    assert not marker.exists()
    assert b"PWNED" not in path.read_bytes()


def test_loading_the_cache_unpickles_nothing(cache_root, fresh_ml1, monkeypatch):
    """A warm load never calls an unpickler: the task data are re-encoded, never decoded."""
    cache.load_or_build("ML1", TASK, 7, build=CountingBuild(fresh_ml1))

    def refuse(*args, **kwargs):
        raise AssertionError("the cache load unpickled something")

    for name in ("loads", "load", "Unpickler", "_loads", "_load", "_Unpickler"):
        if hasattr(pickle, name):
            monkeypatch.setattr(pickle, name, refuse)
    bench = cache.load_or_build("ML1", TASK, 7, build=refuse)
    monkeypatch.undo()
    assert_same_benchmark(bench, fresh_ml1)


# -- other damage with a recomputed hash: structure, class names, types, values, shapes -------


def _mutate(payload: dict, how: str) -> None:
    """Damage the parsed payload in place (ML1 reach-v3: 6-float rand_vecs, 50 tasks a split)."""
    first = payload["train_tasks"][0]
    if how == "unknown_class_name":
        first["env_cls"] = "os.system"
    elif how == "builtin_class_name":
        first["env_cls"] = "builtins.open"
    elif how == "other_env_class":
        first["env_cls"] = "metaworld.envs.sawyer_push_v3.SawyerPushEnvV3"
    elif how == "unknown_env_name":
        first["env_name"] = "evil-v3"
    elif how == "other_env_name":
        first["env_name"] = "push-v3"
    elif how == "unknown_kind":
        payload["kind"] = "MT50"
    elif how == "seed_as_string":
        payload["seed"] = "7"
    elif how == "rand_vec_as_string":
        first["rand_vec"] = "0.1,0.2,0.3,0.4,0.5,0.6"
    elif how == "rand_vec_item_as_string":
        first["rand_vec"][2] = "0.5"
    elif how == "rand_vec_item_as_int":
        first["rand_vec"][2] = 0
    elif how == "rand_vec_item_as_bool":
        first["rand_vec"][2] = True
    elif how == "rand_vec_item_as_null":
        first["rand_vec"][2] = None
    elif how == "observable_as_int":
        first["partially_observable"] = 1
    elif how == "observable_as_string":
        first["partially_observable"] = "true"
    elif how == "observable_false":
        first["partially_observable"] = False
    elif how == "nan":
        first["rand_vec"][0] = float("nan")
    elif how == "infinity":
        first["rand_vec"][0] = float("inf")
    elif how == "minus_infinity":
        first["rand_vec"][0] = float("-inf")
    elif how == "rand_vec_too_long":
        first["rand_vec"].append(0.5)
    elif how == "rand_vec_empty":
        first["rand_vec"] = []
    elif how == "rand_vec_nested":
        first["rand_vec"] = [first["rand_vec"]]
    elif how == "rand_vec_length_differs_within_env":
        first["rand_vec"] = first["rand_vec"][:3]  # 3 is a size Meta-World uses, not reach's
    elif how == "task_missing":
        payload["test_tasks"].pop()
    elif how == "task_extra":
        payload["test_tasks"].append(payload["test_tasks"][0])
    elif how == "task_key_missing":
        del first["partially_observable"]
    elif how == "task_key_extra":
        first["extra"] = 1
    elif how == "top_level_key_missing":
        del payload["train_classes"]
    else:  # pragma: no cover
        raise ValueError(how)


DAMAGE = {
    "unknown_class_name": "env_cls",
    "builtin_class_name": "env_cls",
    "other_env_class": "env_cls",
    "unknown_env_name": "env_name",
    "other_env_name": "env_name",
    "unknown_kind": "payload is for",
    "seed_as_string": "payload is for",
    "rand_vec_as_string": "rand_vec",
    "rand_vec_item_as_string": "rand_vec",
    "rand_vec_item_as_int": "rand_vec",
    "rand_vec_item_as_bool": "rand_vec",
    "rand_vec_item_as_null": "rand_vec",
    "observable_as_int": "partially_observable",
    "observable_as_string": "partially_observable",
    "observable_false": "partially_observable",
    "nan": "NaN",
    "infinity": "Infinity",
    "minus_infinity": "-Infinity",
    "rand_vec_too_long": "rand_vec",
    "rand_vec_empty": "rand_vec",
    "rand_vec_nested": "rand_vec",
    "rand_vec_length_differs_within_env": "rand_vec has length 6; earlier reach-v3 tasks have 3",
    "task_missing": "has 49 tasks",
    "task_extra": "has 51 tasks",
    "task_key_missing": "not a task record",
    "task_key_extra": "not a task record",
    "top_level_key_missing": "payload is not a mapping",
}

#: Damage that is not valid-JSON-of-the-wrong-shape: raw payload bytes (hash recomputed).
RAW_DAMAGE = {
    "overflowing_number": (lambda body: re.sub(rb'"rand_vec":\[[^,]+', b'"rand_vec":[1e999', body, count=1)),
    "payload_is_a_list": (lambda body: b"[]"),
    "duplicate_key": (lambda body: body.replace(b'{"kind":', b'{"kind":"ML10","kind":', 1)),
    "deep_nesting": (lambda body: b"[" * 100_000 + b"]" * 100_000),
    "not_utf8": (lambda body: body.replace(b'"reach-v3"', b'"reach-\xff3"', 1)),
    "not_json": (lambda body: body[:-1]),
}
RAW_MATCH = {
    "overflowing_number": "non-finite",
    "payload_is_a_list": "payload is not a mapping",
    "duplicate_key": "duplicate key",
    "deep_nesting": "unreadable payload",
    "not_utf8": "unreadable payload",
    "not_json": "unreadable payload",
}


@pytest.mark.parametrize("how", sorted(DAMAGE) + sorted(RAW_DAMAGE))
def test_tampered_payload_with_recomputed_hash_is_refused_and_rebuilt(cache_root, fresh_ml1, how):
    build = CountingBuild(fresh_ml1)
    cache.load_or_build("ML1", TASK, 7, build=build)
    path = cache.cache_path("ML1", TASK, 7)
    if how in RAW_DAMAGE:
        body = RAW_DAMAGE[how](split_file(path)[1])
        match = RAW_MATCH[how]
    else:
        payload = stored_payload(path)
        _mutate(payload, how)
        body = json.dumps(payload).encode()
        match = DAMAGE[how]
    forge(path, body)
    load_expecting_rejection(build, fresh_ml1, match)


def test_cached_tasks_equal_fresh_build_field_by_field(cache_root, fresh_ml1):
    """Beyond the bytes: every field Meta-World's set_task reads, with its type."""
    cache.load_or_build("ML1", TASK, 7, build=CountingBuild(fresh_ml1))
    bench = cache.load_or_build("ML1", TASK, 7, build=lambda: pytest.fail("not cached"))
    fresh_tasks = fresh_ml1.train_tasks + fresh_ml1.test_tasks
    for got, want in zip(bench.train_tasks + bench.test_tasks, fresh_tasks):
        g, w = pickle.loads(got.data), pickle.loads(want.data)
        assert list(g) == list(w) == ["rand_vec", "env_cls", "partially_observable"]
        assert g["env_cls"] is w["env_cls"]
        assert g["rand_vec"].dtype == w["rand_vec"].dtype and g["rand_vec"].shape == w["rand_vec"].shape
        np.testing.assert_array_equal(g["rand_vec"], w["rand_vec"])
        assert g["partially_observable"] is w["partially_observable"] is True

# -- files that are not task files: never read whole, never waited on --------------------------

#: Seconds a load may take before the test calls it a hang (a real load takes well under one).
HANG_LIMIT = 120


def _without_hanging(load, unblock):
    """``load()`` in a thread; fails if it has not returned after ``HANG_LIMIT`` seconds (then
    ``unblock()`` lets the blocked thread go on, so that it does not outlive the test)."""
    out: list = []
    worker = threading.Thread(target=lambda: out.append(load()), daemon=True)
    worker.start()
    worker.join(HANG_LIMIT)
    if worker.is_alive():
        unblock()
        pytest.fail(f"the cache was still blocked after {HANG_LIMIT} s")
    assert out, "the load raised (see the thread's traceback above)"
    return out[0]


def _open_other_end(path: Path, flags: int) -> None:
    try:
        os.close(os.open(path, flags | os.O_NONBLOCK))
    except OSError:
        pass


@pytest.mark.parametrize("how", ["fifo", "socket", "device", "huge-sparse"])
def test_a_special_or_huge_tasks_file_is_rebuilt(cache_root, fresh_ml1, how, monkeypatch):
    """A FIFO, a socket, a device (a link to ``/dev/zero``) or a 1 TB sparse file at the cache
    file's path: a warning and a rebuild, never a hang, a MemoryError or an endless read."""
    path = cache.cache_path("ML1", TASK, 7)
    path.parent.mkdir(parents=True)
    if how == "fifo":
        os.mkfifo(path)
    elif how == "socket":
        monkeypatch.chdir(path.parent)  # AF_UNIX paths are short: bind a relative one
        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind(path.name)
    elif how == "device":
        path.symlink_to("/dev/zero")
    else:
        with open(path, "wb") as f:
            f.truncate(1 << 40)
    build = CountingBuild(fresh_ml1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bench = _without_hanging(lambda: cache.load_or_build("ML1", TASK, 7, build=build),
                                 lambda: _open_other_end(path, os.O_WRONLY))
    assert build.calls == 1
    assert_same_benchmark(bench, fresh_ml1)
    messages = [str(w.message) for w in caught]
    assert any("rebuilding" in m and "not a regular file" in m or "bytes, more than" in m
               for m in messages), messages
    if how != "device":  # replaced by a good file: the next load builds nothing
        assert path.is_file() and not path.is_symlink()
        cache.load_or_build("ML1", TASK, 7, build=build)
        assert build.calls == 1


def test_a_fifo_as_the_lock_file_is_no_lock_and_no_hang(cache_root, fresh_ml1):
    path = cache.cache_path("ML1", TASK, 7)
    path.parent.mkdir(parents=True)
    lock = path.with_name(path.name + ".lock")
    os.mkfifo(lock)
    build = CountingBuild(fresh_ml1)
    bench = _without_hanging(lambda: cache.load_or_build("ML1", TASK, 7, build=build),
                             lambda: _open_other_end(lock, os.O_RDONLY))
    assert build.calls == 1 and path.is_file()
    assert_same_benchmark(bench, fresh_ml1)


def test_unwritable_cache_dir_falls_back_to_memory(tmp_path, monkeypatch, fresh_ml1):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv(cache.CACHE_DIR_ENV, str(blocker / "sub"))
    build = CountingBuild(fresh_ml1)
    with pytest.warns(UserWarning, match="cannot write"):
        bench = cache.load_or_build("ML1", TASK, 7, build=build)
    assert build.calls == 1
    assert_same_benchmark(bench, fresh_ml1)
    assert blocker.read_text() == "not a directory"


def test_cache_dir_resolution(monkeypatch, tmp_path):
    monkeypatch.setenv(cache.CACHE_DIR_ENV, str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv(cache.CACHE_DIR_ENV)
    assert cache.cache_dir() == tmp_path / "xdg" / "kmw"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache.cache_dir() == tmp_path / "home" / ".cache" / "kmw"


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, True, "0"])
def test_make_benchmark_rejects_bad_seeds(seed):
    with pytest.raises(ValueError, match="seed must be an integer"):
        make_benchmark(TASK, seed=seed)


def _concurrent_child(roots, payload, marker_dir, barrier, results) -> None:
    """Runs in a spawned process: two rounds of load_or_build, all 4 processes at once."""
    import fcntl
    import time
    import uuid

    def build():
        (Path(marker_dir) / f"{os.path.basename(current)}-{uuid.uuid4().hex}").touch()
        time.sleep(0.3)  # hold the build open so the others really overlap it
        return cache.from_payload(payload)

    out = []
    for current, lock in ((roots[0], False), (roots[1], True)):
        cache.fcntl = fcntl if lock else None  # no lock: every process builds and writes
        barrier.wait(timeout=60)
        out.append(digest(cache.load_or_build("ML1", TASK, 7, build=build, root=Path(current))))
    results.put(out)


def test_concurrent_builders_corrupt_nothing(tmp_path, fresh_ml1):
    """4 processes load_or_build the same key at the same moment: first with the lock disabled
    (all build and write; the atomic replace alone must keep the file whole), then with it
    (exactly one builds, the others wait and load its file)."""
    pytest.importorskip("fcntl")
    roots = (str(tmp_path / "unlocked"), str(tmp_path / "locked"))
    markers = tmp_path / "markers"
    markers.mkdir()
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(4), ctx.Queue()
    payload = cache.to_payload(fresh_ml1, "ML1", TASK, 7)
    procs = [
        ctx.Process(target=_concurrent_child, args=(roots, payload, str(markers), barrier, results))
        for _ in range(4)
    ]
    for p in procs:
        p.start()
    outs = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    want = digest(fresh_ml1)
    assert outs == [[want, want]] * 4
    builds = sorted(m.name.split("-")[0] for m in markers.iterdir())
    assert builds == ["locked"] + ["unlocked"] * 4
    for root in roots:
        path = cache.cache_path("ML1", TASK, 7, root=Path(root))
        assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []
        payload_back = cache.decode(path.read_bytes(), "ml1-reach-v3", 7)
        assert digest(cache.from_payload(payload_back)) == want


def test_file_for_another_benchmark_is_not_used(cache_root, fresh_ml1):
    """A well-formed file (valid header and hash) whose payload is another task's is refused."""
    build = CountingBuild(fresh_ml1)
    payload = cache.to_payload(fresh_ml1, "ML1", "push-v3", 7)
    path = cache.cache_path("ML1", TASK, 7)
    cache.write_atomic(path, cache.encode(payload, "ml1-reach-v3", 7))
    with pytest.warns(UserWarning, match="payload is for"):
        bench = cache.load_or_build("ML1", TASK, 7, build=build)
    assert build.calls == 1
    assert_same_benchmark(bench, fresh_ml1)


@pytest.mark.parametrize("kind", ["ML10", pytest.param("ML25", marks=pytest.mark.slow)])
def test_cached_multi_task_benchmark_equals_fresh_build(tmp_path, monkeypatch, kind):
    """ML10 (one ~20 s Meta-World build; ML25, ~35 s, only with -m slow): the fresh build is
    stored, then a warm load must equal it byte for byte, for every task of both splits."""
    monkeypatch.setenv(cache.CACHE_DIR_ENV, str(tmp_path))
    fresh = getattr(metaworld, kind)(seed=3)
    build = CountingBuild(fresh)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cold = cache.load_or_build(kind, None, 3, build=build)
        warm = cache.load_or_build(kind, None, 3, build=build)
    assert build.calls == 1
    for bench in (cold, warm):
        assert_same_benchmark(bench, fresh)
    assert len(warm.train_tasks) == len(fresh.train_classes) * cache.N_GOALS
    # test classes too are the benchmark's own, and the tasks set on them
    for name, cls in warm.test_classes.items():
        assert cls is fresh.test_classes[name]
    sizes = {t.env_name: pickle.loads(t.data)["rand_vec"].shape for t in warm.train_tasks + warm.test_tasks}
    assert set(sizes.values()) <= {(n,) for n in cache.RAND_VEC_SIZES}
