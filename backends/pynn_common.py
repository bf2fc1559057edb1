"""The common PyNN layer: builds a NetworkSpec with any ``pyNN.<simulator>`` module.

A backend module subclasses ``PyNNBackend`` and overrides only the translation hooks
(``delay``, ``signed_weight``, ``stdp_synapse``, ``connector``, ``after_setup``, ``input_times``).
pyNN keeps one network per simulator and process: building a second one while the first is still open (referenced
and not closed) is a ``BackendError`` (``claim``); close the first (``close()`` or a ``with`` block) or drop it.
"""
from __future__ import annotations

import gc
import warnings
import weakref

import numpy as np

from hippocam.errors import BackendError

#: the open network of each simulator, by backend name; weak, so that a network nobody references no longer counts
_live: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def bulk_rows(connector) -> np.ndarray:
    """The (pre, post[, weight]) rows of a bulk connector (``pre``, ``post``, ``weights`` arrays), as pyNN's
    FromListConnector has them in ``conn_list``; empty once connected (the arrays are dropped then)."""
    if connector.pre is None:
        return np.zeros((0, 2 + len(connector.column_names)))
    return np.column_stack([connector.pre, connector.post] + ([] if connector.weights is None else [connector.weights]))


def _other_open(backend) -> bool:
    other = _live.get(backend.name)
    return other is not None and other is not backend and not other.closed


def claim(backend) -> None:
    """Make ``backend`` its simulator's open network; BackendError if another one is still open (referenced and not
    closed): pyNN would replace it under its owner, whose next call would fail."""
    if _other_open(backend):
        gc.collect()    # a network dropped by its owner but held in a reference cycle is gone after this
    if _other_open(backend):
        raise BackendError(f"another {backend.name} network is still open in this process (pyNN runs one per "
                           "simulator); close it first (memory.close(), or build it in a 'with' block)")
    _live[backend.name] = backend


def release(backend) -> None:
    """``backend`` no longer holds its simulator (it was closed)."""
    if _live.get(backend.name) is backend:
        del _live[backend.name]


class PyNNBackend:
    name = "pynn"
    #: extra steps a hop costs on this simulator beyond its delay (docs/cam_spec.md, docs/toolchain.md)
    extra_latency_steps = 0

    def __init__(self, timestep_ms: float | None = None):
        self.sim = self.import_simulator()
        self.timestep_ms = timestep_ms
        self.populations: dict = {}
        self.projections: dict = {}
        self._current_based: set[str] = set()  # the graph's current-based (CubaCells) populations
        self.closed = True
        self.t_ms = 0.0

    # -- hooks a backend overrides -------------------------------------------------------
    def import_simulator(self):
        raise BackendError(f"{type(self).__name__} does not name a simulator")

    def setup_options(self) -> dict:
        return {}

    def after_setup(self) -> None:
        """Adjust the simulator after ``setup`` (clocks, code generation)."""

    def delay(self, latency_ms: float) -> float:
        """Simulator delay (ms) that gives a hop latency of ``latency_ms``."""
        d = latency_ms - self.extra_latency_steps * self.timestep_ms
        if d < -1e-9:
            raise BackendError(f"{self.name}: a latency of {latency_ms} ms is below this simulator's "
                               f"minimum of {self.extra_latency_steps * self.timestep_ms} ms")
        return d

    def signed_weight(self, weight_nA: float, receptor: str) -> float:
        return -abs(weight_nA) if receptor == "inhibitory" else abs(weight_nA)

    def stdp_synapse(self, stdp, weight_nA: float, delay_ms: float):
        sim = self.sim
        return sim.STDPMechanism(
            timing_dependence=sim.SpikePairRule(tau_plus=stdp.tau_plus_ms, tau_minus=stdp.tau_minus_ms,
                                                A_plus=stdp.step_plus_nA / stdp.w_max_nA,
                                                A_minus=stdp.step_minus_nA / stdp.w_max_nA),
            weight_dependence=sim.AdditiveWeightDependence(w_min=stdp.w_min_nA, w_max=stdp.w_max_nA),
            weight=weight_nA, delay=delay_ms, dendritic_delay_fraction=self.dendritic_delay_fraction)

    dendritic_delay_fraction = 1.0

    def connector(self, pairs: np.ndarray, delay_ms: float):
        return self.sim.FromListConnector(pairs.tolist())

    def cell_type(self, params: dict):
        """The simulator's IF_curr_exp with ``params`` (PyNN names and units)."""
        return self.sim.IF_curr_exp(**params)

    def input_times(self, times: np.ndarray) -> list[float]:
        return [float(t) for t in times]

    def next_input_ms(self) -> float:
        """Earliest input time (ms) the simulator still delivers, given how far it has run."""
        return self.t_ms

    # -- the common layer ----------------------------------------------------------------
    def build(self, spec, record: str = "all", graph=None) -> None:
        """Create every population and projection of ``spec``; ``record`` is "all" or "output".

        With ``graph`` (a ``backends.graph.Graph`` at the spec's timestep) both go into one network: the graph
        first, and a spec population the graph already has (by name, e.g. IN made of cells) is taken from it.
        A build that fails closes the network (it is half made), so that it holds the simulator no longer.
        """
        self._start(self.timestep_ms or spec.profile.timestep_ms)
        try:
            self._build_spec(spec, record, graph)
        except BaseException:
            self.close()
            raise

    def _build_spec(self, spec, record: str, graph) -> None:
        if graph is not None:
            if abs(graph.timestep_ms - self.timestep_ms) > 1e-9:
                raise BackendError(f"{self.name}: the graph runs at dt {graph.timestep_ms:g} ms and the memory at "
                                   f"{self.timestep_ms:g} ms; build the graph at the memory's timestep")
            self.after_graph_setup()
            self._add_graph(graph)
        sim = self.sim
        for p in spec.populations:
            if p.name in self.populations:
                if record == "all" or p.name == "OUT":
                    self.populations[p.name].record("spikes")
                continue
            if p.cell is None:
                pop = sim.Population(p.size, sim.SpikeSourceArray(spike_times=[[] for _ in range(p.size)]),
                                     label=p.name)
            else:
                pop = sim.Population(p.size, self.cell_type(p.cell), label=p.name,
                                     initial_values={"v": p.cell["v_rest"]})
                if record == "all" or p.name == "OUT":
                    pop.record("spikes")
            self.populations[p.name] = pop
        for pr in spec.projections:
            delay = self.delay(pr.latency_ms)
            weight = self.signed_weight(pr.weight_nA, pr.receptor)
            if pr.stdp is None:
                synapse = sim.StaticSynapse(weight=weight, delay=delay)
            else:
                synapse = self.stdp_synapse(pr.stdp, weight, delay)
            self.projections[pr.name] = sim.Projection(
                self.populations[pr.pre], self.populations[pr.post], self.connector(pr.pairs, delay),
                synapse, receptor_type=pr.receptor, label=pr.name)

    def _start(self, dt: float) -> None:
        """``setup()`` a new network at timestep ``dt`` (ms); pyNN runs one per simulator and process, so no other
        backend of this simulator may be open (``claim``)."""
        claim(self)
        self.timestep_ms = dt
        self.populations, self.projections = {}, {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.sim.setup(timestep=dt, min_delay=dt, **self.setup_options())
        self.closed = False
        self.t_ms = 0.0
        self.after_setup()

    def _check_open(self):
        if self.closed:
            raise BackendError(f"this {self.name} network is closed; build the memory again")

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def set_inputs(self, trains: list[np.ndarray]) -> None:
        """Replace the spike times of every input neuron (ms, all of them, past ones included)."""
        self._check_open()
        seqs = [self.sim.Sequence(self.input_times(t)) for t in trains]
        self.populations["IN"].set(spike_times=seqs)

    def run_until(self, t_ms: float) -> None:
        self._check_open()
        if t_ms > self.t_ms:
            self.sim.run_until(t_ms)
            self.t_ms = t_ms

    def spikes(self, population: str) -> list[np.ndarray]:
        """Spike times (ms) of every neuron of ``population``, recorded since the build."""
        self._check_open()
        pop = self.populations[population]
        trains = pop.get_data("spikes", clear=False).segments[0].spiketrains
        out = [np.zeros(0)] * pop.size
        scale = None
        for st in trains:
            if scale is None:  # one unit conversion for all trains: neo's per-train rescale is slow
                scale = float(st.units.rescale("ms").magnitude)
            out[int(st.annotations["source_index"])] = np.asarray(st.magnitude, dtype=float) * scale
        return out

    def weights(self, projection: str) -> np.ndarray:
        """Weights (nA, as the simulator holds them) of a projection, as a pre x post array."""
        self._check_open()
        return np.asarray(self.projections[projection].get("weight", format="array"), dtype=float)

    def set_weights(self, projection: str, matrix: np.ndarray) -> None:
        """Set the weights (nA magnitudes, pre x post) of the existing connections of a projection."""
        self._check_open()
        proj = self.projections[projection]
        receptor = proj.receptor_type
        self.projections[projection].set(weight=np.asarray(
            [self.signed_weight(w, receptor) for w in np.ravel(matrix)]).reshape(np.shape(matrix)))

    # -- generic graphs (backends.graph): the converted event networks ------------------------
    #: steps a delta-synapse hop costs beyond its delay (IF_curr_delta adds input to v in the step it arrives)
    delta_extra_latency_steps = 0
    #: the shortest delay (steps) this simulator accepts
    min_delay_steps = 1
    #: whether ``membrane`` reads membranes here (what streaming samples through a converted network needs)
    reads_membrane: bool = False
    #: whether ``build(spec, graph=)`` puts a CAM and a graph in one network (the event-to-memory pipeline)
    links_memory: bool = True
    #: the first step of a sample's slot that may hold input (``graph.Timing.lead_steps``); NEST needs input later
    #: than min_delay, and every PyNN backend keeps NEST's value so that a graph has one layout on all of them
    graph_lead_steps: int = 2
    #: the fewest sources a graph's ``Sources`` population may have here (``graph.Timing.min_sources``)
    min_sources: int = 1

    def delta_cell_type(self, cells):
        """The simulator's IF_curr_delta for a ``backends.graph.DeltaCells``: no refractory time, no offset
        current; within a step it must decay, add the arriving spikes, then fire when v >= v_thresh and reset."""
        self.check_reset(cells)
        return self.sim.IF_curr_delta(tau_m=cells.tau_m_ms, cm=cells.cm_nF, v_rest=cells.v_rest_mV,
                                      v_reset=cells.v_reset_mV,
                                      v_thresh=cells.v_thresh_mV, tau_refrac=0.0, i_offset=0.0)

    #: the ``backends.graph.RESETS`` this backend's graph cells can do (PyNN's cells reset to a value)
    graph_resets: tuple[str, ...] = ("value",)

    def check_reset(self, cells) -> None:
        """BackendError unless this backend's cells can reset as ``cells.reset`` asks."""
        if cells.reset not in self.graph_resets:
            rule = "subtraction" if cells.reset == "subtract" else repr(cells.reset)
            raise BackendError(f"{self.name}: population {cells.name} resets by {rule}, which {self.name}'s cells "
                               "cannot (they reset to a value); run it on brian2 or in refsim")

    def after_graph_setup(self) -> None:
        """Adjust the simulator for a graph build (after ``after_setup``)."""

    #: whether ``reset_cells`` zeroes the synaptic currents of current-based cells
    resets_currents = True

    def graph_timing(self, timestep_ms: float):
        """The ``backends.graph.Timing`` of this backend at ``timestep_ms``."""
        from .graph import Timing
        return Timing(self.min_latency_ms(timestep_ms), self.membrane_read_lag_steps, self.resets_currents,
                      self.graph_lead_steps, self.min_sources, self.same_step_current_hop, self.graph_resets)

    #: whether a latency-0 projection from a current-based population onto itself can jump the currents in the
    #: step of the spike, after the threshold (``graph.Timing.same_step_current_hop``); ``after_graph_build`` then
    #: schedules it (the names are in ``self._same_step``)
    same_step_current_hop = False

    def min_latency_ms(self, timestep_ms: float) -> float:
        """Shortest hop latency (ms) between IF_curr_delta cells at ``timestep_ms``."""
        return (self.min_delay_steps + self.delta_extra_latency_steps) * timestep_ms

    def weighted_connector(self, pre: np.ndarray, post: np.ndarray, delay_ms: float, weights=None):
        """A connector for the (pre, post) pairs of one projection with per-synapse ``weights`` (signed, the
        simulator's units), or without them the synapse type's. A backend's own connector takes the arrays as they
        are: a graph has tens of millions of synapses, which pyNN's FromListConnector turns into float rows."""
        if weights is None:
            return self.connector(np.stack([pre, post], axis=1), delay_ms)
        return self.sim.FromListConnector(np.column_stack([pre, post, weights]), column_names=("weight",))

    def build_graph(self, graph) -> None:
        """Create the sources, IF_curr_delta cells and weighted synapses of a ``backends.graph.Graph``."""
        self._start(graph.timestep_ms)
        try:
            self.after_graph_setup()
            self._add_graph(graph)
        except BaseException:   # as ``build``: a half-made network is closed
            self.close()
            raise

    def _add_graph(self, graph) -> None:
        from .graph import CubaCells, DeltaCells, split_by_sign
        dt = self.timestep_ms
        sim = self.sim
        jump = {}                 # weight factor of each current-based population: mV per step of i -> nA
        self._current_based = set()
        for p in graph.populations:
            if isinstance(p, (DeltaCells, CubaCells)):
                celltype = self.delta_cell_type(p) if isinstance(p, DeltaCells) else self.cuba_cell_type(p)
                pop = sim.Population(p.size, celltype, label=p.name,
                                     initial_values={self.membrane_variable(celltype): p.v_init_mV})
                if p.record_spikes:
                    pop.record("spikes")
                self.populations[p.name] = pop
                self.set_membrane(p.name, p.v_init_mV)  # pyNN.nest leaves V_m at NEST's default otherwise
                if isinstance(p, CubaCells):
                    jump[p.name] = self.current_weight_scale(p, celltype, dt)
                    self._current_based.add(p.name)
            else:   # no spikes yet (``set_spike_times``): pyNN's default, one empty Sequence for all
                pop = sim.Population(p.size, sim.SpikeSourceArray(), label=p.name)
            self.populations[p.name] = pop
        self._same_step = []
        for syn in graph.projections:
            steps = round(syn.latency_ms / dt) - self.delta_extra_latency_steps
            same_step = syn.latency_ms == 0 and self.same_step_current_hop and syn.pre_pop == syn.post_pop and \
                syn.post_pop in self._current_based
            if same_step:
                steps = self.same_step_delay_steps
                self._same_step.append(syn.name)
            elif steps < self.min_delay_steps:
                raise BackendError(f"{self.name}: projection {syn.name} asks for a latency of {syn.latency_ms:g} ms; "
                                   f"the shortest here is {self.min_latency_ms(dt):g} ms")
            scale = jump.get(syn.post_pop, 1.0)
            for receptor, idx in split_by_sign(syn):
                # the simulator's sign convention, applied to all magnitudes at once
                weight = np.abs(np.asarray(syn.weight_mV, float)[idx])
                weight *= scale * self.signed_weight(1.0, receptor)
                # the weights go with the connector: held by the synapse type they would outlive the build
                self.projections[f"{syn.name}.{receptor[:3]}"] = sim.Projection(
                    self.populations[syn.pre_pop], self.populations[syn.post_pop],
                    self.weighted_connector(np.asarray(syn.pre)[idx], np.asarray(syn.post)[idx], steps * dt, weight),
                    sim.StaticSynapse(delay=steps * dt),
                    receptor_type=self.graph_receptor(self.populations[syn.post_pop], receptor, same_step),
                    label=f"{syn.name}.{receptor[:3]}")
                del weight
        self.after_graph_build(graph)

    def membrane_variable(self, celltype) -> str:
        """The name of the membrane among ``celltype``'s initial values (PyNN's standard cells: v)."""
        return "v"

    def current_weight_scale(self, cells, celltype, timestep_ms: float) -> float:
        """What a weight onto ``cells`` (mV per step of their current, ``backends.graph.CubaCells``) is multiplied
        by for ``celltype``: the current jump (nA) of IF_curr_exp."""
        from .graph import cuba_jump_nA
        return cuba_jump_nA(cells, timestep_ms)

    #: the delay (steps) of a ``same_step_current_hop`` projection: none where a pathway runs after the threshold
    same_step_delay_steps = 0

    def graph_receptor(self, post, receptor: str, same_step: bool) -> str:
        """The receptor type, on population ``post``, of a graph projection's ``receptor`` ("excitatory" or
        "inhibitory", the sign ``signed_weight`` gives) half; ``same_step``: a ``same_step_current_hop``."""
        return receptor

    def cuba_cell_type(self, cells):
        """The simulator's IF_curr_exp for a ``backends.graph.CubaCells``, integrated exactly, no refractory time:
        within a step V moves with the current it starts with, then the current decays and takes the arriving
        spikes, then v >= v_thresh fires and resets (both time constants the cells')."""
        self.check_reset(cells)
        return self.sim.IF_curr_exp(tau_m=cells.tau_m_ms, cm=cells.cm_nF, v_rest=cells.v_rest_mV,
                                    v_reset=cells.v_reset_mV, v_thresh=cells.v_thresh_mV, tau_refrac=0.0,
                                    tau_syn_E=cells.tau_syn_ms, tau_syn_I=cells.tau_syn_ms, i_offset=0.0)

    #: after ``run_until(t)`` (or a slot of ``run_slots`` ending at t) ``membrane`` gives the state after step
    #: t/dt - 1 + this, steps counted as spike times are (a cell firing in step s stamps its spike s dt)
    membrane_read_lag_steps = 0

    def after_graph_build(self, graph) -> None:
        """Adjust the graph's populations once built (scheduling within a step)."""

    #: a DeltaCells spike at t acts on a spec's IF_curr_exp cells as an input source (IN) spike at t + this many
    #: steps: what a graph population standing in for IN must allow for (``build(spec, graph=...)``)
    delta_to_input_lag_steps = 0

    def set_spike_times(self, population: str, trains: list) -> None:
        """Spike times (ms) of every source of ``population``, given before the run that delivers them."""
        self._check_open()
        self.populations[population].set(spike_times=[self.sim.Sequence(self.input_times(t)) for t in trains])

    def set_membrane(self, population: str, v_mV) -> None:
        """Set the membrane (mV) of every cell of ``population`` now (between runs)."""
        self._check_open()
        self.populations[population].initialize(v=v_mV)

    def reset_cells(self, population: str, v_mV) -> None:
        """Start ``population`` afresh now (between runs): membranes to ``v_mV``, synaptic currents to 0 (where
        ``resets_currents``)."""
        self.set_membrane(population, v_mV)
        if population in self._current_based:
            self.populations[population].initialize(isyn_exc=0.0, isyn_inh=0.0)

    def membrane(self, population: str) -> np.ndarray:
        """The membrane (mV) of every cell of ``population`` now."""
        raise BackendError(f"{self.name}: reading membranes is not available on this backend")

    #: a membrane set between runs at t acts as the state before the step whose spikes are stamped t + this (ms
    #: in steps); ``window_resets`` are given in those steps
    window_reset_lag_steps = 0

    def run_slots(self, slot_ms: float, n_slots: int, reset: dict, read: str, progress=None,
                  read_ms: float | None = None, window_resets: dict | None = None) -> np.ndarray:
        """Run ``n_slots`` slots of ``slot_ms`` from now; in each, read the membranes (mV) of ``read`` at
        ``read_ms`` into the slot (default: its end), set the membranes of ``window_resets`` (name -> (ms into the
        slot, mV): the state before the update of the step at that time), and at its end start every population of
        ``reset`` (name -> mV) afresh (``reset_cells``). Returns (n_slots, size of read)."""
        events = slot_events(slot_ms, read_ms, window_resets, self.window_reset_lag_steps * self.timestep_ms)
        return run_slots_stepwise(self, slot_ms, n_slots, events, reset, read, progress)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if _live.get(self.name) is self:
                release(self)
                self.sim.end()


def run_slots_stepwise(sim, slot_ms: float, n_slots: int, events: list, reset: dict, read: str,
                       progress=None) -> np.ndarray:
    """``run_slots`` one slot after another on any backend with ``run_until``, ``membrane``, ``set_membrane`` and
    ``reset_cells``: in each slot the ``slot_events`` in time order, then every population of ``reset`` afresh at
    its end. Returns the membranes read, (n_slots, size of read)."""
    start, out = sim.t_ms, []
    for s in range(n_slots):
        for t, name, v in events:
            sim.run_until(start + s * slot_ms + t)
            if name is None:
                out.append(np.array(sim.membrane(read), dtype=float))
            else:
                sim.set_membrane(name, v)
        sim.run_until(start + (s + 1) * slot_ms)
        for name, v in reset.items():
            sim.reset_cells(name, v)
        if progress is not None:
            progress(s + 1, n_slots)
    return np.array(out)


def slot_events(slot_ms: float, read_ms: float | None, window_resets: dict | None, lag_ms: float = 0.0) -> list:
    """What ``run_slots`` does within a slot, in time order: (ms into the slot, None, None) for the read, (ms,
    population, mV) for each window reset (moved ``lag_ms`` earlier: when the backend must be stopped for it)."""
    read_ms = slot_ms if read_ms is None else read_ms
    events = [(read_ms, None, None)]
    for name, (t, v) in (window_resets or {}).items():
        if not 0 < t - lag_ms < slot_ms:
            raise BackendError(f"a membrane set at {t:g} ms into a slot of {slot_ms:g} ms: keep it inside the slot")
        events.append((t - lag_ms, name, v))
    return sorted(events, key=lambda e: (e[0], e[1] is not None))
