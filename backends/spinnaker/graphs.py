"""The graph build path of the SpiNNaker backend: the converted event networks of ``event_models``.

IF_curr_delta cells, spike sources and one FromListConnector per projection and sign with a weight and a delay
column (a hop costs its delay, at least one step). Spike times (``set_spike_times``) and initial membranes are
taken when the network is created at the first run or ``mapping()``. The cells fire at most once per step, the
bias sources every step: each cell population gets ``max_expected_summed_weight`` = the largest summed |weight|
a cell can receive in one step, so its fixed-point ring buffers cannot saturate (sPyNNaker's default sizes them
for 30 spikes/s), and an incoming spike buffer for its fan-in (at most 2048); ``[Simulation] spikes_per_second``
is raised to one spike per step for what sPyNNaker still sizes by rate. Parameters beyond s16.15 (tau_m 1e7 ms,
a read-out threshold of 1e9 mV) are clamped to 65535 (docs/spinnaker_arithmetic.md).
"""
from __future__ import annotations

import numpy as np

from hippocam.errors import BackendError
from ..graph import DeltaCells, Sources, split_by_sign
from .config import graph_config, spynnaker_config
from .limits import S1615_MAX, SOURCES_PER_CORE, pre_neurons, spike_buffer_size, summed_weight_bounds


class GraphPath:
    """``build_graph`` and what goes with it; mixed into ``Backend``, whose state and sPyNNaker calls it uses."""

    # a spike sent in step t with delay d is added to the target's input in step t + d, and an IF_curr_delta
    # cell takes its input in the step it reads it: a hop costs exactly its delay, of at least one step
    delta_extra_latency_steps = 0
    min_delay_steps = 1

    def delta_cell_type(self, cells):
        """IF_curr_delta. sPyNNaker holds parameters in s16.15 fixed point (at most 65535): a longer tau_m (a
        perfect integrator) is clamped to 65535 ms (a leak of 1.5e-5 of v per 1 ms step) and a higher threshold
        (a read-out that never fires) to 65535 mV."""
        celltype = self.sim.IF_curr_delta(tau_m=min(cells.tau_m_ms, S1615_MAX), cm=cells.cm_nF, v_rest=0.0,
                                          v_reset=cells.v_reset_mV, v_thresh=min(cells.v_thresh_mV, S1615_MAX),
                                          tau_refrac=0.0, i_offset=0.0)
        return celltype

    def weighted_connector(self, pre: np.ndarray, post: np.ndarray, delay_ms: float, weights=None):
        """A FromListConnector on whole populations with (pre, post, weight, delay) rows, as one numpy array
        sorted by pre, then post: sPyNNaker 7.4.1 estimates the longest synaptic row by splitting the list where
        the sorted pre (then post) indices change but splits the unsorted list, and cuts every row to that
        estimate, so an unsorted list gets rows that are too long (SynapseRowTooBigException) or synapses
        silently dropped."""
        pre, post = np.asarray(pre), np.asarray(post)
        order = np.lexsort((post, pre))
        n = len(pre)
        rows = np.empty((n, 4))
        rows[:, 0], rows[:, 1] = pre[order], post[order]
        rows[:, 2] = 0.0 if weights is None else np.asarray(weights, float)[order]
        rows[:, 3] = delay_ms
        return self.sim.FromListConnector(rows, column_names=["weight", "delay"])

    def build_graph(self, graph) -> None:
        """Check ``graph`` (a ``backends.graph.Graph``) and the board; the network is created at the first run
        (or ``mapping()``), with the spike times given by then (``set_spike_times``)."""
        self._begin_build()
        self.graph = graph
        self.timestep_ms = graph.timestep_ms
        names = [p.name for p in graph.populations]
        if len(set(names)) != len(names):
            raise BackendError(f"spinnaker: the graph names a population twice: {names}")
        for p in graph.populations:
            if isinstance(p, Sources):
                self._source_trains[p.name] = [[] for _ in range(p.size)]
            elif isinstance(p, DeltaCells):
                self._v_init[p.name] = float(p.v_init_mV)
            else:
                raise BackendError(f"spinnaker: population {getattr(p, 'name', p)!r} is neither Sources nor DeltaCells")
        for syn in graph.projections:
            for end in (syn.pre_pop, syn.post_pop):
                if end not in names:
                    raise BackendError(f"spinnaker: projection {syn.name} names an unknown population {end!r}")
            self._graph_delay(syn)
        self._open()

    def _graph_delay(self, syn) -> float:
        dt = self.timestep_ms
        steps = round(syn.latency_ms / dt) - self.delta_extra_latency_steps
        if abs(syn.latency_ms / dt - round(syn.latency_ms / dt)) > 1e-6:
            raise BackendError(f"spinnaker: projection {syn.name} has a latency of {syn.latency_ms:g} ms, off the "
                               f"{dt:g} ms timestep grid")
        if steps < self.min_delay_steps:
            raise BackendError(f"spinnaker: projection {syn.name} asks for a latency of {syn.latency_ms:g} ms; the "
                               f"shortest here is {self.min_latency_ms(dt):g} ms")
        return steps * dt

    def set_spike_times(self, population: str, trains: list) -> None:
        """Spike times (ms, on the timestep grid) of every source of ``population``; before the first run only
        (sPyNNaker 7.4.1 cannot change spike times once the network is built)."""
        self._check_open()
        if population not in self._source_trains:
            raise BackendError(f"spinnaker: {population!r} is not a spike source population of this graph")
        size = len(self._source_trains[population])
        if len(trains) != size:
            raise BackendError(f"spinnaker: {population} has {size} sources, got {len(trains)} spike trains")
        new = [self.input_times(t) for t in trains]
        if self._materialized and new != self._source_trains[population]:
            raise BackendError("spinnaker: SpiNNaker needs every spike time before the first run (sPyNNaker 7.4.1 "
                               "cannot change spike times once the network is built): give them all up front")
        self._source_trains[population] = new

    def set_membrane(self, population: str, v_mV) -> None:
        """Set the membrane (mV) of every cell of ``population``: the initial value before the first run, else
        between runs (``Population.initialize``)."""
        self._check_open()
        if population not in self._v_init:
            raise BackendError(f"spinnaker: {population!r} is not a cell population of this graph")
        if not self._materialized:
            if np.ndim(v_mV) != 0:
                raise BackendError("spinnaker: give one initial membrane per population before the first run")
            self._v_init[population] = float(v_mV)
            return
        with self._sim_call(f"setting the membrane of {population}"):
            self.populations[population].initialize(v=v_mV)

    def membrane(self, population: str) -> np.ndarray:
        raise BackendError("spinnaker: a board does not report membranes between runs; read spikes instead "
                           "(the converted networks' read-out needs a backend that reads membranes: brian2, nest)")

    def _materialize_graph(self) -> None:
        """Create the graph in sPyNNaker: sources with their spike times, cells, weighted synapses.

        Ring buffers: the cells fire at most once per step and the bias sources every step, so the input a cell
        can get in one step is at most the sum of its incoming weights' magnitudes (per receptor). That sum is
        given to sPyNNaker as ``max_expected_summed_weight``: its fixed-point ring buffers then never saturate
        (its default sizes them for 30 spikes/s Poisson input, which converted networks exceed by far). The
        price is resolution: a weight step of 2^(shift + 1 - 16) mV (``ring_buffer`` in ``mapping()``).
        """
        g, sim, dt = self.graph, self.sim, self.timestep_ms
        self._materialized = True  # from here on, a failure must end sPyNNaker
        bounds = summed_weight_bounds(g)
        fan_in = pre_neurons(g)
        with self._sim_call("setup"), spynnaker_config(graph_config(self.board.text, dt)):
            sim.setup(timestep=dt, min_delay=dt)
        with self._sim_call("building the network"):
            for p in g.populations:
                if isinstance(p, DeltaCells):
                    exc, inh = bounds.get(p.name, (0.0, 0.0))
                    extra = {"max_expected_summed_weight": [max(exc, 1e-3), max(inh, 1e-3)],
                             "incoming_spike_buffer_size": spike_buffer_size(fan_in.get(p.name, 0))}
                    pop = sim.Population(p.size, self.delta_cell_type(p), label=p.name,
                                         initial_values={"v": self._v_init[p.name]}, additional_parameters=extra)
                    if self.neurons_per_core:
                        pop.set_max_atoms_per_core(self.neurons_per_core)
                    if p.record_spikes:
                        pop.record("spikes")
                else:
                    pop = self._source_population(p.name, p.size, self._source_trains[p.name])
                    # one core cannot send thousands of spikes in a step: spread the sources like the cells
                    pop.set_max_atoms_per_core(self.neurons_per_core or SOURCES_PER_CORE)
                self.populations[p.name] = pop
            for syn in g.projections:
                delay = self._graph_delay(syn)
                for receptor, idx in split_by_sign(syn):
                    label = f"{syn.name}.{receptor[:3]}"
                    w = np.abs(np.asarray(syn.weight_mV, float)[idx])  # the receptor gives the sign
                    self.projections[label] = sim.Projection(
                        self.populations[syn.pre_pop], self.populations[syn.post_pop],
                        self.weighted_connector(np.asarray(syn.pre)[idx], np.asarray(syn.post)[idx], delay, w),
                        sim.StaticSynapse(), receptor_type=receptor, label=label)

    def _note_ring_buffers(self) -> None:
        """The ring-buffer shift sPyNNaker chose per cell population, and the weight step it gives (mV)."""
        bounds = summed_weight_bounds(self.graph)
        for p in self.graph.populations:
            if not isinstance(p, DeltaCells):
                continue
            # sPyNNaker 1!7.4.1 exposes the shifts only on the population's (private) vertex
            shifts = [int(v) for v in self.populations[p.name]._vertex.get_ring_buffer_shifts()]
            self.ring_buffer[p.name] = {
                "max_summed_weight_mV": [round(float(b), 4) for b in bounds.get(p.name, (0.0, 0.0))],
                "shifts": shifts, "weight_step_mV": [2.0 ** (sh + 1 - 16) for sh in shifts]}
