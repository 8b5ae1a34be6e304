"""KMW-OBS-4 and KMW-LOG-5: what a candidate returned stays as it was returned, checked in
bounded memory.

:class:`ReturnedObjects` keeps every observation and ``info`` a session's candidate returned,
with a :func:`fingerprint` taken when it was returned, and compares them again later (after
the next call, at every ``reset``, at the session's end). Neither the fingerprints nor what is
kept grow with the *size* of what the candidate returns:

- **Fingerprints, not copies.** :func:`fingerprint` walks a value within bounds: arrays by
  dtype, shape and bytes (up to :data:`INLINE_BYTES` the bytes themselves, beyond that their
  CRC-32, read where they lie, in chunks when not contiguous), dicts, lists, tuples and sets
  element by element down to :data:`MAX_DEPTH` levels and over at most :data:`MAX_ITEMS`
  elements, Python and NumPy scalars by value. Any other object is *opaque*: it counts by its
  type and identity (replacing it is a change, a change inside it is not seen). The walk runs
  no candidate code (no ``repr``, ``__eq__``, ``__len__`` or overridden ``items``: the base
  types' own methods are called); if it fails anyway, the object is opaque. A light value's
  fingerprint is the walk's plain data, a heavy one's its 16-byte BLAKE2b digest. (A CRC-32
  misses a change with probability 2**-32, and never a change of 32 bits or fewer in a row: it
  is there to see a candidate reuse a buffer, not to resist a forger; it reads a 240x240x3
  frame about eight times faster than BLAKE2b.)
- **Light calls are kept whole.** A call whose observation and ``info`` weigh at most
  :data:`LIGHT_BYTES` (the bytes of the arrays' buffers, long strings, 16 per element) keeps
  strong references for the candidate's life, as v2's check always did.
- **Heavy ones are released** :data:`RECENT_CALLS` calls later, after a last comparison, into
  what can still change: an array becomes a weak reference to the array that owns its memory
  plus where in that memory it lies (so a view of a buffer the candidate keeps, e.g. a ring of
  frames, is still compared whole; once that owner is freed nobody can change it); a dict, list,
  tuple or set that nothing but this check refers to (CPython's reference count says so) can no
  longer be changed by anyone, so only what it holds is kept, the same way; one that something
  else still refers to (the candidate, the property) is kept as it is, and tried again at the
  next ``reset`` and at the end. Scalars, strings and opaque objects need nothing.

What is left out, compared with keeping copies of everything: changes inside opaque objects,
below :data:`MAX_DEPTH` levels or past the first :data:`MAX_ITEMS` elements of a container,
and, for heavy calls, changes to memory that belongs to an object that is not a NumPy array
(a ``bytearray``, an ``mmap``) behind an array that nobody keeps.
"""

from __future__ import annotations

import hashlib
import marshal
import sys
import threading
import weakref
import zlib
from collections import deque
from itertools import islice
from typing import Any

import numpy as np

from conformance.engine.model import Finding, TrialModel

#: Nesting levels of dicts, lists, tuples and sets a fingerprint looks into.
MAX_DEPTH = 6
#: Elements of containers (over all levels) a fingerprint looks at.
MAX_ITEMS = 10_000
#: A call whose observation and info weigh at most this many bytes is kept whole.
LIGHT_BYTES = 4096
#: Heavy calls are kept whole for this many calls (the harness still holds the last result).
RECENT_CALLS = 2
#: Non-contiguous arrays are hashed in chunks of about this many bytes.
CHUNK_BYTES = 1 << 20
#: Arrays up to this many bytes enter a fingerprint as their bytes, larger ones as a digest.
INLINE_BYTES = 256

_NAN = ("nan",)
_ELIDED = ("...",)
_DICT_ID = id(dict)
#: Dicts of at most this many str -> float entries are fingerprinted without a walk.
_FLOAT_DICT = 64
_ND = np.ndarray
# The base class's own attributes: a subclass may override them with Python code.
_base_of = _ND.base.__get__
_nbytes = _ND.nbytes.__get__
_as_base = _ND.view


#: A value's fingerprint: ``(key, weight)``, the key to compare and about the bytes of what
#: the value holds (arrays' buffers, long strings, 16 per element). (A plain tuple: it is
#: made several times per call.)
Print = tuple[Any, int]


def _owner(arr: np.ndarray) -> np.ndarray:
    """The array at the end of ``arr``'s chain of bases: the one whose memory ``arr`` uses."""
    while True:
        base = _base_of(arr)
        if not isinstance(base, _ND):
            return arr
        arr = base


def _array_token(a: np.ndarray) -> Any:
    """``a`` (a base-class ndarray without Python objects) as fingerprint data: dtype, shape
    and the bytes in C order, inline when small, else their CRC-32 (read where they lie, in
    chunks when not contiguous: no copy of the whole array)."""
    dtype = a.dtype
    if a.nbytes <= INLINE_BYTES and dtype.names is None:
        return (dtype.str, a.shape, a.tobytes())  # (no tag: an array's dtype.str is its own)
    head = (dtype.str, a.shape, str(dtype) if dtype.names else None)
    if a.flags.c_contiguous:
        crc = zlib.crc32(a.reshape(-1).view(np.uint8))
    else:
        crc = 0
        rows = max(1, CHUNK_BYTES // max(1, _nbytes(a[0])))
        for i in range(0, a.shape[0], rows):
            crc = zlib.crc32(np.ascontiguousarray(a[i:i + rows]).reshape(-1).view(np.uint8), crc)
    return (*head, crc)


class _Walk:
    """One fingerprint's walk: a budget of elements, the weight seen, array tokens by id.

    ``enc`` turns a value into plain data (tuples of exact ``str``, ``bytes``, ``int``,
    ``float``, ``bool`` and ``None``): containers as tuples starting with a tag, scalars as
    themselves (NaN as ``_NAN``), arrays as :func:`_array_token`, opaque objects by identity.
    """

    __slots__ = ("items", "weight", "memo")

    def __init__(self, memo: dict[int, Any] | None) -> None:
        self.items = MAX_ITEMS
        self.weight = 0
        self.memo = memo

    def enc(self, v: Any, depth: int) -> Any:
        t = type(v)
        if t is float:
            return v if v == v else _NAN
        if t is dict and depth < MAX_DEPTH:
            return self.pairs(t, v, depth + 1)
        if t is str or t is bytes:
            if len(v) > INLINE_BYTES:
                self.weight += len(v)
            return v
        if t is int or t is bool or v is None:
            return v
        if issubclass(t, _ND):
            return self.array(v, t, depth)
        if issubclass(t, np.generic):
            if v.dtype.hasobject:
                return self.opaque(v)
            return ("g", v.dtype.str, v.tobytes())
        # Subclasses of the scalar types: their base value, taken without calling their methods.
        if issubclass(t, float):
            return self.enc(float.__float__(v), depth)
        if issubclass(t, int):
            return self.enc(int.__index__(v), depth)
        if issubclass(t, str):
            return self.enc(str.__str__(v), depth)
        if issubclass(t, bytes):
            return self.enc(bytes(memoryview(v)), depth)
        if depth >= MAX_DEPTH:
            return self.opaque(v)
        if issubclass(t, dict):
            return self.pairs(t, v, depth + 1)
        if issubclass(t, list):
            return self.seq("l", t, list.__iter__(v), depth + 1)
        if issubclass(t, tuple):
            return self.seq("t", t, tuple.__iter__(v), depth + 1)
        if issubclass(t, (set, frozenset)):
            return self.unordered(t, v, depth + 1)
        if issubclass(t, bytearray):
            self.weight += len(v)
            return ("b", bytes(v))
        return self.opaque(v)

    def opaque(self, v: Any) -> Any:
        self.weight += 16
        return ("o", id(type(v)), id(v))

    def array(self, v: np.ndarray, t: type, depth: int) -> Any:
        a = v if t is _ND else _as_base(v, _ND)
        self.weight += _nbytes(a if _base_of(a) is None else _owner(a))
        if a.dtype.hasobject:
            if a.dtype != object or depth >= MAX_DEPTH:  # object fields in a structure
                return self.opaque(v)
            return self.seq("ao", t, a.flat, depth + 1, a.shape)
        if self.memo is None:
            return _array_token(a)
        token = self.memo.get(id(v))
        if token is None:
            token = self.memo[id(v)] = _array_token(a)
        return token

    def pairs(self, t: type, d: dict[Any, Any], depth: int) -> Any:
        n = dict.__len__(d)
        if n > self.items:
            return self.seq("d", t, dict.items(d), depth)
        self.items -= n
        enc = self.enc
        # An info's usual entry (a str key, a float value) inline, the rest encoded.
        return ("d", id(t), *[
            (k, v if v == v else _NAN) if type(v) is float and type(k) is str
            else (enc(k, depth), enc(v, depth)) for k, v in dict.items(d)])

    def seq(self, tag: str, t: type, it: Any, depth: int, shape: Any = None) -> Any:
        out: list[Any] = [tag, id(t), shape]
        append, enc = out.append, self.enc
        for x in it:
            if self.items <= 0:
                append(_ELIDED)
                break
            self.items -= 1
            if tag == "d":
                append((enc(x[0], depth), enc(x[1], depth)))
            else:
                append(x if type(x) is float and x == x else enc(x, depth))
        return tuple(out)

    def unordered(self, t: type, v: Any, depth: int) -> Any:
        parts = []
        for x in (set.__iter__(v) if issubclass(t, set) else frozenset.__iter__(v)):
            if self.items <= 0:
                parts.append(b"...")
                break
            self.items -= 1
            parts.append(marshal.dumps(self.enc(x, depth), 0))
        return ("s", id(t), tuple(sorted(parts)))


def fingerprint(value: Any, memo: dict[int, Any] | None = None) -> Print:
    """``value``'s :data:`Print` ``(key, weight)``: equal keys for equal contents (NaN equal to NaN), unequal
    keys when anything the walk looks at changed (barring a BLAKE2b collision). The key is the
    walk's plain data itself for a light value, its 16-byte digest for a heavy one. ``memo`` (id
    of an array -> its token) is filled with the arrays seen, for the release of a heavy call."""
    # The usual cases, as the walk would encode them: an observation, an info of floats.
    t = type(value)
    if t is _ND and memo is None:  # (an exact ndarray: its attributes are numpy's own)
        dtype = value.dtype
        if value.base is None and value.nbytes <= INLINE_BYTES and dtype.names is None \
                and not dtype.hasobject:
            return (dtype.str, value.shape, value.tobytes()), value.nbytes + 16
    elif t is dict and len(value) <= _FLOAT_DICT:
        items = [(k, v if v == v else _NAN) for k, v in dict.items(value)
                 if type(v) is float and type(k) is str and len(k) <= INLINE_BYTES]
        if len(items) == len(value):
            return ("d", _DICT_ID, *items), 16 * (len(items) + 1)
    walk = _Walk(memo)
    try:
        data = walk.enc(value, 0)
    except Exception:  # noqa: BLE001 - the candidate's object defeats the walk: opaque
        walk = _Walk(None)
        data = walk.opaque(value)
    weight = walk.weight + 16 * (MAX_ITEMS - walk.items + 1)
    if weight <= LIGHT_BYTES:
        return data, weight
    return hashlib.blake2b(marshal.dumps(data, 0), digest_size=16).digest(), weight


# -- what is kept -----------------------------------------------------------------------------


class _Strong:
    """A value kept by a strong reference and compared by its fingerprint; once released
    (``obj`` is ``None``), the watches ``rest`` of what can still change in it."""

    __slots__ = ("obj", "key", "rest")

    def __init__(self, obj: Any, key: Any) -> None:
        self.obj, self.key, self.rest = obj, key, None

    def changed(self) -> bool:
        if self.rest is not None:
            return any(w.changed() for w in self.rest)
        return fingerprint(self.obj)[0] != self.key


def _refs(holder: _Strong) -> int:
    return sys.getrefcount(holder.obj)


#: ``_refs`` of an object that only a ``_Strong`` refers to (calibrated: interpreters differ).
_ONLY_OURS = _refs(_Strong(object(), b""))


def _only_ours(holder: _Strong) -> bool:
    """True if nothing but ``holder`` refers to its object (always False off CPython)."""
    return sys.implementation.name == "cpython" and _refs(holder) <= _ONLY_OURS


def _memory(owner: np.ndarray) -> np.ndarray | None:
    """``owner``'s memory as a flat uint8 array (a view, never a copy), or ``None``."""
    flat = _as_base(owner, _ND).ravel(order="K")
    if flat.size and _base_of(flat) is None:  # ravel had to copy
        return None
    return flat.view(np.uint8)


class _Region:
    """An array released: a weak reference to the array owning its memory, and where in that
    memory the array lies. Unchanged once the owner is freed (nobody can write it then)."""

    __slots__ = ("owner", "size", "offset", "shape", "strides", "dtype", "token")

    def __init__(self, a: np.ndarray, owner: np.ndarray, token: Any) -> None:
        self.owner = weakref.ref(owner)
        self.size = _nbytes(owner)
        self.offset = (a.__array_interface__["data"][0]
                       - owner.__array_interface__["data"][0])
        self.shape, self.strides, self.dtype = a.shape, a.strides, a.dtype
        self.token = token

    def changed(self) -> bool:
        owner = self.owner()
        if owner is None:
            return False
        memory = _memory(owner)
        if memory is None or _nbytes(owner) != self.size:
            return False  # resized in place since: no view of it can exist any more
        a = np.ndarray(self.shape, self.dtype, buffer=memory, offset=self.offset,
                       strides=self.strides)
        return _array_token(a) != self.token


def _release_array(v: np.ndarray, memo: dict[int, Any]) -> Any:
    a = _as_base(v, _ND)
    owner = _owner(a)
    if a.dtype.hasobject or _memory(owner) is None:
        return _Strong(v, fingerprint(v)[0])
    token = memo.get(id(v))
    return _Region(a, owner, token if token is not None else _array_token(a))


_CONTAINERS = (dict, list, tuple, set, frozenset, bytearray)


def _release(holder: _Strong, memo: dict[int, Any], budget: list[int], depth: int,
             out: list[Any], shared: list[_Strong]) -> None:
    """Append to ``out`` the watches of what can still change in ``holder.obj`` (see the
    module's docstring) and drop ``holder``'s reference, except for a container something
    else still refers to: that ``holder`` itself goes to ``out`` and to ``shared``."""
    t = type(holder.obj)
    if issubclass(t, _ND):
        out.append(_release_array(holder.obj, memo))
        holder.obj = None
        return
    if depth >= MAX_DEPTH or not issubclass(t, _CONTAINERS):
        holder.obj = None  # immutable, or opaque: nothing in it is compared
        return
    if not _only_ours(holder):
        holder.key = fingerprint(holder.obj)[0]
        out.append(holder)
        shared.append(holder)
        return
    if issubclass(t, dict):
        kids = list(dict.values(holder.obj))
    elif issubclass(t, list):
        kids = list(list.__iter__(holder.obj))
    elif issubclass(t, tuple):
        kids = list(tuple.__iter__(holder.obj))
    else:  # set elements are hashable, a bytearray holds bytes: nothing more can change
        kids = []
    holder.obj = None  # it was ours alone: freed now, and nobody can change it any more
    for i in range(len(kids)):
        if budget[0] <= 0:
            break
        budget[0] -= 1
        kid = _Strong(kids[i], b"")
        kids[i] = None
        _release(kid, memo, budget, depth + 1, out, shared)


class _Record:
    """One call's observation and info: ``parts`` are ``(requirement, what, watches)``; a heavy
    one's ``owner`` (a weak reference to its :class:`ReturnedObjects`) until it is released."""

    __slots__ = ("when", "index", "parts", "owner")

    def __init__(self, when: str, index: int, parts: list[tuple[str, str, list[Any]]]) -> None:
        self.when, self.index, self.parts = when, index, parts
        self.owner: weakref.ref[ReturnedObjects] | None = None


NO_RESULT = object()
"""``ReturnedObjects.check``'s result for a sweep after the last call (nothing new to keep)."""

#: Heavy calls not released yet, of every :class:`ReturnedObjects` of the process, oldest
#: first: at most :data:`MAX_UNRELEASED` (sessions that are over but wait for the cyclic garbage
#: collector, e.g. a hypothesis state machine's, keep none).
_UNRELEASED: deque[_Record] = deque()
MAX_UNRELEASED = 2 * RECENT_CALLS
_RELEASING = threading.Lock()


class ReturnedObjects:
    """KMW-OBS-4 and KMW-LOG-5: what the candidate returned stays as it was returned.

    Keeps each call's observation and ``info`` with a fingerprint taken when they were returned,
    for the candidate's whole life (all its trials), in bounded memory (see the module's
    docstring). After every call the previous call's objects are compared with their
    fingerprints (a heavy call's one call later, when it is released); on every ``reset``
    (``sweep``) those of the trial before it; at the end of the session (``everything``) all of
    them. So a reused buffer shows on the next call, one reused within a trial at the next
    reset, and one reused trials later (a buffer per trial, a pool, a ring of buffers) at the
    end; each object is compared a bounded number of times, however many resets a session
    makes.
    """

    def __init__(self) -> None:
        self.kept: list[_Record] = []
        self._trial_start = 0
        #: This session's heavy records not released yet, oldest first.
        self._recent: deque[_Record] = deque()
        #: Containers something else still referred to when released: tried again later.
        self._shared: list[_Strong] = []
        #: Findings of releases made by another session's call (the process-wide bound).
        self._pending: list[Finding] = []
        self._model: TrialModel | None = None
        self._when = ""

    def check(self, model: TrialModel, when: str, result: Any, sweep: bool = False,
              everything: bool = False) -> list[Finding]:
        self._model, self._when = model, when
        findings, self._pending = self._pending, []
        if everything:
            earlier = self.kept
        elif sweep:
            earlier = self.kept[self._trial_start:]
            self._trial_start = len(self.kept)
        elif self._recent and self._recent[-1] is self.kept[-1]:
            earlier = []  # heavy: compared when released, a call later
        else:
            earlier = self.kept[-1:]
        if sweep or everything:
            self._retry_shared()
        for record in earlier:
            self._compare(model, record, when, findings)
        if result is NO_RESULT:
            while everything and self._recent:  # the session is over: nothing recent to keep
                self._release(self._recent.popleft())
            findings += self._pending
            self._pending = []
            return findings
        obs = info = None
        if isinstance(result, tuple) and len(result) in (2, 5):
            obs = result[0] if isinstance(result[0], np.ndarray) else None
            info = result[-1] if isinstance(result[-1], dict) else None
        parts, weight = [], 0
        for req, what, obj in (("KMW-OBS-4", "observation", obs),
                               ("KMW-LOG-5", "info dict", info)):
            if obj is not None:
                key, w = fingerprint(obj)
                weight += w
                parts.append((req, what, [_Strong(obj, key)]))
        record = _Record(when, len(self.kept), parts)
        self.kept.append(record)
        if weight > LIGHT_BYTES:
            record.owner = weakref.ref(self)
            self._recent.append(record)
            _UNRELEASED.append(record)
        while self._recent and self._recent[0].index <= record.index - RECENT_CALLS:
            self._release(self._recent.popleft())
        _release_oldest()
        findings += self._pending
        self._pending = []
        return findings

    def _compare(self, model: TrialModel, record: _Record, when: str,
                 findings: list[Finding]) -> None:
        for req, what, watches in record.parts:
            model.checked.add(req)
            for w in watches:
                if w.changed():
                    findings.append(_changed(req, what, record.when, when))
                    break

    def _release(self, record: _Record) -> None:
        """Compare ``record`` a last time (a finding goes to ``_pending``), then keep only what
        can still change of it."""
        with _RELEASING:
            if record.owner is None:
                return  # released already
            record.owner = None
            budget = [MAX_ITEMS]
            for i, (req, what, watches) in enumerate(record.parts):
                (holder,) = watches
                memo: dict[int, Any] = {}
                if self._model is not None:
                    self._model.checked.add(req)
                if fingerprint(holder.obj, memo)[0] != holder.key:
                    self._pending.append(_changed(req, what, record.when, self._when))
                out: list[Any] = []
                _release(holder, memo, budget, 0, out, self._shared)
                record.parts[i] = (req, what, out)

    def _retry_shared(self) -> None:
        """Release the containers that something else still referred to when released."""
        still: list[_Strong] = []
        for holder in self._shared:
            if holder.rest is not None:
                continue
            if not _only_ours(holder):
                still.append(holder)
                continue
            rest: list[Any] = []
            _release(holder, {}, [MAX_ITEMS], 0, rest, still)
            holder.rest = rest
        self._shared = still


def _release_oldest() -> None:
    """Release the oldest heavy records of the process beyond :data:`MAX_UNRELEASED` (of any
    session: a record whose session is gone is dropped)."""
    while _UNRELEASED and (_UNRELEASED[0].owner is None or len(_UNRELEASED) > MAX_UNRELEASED):
        record = _UNRELEASED.popleft()
        owner = record.owner() if record.owner is not None else None
        if owner is not None:
            owner._release(record)
        elif record.owner is not None:
            record.owner, record.parts = None, []


def _changed(req: str, what: str, where: str, when: str) -> Finding:
    return Finding(req, f"the {what} returned by {where} was changed by a later call (seen "
                   f"after {when})", f"the {what} as it was returned",
                   f"it changed: the candidate reuses the {what}", blocking=False)


# -- the trial log ------------------------------------------------------------------------------

#: Entries of an ``info`` dict a line of the trial log keeps.
LOG_ITEMS = 1000


class _Shown:
    """A value of the trial log kept as a short description (its ``repr``)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _shown(v: Any) -> Any:
    """``v`` if it is a small scalar (it cannot change), else a short description of it."""
    t = type(v)
    if t is float or t is int or t is bool or v is None:
        return v
    if t is str:
        return v if len(v) <= 200 else _Shown(repr(v[:200]) + "...")
    if issubclass(t, np.generic) and v.nbytes <= 64:
        return v
    if issubclass(t, _ND):
        a = _as_base(v, _ND)
        if a.size <= 8 and not a.dtype.hasobject:
            return a.copy()
        return _Shown(f"<array of {a.dtype.str}, shape {a.shape}>")
    return _Shown(f"<{t.__name__}>")


def frozen(result: Any) -> Any:
    """``result`` as a line of the trial log keeps it: nothing the candidate can change later,
    nothing large. The observation is copied (only its first three values and its last when it
    has over 64: what the log shows); the ``info``'s scalar values are kept (its first
    :data:`LOG_ITEMS` entries), other values, the reward and the flags become descriptions."""
    if not (isinstance(result, tuple) and len(result) == 5):
        return result
    obs, r, term, trunc, info = result
    if isinstance(obs, np.ndarray):
        obs = np.array(obs, copy=True) if obs.size <= 64 else obs.flat[[0, 1, 2, obs.size - 1]]
    if isinstance(info, dict):
        items = dict.items(info) if len(info) <= LOG_ITEMS else islice(dict.items(info), LOG_ITEMS)
        info = {k: v if type(v) is float else _shown(v) for k, v in items}
    if type(r) is not float:
        r = _shown(r)
    if type(term) is not bool or type(trunc) is not bool:
        term, trunc = _shown(term), _shown(trunc)
    return (obs, r, term, trunc, info)

