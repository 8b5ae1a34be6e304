"""The task cache (kmw/cache.py) against real Meta-World builds: fidelity, damage, concurrency."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import pickle
import warnings
from pathlib import Path

import metaworld
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


def test_valid_pickle_with_wrong_hash_is_never_used(cache_root, fresh_ml1):
    """A payload swapped for another well-formed one (train and test tasks exchanged) is refused."""
    build = CountingBuild(fresh_ml1)
    cache.load_or_build("ML1", TASK, 7, build=build)
    path = cache.cache_path("ML1", TASK, 7)
    blob = path.read_bytes()
    end = blob.index(b"\n", len(cache.MAGIC))
    payload = pickle.loads(blob[end + 1 :])
    payload["train_tasks"], payload["test_tasks"] = payload["test_tasks"], payload["train_tasks"]
    forged = pickle.dumps(payload)
    header = json.loads(blob[len(cache.MAGIC) : end])
    header["length"] = len(forged)  # right length, stale hash
    path.write_bytes(cache.MAGIC + json.dumps(header).encode() + b"\n" + forged)
    with pytest.warns(UserWarning, match="sha256"):
        bench = cache.load_or_build("ML1", TASK, 7, build=build)
    assert build.calls == 2
    assert task_bytes(bench.train_tasks) == task_bytes(fresh_ml1.train_tasks)


def test_payload_with_globals_is_refused_even_with_a_matching_hash():
    evil = pickle.dumps({"kind": "ML1", "x": os.system})
    header = {
        "format": cache.FORMAT_VERSION,
        "metaworld": cache.metaworld_version(),
        "name": "ml1-reach-v3",
        "seed": 0,
        "length": len(evil),
        "sha256": hashlib.sha256(evil).hexdigest(),
    }
    blob = cache.MAGIC + json.dumps(header).encode() + b"\n" + evil
    with pytest.raises(cache.CacheError, match="only plain data"):
        cache.decode(blob, "ml1-reach-v3", 0)


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


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["ML10", "ML25"])
def test_cached_multi_task_benchmark_equals_fresh_build(tmp_path, monkeypatch, kind):
    """About 2 x 20 s (ML10) / 2 x 35 s (ML25): a cold cache build, then Meta-World's own."""
    monkeypatch.setenv(cache.CACHE_DIR_ENV, str(tmp_path))
    make_benchmark(kind.lower(), seed=3)

    def must_not_build():
        raise AssertionError("the cache file was not used")

    cached = cache.load_or_build(kind, None, 3, build=must_not_build)
    assert_same_benchmark(cached, getattr(metaworld, kind)(seed=3))
