"""Seeded operation sequences: random workloads and the paper's benches (pure functions)."""
from __future__ import annotations

import numpy as np

from .operations import Operation, learn, recall_content, recall_cue


def functional() -> list[Operation]:
    """The paper's functional experiment (docs/cam_spec.md §9), for a 5 x 10 memory."""
    return [learn(0, {0, 1, 8, 9}), learn(4, {1, 5, 6}), learn(3, {4, 5, 6}), recall_cue(0),
            recall_content({6}), recall_content({0, 4}), learn(3, {1, 3, 4, 8}), recall_cue(3),
            recall_content({6})]


def random_workload(cue_size: int, content_size: int, n_ops: int, seed: int = 0,
                    max_fragment: int = 4) -> list[Operation]:
    """A mixed workload: learns (new cues, overwrites, shared bits, now and then an empty content),
    recalls by learned and never-learned cues, recalls by content with fragments of 1..max_fragment bits.
    """
    rng = np.random.default_rng(seed)
    mem: dict[int, frozenset[int]] = {}
    # leave some cues never learned, so that recalls of unknown cues happen
    learnable = rng.permutation(cue_size)[: max(1, int(np.ceil(cue_size * 0.8)))]
    ops: list[Operation] = []
    for _ in range(n_ops):
        r = rng.random()
        if r < 0.35 or not mem:
            cue = int(rng.choice(learnable))
            if rng.random() < 0.06:
                bits: set[int] = set()
            else:
                n = int(rng.integers(1, max(2, content_size // 2) + 1))
                bits = set(rng.choice(content_size, size=min(n, content_size), replace=False).tolist())
                if mem and rng.random() < 0.4:  # share bits with another memory
                    other = mem[int(rng.choice(list(mem)))]
                    if other:
                        bits |= set(rng.choice(sorted(other), size=min(2, len(other)), replace=False).tolist())
            mem[cue] = frozenset(bits)
            ops.append(learn(cue, bits))
        elif r < 0.6:
            cue = int(rng.choice(list(mem))) if rng.random() < 0.8 else int(rng.integers(cue_size))
            ops.append(recall_cue(cue))
        else:
            n = int(rng.integers(1, min(max_fragment, content_size) + 1))
            ops.append(recall_content(set(rng.choice(content_size, size=n, replace=False).tolist())))
    return ops


def pyramidal(cue_size: int, content_size: int) -> list[Operation]:
    """The paper's stress bench (tb2) for any size: learn cue i with the binary value i+1 (bit j of the
    value drives content bit j), recall each cue, recall by every single content bit; then the same
    with the complemented values; then with the original values again.
    """
    k = content_size
    mask = (1 << k) - 1
    values = [((i % mask) + 1) for i in range(cue_size)]  # never 0, never repeats before 2**k - 1
    ops: list[Operation] = []
    for block in (values, [v ^ mask for v in values], values):
        ops += [learn(i, {j for j in range(k) if v >> j & 1}) for i, v in enumerate(block)]
        ops += [recall_cue(i) for i in range(cue_size)]
        ops += [recall_content({j}) for j in range(k)]
    return ops
