"""Operations on a content-addressable memory, and their validation.

An operation is a frozen value; ``at_ms`` is the time of its first input step
(ms of biological time) or ``None`` to let the scheduler place it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from hippocam.errors import InputError

LEARN = "learn"
RECALL_CUE = "recall_cue"
RECALL_CONTENT = "recall_content"
KINDS = (LEARN, RECALL_CUE, RECALL_CONTENT)

#: sizes above this are refused: the cue inhibitions grow as cue_size**2.
MAX_SIZE = 4096


@dataclass(frozen=True)
class Operation:
    op: str
    cue: int | None = None
    content: frozenset[int] = frozenset()
    at_ms: float | None = None

    def describe(self) -> str:
        bits = "{" + ",".join(map(str, sorted(self.content))) + "}"
        if self.op == LEARN:
            return f"learn({self.cue}, {bits})"
        if self.op == RECALL_CUE:
            return f"recall_cue({self.cue})"
        return f"recall_content({bits})"


def learn(cue: int, content: Iterable[int], at_ms: float | None = None) -> Operation:
    return Operation(LEARN, cue, frozenset(content), at_ms)


def recall_cue(cue: int, at_ms: float | None = None) -> Operation:
    return Operation(RECALL_CUE, cue, frozenset(), at_ms)


def recall_content(fragment: Iterable[int], at_ms: float | None = None) -> Operation:
    return Operation(RECALL_CONTENT, None, frozenset(fragment), at_ms)


def check_sizes(cue_size, content_size) -> tuple[int, int]:
    for name, value in (("cue_size", cue_size), ("content_size", content_size)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(f"{name} must be an integer, got {value!r}")
        if not 1 <= value <= MAX_SIZE:
            raise InputError(f"{name} must be between 1 and {MAX_SIZE}, got {value}")
    return cue_size, content_size


def _int(value, what: str, where: str, upper: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{where}: {what} must be an integer, got {value!r}")
    if not 0 <= value < upper:
        raise InputError(f"{where}: {what} {value} is out of range 0..{upper - 1}")
    return value


def _bits(values, where: str, content_size: int, allow_empty: bool) -> frozenset[int]:
    if not isinstance(values, (list, tuple, set, frozenset)):
        raise InputError(f"{where}: content must be a list of bit indices, got {values!r}")
    bits = [_int(b, "content bit", where, content_size) for b in values]
    if len(set(bits)) != len(bits):
        dup = sorted({b for b in bits if bits.count(b) > 1})
        raise InputError(f"{where}: duplicate content bits {dup}; list each bit once")
    if not bits and not allow_empty:
        raise InputError(f"{where}: the fragment is empty; give at least one content bit")
    return frozenset(bits)


def validate(op: Operation, cue_size: int, content_size: int, where: str = "operation") -> Operation:
    """Return ``op`` if it fits a memory of the given sizes, else raise InputError."""
    if op.op not in KINDS:
        raise InputError(f"{where}: unknown operation {op.op!r}; use one of {', '.join(KINDS)}")
    if op.op in (LEARN, RECALL_CUE):
        _int(op.cue, "cue", where, cue_size)
    _bits(list(op.content), where, content_size, allow_empty=op.op != RECALL_CONTENT)
    if op.op == RECALL_CUE and op.content:
        raise InputError(f"{where}: recall_cue takes no content")
    if op.at_ms is not None:
        _time(op.at_ms, where)
    return op


def _time(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{where}: at_ms must be a number of ms, got {value!r}")
    if not value >= 0 or value == float("inf"):
        raise InputError(f"{where}: at_ms must be a finite time >= 0 ms, got {value!r}")
    return float(value)


def from_dict(item, cue_size: int, content_size: int, where: str) -> Operation:
    """Parse one scenario entry such as ``{"op": "learn", "cue": 0, "content": [1, 2]}``."""
    if not isinstance(item, dict):
        raise InputError(f"{where}: expected an object like {{\"op\": \"recall_cue\", \"cue\": 0}}, got {item!r}")
    kind = item.get("op")
    if kind not in KINDS:
        raise InputError(f"{where}: unknown operation {kind!r}; use one of {', '.join(KINDS)}")
    allowed = {LEARN: {"op", "cue", "content", "at_ms"}, RECALL_CUE: {"op", "cue", "at_ms"},
               RECALL_CONTENT: {"op", "content", "at_ms"}}[kind]
    extra = sorted(set(item) - allowed)
    if extra:
        raise InputError(f"{where}: {kind} does not take {', '.join(extra)}")
    at = item.get("at_ms")
    at = None if at is None else _time(at, where)
    if kind in (LEARN, RECALL_CUE) and "cue" not in item:
        raise InputError(f"{where}: {kind} needs a \"cue\"")
    if kind in (LEARN, RECALL_CONTENT) and "content" not in item:
        raise InputError(f"{where}: {kind} needs a \"content\" list")
    cue = _int(item["cue"], "cue", where, cue_size) if "cue" in item else None
    content = _bits(item.get("content", []), where, content_size, allow_empty=kind != RECALL_CONTENT)
    return Operation(kind, cue, content, at)


def to_dict(op: Operation) -> dict:
    out: dict = {"op": op.op}
    if op.cue is not None:
        out["cue"] = op.cue
    if op.op != RECALL_CUE:
        out["content"] = sorted(op.content)
    if op.at_ms is not None:
        out["at_ms"] = op.at_ms
    return out
