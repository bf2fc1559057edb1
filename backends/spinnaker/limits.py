"""sPyNNaker 1!7.4.1's fixed-point and per-core limits, and the input bounds of a graph they are sized from.

The facts behind these numbers are in docs/spinnaker_arithmetic.md.
"""
from __future__ import annotations

import numpy as np

MAX_PLASTIC_ROW = 254  # synapses of one plastic row (pre neuron -> one core); SynapseRowTooBigException from 255
S1615_MAX = 65535.0  # the largest membrane / threshold sPyNNaker's s16.15 fixed point holds (mV)
SOURCES_PER_CORE = 256  # spike sources of a graph on one core (sPyNNaker's default puts thousands on one)
MAX_SPIKE_BUFFER = 2048  # incoming spikes a graph core buffers per step at most (4 bytes each, in DTCM)


def summed_weight_bounds(graph) -> dict[str, tuple[float, float]]:
    """Per cell population, the largest summed excitatory and inhibitory weight (mV) one cell can get in one
    step when every source of its synapses spikes (each spikes at most once per step)."""
    from ..graph import DeltaCells

    sizes = {p.name: p.size for p in graph.populations if isinstance(p, DeltaCells)}
    exc = {n: np.zeros(s) for n, s in sizes.items()}
    inh = {n: np.zeros(s) for n, s in sizes.items()}
    for syn in graph.projections:
        if syn.post_pop not in sizes:
            continue
        w = np.asarray(syn.weight_mV, float)
        post = np.asarray(syn.post)
        size = sizes[syn.post_pop]
        exc[syn.post_pop] += np.bincount(post, weights=np.where(w > 0, w, 0.0), minlength=size)
        inh[syn.post_pop] += np.bincount(post, weights=np.where(w < 0, -w, 0.0), minlength=size)
    return {n: (float(exc[n].max(initial=0.0)), float(inh[n].max(initial=0.0))) for n in sizes}


def pre_neurons(graph) -> dict[str, int]:
    """Per population, how many distinct neurons send synapses to it (the most spikes it can get in a step)."""
    out: dict[str, int] = {}
    for syn in graph.projections:
        out[syn.post_pop] = out.get(syn.post_pop, 0) + len(np.unique(np.asarray(syn.pre)))
    return out


def spike_buffer_size(fan_in: int) -> int:
    """The incoming spike buffer of a cell core: room for its whole fan-in, 256 at least, 2048 at most."""
    return int(min(max(256, fan_in), MAX_SPIKE_BUFFER))
