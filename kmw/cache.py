"""On-disk cache of Meta-World benchmark tasks, so a benchmark is built once per seed.

Building ``metaworld.ML10()`` takes about 20 s and ``ML45()`` about a minute, almost all of it
spent constructing every env class to sample 50 goals each. The tasks that come out are plain
``Task(env_name, data)`` tuples whose ``data`` is already a pickle, so they can be stored and
read back in milliseconds. :func:`load_or_build` does that for one
``(Meta-World version, benchmark name, seed)``.

File format (one file per key, ``<cache dir>/metaworld-<version>/<name>-seed<seed>.tasks``)::

    KMW-TASKS\\n                       magic line
    {"format": 1, ..., "sha256": ...}\\n  JSON header: format version, Meta-World version,
                                        benchmark name, seed, payload length and sha256
    <payload>                           pickle of plain data only (dict/list/tuple/str/bytes/int)

A file is used only if the magic, format version, Meta-World version, name, seed, length and
sha256 all match; anything else (a truncated write, garbage bytes, another Meta-World version)
is reported with a ``UserWarning``, never used, rebuilt and overwritten. The payload is read
with an unpickler that refuses every global, so it can only produce plain containers; the task
``data`` bytes inside are Meta-World's own pickles, unpickled by Meta-World's ``set_task`` as
they would be after a fresh build.

Writes go to a temporary file in the same directory followed by ``os.replace``, so readers see
either the old file or the complete new one, and several processes building at once corrupt
nothing (where ``fcntl`` exists they also take a lock, so only one of them builds). A cache
directory that cannot be created or written to falls back to building in memory, with a
``UserWarning``.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import pickle
import tempfile
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import metaworld
import metaworld.env_dict as _env_dict

try:  # POSIX only; without it concurrent builders are still safe, just not deduplicated.
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

#: Version of the file layout; bump it when the header or payload changes.
FORMAT_VERSION = 1
MAGIC = b"KMW-TASKS\n"
#: Environment variable naming the cache directory (overrides the XDG default).
CACHE_DIR_ENV = "KMW_CACHE_DIR"

#: The benchmark kinds the cache can store, with their Meta-World classes.
_KINDS: dict[str, type] = {
    "ML1": metaworld.ML1,
    "ML10": metaworld.ML10,
    "ML25": metaworld.ML25,
    "ML45": metaworld.ML45,
}
_SPLITS_BY_KIND = {"ML10": "ML10_V3", "ML25": "ML25_V3", "ML45": "ML45_V3"}


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
        if task not in _env_dict.ALL_V3_ENVIRONMENTS:
            raise ValueError(f"{task!r} is not a Meta-World v3 environment")
        train = OrderedDict([(task, _env_dict.ALL_V3_ENVIRONMENTS[task])])
        return train, train  # ML1 shares one mapping between the splits, as Meta-World does
    split_dict = getattr(_env_dict, _SPLITS_BY_KIND[kind])
    return split_dict["train"], split_dict["test"]


def build_fresh(kind: str, task: str | None, seed: int) -> Any:
    """Build the benchmark with Meta-World itself (slow)."""
    cls = _KINDS[kind]
    return cls(task, seed=seed) if kind == "ML1" else cls(seed=seed)


def to_payload(benchmark: Any, kind: str, task: str | None, seed: int) -> dict[str, Any]:
    """The benchmark's tasks and class names as plain data (str/bytes/int/list/tuple/dict)."""
    return {
        "kind": kind,
        "task": task,
        "seed": seed,
        "train_classes": list(benchmark.train_classes),
        "test_classes": list(benchmark.test_classes),
        "train_tasks": [(t.env_name, bytes(t.data)) for t in benchmark.train_tasks],
        "test_tasks": [(t.env_name, bytes(t.data)) for t in benchmark.test_tasks],
    }


def from_payload(payload: dict[str, Any]) -> Any:
    """A benchmark object of the right Meta-World class rebuilt from :func:`to_payload` data.

    The object is made with ``object.__new__`` (Meta-World's ``__init__`` would rebuild the
    tasks) and given the same class mappings Meta-World's constructor sets; raises
    ``CacheError`` if the stored class names no longer match them.
    """
    kind, task = payload["kind"], payload["task"]
    if kind not in _KINDS:
        raise CacheError(f"unknown benchmark kind {kind!r} in cache payload")
    train_classes, test_classes = _classes_for(kind, task)
    if (
        list(train_classes) != payload["train_classes"]
        or list(test_classes) != payload["test_classes"]
    ):
        raise CacheError("the cached class names differ from this Meta-World's benchmark")
    bench = object.__new__(_KINDS[kind])
    bench._train_classes = train_classes
    bench._test_classes = test_classes
    bench._train_tasks = [metaworld.Task(env_name=n, data=d) for n, d in payload["train_tasks"]]
    bench._test_tasks = [metaworld.Task(env_name=n, data=d) for n, d in payload["test_tasks"]]
    return bench


# -- file format ------------------------------------------------------------------------------


class _PlainUnpickler(pickle.Unpickler):
    """Unpickles builtin containers and scalars only: every global lookup is refused."""

    def find_class(self, module: str, name: str) -> Any:
        raise CacheError(f"cache payload refers to {module}.{name}; only plain data is allowed")


def encode(payload: dict[str, Any], name: str, seed: int) -> bytes:
    """The full file contents for ``payload``: magic, JSON header, pickled payload."""
    body = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    header = {
        "format": FORMAT_VERSION,
        "metaworld": metaworld_version(),
        "name": name,
        "seed": seed,
        "length": len(body),
        "sha256": hashlib.sha256(body).hexdigest(),
    }
    return MAGIC + json.dumps(header, sort_keys=True).encode() + b"\n" + body


def decode(blob: bytes, name: str, seed: int) -> dict[str, Any]:
    """The payload stored in ``blob``; ``CacheError`` if anything does not check out."""
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
            raise CacheError(f"header {key} is {header.get(key)!r}, expected {want!r}")
    body = blob[end + 1 :]
    if len(body) != header.get("length"):
        raise CacheError(f"payload is {len(body)} bytes, header says {header.get('length')}")
    if hashlib.sha256(body).hexdigest() != header.get("sha256"):
        raise CacheError("payload sha256 mismatch")
    try:
        payload = _PlainUnpickler(io.BytesIO(body)).load()
    except CacheError:
        raise
    except Exception as exc:
        raise CacheError(f"unreadable payload: {exc}") from exc
    if not isinstance(payload, dict):
        raise CacheError("payload is not a mapping")
    return payload


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temp file in the same directory and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; the cache is as readable as other files
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def _build_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path``'s lock file while building (best effort: no lock
    where ``fcntl`` is missing or the directory is unusable; the atomic write keeps that safe)."""
    f = None
    if fcntl is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            f = open(path.with_name(path.name + ".lock"), "ab")  # noqa: SIM115
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        except OSError:
            if f is not None:
                f.close()
            f = None
    try:
        yield
    finally:
        if f is not None:
            f.close()  # closing the file releases the lock


def _try_load(
    path: Path, kind: str, task: str | None, seed: int, *, warn: bool = True
) -> Any | None:
    """The cached benchmark at ``path``, or ``None`` if absent or unusable (with a warning)."""
    try:
        blob = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        if warn:
            warnings.warn(f"kmw task cache: cannot read {path} ({exc}); rebuilding", UserWarning, 3)
        return None
    try:
        payload = decode(blob, _file_name(kind, task), seed)
        stored = (payload.get("kind"), payload.get("task"), payload.get("seed"))
        if stored != (kind, task, seed):
            raise CacheError(f"payload is for {stored}, expected {(kind, task, seed)}")
        return from_payload(payload)
    except (CacheError, KeyError, TypeError, ValueError) as exc:
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
    build: Callable[[], Any] | None = None,
    root: Path | None = None,
) -> Any:
    """The benchmark ``kind`` (ML1: of ``task``) with ``seed``, from the cache or built and stored.

    ``build`` makes the benchmark on a cache miss (default: Meta-World's constructor). The
    returned object is always rebuilt from the stored bytes, so a first call and later calls
    return equal benchmarks. If the cache directory is unusable, the built benchmark is
    returned uncached with a ``UserWarning``.
    """
    if kind not in _KINDS:
        raise ValueError(f"benchmark kind must be one of {sorted(_KINDS)}, got {kind!r}")
    name = _file_name(kind, task)
    path = cache_path(kind, task, seed, root)
    builder = build if build is not None else (lambda: build_fresh(kind, task, seed))

    cached = _try_load(path, kind, task, seed)
    if cached is not None:
        return cached
    with _build_lock(path):
        # Another process may have built it while we waited for the lock.
        cached = _try_load(path, kind, task, seed, warn=False)
        if cached is not None:
            return cached
        payload = to_payload(builder(), kind, task, seed)
        try:
            write_atomic(path, encode(payload, name, seed))
        except OSError as exc:
            warnings.warn(
                f"kmw task cache: cannot write to {path.parent} ({exc}); using the benchmark "
                "built in memory (set KMW_CACHE_DIR to a writable directory)",
                UserWarning,
                stacklevel=2,
            )
    return from_payload(payload)
