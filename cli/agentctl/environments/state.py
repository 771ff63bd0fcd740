"""World state of an environment: merge patches, cheap per-run copies, differences, hashes.

A run's state is a *copy-on-access* view of the case's initial state: large objects (more
than :data:`LAZY_OVER` keys) become :class:`LazyRecords`, which copy an entry the first time
it is read and never touch the shared original; small objects and lists are copied at
once. A run that reads and writes a few records of a 10 MB world copies those records, not
the world. Values are JSON values (dict, list, str, int, float, bool, None).

:func:`state_diff` compares two states (views or plain values) without copying: where two
:class:`LazyRecords` share an original, only the entries either of them copied are compared.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

from agentctl.core.normalize import canonical

LAZY_OVER = 32
"""Objects with more keys than this are copied entry by entry, on access."""

_MISSING: Any = object()


def copy_json(value: Any) -> Any:
    """A deep copy of a JSON value (several times faster than ``copy.deepcopy``)."""
    t = type(value)
    if t is dict:
        return {k: v if type(v) in _ATOMS else copy_json(v) for k, v in value.items()}
    if t is list:
        return [v if type(v) in _ATOMS else copy_json(v) for v in value]
    if t is LazyRecords:
        return value.fork()
    if isinstance(value, dict):
        return {k: copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_json(v) for v in value]
    return value


_ATOMS = frozenset({str, int, float, bool, type(None)})


class LazyRecords(MutableMapping[str, Any]):
    """A mutable view of a shared object that copies each entry on first access."""

    __slots__ = ("_original", "_overlay", "_deleted")

    def __init__(self, original: Mapping[str, Any]) -> None:
        self._original = original
        self._overlay: dict[str, Any] = {}
        self._deleted: set[str] = set()

    def __getitem__(self, key: str) -> Any:
        if key in self._overlay:
            return self._overlay[key]
        if key in self._deleted or key not in self._original:
            raise KeyError(key)
        value = view_of(self._original[key])
        self._overlay[key] = value
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        self._overlay[key] = value
        self._deleted.discard(key)

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
        self._overlay.pop(key, None)
        if key in self._original:
            self._deleted.add(key)

    def __contains__(self, key: object) -> bool:
        return key in self._overlay or (key in self._original and key not in self._deleted)

    def __iter__(self) -> Iterator[str]:
        for key in self._original:
            if key not in self._deleted:
                yield key
        for key in self._overlay:
            if key not in self._original:
                yield key

    def __len__(self) -> int:
        extra = sum(1 for k in self._overlay if k not in self._original)
        return len(self._original) - len(self._deleted) + extra

    def peek(self, key: str, default: Any = _MISSING) -> Any:
        """The entry without copying it (shared: do not change it)."""
        if key in self._overlay:
            return self._overlay[key]
        if key in self._deleted or key not in self._original:
            return default
        return self._original[key]

    def touched(self) -> set[str]:
        """Keys that may differ from the original (copied, set or deleted)."""
        return set(self._overlay) | self._deleted

    def fork(self) -> LazyRecords:
        """An independent copy sharing the same original."""
        other = LazyRecords(self._original)
        other._overlay = {k: copy_json(v) for k, v in self._overlay.items()}
        other._deleted = set(self._deleted)
        return other

    def __repr__(self) -> str:
        return f"LazyRecords({len(self)} entries, {len(self._overlay)} copied)"


def view_of(value: Any) -> Any:
    """A run's own copy of a shared JSON value: lazy for large objects, deep copy otherwise."""
    if isinstance(value, dict):
        if len(value) > LAZY_OVER:
            return LazyRecords(value)
        return {k: view_of(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_json(v) for v in value]
    if isinstance(value, LazyRecords):
        return value.fork()
    return value


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON Merge Patch of ``target`` by ``patch``, as a new value.

    ``target`` is never changed; parts the patch does not touch are shared, not copied.
    """
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def to_json(value: Any) -> Any:
    """A plain JSON value (views materialised): for storing and for people."""
    if isinstance(value, Mapping):
        return {str(k): to_json(value[k] if not isinstance(value, LazyRecords) else value.peek(k)) for k in value}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    return value


def get_path(value: Any, path: str) -> Any:
    """The value at a dotted path (list items by index), or :data:`MISSING`."""
    for part in path.split(".") if path else []:
        if isinstance(value, LazyRecords):
            value = value.peek(part)
        elif isinstance(value, Mapping):
            value = value.get(part, _MISSING)
        elif isinstance(value, list) and _is_index(part):
            index = int(part)
            value = value[index] if index < len(value) else _MISSING
        else:
            return _MISSING
        if value is _MISSING:
            return _MISSING
    return value


def path_problem(value: Any, path: str) -> str | None:
    """Why ``path`` cannot name a part of ``value`` (a typo), or None.

    A path may run past the end of a list (an item a write may append), never into an
    object key that is not there.
    """
    walked: list[str] = []
    for part in path.split("."):
        if isinstance(value, (Mapping, LazyRecords)):
            nxt = value.peek(part) if isinstance(value, LazyRecords) else value.get(part, _MISSING)
            if nxt is _MISSING:
                where = ".".join(walked) or "the state"
                keys = list(value)[:8]
                shown = ", ".join(keys) + (", ..." if len(value) > 8 else "")
                return f"no key '{part}' in {where} (keys: {shown or 'none'})"
            value = nxt
        elif isinstance(value, list):
            if not _is_index(part):
                return f"'{part}' is not a list index ({'.'.join(walked)} is a list)"
            if int(part) >= len(value):
                return None  # an item a write may append
            value = value[int(part)]
        else:
            return f"{'.'.join(walked)} is {type(value).__name__}, not an object or list"
        walked.append(part)
    return None


MISSING = _MISSING
"""What :func:`get_path` returns for a path the state does not have."""


def _is_index(part: str) -> bool:
    return part.isdigit()


def json_equal(a: Any, b: Any) -> bool:
    """Equal as JSON values: numbers by value (``250 == 250.0``), ``true`` never ``1``, key order ignored."""
    return not state_diff(a, b, limit=1)


def state_diff(before: Any, after: Any, *, limit: int | None = None) -> list[dict[str, Any]]:
    """Every difference from ``before`` to ``after``: ``[{"path", "old", "new"}]``.

    ``old`` is left out where ``after`` added the path, ``new`` where it removed it.
    Paths are dotted (list items by index). At most ``limit`` differences when given.
    """
    out: list[dict[str, Any]] = []
    _diff(before, after, "", out, limit)
    return out


def _diff(a: Any, b: Any, path: str, out: list[dict[str, Any]], limit: int | None) -> None:
    if a is b or (limit is not None and len(out) >= limit):
        return
    ta, tb = type(a), type(b)
    if ta is dict and tb is dict:
        for key, old in a.items():
            new = b.get(key, _MISSING)
            if old is new:
                continue
            sub = f"{path}.{key}" if path else str(key)
            if new is _MISSING:
                out.append({"path": sub, "old": to_json(old)})
            else:
                _diff(old, new, sub, out, limit)
        for key, new in b.items():
            if key not in a:
                out.append({"path": f"{path}.{key}" if path else str(key), "new": to_json(new)})
        return
    if _is_mapping(a) and _is_mapping(b):
        if ta is LazyRecords and tb is LazyRecords and a._original is b._original:
            keys: list[Any] = sorted(a.touched() | b.touched())
        else:
            keys = list(a) + [k for k in b if k not in a]
        for key in keys:
            old, new = _peek(a, key), _peek(b, key)
            if old is new or (old is not _MISSING and new is not _MISSING and _same_text(old, new)):
                continue  # most touched entries were only read
            sub = f"{path}.{key}" if path else str(key)
            if old is _MISSING and new is _MISSING:
                continue
            if old is _MISSING:
                out.append({"path": sub, "new": to_json(new)})
            elif new is _MISSING:
                out.append({"path": sub, "old": to_json(old)})
            else:
                _diff(old, new, sub, out, limit)
        return
    if ta is list and tb is list:
        for i in range(max(len(a), len(b))):
            sub = f"{path}.{i}" if path else str(i)
            if i >= len(a):
                out.append({"path": sub, "new": to_json(b[i])})
            elif i >= len(b):
                out.append({"path": sub, "old": to_json(a[i])})
            else:
                _diff(a[i], b[i], sub, out, limit)
        return
    if ta is tb and ta in (str, int, float, bool, type(None)):
        if a != b:
            out.append({"path": path, "old": to_json(a), "new": to_json(b)})
        return
    if not _scalar_equal(a, b):
        out.append({"path": path, "old": to_json(a), "new": to_json(b)})


def _same_text(a: Any, b: Any) -> bool:
    """Equal JSON text: surely equal JSON values (unequal text proves nothing: 250 vs 250.0)."""
    if type(a) is not type(b) or type(a) not in (dict, list):
        return False
    try:
        return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    except (TypeError, ValueError):  # views inside, or keys that do not sort
        return False


def _is_mapping(value: Any) -> bool:
    return type(value) is dict or isinstance(value, Mapping)


def _peek(value: Any, key: str) -> Any:
    if type(value) is LazyRecords:
        return value.peek(key)
    return value.get(key, _MISSING) if isinstance(value, Mapping) else _MISSING


def _scalar_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers):
        return bool(a == b)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return not state_diff(list(a), list(b), limit=1)
    return type(a) is type(b) and bool(a == b)


def content_hash(value: Any) -> str:
    """sha256 of the canonical JSON of a value."""
    return hashlib.sha256(canonical(to_json(value)).encode("utf-8")).hexdigest()


def final_state_hash(initial_hash: str, diff: list[dict[str, Any]]) -> str:
    """Identifies a final state: the initial state's hash and the (canonical) difference."""
    text = initial_hash + "\0" + json.dumps(diff, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
