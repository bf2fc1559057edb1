"""A graph (``backends.graph``) as a SpiNNaker core holds it: every value in s16.15, 16-bit weights.

SKELETON (contract shared by the spinnaker-model graph runner and the board backend): ``plan`` and the fields of
the dataclasses are fixed; how the values are chosen is to be settled (docs/spinnaker_arithmetic.md).

A perfect integrator (``tau_m_ms`` >= ``NO_LEAK_TAU_MS``-like) cannot be an IF_curr_delta cell with exp_TC = 1 (the
core then never moves V). It becomes tau_m = 2**k ms, c_m = 1 nF (R = 2**k, 1 - exp_TC = 2**-k exactly): a weight
of w nA moves V by exactly w mV, and the leak round((v_rest - V) / 2**k) is zero while |V - v_rest| < 2**(k-16) mV.
Each population is scaled by a power of two ``scale`` (chip mV per graph mV; exact in double) so that its membrane
band and its largest summed input both fit. Nothing here imports sPyNNaker.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hippocam.backends.graph import DeltaCells, Graph, Sources
from hippocam.errors import InputError

from . import fixed


@dataclass(frozen=True)
class ChipCells:
    """A population of IF_curr_delta cells in chip units (mV, nA, ms, nF as sent to sPyNNaker); ``scale``: chip mV
    per graph mV; ``shifts``: the ring-buffer left shift (excitatory, inhibitory) sPyNNaker 7.4.1 picks from
    ``max_summed_nA`` (its ``max_expected_summed_weight``)."""
    name: str
    size: int
    scale: float
    tau_m_ms: float
    cm_nF: float
    v_rest_mV: float
    v_thresh_mV: float
    v_reset_mV: float
    v_init_mV: float
    max_summed_nA: tuple[float, float]
    shifts: tuple[int, int]
    tau_refrac_ms: float = 0.0
    i_offset_nA: float = 0.0
    record_spikes: bool = True


@dataclass(frozen=True)
class ChipSynapses:
    """One receptor's synapses of a graph projection: |weight| in chip nA as given to sPyNNaker (``weight_nA``) and
    as the core stores it (``weight_int`` = rint(weight_nA * 2**(15 - shift)), 16-bit); delay in whole steps."""
    name: str
    pre_pop: str
    post_pop: str
    receptor: str
    pre: np.ndarray
    post: np.ndarray
    weight_nA: np.ndarray
    weight_int: np.ndarray
    delay_steps: int


@dataclass(frozen=True)
class ChipGraph:
    timestep_ms: float
    sources: tuple[Sources, ...]
    cells: tuple[ChipCells, ...]
    synapses: tuple[ChipSynapses, ...]

    def cell(self, name: str) -> ChipCells:
        for c in self.cells:
            if c.name == name:
                return c
        raise KeyError(name)


def ring_buffer_shift(max_summed: float) -> int:
    """sPyNNaker 7.4.1's ``PopulationVertex.get_ring_buffer_shifts`` for one receptor (global weight scale 1)."""
    p = 0 if max_summed <= 0 else int(math.ceil(max(0.0, math.log2(max_summed))))
    return p + 1 if 2 ** p <= max_summed else p


def plan(graph: Graph) -> ChipGraph:
    """SKELETON: scale 1/16, k = 12, v_rest at mid threshold; to be replaced by the settled choice."""
    from .limits import summed_weight_bounds

    bounds = summed_weight_bounds(graph)
    cells, scales, shifts = [], {}, {}
    for p in graph.populations:
        if isinstance(p, Sources):
            continue
        if not isinstance(p, DeltaCells):
            raise InputError(f"spinnaker: population {p.name} is not made of IF_curr_delta cells")
        scale = 1.0 / 16
        exc, inh = (b * scale for b in bounds[p.name])
        sh = (ring_buffer_shift(exc), ring_buffer_shift(inh))
        thresh = min(p.v_thresh_mV * scale, fixed.MAX_VALUE - 1)
        cells.append(ChipCells(p.name, p.size, scale, 4096.0, 1.0, 0.5 * thresh, thresh, p.v_reset_mV * scale,
                               p.v_init_mV * scale, (exc, inh), sh, record_spikes=p.record_spikes))
        scales[p.name], shifts[p.name] = scale, sh
    syns = []
    for s in graph.projections:
        delay = int(round(s.latency_ms / graph.timestep_ms))
        w = np.asarray(s.weight_mV, float) * scales[s.post_pop]
        for r, (receptor, mask) in enumerate((("excitatory", w > 0), ("inhibitory", w < 0))):
            idx = np.flatnonzero(mask)
            if len(idx):
                wn = np.abs(w[idx])
                wi = np.rint(wn * 2.0 ** (15 - shifts[s.post_pop][r])).astype(np.int64)
                syns.append(ChipSynapses(s.name, s.pre_pop, s.post_pop, receptor, np.asarray(s.pre)[idx],
                                         np.asarray(s.post)[idx], wn, wi, delay))
    sources = tuple(p for p in graph.populations if isinstance(p, Sources))
    return ChipGraph(graph.timestep_ms, sources, tuple(cells), tuple(syns))


def out_of_range(chip: ChipGraph) -> list[str]:
    """Every value of ``chip`` a core could not hold (s16.15 parameters, 16-bit weights), one line each."""
    problems = []
    for c in chip.cells:
        for field in ("tau_m_ms", "cm_nF", "v_rest_mV", "v_thresh_mV", "v_reset_mV", "v_init_mV", "i_offset_nA"):
            v = getattr(c, field)
            if not -65536.0 <= v <= fixed.MAX_VALUE:
                problems.append(f"{c.name}.{field} = {v:g} is outside s16.15")
    for s in chip.synapses:
        if len(s.weight_int) and (s.weight_int.max() > 0xFFFF or s.weight_int.min() < 0):
            problems.append(f"{s.name} ({s.receptor}): a weight does not fit 16 bits")
    return problems


@dataclass(frozen=True)
class CoreConstants:
    """What a core holds for each cell of a population, as s16.15 bits (int64 arrays of the population's size, or
    scalars): computed on the chip from the host's parameters (R = kdivk(tau_m, c_m), exp_TC =
    expk(-kdivk(dt, tau_m))); ``shifts``: ring-buffer left shifts (excitatory, inhibitory)."""
    v_rest: np.ndarray
    v_thresh: np.ndarray
    v_reset: np.ndarray
    i_offset: np.ndarray
    r: np.ndarray
    exp_tc: np.ndarray
    refrac_steps: np.ndarray
    shifts: tuple[int, int]


def constants(cells: ChipCells, timestep_ms: float) -> CoreConstants:
    """SKELETON: the core's constants of ``cells``."""
    dt, tau, cm = fixed.to_bits(timestep_ms), fixed.to_bits(cells.tau_m_ms), fixed.to_bits(cells.cm_nF)
    return CoreConstants(fixed.to_bits(cells.v_rest_mV), fixed.to_bits(cells.v_thresh_mV),
                         fixed.to_bits(cells.v_reset_mV), fixed.to_bits(cells.i_offset_nA), fixed.kdivk(tau, cm),
                         fixed.expk(-fixed.kdivk(dt, tau)), np.int64(math.ceil(cells.tau_refrac_ms / timestep_ms)),
                         cells.shifts)


def lif_step(v, refrac, exc_ring, inh_ring, k: CoreConstants):
    """One time step of IF_curr_delta cells on a core (the one definition the spinnaker-model runs): ``v`` bits,
    ``refrac`` steps left, ``exc_ring`` / ``inh_ring`` the 16-bit ring-buffer sums arriving this step (any shapes
    that broadcast with the constants, e.g. (samples, cells)). Returns (v, refrac, fired) as new arrays.
    SKELETON: order and rounding to be settled against the C sources."""
    exc = np.asarray(exc_ring, dtype=np.int64) << k.shifts[0]
    inh = np.asarray(inh_ring, dtype=np.int64) << k.shifts[1]
    active = refrac <= 0
    i = exc - inh + k.i_offset
    alpha = fixed.wrap(fixed.mul(i, k.r) + k.v_rest)
    v_new = fixed.wrap(alpha - fixed.mul(k.exp_tc, fixed.wrap(alpha - v)))
    v = np.where(active, v_new, v)
    refrac = np.where(active, refrac, refrac - 1)
    fired = active & (v >= k.v_thresh)
    v = np.where(fired, k.v_reset, v)
    refrac = np.where(fired, k.refrac_steps, refrac)
    return v, refrac, fired
