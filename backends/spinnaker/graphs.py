"""The graph build path of the SpiNNaker backend: the converted event networks of ``event_models``.

Every cell and weight comes from ``chip.plan(graph)``: IF_curr_delta populations with the plan's chip-unit
parameters (graph mV times the population's power-of-two ``scale``), one FromListConnector per projection and
receptor with the plan's |weight| (``weight_nA``) and whole-step delay, and ``max_expected_summed_weight`` = the
plan's ``max_summed_nA``, so sPyNNaker picks the ring-buffer shifts the plan expects (``ChipCells.shifts``;
``mapping()`` checks them). ``membrane``/``set_membrane``/``run_slots`` speak graph mV and divide or multiply by
``scale``. Spike times (``set_spike_times``) and initial membranes are taken when the network is created at the
first run or ``mapping()``. Each cell population gets an incoming spike buffer for its fan-in (at most 2048);
``[Simulation] spikes_per_second`` is raised to one spike per step for what sPyNNaker still sizes by rate.
"""
from __future__ import annotations

import numpy as np

from hippocam.errors import BackendError, InputError
from ..graph import DeltaCells, Sources
from ..pynn_common import slot_events
from . import chip as chip_plan
from .config import NO_BOARD, graph_config, spynnaker_config
from .limits import SOURCES_PER_CORE, pre_neurons, spike_buffer_size

#: why every projection is an explicit list (the mapping report's "connector" column): sPyNNaker 1!7.4.1 ships
#: local-only convolution / pool-dense binaries only for IF_curr_exp (IF_curr_exp_conv.aplx,
#: IF_curr_exp_pool_dense.aplx), and a population takes either local-only or ordinary synapses, not both
CONNECTOR_WHY = "FromList (IF_curr_delta has no local-only conv/pool binary in sPyNNaker 1!7.4.1)"


class GraphPath:
    """``build_graph`` and what goes with it; mixed into ``Backend``, whose state and sPyNNaker calls it uses."""

    # a spike sent in step t with delay d is added to the target's input in step t + d, and an IF_curr_delta
    # cell takes its input in the step it reads it: a hop costs exactly its delay, of at least one step
    delta_extra_latency_steps = 0
    min_delay_steps = 1

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
        """Check ``graph`` (a ``backends.graph.Graph``), plan it in chip units (``chip.plan``) and check the board;
        the network is created at the first run (or ``mapping()``), with the spike times given by then."""
        self._begin_build()
        names = [p.name for p in graph.populations]
        if len(set(names)) != len(names):
            raise BackendError(f"spinnaker: the graph names a population twice: {names}")
        for p in graph.populations:
            if not isinstance(p, (Sources, DeltaCells)):
                raise BackendError(f"spinnaker: population {getattr(p, 'name', p)!r} is neither Sources nor "
                                   "DeltaCells (IF_curr_delta); the SpiNNaker path builds only those")
        for syn in graph.projections:
            for end in (syn.pre_pop, syn.post_pop):
                if end not in names:
                    raise BackendError(f"spinnaker: projection {syn.name} names an unknown population {end!r}")
        self.graph = graph
        self.timestep_ms = graph.timestep_ms
        for syn in graph.projections:
            self._graph_delay(syn)
        try:
            self.chip = chip_plan.plan(graph)
        except InputError as err:
            raise BackendError(f"spinnaker: {err}") from None
        problems = chip_plan.out_of_range(self.chip)
        if problems:
            raise BackendError(f"spinnaker: the graph does not fit a core's fixed point ({len(problems)} values), "
                               f"e.g. {problems[0]}")
        for p in graph.populations:
            if isinstance(p, Sources):
                self._source_trains[p.name] = [[] for _ in range(p.size)]
            else:
                self._v_init[p.name] = float(p.v_init_mV)
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

    def _scale(self, population: str) -> float:
        if population not in self._v_init:
            raise BackendError(f"spinnaker: {population!r} is not a cell population of this graph")
        return self.chip.cell(population).scale

    def set_membrane(self, population: str, v_mV) -> None:
        """Set the membrane (graph mV) of every cell of ``population``: the initial value before the first run;
        between runs on a board ``Population.set_state`` (``initialize`` after a run has no effect in
        sPyNNaker 1!7.4.1): it reads the population's neuron data back from the board and writes it again at the
        next run."""
        self._check_open()
        scale = self._scale(population)
        if not self._materialized:
            if np.ndim(v_mV) != 0:
                raise BackendError("spinnaker: give one initial membrane per population before the first run")
            self._v_init[population] = float(v_mV)
            return
        if self.board.virtual:
            raise BackendError(NO_BOARD)
        with self._sim_call(f"setting the membrane of {population}"):
            self.populations[population].set_state(v=np.asarray(v_mV, float) * scale)

    def membrane(self, population: str) -> np.ndarray:
        """The membrane (graph mV) of every cell of ``population`` now: the initial value before the first run,
        read from the board (``current_values``) after it. A virtual board executes nothing: BackendError."""
        self._check_open()
        scale = self._scale(population)
        size = self.chip.cell(population).size
        if not self._has_run:
            return np.full(size, self._v_init[population])
        if self.board.virtual:
            raise BackendError(NO_BOARD)
        with self._sim_call(f"reading the membrane of {population}", fatal=False):
            v = np.asarray(self.populations[population].current_values["v"], float)
        return v / scale

    def run_slots(self, slot_ms: float, n_slots: int, reset: dict, read: str, progress=None,
                  read_ms: float | None = None, window_resets: dict | None = None) -> np.ndarray:
        """As ``PyNNBackend.run_slots``; the read-out comes from its recorded ``v``. A recorded sample at step k
        holds the membrane before step k's update (sPyNNaker's ``neuron_impl_standard.h`` records the voltage
        before ``neuron_model_state_update``), i.e. the state after step k - 1: what ``membrane`` gives after
        ``run_until(k dt)``. A read at a time where a membrane is set next is read live (``membrane``) before.
        Every reset stops the board: one run per slot (and per window reset), each reading back and rewriting
        the reset populations' neuron data. On a virtual board the network is built, ``v`` recording set and the
        run mapped, then a BackendError says that no board is configured."""
        self._check_open()
        self._scale(read)
        if read not in self._record_v:
            if self._materialized:
                raise BackendError(f"spinnaker: the v of {read} is recorded only if run_slots comes before the "
                                   "first run or mapping() (sPyNNaker sets recording when it builds); build again")
            self._record_v.add(read)
        dt, start = self.timestep_ms, self.t_ms
        end = start + n_slots * slot_ms
        if self.board.virtual:
            self._materialize()
            self._run_until(end)    # a virtual board maps, generates the data and executes nothing
            raise BackendError(NO_BOARD)
        events = slot_events(slot_ms, read_ms, window_resets)
        reads: dict[int, np.ndarray | None] = {}   # absolute step of each read -> membrane read live, or None
        for s in range(n_slots):
            stops = []
            for t, name, v in events:
                if name is None:
                    reads[round((start + s * slot_ms + t) / dt)] = None
                else:
                    stops.append((start + s * slot_ms + t, {name: v}))
            stops.append((start + (s + 1) * slot_ms, reset))
            for t_ms, sets in stops:
                if not sets:
                    continue
                self.run_until(t_ms)
                step = round(t_ms / dt)
                if step in reads and reads[step] is None:
                    reads[step] = self.membrane(read)
                for name, v in sets.items():
                    self.set_membrane(name, v)
            if progress is not None:
                progress(s + 1, n_slots)
        self.run_until(end)
        last = round(end / dt)
        if reads.get(last, 0) is None:     # the state after the last step: no later step records it
            reads[last] = self.membrane(read)
        return self._read_out(read, reads)

    def _read_out(self, read: str, reads: dict) -> np.ndarray:
        """The read-out at each read step (graph mV), from the recording where it was not read live."""
        pending = [k for k, v in reads.items() if v is None]
        if pending:
            with self._sim_call(f"reading the recorded v of {read}", fatal=False):
                recorded = np.asarray(self.populations[read].spinnaker_get_data("v", as_matrix=True), float)
            if max(pending) >= len(recorded):
                raise BackendError(f"spinnaker: the recording of {read} holds {len(recorded)} steps, the read-out "
                                   f"needs step {max(pending)}; see the provenance in {self.report_dir}")
            for k in pending:
                reads[k] = recorded[k] / self._scale(read)
        return np.array([reads[k] for k in sorted(reads)])

    def _materialize_graph(self) -> None:
        """Create the graph in sPyNNaker from the plan (``self.chip``): sources with their spike times, cells in
        chip units with ``max_expected_summed_weight`` = ``max_summed_nA``, one weighted list per projection and
        receptor (``ChipSynapses``)."""
        sim, dt, chip = self.sim, self.timestep_ms, self.chip
        self._materialized = True  # from here on, a failure must end sPyNNaker
        fan_in = pre_neurons(self.graph)
        with self._sim_call("setup"), spynnaker_config(graph_config(self.board.text, dt)):
            sim.setup(timestep=dt, min_delay=dt, **self.setup_options())
        with self._sim_call("building the network"):
            for p in self.graph.populations:
                if isinstance(p, Sources):
                    pop = self._source_population(p.name, p.size, self._source_trains[p.name])
                    # one core cannot send thousands of spikes in a step: spread the sources like the cells
                    pop.set_max_atoms_per_core(self.neurons_per_core or SOURCES_PER_CORE)
                    self.populations[p.name] = pop
                    continue
                c = chip.cell(p.name)
                celltype = sim.IF_curr_delta(tau_m=c.tau_m_ms, cm=c.cm_nF, v_rest=c.v_rest_mV, v_reset=c.v_reset_mV,
                                             v_thresh=c.v_thresh_mV, tau_refrac=c.tau_refrac_ms, i_offset=c.i_offset_nA)
                extra = {"max_expected_summed_weight": list(c.max_summed_nA),
                         "incoming_spike_buffer_size": spike_buffer_size(fan_in.get(p.name, 0))}
                pop = sim.Population(p.size, celltype, label=p.name, additional_parameters=extra,
                                     initial_values={"v": self._v_init[p.name] * c.scale})
                if self.neurons_per_core:
                    pop.set_max_atoms_per_core(self.neurons_per_core)
                if c.record_spikes:
                    pop.record("spikes")
                if p.name in self._record_v:
                    pop.record("v")
                self.populations[p.name] = pop
            for s in chip.synapses:
                label = f"{s.name}.{s.receptor[:3]}"
                self.projections[label] = sim.Projection(
                    self.populations[s.pre_pop], self.populations[s.post_pop],
                    self.weighted_connector(s.pre, s.post, s.delay_steps * dt, s.weight_nA),
                    sim.StaticSynapse(), receptor_type=s.receptor, label=label)

    def _note_ring_buffers(self) -> None:
        """The ring-buffer shifts sPyNNaker chose per cell population, checked against the plan's, and the weight
        step they give (chip nA, and graph mV: divided by the population's ``scale``)."""
        for c in self.chip.cells:
            # sPyNNaker 1!7.4.1 exposes the shifts only on the population's (private) vertex
            shifts = [int(v) for v in self.populations[c.name]._vertex.get_ring_buffer_shifts()]
            if tuple(shifts) != tuple(c.shifts):
                raise BackendError(f"spinnaker: sPyNNaker chose ring-buffer shifts {shifts} for {c.name}, the plan "
                                   f"expects {list(c.shifts)}: its weights would be stored at another scale")
            self.ring_buffer[c.name] = {
                "max_summed_weight_nA": [round(float(b), 6) for b in c.max_summed_nA], "scale": c.scale,
                "shifts": shifts, "weight_step_mV": [2.0 ** (sh - 15) / c.scale for sh in shifts]}
