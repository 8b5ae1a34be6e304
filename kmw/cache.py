"""On-disk cache of Meta-World benchmark tasks, so a benchmark is built once per seed.

Building ``metaworld.ML10()`` takes about 20 s and ``ML45()`` about a minute, almost all of it
spent constructing every env class to sample 50 goals each. Each task that comes out is a
``Task(env_name, data)`` whose ``data`` is Meta-World's pickle of three fields: ``rand_vec``
(a float64 vector: the goal and object positions), ``env_cls`` (the env class) and
``partially_observable`` (a bool). :func:`load_or_build` stores those fields as plain JSON for
one ``(Meta-World version, benchmark name, seed)`` and rebuilds the tasks from them in
milliseconds.

File format (one file per key, ``<cache dir>/metaworld-<version>/<name>-seed<seed>.tasks``)::

    KMW-TASKS\\n                       magic line
    {"format": 2, ..., "sha256": ...}\\n  JSON header: format version, Meta-World version,
                                        benchmark name, seed, payload length and sha256
    <payload>                           UTF-8 JSON: benchmark kind, ML1 task, seed, class
                                        names, and per task its env name, the env class's
                                        qualified name, rand_vec (list of floats) and
                                        partially_observable (bool)

**No pickle is ever read from the file.** The payload is parsed as JSON (``NaN``/``Infinity``
and duplicate keys refused) and validated field by field against what this Meta-World builds
for the benchmark: the exact keys, the class names of each split, each task's env name (from the
split's class mapping), its class name (must be the qualified name of that mapping's class: the
class object is taken from the mapping, never imported by name), ``rand_vec`` (finite floats, a
length Meta-World's envs use, the same for all tasks of an env), ``partially_observable`` (the
bool Meta-World's ML benchmarks set), and the number and order of tasks. The task ``data`` is
then re-encoded with Meta-World's own ``_encode_task``, which gives the same bytes as a fresh
build. Anything that does not check out (bad magic, another format or Meta-World version, a
truncated write, a wrong sha256, bad JSON, a wrong structure, type, value or class name; not a
regular file, or larger than :data:`MAX_FILE_BYTES`: those are not even read, and never waited
on) is reported with a ``UserWarning``, never used, rebuilt and overwritten. The sha256 detects damage,
not tampering (it is unkeyed); the validation is what keeps a tampered file from running code.

Writes use the project's one writer (``kmw._files.write_bytes_atomic``): a temporary file in
the same directory followed by ``os.replace``, so readers see either the old file or the
complete new one, and several processes building at once corrupt nothing (where ``fcntl``
exists they also take a lock, so only one of them builds). On a miss the cache calls the
``build`` it is given (``kmw.benchmarks.build_benchmark``); it builds nothing itself. A cache
directory that cannot be created or written to falls back to building in memory, with a
``UserWarning``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import pickle
import stat
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import metaworld
import metaworld.env_dict as _env_dict
import numpy as np

from kmw._files import read_bounded, write_bytes_atomic
from kmw.kinds import KINDS, benchmark_class, check_kind

try:  # POSIX only; without it concurrent builders are still safe, just not deduplicated.
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

#: Version of the file layout; bump it when the header or payload changes.
#: 1: pickled payload holding Meta-World's pickled task data (no longer read).
#: 2: JSON payload, no pickle.
FORMAT_VERSION = 2
MAGIC = b"KMW-TASKS\n"
#: Environment variable naming the cache directory (overrides the XDG default).
CACHE_DIR_ENV = "KMW_CACHE_DIR"
#: The largest cache file read (ML45's is about 0.5 MB): a larger one is damaged.
MAX_FILE_BYTES = 64 << 20

#: Goals Meta-World samples per env class (``metaworld._N_GOALS``).
N_GOALS: int = int(getattr(metaworld, "_N_GOALS", 50))
#: The keys of Meta-World's task data for ML benchmarks, in Meta-World's order.
_DATA_KEYS = ("rand_vec", "env_cls", "partially_observable")
#: ``partially_observable`` in every ML task (Meta-World's ``_ML_OVERRIDE`` hides the goal).
_PARTIALLY_OBSERVABLE = True
#: ``rand_vec`` lengths Meta-World v3's envs use (object + goal position, or goal only).
RAND_VEC_SIZES = (3, 6)
_PAYLOAD_KEYS = frozenset(
    ("kind", "task", "seed", "train_classes", "test_classes", "train_tasks", "test_tasks")
)
_TASK_KEYS = frozenset(("env_name", "env_cls", "rand_vec", "partially_observable"))


class CacheError(Exception):
    """A cache file is missing, damaged, or was written for something else."""


def metaworld_version() -> str:
    """The installed Meta-World distribution's version (part of every cache key)."""
    try:
        return metadata.version("metaworld")
    except metadata.PackageNotFoundError:  # pragma: no cover - metaworld imported from a path
        return str(getattr(metaworld, "__version__", "unknown"))


def cache_dir() -> Path:
    """The cache's root: ``$KMW_CACHE_DIR``, else ``$XDG_CACHE_HOME/kmw``, else ``~/.cache/kmw``."""
    explicit = os.environ.get(CACHE_DIR_ENV)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "kmw"


def cache_path(kind: str, task: str | None, seed: int, root: Path | None = None) -> Path:
    """The file holding the tasks of benchmark ``kind`` (ML1: of ``task``) built with ``seed``."""
    root = cache_dir() if root is None else root
    return root / f"metaworld-{metaworld_version()}" / f"{_file_name(kind, task)}-seed{seed}.tasks"


def _file_name(kind: str, task: str | None) -> str:
    """The benchmark's part of the cache key: ``"ml10"``, ``"ml1-reach-v3"``, ..."""
    return f"ml1-{task}" if kind == "ML1" else kind.lower()


# -- benchmark <-> plain payload --------------------------------------------------------------


def _classes_for(kind: str, task: str | None) -> tuple[Any, Any]:
    """The (train, test) class mappings Meta-World's constructor of ``kind`` would set."""
    if kind == "ML1":
        if not isinstance(task, str) or task not in _env_dict.ALL_V3_ENVIRONMENTS:
            raise CacheError(f"{_short(task)} is not a Meta-World v3 environment")
        train = OrderedDict([(task, _env_dict.ALL_V3_ENVIRONMENTS[task])])
        return train, train  # ML1 shares one mapping between the splits, as Meta-World does
    split_dict = getattr(_env_dict, f"{kind}_V3")  # env_dict.ML10_V3, ...
    return split_dict["train"], split_dict["test"]


def _short(value: Any) -> str:
    """``repr(value)``, cut short: error messages quote values read from an untrusted file."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _class_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _task_fields(t: Any) -> dict[str, Any]:
    """One freshly built task's fields as plain data. This unpickles ``t.data``, so it is only
    ever applied to tasks built in this process, never to anything read from the cache."""
    data = pickle.loads(t.data)
    if not isinstance(data, dict) or tuple(data) != _DATA_KEYS:
        raise CacheError(f"{t.env_name}: unexpected task data keys, cannot cache")
    rand_vec = data["rand_vec"]
    if not (
        isinstance(rand_vec, np.ndarray) and rand_vec.dtype == np.float64 and rand_vec.ndim == 1
    ):
        raise CacheError(f"{t.env_name}: rand_vec is not a float64 vector, cannot cache")
    return {
        "env_name": t.env_name,
        "env_cls": _class_name(data["env_cls"]),
        "rand_vec": [float(x) for x in rand_vec],
        "partially_observable": data["partially_observable"],
    }


def to_payload(benchmark: Any, kind: str, task: str | None, seed: int) -> dict[str, Any]:
    """The benchmark's class names and task fields as plain JSON data (no bytes, no classes)."""
    return {
        "kind": kind,
        "task": task,
        "seed": seed,
        "train_classes": list(benchmark.train_classes),
        "test_classes": list(benchmark.test_classes),
        "train_tasks": [_task_fields(t) for t in benchmark.train_tasks],
        "test_tasks": [_task_fields(t) for t in benchmark.test_tasks],
    }


def _encode_task(env_name: str, data: dict[str, Any]) -> Any:
    """Meta-World's own task encoding (``metaworld._encode_task``), so the bytes are its own."""
    encode_task = getattr(metaworld, "_encode_task", None)
    if encode_task is None:  # pragma: no cover - older/newer Meta-World without the helper
        return metaworld.Task(env_name=env_name, data=pickle.dumps(data))
    return encode_task(env_name, data)


def _tasks_from(entries: Any, classes: Any, split: str) -> list[Any]:
    """Validate one split's stored tasks against its class mapping and rebuild them."""
    if not isinstance(entries, list):
        raise CacheError(f"{split}_tasks is not a list")
    expected_names = [name for name in classes for _ in range(N_GOALS)]
    if len(entries) != len(expected_names):
        raise CacheError(f"{split}_tasks has {len(entries)} tasks, expected {len(expected_names)}")
    sizes: dict[str, int] = {}
    tasks = []
    for i, (entry, want_name) in enumerate(zip(entries, expected_names, strict=True)):
        where = f"{split}_tasks[{i}]"
        if not isinstance(entry, dict) or set(entry) != _TASK_KEYS:
            raise CacheError(f"{where} is not a task record with keys {sorted(_TASK_KEYS)}")
        env_name, cls_name = entry["env_name"], entry["env_cls"]
        rand_vec, observable = entry["rand_vec"], entry["partially_observable"]
        if env_name != want_name:  # also refuses non-strings
            raise CacheError(f"{where}.env_name is {_short(env_name)}, expected {want_name!r}")
        cls = classes[want_name]
        if cls_name != _class_name(cls):
            raise CacheError(f"{where}.env_cls is {_short(cls_name)}, expected {_class_name(cls)!r}")
        if observable is not _PARTIALLY_OBSERVABLE:
            raise CacheError(f"{where}.partially_observable is {_short(observable)}, expected True")
        if not isinstance(rand_vec, list) or len(rand_vec) not in RAND_VEC_SIZES:
            raise CacheError(f"{where}.rand_vec is not a list of {RAND_VEC_SIZES} floats")
        if sizes.setdefault(want_name, len(rand_vec)) != len(rand_vec):
            raise CacheError(
                f"{where}.rand_vec has length {len(rand_vec)}; earlier {want_name} tasks have "
                f"{sizes[want_name]}"
            )
        if not all(type(x) is float and math.isfinite(x) for x in rand_vec):
            raise CacheError(f"{where}.rand_vec holds a non-float or non-finite value")
        data = {
            "rand_vec": np.array(rand_vec, dtype=np.float64),
            "env_cls": cls,
            "partially_observable": observable,
        }
        tasks.append(_encode_task(want_name, data))
    return tasks


def from_payload(payload: Any) -> Any:
    """A benchmark object of the right Meta-World class rebuilt from :func:`to_payload` data.

    Every field is validated against what this Meta-World builds (``CacheError`` otherwise);
    classes come from the benchmark's own class mapping, never from the payload. The object is
    made with ``object.__new__`` (Meta-World's ``__init__`` would rebuild the tasks) and given
    the same class mappings Meta-World's constructor sets.
    """
    if not isinstance(payload, dict) or set(payload) != _PAYLOAD_KEYS:
        raise CacheError(f"payload is not a mapping with keys {sorted(_PAYLOAD_KEYS)}")
    kind, task = payload["kind"], payload["task"]
    if not isinstance(kind, str) or kind not in KINDS:
        raise CacheError(f"unknown benchmark kind {_short(kind)} in cache payload")
    if (kind == "ML1") != isinstance(task, str) or (kind != "ML1" and task is not None):
        raise CacheError(f"task {_short(task)} does not fit benchmark kind {kind}")
    seed = payload["seed"]
    if type(seed) is not int:
        raise CacheError(f"seed {_short(seed)} is not an integer")
    train_classes, test_classes = _classes_for(kind, task)
    if (
        list(train_classes) != payload["train_classes"]
        or list(test_classes) != payload["test_classes"]
    ):
        raise CacheError("the cached class names differ from this Meta-World's benchmark")
    bench = object.__new__(benchmark_class(kind))
    bench._train_classes = train_classes
    bench._test_classes = test_classes
    bench._train_tasks = _tasks_from(payload["train_tasks"], train_classes, "train")
    bench._test_tasks = _tasks_from(payload["test_tasks"], test_classes, "test")
    return bench


# -- file format ------------------------------------------------------------------------------


def _refuse_constant(name: str) -> Any:
    raise CacheError(f"cache payload holds {name}; only finite numbers are allowed")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise CacheError("cache payload has a duplicate key")
    return obj


def encode(payload: dict[str, Any], name: str, seed: int) -> bytes:
    """The full file contents for ``payload``: magic, JSON header, JSON payload."""
    try:
        body = json.dumps(payload, allow_nan=False, separators=(",", ":")).encode("utf-8")
    except (TypeError, ValueError) as exc:  # a non-finite float or a non-JSON value
        raise CacheError(f"payload is not plain finite JSON data: {exc}") from exc
    header = {
        "format": FORMAT_VERSION,
        "metaworld": metaworld_version(),
        "name": name,
        "seed": seed,
        "length": len(body),
        "sha256": hashlib.sha256(body).hexdigest(),
    }
    return MAGIC + json.dumps(header, sort_keys=True).encode() + b"\n" + body


def decode(blob: bytes, name: str, seed: int) -> Any:
    """The JSON payload stored in ``blob`` (not yet validated: see :func:`from_payload`);
    ``CacheError`` if the magic, header, length, hash or JSON do not check out."""
    if not blob.startswith(MAGIC):
        raise CacheError("not a kmw task cache file (bad magic)")
    end = blob.find(b"\n", len(MAGIC))
    if end < 0:
        raise CacheError("truncated header")
    try:
        header = json.loads(blob[len(MAGIC) : end])
    except (ValueError, UnicodeDecodeError) as exc:
        raise CacheError(f"unreadable header: {exc}") from exc
    if not isinstance(header, dict):
        raise CacheError("unreadable header")
    expected = {
        "format": FORMAT_VERSION,
        "metaworld": metaworld_version(),
        "name": name,
        "seed": seed,
    }
    for key, want in expected.items():
        if header.get(key) != want:
            raise CacheError(f"header {key} is {_short(header.get(key))}, expected {want!r}")
    body = blob[end + 1 :]
    if len(body) != header.get("length"):
        raise CacheError(f"payload is {len(body)} bytes, header says {_short(header.get('length'))}")
    if hashlib.sha256(body).hexdigest() != header.get("sha256"):
        raise CacheError("payload sha256 mismatch")
    try:
        return json.loads(
            body.decode("utf-8"), parse_constant=_refuse_constant, object_pairs_hook=_unique_keys
        )
    except CacheError:
        raise
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise CacheError(f"unreadable payload: {exc}") from exc


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` (creating its directory) with the project's one writer:
    a temp file in the same directory, then ``os.replace`` (``kmw._files``). A FIFO, socket or
    device where the cache file belongs is removed first (the writer would write into it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        mode = os.lstat(path).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode) or stat.S_ISDIR(mode)):
            os.unlink(path)
    write_bytes_atomic(path, data)


@contextlib.contextmanager
def _build_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path``'s lock file while building (best effort: no lock
    where ``fcntl`` is missing or the directory is unusable; the atomic write keeps that safe)."""
    fd = None
    if fcntl is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Without blocking: a FIFO there (no reader) raises ENXIO instead of hanging.
            fd = os.open(path.with_name(path.name + ".lock"),
                         os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK | os.O_CLOEXEC,
                         0o666)
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise OSError(f"{path.name}.lock is not a regular file")
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:
            if fd is not None:
                os.close(fd)
            fd = None
    try:
        yield
    finally:
        if fd is not None:
            os.close(fd)  # closing the file releases the lock


def _load_blob(blob: bytes, kind: str, task: str | None, seed: int) -> Any:
    """The benchmark stored in ``blob`` for this key; ``CacheError`` if unusable."""
    payload = decode(blob, _file_name(kind, task), seed)
    if isinstance(payload, dict):
        stored = (payload.get("kind"), payload.get("task"), payload.get("seed"))
        if stored != (kind, task, seed):
            raise CacheError(f"payload is for {_short(stored)}, expected {(kind, task, seed)}")
    return from_payload(payload)


def _try_load(
    path: Path, kind: str, task: str | None, seed: int, *, warn: bool = True
) -> Any | None:
    """The cached benchmark at ``path``, or ``None`` if absent or unusable (with a warning)."""
    try:
        # Bounded, without blocking: a FIFO, a device, a huge or sparse file raise ValueError.
        blob = read_bounded(path, MAX_FILE_BYTES)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, ValueError) as exc:
        if warn:
            warnings.warn(f"kmw task cache: cannot read {path} ({exc}); rebuilding", UserWarning, 3)
        return None
    try:
        return _load_blob(blob, kind, task, seed)
    except (CacheError, KeyError, TypeError, ValueError, IndexError, RecursionError) as exc:
        if warn:
            warnings.warn(
                f"kmw task cache: ignoring damaged or stale {path} ({exc}); rebuilding",
                UserWarning,
                stacklevel=3,
            )
        return None


def load_or_build(
    kind: str,
    task: str | None,
    seed: int,
    *,
    build: Callable[[], Any],
    root: Path | None = None,
) -> Any:
    """The benchmark ``kind`` (ML1: of ``task``) with ``seed``, from the cache or built and stored.

    ``build`` makes the benchmark on a cache miss (``kmw.benchmarks.make_benchmark`` passes
    ``kmw.benchmarks.build_benchmark``, kmw's one builder; the cache builds nothing itself). The
    returned object is always rebuilt from the stored fields, so a first call and later calls
    return equal benchmarks. If the cache directory is unusable, the built benchmark is
    returned uncached with a ``UserWarning``; so is a built benchmark the format cannot hold.
    """
    check_kind(kind)
    name = _file_name(kind, task)
    path = cache_path(kind, task, seed, root)

    cached = _try_load(path, kind, task, seed)
    if cached is not None:
        return cached
    with _build_lock(path):
        # Another process may have built it while we waited for the lock.
        cached = _try_load(path, kind, task, seed, warn=False)
        if cached is not None:
            return cached
        built = build()
        try:  # never write a file that would be refused on reading
            blob = encode(to_payload(built, kind, task, seed), name, seed)
            bench = _load_blob(blob, kind, task, seed)
        except CacheError as exc:
            warnings.warn(
                f"kmw task cache: cannot store this benchmark ({exc}); using it uncached",
                UserWarning,
                stacklevel=2,
            )
            return built
        try:
            write_atomic(path, blob)
        except OSError as exc:
            warnings.warn(
                f"kmw task cache: cannot write to {path.parent} ({exc}); using the benchmark "
                "built in memory (set KMW_CACHE_DIR to a writable directory)",
                UserWarning,
                stacklevel=2,
            )
    return bench
