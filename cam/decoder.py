"""Output spikes -> decoded answers, per operation, in time windows (docs/cam_spec.md §4).

Windows come from the profile, as [start, end) offsets (ms) from each operation's first input step.
A LEARN's content is read in the first echo step only: the erased old bits fire alone one step
later (the old-bit echo) and must not be reported.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .operations import LEARN, RECALL_CUE, Operation
from .oracle import Answer
from .profile import Windows


def flatten(trains: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per-neuron spike trains -> (times, neuron ids), sorted by time."""
    if not trains:
        return np.zeros(0), np.zeros(0, dtype=int)
    times = np.concatenate([np.asarray(t, dtype=float) for t in trains])
    ids = np.concatenate([np.full(len(t), i, dtype=int) for i, t in enumerate(trains)])
    order = np.argsort(times, kind="stable")
    return times[order], ids[order]


def _active(times: np.ndarray, ids: np.ndarray, start: float, end: float) -> set[int]:
    lo, hi = np.searchsorted(times, [start, end], side="left")
    return set(ids[lo:hi].tolist())


def windows_for(op_kind: str, w: Windows) -> tuple[tuple[float, float], tuple[float, float]]:
    """(cue window, content window) for an operation kind."""
    if op_kind == LEARN:
        return w.learn_cues, w.learn_content
    if op_kind == RECALL_CUE:
        return w.recall_cue_cues, w.recall_cue_content
    return w.recall_content_cues, w.recall_content_content


def decode(ops: Sequence[Operation], times_ms: Sequence[float], out_trains: Sequence[np.ndarray],
           cue_size: int, windows: Windows) -> list[Answer]:
    """Decode each operation's answer from the OUT population (cue neurons first, then content)."""
    times, ids = flatten(out_trains)
    # every window's [start, end) bounds at once: one searchsorted for all operations
    bounds = []
    for op, t in zip(ops, times_ms):
        cue_w, cont_w = windows_for(op.op, windows)
        bounds.append((t + cue_w[0], t + cue_w[1], t + cont_w[0], t + cont_w[1]))
    idx = np.searchsorted(times, np.asarray(bounds, dtype=float).reshape(-1), side="left").reshape(-1, 4).tolist()
    ids = ids.tolist()
    answers = []
    for c0, c1, b0, b1 in idx:
        cues = {i for i in ids[c0:c1] if i < cue_size}
        bits = {i - cue_size for i in ids[b0:b1] if i >= cue_size}
        answers.append(Answer(frozenset(cues), frozenset(bits)))
    return answers
