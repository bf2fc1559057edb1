"""A graph (``backends.graph``) as a SpiNNaker core holds it: every value in s16.15, 16-bit weights, and one step of
the core's IF_curr_delta arithmetic (``lif_step``), the one definition the spinnaker-model runs.

The facts are settled in docs/spinnaker_arithmetic.md. What ``plan`` chooses, and why:

* **No leak** (the shipped models). exp_TC = 1 leaves V still, so a perfect integrator becomes tau_m = 32768 ms,
  c_m = 2 nF: the core computes dt/tau_m = 2**-15, expk gives exp_TC = 1 - 2**-14 exactly and R = 16384, so with
  the core's truncating products one step is, in bits, V' = V + I + ceil((v_rest - V) / 2**14): a weight of w chip
  nA moves V by exactly w chip mV, and there is no leak while V is in [v_rest, v_rest + 0.5) chip mV (the band).
* **Scale.** Each population is scaled by a power of two ``scale`` (chip mV per graph mV; exact in double): as
  large as the band allows (it must hold [min(0, v_reset, v_init), threshold)) and small enough that the largest
  summed input of one step times R stays within 3/4 of the s16.15 range (``ALPHA_LIMIT``: no wrap of alpha or of
  alpha - V). Each receptor then gets the smallest shift whose 16-bit sums of that worst case stay at or below
  the ring buffer's 65535 (it never saturates); sPyNNaker is given a ``max_expected_summed_weight`` from which
  its own rule picks exactly that shift.
* **Leak** (NIR graphs with a finite tau_m): tau_m and c_m are chosen so that the chip's truncated dt/tau_m, its
  expk and its truncated R give the graph's decay and a jump of one chip mV per chip nA as closely as the bits
  allow (``leak_error``).
Nothing here imports sPyNNaker.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hippocam.backends.graph import CubaCells, DeltaCells, Graph, Sources
from hippocam.errors import InputError

from . import fixed

NO_LEAK_TAU_MS = 32768.0        # at dt = 1 ms: dt/tau_m = 2**-15 on the core, exp_TC = 1 - 2**-14
NO_LEAK_CM_NF = 2.0             # R = tau_m / c_m = 16384 = 2**14: one chip nA of input moves V by one chip mV
BAND_MV = 0.5                   # the leak-free band above v_rest (chip mV): 2**14 bits
RING_MAX = 0xFFFF               # a ring-buffer entry saturates here (synapses.c)
READOUT_THRESHOLD_MV = 65535.0  # a chip threshold a non-spiking read-out never reaches (``safe_steps``)
LIVE_LIMIT_MV = 16384.0         # every chip parameter stays this far inside s16.15, so alpha - V cannot wrap
ALPHA_LIMIT = 49152.0           # the largest |I * R| (chip mV) a plan allows: 3/4 of s16.15, room for V - v_rest
MIN_STEPS_PER_THRESHOLD = 256   # a spiking population whose weight step is coarser than threshold / 256 is refused


@dataclass(frozen=True)
class ChipCells:
    """A population of IF_curr_delta cells in chip units (mV, nA, ms, nF as sent to sPyNNaker); ``scale``: chip mV
    per graph mV; ``shifts``: the ring-buffer left shift (excitatory, inhibitory) sPyNNaker 7.4.1 picks from
    ``max_summed_nA`` (its ``max_expected_summed_weight``; ``ring_buffer_shift(max_summed_nA[r]) == shifts[r]``);
    ``bound_nA``: the largest summed input one cell can get in one step (every source spiking), per receptor;
    ``leaky``: whether the graph's cells leak (else the perfect-integrator design, module doc)."""
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
    bound_nA: tuple[float, float] = (0.0, 0.0)
    leaky: bool = False


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


def _summed_for_shift(shift: int, bound: float) -> float:
    """The ``max_expected_summed_weight`` to give sPyNNaker for ``shift``: the true bound where its rule already
    gives that shift, else the smallest value that does (the rule keeps sums below 2**15 integers; the ring buffer
    holds 2**16 - 1, and ``plan`` checks the real sums against that)."""
    value = bound if bound > 0 and ring_buffer_shift(bound) == shift else (0.5 if shift == 0 else 2.0 ** (shift - 1))
    assert ring_buffer_shift(value) == shift
    return value


def _pow2_floor(x: float) -> float:
    return 2.0 ** math.floor(math.log2(x))


def leaky_constants(tau_m_ms: float, timestep_ms: float) -> tuple[float, float]:
    """(tau_m, c_m) for a leaky cell: the chip's exp_TC closest to exp(-dt/tau_m), then c_m whose truncated R makes
    R (1 - exp_TC) closest to 1 (one chip mV per chip nA, as a delta weight)."""
    dt = int(fixed.to_bits(timestep_ms))
    want = math.exp(-timestep_ms / tau_m_ms) * fixed.ONE
    q0 = max(1, int(round(timestep_ms / tau_m_ms * fixed.ONE)))
    # the core computes q = kdivk(dt, tau_m), so only the q some s16.15 tau_m gives back are candidates; for fast
    # leaks several q share one exp_TC (expk's grid is coarser than q's there): the nearest to dt / tau_m wins
    candidates = set()
    for q in range(max(1, q0 - 2), q0 + 3):
        tau = (dt << fixed.FRAC_BITS) // q
        if 0 < tau <= fixed.MAX_BITS:
            candidates.add((int(fixed.kdivk(dt, tau)), tau))
    if not candidates:
        raise InputError(f"a membrane time constant of {tau_m_ms:g} ms has no s16.15 tau_m on the chip")
    q, tau = min(candidates, key=lambda c: (abs(int(fixed.expk(-c[0])) - want), abs(c[0] - q0)))
    one_minus = fixed.ONE - int(fixed.expk(-q))
    c0 = max(1, int(round(tau * one_minus / fixed.ONE)))
    cm = min(range(max(1, c0 - 2), c0 + 3),
             key=lambda c: abs(int(fixed.kdivk(tau, c)) * one_minus - (1 << (2 * fixed.FRAC_BITS))))
    return tau / fixed.ONE, cm / fixed.ONE


def leak_error(cells: ChipCells, timestep_ms: float, graph_tau_m_ms: float) -> dict:
    """How a leaky population's chip decay and jump differ from the graph's: exp_TC - exp(-dt/tau_m) and
    R (1 - exp_TC) - 1 (the relative error of every jump)."""
    k = constants(cells, timestep_ms)
    e = int(k.exp_tc) / fixed.ONE
    return {"decay_error": e - math.exp(-timestep_ms / graph_tau_m_ms),
            "jump_error": int(k.r) / fixed.ONE * (1 - e) - 1.0}


def _int_sums(graph: Graph, name: str, size: int, scale: float, shifts: tuple[int, int]) -> tuple[int, int]:
    """The largest per-cell sum of the stored 16-bit weights, per receptor (every source spiking in one step)."""
    sums = [np.zeros(size, np.int64), np.zeros(size, np.int64)]
    for s in graph.projections:
        if s.post_pop != name:
            continue
        w = np.asarray(s.weight_mV, float) * scale
        for r, mask in enumerate((w > 0, w < 0)):
            ints = np.rint(np.abs(w[mask]) * 2.0 ** (fixed.FRAC_BITS - shifts[r])).astype(np.int64)
            sums[r] += np.bincount(np.asarray(s.post)[mask], weights=ints, minlength=size).astype(np.int64)
    return int(sums[0].max(initial=0)), int(sums[1].max(initial=0))


def _plan_cells(graph: Graph, p: DeltaCells, bound: tuple[float, float]) -> ChipCells:
    dt = graph.timestep_ms
    spiking = p.v_thresh_mV < READOUT_THRESHOLD_MV     # a graph threshold beyond s16.15 marks a read-out
    leaky = fixed.ONE * dt / p.tau_m_ms >= 0.5         # a slower leak rounds to no leak on the core
    big = max(bound)
    if leaky:
        tau, cm = leaky_constants(p.tau_m_ms, dt)
        r = int(fixed.kdivk(fixed.to_bits(tau), fixed.to_bits(cm))) / fixed.ONE
        values = [abs(v) for v in (p.v_rest_mV, p.v_reset_mV, p.v_init_mV) + ((p.v_thresh_mV,) if spiking else ())]
        limits = [LIVE_LIMIT_MV / max(values)] if max(values) > 0 else []
        limits += [ALPHA_LIMIT / (big * r)] if big > 0 else []
    else:
        tau, cm, r = NO_LEAK_TAU_MS, NO_LEAK_CM_NF, NO_LEAK_TAU_MS / NO_LEAK_CM_NF
        limits = [ALPHA_LIMIT / (big * r)] if big > 0 else []
        if spiking:
            width = p.v_thresh_mV - min(0.0, p.v_reset_mV, p.v_init_mV)
            if width <= 0:
                raise InputError(f"{p.name}: its threshold {p.v_thresh_mV:g} mV is not above its reset "
                                 f"{p.v_reset_mV:g} mV and start {p.v_init_mV:g} mV")
            limits.append(BAND_MV / width)
    scale = _pow2_floor(min(limits)) if limits else 1.0
    chip = tuple(b * scale for b in bound)
    shifts = [_shift_for(c) for c in chip]
    for r, total in enumerate(_int_sums(graph, p.name, p.size, scale, tuple(shifts))):
        if total > RING_MAX:                                 # many small weights rounded up overfill a buffer
            shifts[r] += 1
    shifts = tuple(shifts)
    if leaky:
        v_rest, thresh = p.v_rest_mV * scale, p.v_thresh_mV * scale if spiking else READOUT_THRESHOLD_MV
    elif spiking:
        # V >= t on the core's grid is V >= t rounded up to it: rounding to nearest could fire a hair below
        thresh = math.ceil(p.v_thresh_mV * scale * fixed.ONE) / fixed.ONE
        v_rest = thresh - BAND_MV                            # the band [thresh - 0.5, thresh) holds V below threshold
    else:
        thresh, v_rest = READOUT_THRESHOLD_MV, p.v_init_mV * scale - BAND_MV / 2
    max_summed = tuple(_summed_for_shift(s, c) for s, c in zip(shifts, chip))
    return ChipCells(p.name, p.size, scale, tau, cm, v_rest, thresh, p.v_reset_mV * scale, p.v_init_mV * scale,
                     max_summed, shifts, record_spikes=p.record_spikes, bound_nA=chip, leaky=leaky)


def _shift_for(summed: float) -> int:
    """The smallest left shift whose 16-bit integers hold ``summed`` (chip nA) below the ring buffer's limit."""
    shift = 0
    while summed * 2.0 ** (fixed.FRAC_BITS - shift) > RING_MAX:
        shift += 1
    return shift


def _check(graph: Graph, p, c: ChipCells, step_mV: float) -> None:
    if c.v_thresh_mV >= READOUT_THRESHOLD_MV or step_mV * MIN_STEPS_PER_THRESHOLD <= p.v_thresh_mV:
        return
    worst = max((s for s in graph.projections if s.post_pop == p.name and len(s.weight_mV)),
                key=lambda s: float(np.max(np.abs(s.weight_mV))))
    w = float(np.asarray(worst.weight_mV)[np.argmax(np.abs(worst.weight_mV))])
    raise InputError(f"{worst.name}: a weight of {w:g} mV into {p.name} (threshold {p.v_thresh_mV:g} mV) leaves a "
                     f"16-bit weight step of {step_mV:.3g} mV on a SpiNNaker core, coarser than threshold / "
                     f"{MIN_STEPS_PER_THRESHOLD}; bound that weight (a few thresholds close a window as well)")


def plan(graph: Graph) -> ChipGraph:
    """The chip's parameters and weights for ``graph`` (module doc). InputError for what a core cannot run as
    planned: a step other than 1 ms, current-based cells, a reset other than to a value, a leak with no s16.15
    tau_m, a weight that leaves a spiking population's weight step coarser than threshold / 256."""
    from .limits import summed_weight_bounds

    if abs(graph.timestep_ms - 1.0) > 1e-12:
        raise InputError(f"spinnaker: the chip plan is worked out for 1 ms steps (the delta input's factor 1/dt "
                         f"is exactly 1 only there), not {graph.timestep_ms:g} ms; build the graph at 1 ms")
    bounds = summed_weight_bounds(graph)
    cells, by_name = [], {}
    for p in graph.populations:
        if isinstance(p, Sources):
            continue
        if isinstance(p, CubaCells):
            raise InputError(f"spinnaker: population {p.name} has a synaptic current (IF_curr_exp); the chip plan "
                             "models IF_curr_delta cells only; run this graph on brian2 or nest")
        if not isinstance(p, DeltaCells):
            raise InputError(f"spinnaker: population {p.name} is not made of IF_curr_delta cells")
        if getattr(p, "reset", "value") != "value":
            raise InputError(f"spinnaker: population {p.name} resets by {getattr(p, 'reset')!r}; an IF_curr_delta "
                             "cell on a core resets to a value only")
        c = _plan_cells(graph, p, bounds[p.name])
        _check(graph, p, c, 2.0 ** (max(c.shifts) - fixed.FRAC_BITS) / c.scale)
        cells.append(c)
        by_name[p.name] = c
    syns = []
    for s in graph.projections:
        c = by_name[s.post_pop]
        delay = int(round(s.latency_ms / graph.timestep_ms))
        w = np.asarray(s.weight_mV, float) * c.scale
        for r, (receptor, mask) in enumerate((("excitatory", w > 0), ("inhibitory", w < 0))):
            idx = np.flatnonzero(mask)
            if len(idx):
                wn = np.abs(w[idx])
                wi = np.rint(wn * 2.0 ** (fixed.FRAC_BITS - c.shifts[r])).astype(np.int64)
                syns.append(ChipSynapses(s.name, s.pre_pop, s.post_pop, receptor, np.asarray(s.pre)[idx],
                                         np.asarray(s.post)[idx], wn, wi, delay))
    sources = tuple(p for p in graph.populations if isinstance(p, Sources))
    return ChipGraph(graph.timestep_ms, sources, tuple(cells), tuple(syns))


def out_of_range(chip: ChipGraph, lossy: bool = True) -> list[str]:
    """Every value of ``chip`` a core could not hold or would lose, one line each: s16.15 parameters, 16-bit
    weights and, with ``lossy``, a projection most of whose weights round to 0 and a worst-case sum that would
    saturate a ring buffer (a core runs those, losing what they lose: a plan made by hand to study that passes
    ``lossy=False``)."""
    problems = []
    for c in chip.cells:
        for field in ("tau_m_ms", "cm_nF", "v_rest_mV", "v_thresh_mV", "v_reset_mV", "v_init_mV", "i_offset_nA"):
            v = getattr(c, field)
            if not fixed.MIN_VALUE <= v <= fixed.MAX_VALUE:
                problems.append(f"{c.name}.{field} = {v:g} is outside s16.15")
        if c.cm_nF <= 0 or c.tau_m_ms <= 0:
            problems.append(f"{c.name}: tau_m and c_m must be positive on a core")
    sums: dict[tuple[str, str], np.ndarray] = {}
    for s in chip.synapses:
        if len(s.weight_int) and (s.weight_int.max() > RING_MAX or s.weight_int.min() < 0):
            problems.append(f"{s.name} ({s.receptor}): a weight does not fit 16 bits")
        lost = int(np.sum((s.weight_int == 0) & (s.weight_nA > 0)))
        if lossy and 2 * lost > len(s.weight_int):     # a few small weights rounding to 0 is ordinary quantisation
            problems.append(f"{s.name} ({s.receptor}): {lost} of {len(s.weight_int)} weights round to 0 "
                            "(below half a weight step): the projection carries almost nothing on a core")
        size = chip.cell(s.post_pop).size
        key = (s.post_pop, s.receptor)
        sums[key] = sums.get(key, np.zeros(size, np.int64)) + np.bincount(s.post, weights=s.weight_int,
                                                                            minlength=size).astype(np.int64)
    for (pop, receptor), v in sums.items():
        if lossy and v.max(initial=0) > RING_MAX:
            problems.append(f"{pop} ({receptor}): {int(v.max())} summed weight units in one step would saturate "
                            f"the ring buffer at {RING_MAX}")
    return problems


@dataclass(frozen=True)
class CoreConstants:
    """What a core holds for each cell of a population, as s16.15 bits (int64 arrays of the population's size, or
    scalars): computed on the chip from the host's parameters (R = kdivk(tau_m, c_m), exp_TC =
    expk(-kdivk(dt, tau_m))); ``shifts``: ring-buffer left shifts (excitatory, inhibitory); ``input_scale``: the
    delta input type's factor kdivk(1, dt) (exactly 1.0 at dt = 1 ms)."""
    v_rest: np.ndarray
    v_thresh: np.ndarray
    v_reset: np.ndarray
    i_offset: np.ndarray
    r: np.ndarray
    exp_tc: np.ndarray
    refrac_steps: np.ndarray
    shifts: tuple[int, int]
    input_scale: np.ndarray = np.int64(fixed.ONE)


def constants(cells: ChipCells, timestep_ms: float) -> CoreConstants:
    """The core's constants of ``cells`` at ``timestep_ms``, as neuron_model_lif_impl.h and input_type_delta.h
    compute them at start-up (one sub-step per time step)."""
    ts = fixed.kdivui(fixed.to_bits(timestep_ms), 1)
    tau, cm = fixed.to_bits(cells.tau_m_ms), fixed.to_bits(cells.cm_nF)
    refrac = fixed.kdivk(fixed.to_bits(cells.tau_refrac_ms), ts)
    refrac_steps = (refrac >> fixed.FRAC_BITS) + ((refrac & (fixed.ONE - 1)) > 0)   # the core's ceil
    return CoreConstants(fixed.to_bits(cells.v_rest_mV), fixed.to_bits(cells.v_thresh_mV),
                         fixed.to_bits(cells.v_reset_mV), fixed.to_bits(cells.i_offset_nA), fixed.kdivk(tau, cm),
                         fixed.expk(-fixed.kdivk(ts, tau)), np.int64(refrac_steps), cells.shifts,
                         fixed.kdivk(fixed.ONE, ts))


def lif_step(v, refrac, exc_ring, inh_ring, k: CoreConstants):
    """One time step of IF_curr_delta cells on a core (the one definition the spinnaker-model runs): ``v`` bits,
    ``refrac`` steps left, ``exc_ring`` / ``inh_ring`` the sums of the 16-bit weights arriving this step (any
    shapes that broadcast with the constants, e.g. (samples, cells); sums above 65535 saturate as the ring buffer
    does). Returns (v, refrac, fired) as new arrays. A board's ``v`` recording of this step holds the ``v`` given
    here (the value before the update)."""
    exc = np.minimum(np.asarray(exc_ring, dtype=np.int64), RING_MAX) << k.shifts[0]
    inh = np.minimum(np.asarray(inh_ring, dtype=np.int64), RING_MAX) << k.shifts[1]
    exc, inh = fixed.mul(exc, k.input_scale), fixed.mul(inh, k.input_scale)
    v = np.asarray(v, dtype=np.int64)
    refrac = np.asarray(refrac, dtype=np.int64)
    active = refrac <= 0
    i = fixed.add(fixed.sub(exc, inh), k.i_offset)
    alpha = fixed.add(fixed.mul(i, k.r), k.v_rest)
    v = np.where(active, fixed.sub(alpha, fixed.mul(k.exp_tc, fixed.sub(alpha, v))), v)
    refrac = np.where(active, refrac, refrac - 1)
    fired = v >= k.v_thresh                                  # refractory cells are tested too, as on the core
    v = np.where(fired, k.v_reset, v)
    refrac = np.where(fired, k.refrac_steps, refrac)
    return v, refrac, fired


def safe_steps(cells: ChipCells) -> int:
    """How many steps of the worst-case input the population takes before alpha - V could leave s16.15 (its
    membrane drifting from v_rest by the largest summed input every step): the limit on a read-out's window."""
    big = max(cells.bound_nA)
    r = cells.tau_m_ms / cells.cm_nF
    room = fixed.MAX_VALUE - big * r - abs(cells.v_init_mV - cells.v_rest_mV)
    return int(room / big) if big > 0 else 1 << 30


def describe(chip: ChipGraph) -> list[dict]:
    """Per population what the plan chose and what the 16-bit weights cost, in graph mV where it says mV: scale,
    tau_m, c_m, the shifts, the weight step, the largest summed input, the leak-free band, V's resolution, how
    many weights round to 0, the largest and mean relative error of a weight, the largest total weight error one
    cell can get in one step (every source spiking) as a fraction of its threshold (None for a read-out), and the
    read-out's safe steps."""
    err: dict[str, dict] = {}
    for s in chip.synapses:
        c = chip.cell(s.post_pop)
        shift = c.shifts[0 if s.receptor == "excitatory" else 1]
        q = s.weight_int * 2.0 ** (shift - fixed.FRAC_BITS)
        e = np.abs(q - s.weight_nA)
        d = err.setdefault(s.post_pop, {"lost": 0, "max": 0.0, "sum": 0.0, "n": 0, "cell": np.zeros(c.size)})
        d["lost"] += int(np.sum((s.weight_int == 0) & (s.weight_nA > 0)))
        rel = e / s.weight_nA
        d["max"] = max(d["max"], float(rel.max(initial=0.0)))
        d["sum"] += float(rel.sum())
        d["n"] += len(rel)
        d["cell"] += np.bincount(s.post, weights=e, minlength=c.size)
    rows = []
    for c in chip.cells:
        d = err.get(c.name, {"lost": 0, "max": 0.0, "sum": 0.0, "n": 0, "cell": np.zeros(1)})
        band = None if c.leaky else (c.v_rest_mV / c.scale, (c.v_rest_mV + BAND_MV) / c.scale)
        spiking = c.v_thresh_mV < READOUT_THRESHOLD_MV
        rows.append({"population": c.name, "scale": c.scale, "tau_m_ms": c.tau_m_ms, "cm_nF": c.cm_nF,
                     "shifts": c.shifts,
                     "weight_step_mV": tuple(2.0 ** (s - fixed.FRAC_BITS) / c.scale for s in c.shifts),
                     "max_summed_mV": tuple(b / c.scale for b in c.bound_nA), "band_mV": band,
                     "v_step_mV": 1.0 / fixed.ONE / c.scale, "lost_weights": d["lost"],
                     "weight_error_max": d["max"], "weight_error_mean": d["sum"] / max(1, d["n"]),
                     "sum_error_of_threshold": float(d["cell"].max()) / c.v_thresh_mV if spiking else None,
                     "safe_steps": safe_steps(c)})
    return rows
