"""A backend-neutral network of spike sources and integrate-and-fire cells with explicit, weighted synapses.

This is what the converted event networks (``event_models.pynn``) hand to a backend; the CAM uses its own
``cam.network.NetworkSpec``. Units are PyNN's: ms, mV, nA, nF. Cells are PyNN's ``IF_curr_delta`` (a spike moves
the membrane by its weight in mV at once), which every backend has; with ``tau_m_ms`` = ``NO_LEAK_TAU_MS`` it is a
perfect integrator. Weights are signed (mV): a backend splits them into excitatory and inhibitory synapses as its
simulator wants. Latencies are hop latencies (spike to effect on the target), a whole number of steps, at least
``Backend.min_latency_ms`` of the backend; 0 only for a current-based population's own recurrent synapses, on a
backend whose ``Timing.same_step_current_hop`` says it can deliver them in the step of the spike.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hippocam.errors import InputError


@dataclass(frozen=True)
class Sources:
    """``size`` spike sources whose times are given with ``Backend.set_spike_times``."""
    name: str
    size: int


#: a membrane time constant (ms) whose decay per step, exp(-dt/tau_m), is exactly 1.0 in double for any step up to
#: 1e12 ms (dt/tau_m < 2**-54, half an ulp below 1): Brian2's exponential Euler and NEST's iaf_psc_delta propagator
#: (P33 = exp(-h/tau_m)) then keep v as it is, and their offset-current terms (P30 = -tau_m/c_m expm1(-h/tau_m) in
#: NEST, I tau_m/c_m in Brian2's solution) stay finite and multiply a zero current. The former 1e7 ms leaked 1e-7
#: per step: a membrane 3e-7 above threshold after a few steps' wait no longer fired.
NO_LEAK_TAU_MS = 1e30

#: what a spike does to a cell's membrane: "value" sets it to v_reset_mV (PyNN's rule, NIR's); "subtract" lowers it
#: by v_thresh_mV - v_reset_mV, keeping what lay above threshold (reset by subtraction, the rule of snnTorch's
#: default and Sinabs'). A backend whose cells only reset to a value refuses "subtract" (BackendError).
RESETS = ("value", "subtract")


def _check_reset(cells) -> None:
    if cells.reset not in RESETS:
        raise InputError(f"{cells.name}: unknown reset {cells.reset!r}; use one of {', '.join(RESETS)}")


@dataclass(frozen=True)
class DeltaCells:
    """``size`` IF_curr_delta cells. ``v_thresh_mV`` may be very large for a non-spiking read-out; ``v_init_mV``
    is the membrane at the start (and after ``Backend.set_membrane``); ``reset``: one of ``RESETS``."""
    name: str
    size: int
    v_thresh_mV: float
    v_reset_mV: float = 0.0
    v_init_mV: float = 0.0
    v_rest_mV: float = 0.0
    tau_m_ms: float = NO_LEAK_TAU_MS
    cm_nF: float = 1.0
    record_spikes: bool = True
    reset: str = "value"
    #: exp(-dt/tau_m) as the network's own number (refsim's), for a backend that steps by decays: tau_m_ms made
    #: from it and turned back is an ulp off for a few decays in 10,000 that a time constant gives (one in five of
    #: arbitrary numbers); None: from tau_m_ms
    v_decay: float | None = None

    def __post_init__(self):
        _check_reset(self)


#: a spike reaches the membrane of a current-based cell one step after it would reach a delta cell's: it jumps the
#: current at the end of its step, and the current moves the membrane over the next (exact integration)
CUBA_EXTRA_STEPS = 1


@dataclass(frozen=True)
class CubaCells:
    """``size`` current-based cells (PyNN's ``IF_curr_exp``, integrated exactly), the discrete model

        i[t] = exp(-dt/tau_syn) i[t-1] + sum of the weights arriving in step t          (mV per step)
        v[t] = v_rest + exp(-dt/tau_m) (v[t-1] - v_rest) + i[t];  v >= v_thresh: spike, v = v_reset

    as seen one step late (``CUBA_EXTRA_STEPS``): a backend converts each weight (mV per step of i, as above)
    into the current jump (nA) that gives it, ``cuba_jump_nA``. ``tau_syn_ms`` must differ from ``tau_m_ms``.
    ``reset``: one of ``RESETS`` (the current is never reset by a spike)."""
    name: str
    size: int
    v_thresh_mV: float
    tau_syn_ms: float
    v_reset_mV: float = 0.0
    v_init_mV: float = 0.0
    v_rest_mV: float = 0.0
    tau_m_ms: float = NO_LEAK_TAU_MS
    cm_nF: float = 1.0
    record_spikes: bool = True
    reset: str = "value"
    #: the per-step decays of v and i as the network's own numbers (``DeltaCells.v_decay``); None: from the taus
    v_decay: float | None = None
    i_decay: float | None = None

    def __post_init__(self):
        _check_reset(self)


def step_decays(cells, timestep_ms: float) -> tuple[float, float]:
    """The per-step decays (v, i) of ``DeltaCells`` or ``CubaCells`` (i: 0 for delta cells): the network's own
    numbers where it gave them, else exp(-dt/tau)."""
    import math
    v = cells.v_decay if cells.v_decay is not None else math.exp(-timestep_ms / cells.tau_m_ms)
    if not isinstance(cells, CubaCells):
        return v, 0.0
    return v, cells.i_decay if cells.i_decay is not None else math.exp(-timestep_ms / cells.tau_syn_ms)


def cuba_jump_nA(cells: CubaCells, timestep_ms: float) -> float:
    """The current jump (nA) whose exactly integrated effect on v one step later is 1 mV (see ``CubaCells``):
    1 / (tau_s tau_m / (cm (tau_m - tau_s)) (exp(-dt/tau_m) - exp(-dt/tau_s)))."""
    ts, tm, dt = cells.tau_syn_ms, cells.tau_m_ms, timestep_ms
    if abs(tm - ts) < 1e-9 * max(tm, ts):
        raise InputError(f"{cells.name}: tau_syn and tau_m are equal ({ts:g} ms); make them differ")
    one_step = ts * tm / (cells.cm_nF * (tm - ts)) * (np.exp(-dt / tm) - np.exp(-dt / ts))
    return float(1.0 / one_step)


@dataclass(frozen=True)
class Synapses:
    """Static synapses ``pre[i] -> post[i]`` of weight ``weight_mV[i]`` (signed) and one hop latency (ms): the
    jump of a delta target's membrane, or of a current-based target's current (mV per step, ``CubaCells``). The
    latency of a hop into a current-based target counts to its current's jump: the membrane follows one step
    later (``CUBA_EXTRA_STEPS``)."""
    name: str
    pre_pop: str
    post_pop: str
    pre: np.ndarray
    post: np.ndarray
    weight_mV: np.ndarray
    latency_ms: float

    def __post_init__(self):
        if not (len(self.pre) == len(self.post) == len(self.weight_mV)):
            raise InputError(f"{self.name}: pre, post and weight arrays differ in length ({len(self.pre)}, "
                             f"{len(self.post)}, {len(self.weight_mV)}); give one entry per synapse in each")


#: the first step of a sample's slot that may hold input, unless a backend says otherwise (``Timing.lead_steps``)
LEAD_STEPS = 2


@dataclass(frozen=True)
class Timing:
    """What a backend's timing means for laying a graph out in time (``Backend.graph_timing``): the shortest hop
    (ms); how many steps late ``membrane`` reads (``Backend.membrane_read_lag_steps``); whether a reset between
    runs also zeroes synaptic currents (else a current-based cell's must die away before the next sample); the
    first step of a slot that may hold input (``Backend.graph_lead_steps``: NEST needs input later than its
    min_delay); the fewest sources a ``Sources`` population may have (``Backend.min_sources``); whether a spike
    can jump the currents of its own current-based population in the step it fires, after the threshold (a
    latency of 0, ``Backend.same_step_current_hop``): what a layer's own recurrent weights onto a synaptic current
    need to act in the next step, as in refsim; the ``RESETS`` its cells can do (``Backend.graph_resets``; by
    default all, and the backend's build refuses what it cannot)."""
    hop_ms: float
    read_lag_steps: int = 0
    resets_currents: bool = True
    lead_steps: int = LEAD_STEPS
    min_sources: int = 1
    same_step_current_hop: bool = False
    resets: tuple[str, ...] = RESETS

    def __post_init__(self):
        if self.lead_steps < 0 or self.min_sources < 1:
            raise InputError(f"a timing needs lead_steps >= 0 and min_sources >= 1, got {self.lead_steps} and "
                             f"{self.min_sources}")


@dataclass(frozen=True)
class Graph:
    timestep_ms: float
    populations: tuple
    projections: tuple[Synapses, ...]

    @property
    def n_neurons(self) -> int:
        return sum(p.size for p in self.populations if not isinstance(p, Sources))

    @property
    def n_synapses(self) -> int:
        return sum(len(p.pre) for p in self.projections)


def split_by_sign(syn: Synapses) -> list[tuple[str, np.ndarray]]:
    """[(receptor, index array)] of the excitatory (w > 0) and inhibitory (w < 0) synapses; zeros are dropped."""
    w = np.asarray(syn.weight_mV)
    out = []
    for receptor, mask in (("excitatory", w > 0), ("inhibitory", w < 0)):
        idx = np.flatnonzero(mask)
        if len(idx):
            out.append((receptor, idx))
    return out


def probe(backend, timestep_ms: float = 1.0, delay_steps: int = 3) -> dict:
    """Measure on ``backend`` (an ``interface.GraphBackend``) what a hop between IF_curr_delta cells does (one
    source, two cells).

    Cell 0 gets one spike of +1.5 mV (threshold 1 mV, starting at 0.5 mV): it must fire once, and its spike time
    minus the source's is the hop latency. Cell 1 gets -0.3 mV (an inhibitory synapse) and reports the jump it
    saw through ``membrane``. Returns {"latency_ms", "expected_latency_ms", "jump_mV", "spikes"}; a backend whose
    constants are right has latency == expected and jump == -0.3 (with no leak: to the rounding of the backend's
    units).
    """
    dt = timestep_ms
    latency = (delay_steps + backend.delta_extra_latency_steps) * dt
    t_in = 3 * dt
    n_src = backend.graph_timing(dt).min_sources
    graph = Graph(dt, (Sources("src", n_src), DeltaCells("cells", 2, v_thresh_mV=1.0, v_init_mV=0.5)),
                  (Synapses("hop", "src", "cells", np.array([0, 0]), np.array([0, 1]), np.array([1.5, -0.3]),
                            latency),))
    backend.build_graph(graph)
    backend.set_spike_times("src", [np.array([t_in])] + [np.array([])] * (n_src - 1))
    before = backend.membrane("cells").copy() if backend.reads_membrane else None
    backend.run_until(t_in + latency + 5 * dt)
    spikes = backend.spikes("cells")
    jump = None if before is None else float(backend.membrane("cells")[1] - before[1])
    out = {"latency_ms": float(spikes[0][0] - t_in) if len(spikes[0]) else None, "expected_latency_ms": latency,
           "jump_mV": jump, "spikes": [len(s) for s in spikes]}
    backend.close()
    return out
