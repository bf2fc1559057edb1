"""The dictionary model of docs/cam_spec.md §1: the oracle every backend is checked against."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from .operations import LEARN, RECALL_CUE, Operation


@dataclass(frozen=True)
class Answer:
    """A decoded (or expected) answer: the cues and content bits on the output."""
    cues: frozenset[int] = frozenset()
    content: frozenset[int] = frozenset()

    def to_dict(self) -> dict:
        return {"cues": sorted(self.cues), "content": sorted(self.content)}


@dataclass
class Oracle:
    """``mem: cue -> set of content bits``; ``apply`` returns the answer the contract requires."""
    mem: dict[int, frozenset[int]] = field(default_factory=dict)

    def apply(self, op: Operation) -> Answer:
        if op.op == LEARN:
            self.mem[op.cue] = frozenset(op.content)
            return Answer(frozenset({op.cue}), frozenset(op.content))
        if op.op == RECALL_CUE:
            return Answer(frozenset({op.cue}), self.mem.get(op.cue, frozenset()))
        matches = frozenset(q for q, bits in self.mem.items() if bits & op.content)
        return Answer(matches, frozenset(op.content))


def expected_answers(ops: Iterable[Operation], initial: dict[int, Iterable[int]] | None = None) -> list[Answer]:
    oracle = Oracle({q: frozenset(b) for q, b in (initial or {}).items()})
    return [oracle.apply(op) for op in ops]
