"""A graph (``backends.graph``) run as SpiNNaker cores would run it: s16.15 state, 16-bit weights, ring buffers.

The arithmetic is the chip plan's (``spinnaker.chip``): ``plan`` gives each population its scale, cell constants
and ring-buffer shifts and each synapse its 16-bit weight; ``constants`` and ``lif_step`` are the core's update.
This module only moves spikes. Per step ``n``, for every cell population:

1. the ring-buffer entry of step ``n`` (per cell and receptor, the sum of the ``weight_int`` arriving then, capped
   at 0xFFFF as the core's saturating add caps it) goes into ``lif_step``; a cell at v >= v_thresh fires in ``n``;
2. then every spike of step ``n`` (a source's at ``n * dt``, a cell's fired in 1.) is added to the ring-buffer
   entry of step ``n + d`` of its targets, ``d`` the projection's delay in whole steps (>= 1).

A hop thus costs exactly its delay (``delta_extra_latency_steps = 0``), as on the sPyNNaker backend.

Two ways to run: step by step over the whole timeline (``run_until``), and ``run_slots``, which runs all slots
at once as a batch (state (slots, cells)) when the slots are independent: every cell population starts afresh at
each slot's end, no refractory time, and no spike in flight past a slot's end. Both go through ``_Cores.step``.
"""
from __future__ import annotations

import copy
import math

import numpy as np
from scipy import sparse

from hippocam.backends.graph import Sources, Timing
from hippocam.backends.spinnaker import chip, fixed
from hippocam.errors import BackendError

#: a ring-buffer entry is a 16-bit unsigned sum; sPyNNaker's add saturates there (and counts it)
RING_MAX = 0xFFFF
#: cells of one population on one core, as the sPyNNaker backend places them
CELLS_PER_CORE = 256
#: bytes of batch state (ring buffers, membranes) one chunk of slots may take
BATCH_BYTES = 1 << 29


class _Projection:
    """One receptor's synapses as a sparse (pre x post) matrix of 16-bit weights, and per pre neuron how many of
    its synapses land on each core of the target population (the synaptic events it costs that core)."""

    def __init__(self, s: chip.ChipSynapses, n_pre: int, n_post: int):
        self.name, self.pre, self.post, self.delay = s.name, s.pre_pop, s.post_pop, s.delay_steps
        self.receptor = 0 if s.receptor == "excitatory" else 1
        self.weights = sparse.csr_matrix((np.asarray(s.weight_int, np.int64), (s.pre, s.post)),
                                         shape=(n_pre, n_post))
        cores = -(-n_post // CELLS_PER_CORE)
        self.events = sparse.csr_matrix((np.ones(len(s.pre), np.int64), (s.pre, np.asarray(s.post) // CELLS_PER_CORE)),
                                        shape=(n_pre, cores))


class Stats:
    """What a run showed, per cell population: ring-buffer saturations (entries capped at 0xFFFF), the largest
    ring-buffer sum per receptor (16-bit units), synaptic events per core per step (largest, sum, steps)."""

    def __init__(self, cells: tuple[chip.ChipCells, ...]):
        self.saturations = {c.name: 0 for c in cells}
        self.largest_sum = {c.name: [0, 0] for c in cells}
        self.cores = {c.name: -(-c.size // CELLS_PER_CORE) for c in cells}
        self.events_max = {c.name: 0 for c in cells}       # busiest core in its busiest step
        self.events_sum = {c.name: 0 for c in cells}       # over steps and cores
        self.busiest_parts: list[np.ndarray] = []         # per step: the busiest core of the whole graph
        self.steps = 0

    @property
    def busiest(self) -> np.ndarray:
        return np.concatenate(self.busiest_parts + [np.zeros(0, np.int64)])


class _Cores:
    """The state of every cell population for ``batch`` independent copies, and its ring buffers."""

    def __init__(self, plan: chip.ChipGraph, consts: dict, projections: list, batch: int, stats: Stats):
        self.plan, self.k, self.projections, self.stats = plan, consts, projections, stats
        self.slots = 1 + max([p.delay for p in projections] + [1])
        self.v = {c.name: np.broadcast_to(fixed.to_bits(c.v_init_mV), (batch, c.size)).copy() for c in plan.cells}
        self.refrac = {c.name: np.zeros((batch, c.size), np.int64) for c in plan.cells}
        self.ring = {c.name: np.zeros((self.slots, 2, batch, c.size), np.int64) for c in plan.cells}

    def in_flight(self) -> bool:
        return any(r.any() for r in self.ring.values())

    def step(self, n: int, sources: dict) -> dict:
        """Step ``n``: update every cell population, then send its spikes and those of ``sources`` (name ->
        (batch, size) 0/1); returns name -> fired (batch, size) bool of each cell population."""
        fired, st = {}, self.stats
        for c in self.plan.cells:
            entry = self.ring[c.name][n % self.slots]
            over = entry > RING_MAX
            if over.any():
                st.saturations[c.name] += int(over.sum())
            top = st.largest_sum[c.name]
            top[0], top[1] = max(top[0], int(entry[0].max(initial=0))), max(top[1], int(entry[1].max(initial=0)))
            capped = np.minimum(entry, RING_MAX)
            self.v[c.name], self.refrac[c.name], fired[c.name] = chip.lif_step(
                self.v[c.name], self.refrac[c.name], capped[0], capped[1], self.k[c.name])
            entry[:] = 0
        spikes = {name: sparse.csr_matrix(s.astype(np.int64)) for name, s in {**sources, **fired}.items()
                  if s.any()}
        events = {c.name: None for c in self.plan.cells}
        for p in self.projections:
            s = spikes.get(p.pre)
            if s is None:
                continue
            arriving = (s @ p.weights).tocoo()
            self.ring[p.post][(n + p.delay) % self.slots, p.receptor, arriving.row, arriving.col] += arriving.data
            e = (s @ p.events).toarray()
            events[p.post] = e if events[p.post] is None else events[p.post] + e
        busiest = np.zeros(len(next(iter(self.v.values()))), np.int64)
        for name, e in events.items():
            if e is not None:
                st.events_max[name] = max(st.events_max[name], int(e.max()))
                st.events_sum[name] += int(e.sum())
                busiest = np.maximum(busiest, e.max(axis=1))
        st.busiest_parts.append(busiest)
        st.steps += len(busiest)
        return fired


class GraphModel:
    """A ``backends.graph.Graph`` on the model: build, spike times, runs, membranes (see the module)."""

    def __init__(self, graph, plan: chip.ChipGraph | None = None):
        """``plan``: the chip's values for ``graph`` (default ``chip.plan(graph)``); one given by hand may lose
        weights or saturate a ring buffer, as a core would (``chip.out_of_range``'s ``lossy``)."""
        dt = self.timestep_ms = graph.timestep_ms
        self.plan = chip.plan(graph) if plan is None else plan
        problems = chip.out_of_range(self.plan, lossy=plan is None)
        if problems:
            raise BackendError("spinnaker-model: the graph does not fit a SpiNNaker core: " + "; ".join(problems[:3]))
        try:
            self.k = {c.name: chip.constants(c, dt) for c in self.plan.cells}
            for c in self.plan.cells:
                fixed.to_bits(c.v_init_mV)
        except ValueError as err:
            raise BackendError(f"spinnaker-model: a cell parameter does not fit s16.15 ({err})") from None
        self.sizes = {p.name: p.size for p in graph.populations}
        self.sources = {p.name for p in graph.populations if isinstance(p, Sources)}
        for s in self.plan.synapses:
            if s.delay_steps < 1:
                raise BackendError(f"spinnaker-model: projection {s.name} has a delay of {s.delay_steps} steps; "
                                   "the shortest is 1")
        self.projections = [_Projection(s, self.sizes[s.pre_pop], self.sizes[s.post_pop]) for s in self.plan.synapses]
        self.recorded = {c.name for c in self.plan.cells if c.record_spikes}
        self.stats = Stats(self.plan.cells)
        self.cores = _Cores(self.plan, self.k, self.projections, 1, self.stats)
        self.step = 0
        self.slots_run = {"batch": 0, "step by step": 0}       # how the slots of ``run_slots`` ran
        self.inputs = {name: {} for name in self.sources}     # name -> {step: source indices}
        self.spike_log = {name: [] for name in self.recorded}  # name -> [(steps, cells)]

    # -- values in and out -------------------------------------------------------------------------
    def bits(self, population: str, v_mV) -> np.ndarray:
        """Graph mV of ``population`` as the core's s16.15 bits of its chip mV."""
        c = self.plan.cell(population)
        try:
            return np.broadcast_to(fixed.to_bits(np.asarray(v_mV, float) * c.scale), (c.size,)).copy()
        except ValueError:
            raise BackendError(f"spinnaker-model: a membrane of {np.min(v_mV):g} .. {np.max(v_mV):g} mV for "
                               f"{population} is outside what a core holds (s16.15 at scale {c.scale:g})") from None

    def membrane(self, population: str) -> np.ndarray:
        return fixed.from_bits(self.cores.v[population][0]) / self.plan.cell(population).scale

    def set_membrane(self, population: str, v_mV) -> None:
        self.cores.v[population][0] = self.bits(population, v_mV)

    def set_spike_times(self, population: str, trains: list) -> None:
        if population not in self.sources:
            raise BackendError(f"spinnaker-model: {population!r} is not a population of spike sources")
        dt = self.timestep_ms
        times = np.concatenate([np.asarray(t, float).ravel() for t in trains] + [np.zeros(0)])
        ids = np.repeat(np.arange(len(trains)), [np.asarray(t).size for t in trains])
        steps = np.round(times / dt).astype(np.int64)
        off = np.abs(steps * dt - times) > 1e-9
        if off.any():
            raise BackendError(f"spinnaker-model: spike time {times[off][0]:g} ms is off the {dt:g} ms grid")
        self.inputs[population] = _by_step(steps, ids)

    def _source_spikes(self, n: int) -> dict:
        out = {}
        for name, by_step in self.inputs.items():
            ids = by_step.get(n)
            if ids is not None:
                s = np.zeros((1, self.sizes[name]), bool)
                s[0, ids] = True
                out[name] = s
        return out

    def _log(self, fired: dict, steps_of_rows: np.ndarray, offset: int) -> None:
        for name in self.recorded:
            rows, cells = np.nonzero(fired[name])
            if len(rows):       # int32: a big net fires 1e8 times over a test set
                self.spike_log[name].append(((steps_of_rows[rows] + offset).astype(np.int32), cells.astype(np.int32)))

    def spikes(self, population: str) -> list[np.ndarray]:
        size = self.sizes[population]
        log = self.spike_log.get(population, [])
        if not log:
            return [np.zeros(0) for _ in range(size)]
        key = np.concatenate([c for _, c in log]).astype(np.int64)      # (cell, step) in one int64, in place:
        key <<= 32                                                       # 8 bytes a spike beside the log
        key |= np.concatenate([s for s, _ in log])
        key.sort()
        bounds = np.searchsorted(key, np.arange(1, size, dtype=np.int64) << 32)
        key &= 0xFFFFFFFF
        times = key * self.timestep_ms
        del key
        return np.split(times, bounds)

    # -- running -------------------------------------------------------------------------------------
    def run_until(self, end_step: int) -> None:
        """Every step n < ``end_step``, one at a time."""
        while self.step < end_step:
            self.step_once()

    def step_once(self) -> dict:
        """The current step; returns name -> fired (1, size) bool of each cell population (a memory beside the
        graph takes its input cells' spikes from here)."""
        fired = self.cores.step(self.step, self._source_spikes(self.step))
        self._log(fired, np.zeros(1, np.int64), self.step)
        self.step += 1
        return fired

    def batchable(self, reset: dict) -> str | None:
        """Why the slots cannot run as one batch (None if they can): each must start afresh."""
        missing = [c.name for c in self.plan.cells if c.name not in reset]
        if missing:
            return f"population {missing[0]} is not reset between slots"
        if any(np.any(k.refrac_steps > 0) for k in self.k.values()):
            return "a population has a refractory time"
        if self.cores.in_flight():
            return "spikes are in flight at the start"
        return None

    def run_batch(self, slot_steps: int, n_slots: int, reset: dict, read: str, read_step: int,
                  window: dict, progress=None) -> np.ndarray | None:
        """All ``n_slots`` slots from the current step as batches of slots; the membranes of ``read`` after step
        ``read_step - 1`` of each slot, (n_slots, size). None (and nothing changed) when a spike is still in
        flight at a slot's end: the slots were not independent."""
        start = self.step
        per_slot = 8 * sum(c.size * (2 * self.cores.slots + 2) for c in self.plan.cells) + \
            slot_steps * sum(self.sizes[name] for name in self.sources)
        chunk = int(max(1, min(n_slots, BATCH_BYTES // per_slot)))
        first = {c.name: self.cores.v[c.name][0].copy() for c in self.plan.cells}
        reset_bits = {name: self.bits(name, v) for name, v in reset.items()}
        stats_before = copy.deepcopy(self.stats)
        out, logs = [], {name: [] for name in self.recorded}
        for lo in range(0, n_slots, chunk):
            b = min(chunk, n_slots - lo)
            cores = _Cores(self.plan, self.k, self.projections, b, self.stats)
            for c in self.plan.cells:
                cores.v[c.name][:] = reset_bits[c.name]
                if lo == 0:
                    cores.v[c.name][0] = first[c.name]
            base = start + lo * slot_steps
            inputs = {name: _slot_inputs(by_step, self.sizes[name], base, slot_steps, b)
                      for name, by_step in self.inputs.items()}
            rows = np.arange(b, dtype=np.int64) * slot_steps
            for t in range(slot_steps):
                if t == read_step:      # as ``pynn_common.slot_events``: the read before a membrane set
                    out.append(fixed.from_bits(cores.v[read]) / self.plan.cell(read).scale)
                for name, (step, v) in window.items():
                    if step == t:
                        cores.v[name][:] = self.bits(name, v)
                fired = cores.step(t, {name: s[:, t] for name, s in inputs.items() if s is not None})
                for name in self.recorded:
                    r, cells = np.nonzero(fired[name])
                    if len(r):
                        logs[name].append(((rows[r] + base + t).astype(np.int32), cells.astype(np.int32)))
            if read_step >= slot_steps:
                out.append(fixed.from_bits(cores.v[read]) / self.plan.cell(read).scale)
            if cores.in_flight():
                self.stats = self.cores.stats = stats_before
                return None
            if progress is not None:
                progress(lo + b, n_slots)
        for name, parts in logs.items():
            self.spike_log[name].extend(parts)
        for name, v in reset_bits.items():
            self.cores.v[name][0] = v
        self.step = start + n_slots * slot_steps
        self.slots_run["batch"] += n_slots
        return np.concatenate(out, axis=0)


def _by_step(steps: np.ndarray, ids: np.ndarray) -> dict:
    order = np.lexsort((ids, steps))
    steps, ids = steps[order], ids[order]
    bounds = np.flatnonzero(np.diff(steps)) + 1
    return {int(s[0]): np.unique(i) for s, i in zip(np.split(steps, bounds), np.split(ids, bounds)) if len(s)}


def _slot_inputs(by_step: dict, size: int, base: int, slot_steps: int, batch: int) -> np.ndarray | None:
    """(batch, slot_steps, size) 0/1: the source spikes of ``batch`` slots from step ``base``."""
    hits = [(s - base, ids) for s, ids in by_step.items() if base <= s < base + batch * slot_steps]
    if not hits:
        return None
    out = np.zeros((batch, slot_steps, size), bool)
    for rel, ids in hits:
        out[rel // slot_steps, rel % slot_steps, ids] = True
    return out


def timing(timestep_ms: float, lead_steps: int, min_sources: int) -> Timing:
    """A hop of one step (delay 1, nothing extra), read with no lag, currents reset: Brian2's layout; cells that
    reset to a value only (IF_curr_delta on a core), no hop within a step."""
    return Timing(timestep_ms, 0, True, lead_steps, min_sources, same_step_current_hop=False, resets=("value",))


def steps_of(t_ms: float, dt: float) -> int:
    return math.ceil(t_ms / dt - 1e-9)
