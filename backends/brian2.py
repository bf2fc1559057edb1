"""Brian2 through pyNN.brian2, at a 1 ms timestep with numpy code generation.

Conventions absorbed here (docs/toolchain.md, docs/cam_spec.md):
- a hop costs delay + 1 step (input is added after the voltage update), so a latency L is sent as a
  delay of L - dt; Brian2 accepts a zero delay, which makes every latency of the CAM timeline reachable;
- STDP delays must be axonal (``dendritic_delay_fraction=0``); additive A_plus is scaled by w_max;
- inhibitory weights are negative;
- spike sources run on Brian2's ``defaultclock``, which is set to the timestep after ``setup``;
- connections are built in one vectorised step (pyNN.brian2 assigns them one by one, in
  quadratic time);
- code generation uses numpy: Cython would compile for minutes on first use for little gain here.
"""
from __future__ import annotations

import functools
import warnings
from copy import deepcopy
from itertools import chain

import numpy as np

from hippocam.errors import BackendError
from .pynn_common import PyNNBackend, bulk_rows

# brian2 2.9 with pyparsing 3.3 warns at import; the warnings say nothing to our users
warnings.filterwarnings("ignore", module="brian2")
warnings.filterwarnings("ignore", message=".*pyparsing.*")
try:
    from pyparsing import PyparsingDeprecationWarning  # noqa: F401
    warnings.filterwarnings("ignore", category=PyparsingDeprecationWarning)
except ImportError:
    pass


class Backend(PyNNBackend):
    name = "brian2"
    extra_latency_steps = 1
    dendritic_delay_fraction = 0.0
    # IF_curr_delta: a spike's weight is added to v by on_pre, after the step's threshold: one step late
    # (graph builds also move their cells' thresholds and resets after the synapses: ``after_graph_build``)
    delta_extra_latency_steps = 1
    min_delay_steps = 0  # Brian2 accepts a zero delay
    # a graph cell fires after the step's synapses ran, so its spike reaches a spec's cells one step after an
    # IN source's spike of the same time would
    delta_to_input_lag_steps = 1

    graph_resets = ("value", "subtract")     # a NeuronGroup's reset is any statement
    # a pathway scheduled after the threshold delivers a zero-delay spike in its own step (``after_graph_build``)
    same_step_current_hop = True

    def delta_cell_type(self, cells):
        celltype = super().delta_cell_type(cells)
        celltype.brian2_model = _integrator_group("exponential_euler", cells.reset)
        return celltype

    def cuba_cell_type(self, cells):
        celltype = super().cuba_cell_type(cells)
        celltype.brian2_model = _integrator_group("exact", cells.reset)
        return celltype

    def after_graph_build(self, graph) -> None:
        # The reference SNN's step, which NEST's iaf_psc_delta also takes: decay, add the spikes that arrive,
        # then threshold and reset. Brian2's default (decay, threshold, synapses, reset) would test v before the
        # step's input and wipe an input arriving in the step a cell fires. Only the graph's own groups move (a
        # memory built beside it keeps Brian2's default), its sources with them, so that every hop of the graph
        # costs the same: spikes of step t reach the synapses of step t + 1 (a zero delay is one step).
        from .graph import Sources
        for p in graph.populations:
            group = self.populations[p.name].brian2_group
            if not isinstance(p, Sources):
                group.thresholder["spike"].when, group.thresholder["spike"].order = "after_synapses", 0
                group.resetter["spike"].when, group.resetter["spike"].order = "after_synapses", 1
            else:
                group.when, group.order = "after_synapses", 0
        # a current-based layer's own recurrent synapses (latency 0): after the threshold (order 0) and the reset (1)
        # they push the step's spikes and deliver them at once, so the currents jump in the spike's step, as an
        # input arriving in that step's synapses would; the membrane feels it in the next step, as in refsim
        for name in self._same_step:
            for receptor in ("exc", "inh"):
                proj = self.projections.get(f"{name}.{receptor}")
                if proj is not None:
                    pathway = proj._brian2_synapses[0][0].pre
                    pathway.when, pathway.order = "after_synapses", 2

    reads_membrane = True
    # pyNN.brian2 cannot give spike times to a one-source SpikeSourceArray (its list of one Sequence becomes a
    # Quantity); ``set_spike_times`` writes the SpikeGeneratorGroup itself, so one source is enough
    min_sources = 1

    def membrane(self, population: str) -> np.ndarray:
        self._check_open()
        return np.asarray(self.populations[population].brian2_group.v / self._brian2.mV, dtype=float)

    #: a membrane set at the start of the step at t (``run_regularly``, when="start") holds before its update
    window_reset_lag_steps = 0

    def run_slots(self, slot_ms: float, n_slots: int, reset: dict, read: str, progress=None,
                  read_ms: float | None = None, window_resets: dict | None = None) -> np.ndarray:
        # Every Brian2 run costs code-object checks and a gc.collect (about 0.1-0.3 s): read and reset inside the
        # simulation instead, at the start of each slot's first step (the monitor before the reset), in a few
        # runs of many slots each.
        self._check_open()
        read_ms = slot_ms if read_ms is None else read_ms
        inside = abs(read_ms - slot_ms) > 1e-9      # read before the slot ends: record the (small) read-out each step
        b2 = self._brian2
        every = slot_ms * b2.ms
        start_slot = int(round(self.t_ms / slot_ms))
        if abs(start_slot * slot_ms - self.t_ms) > 1e-9:   # the monitor and resets tick at multiples of slot_ms
            raise BackendError(f"brian2: run_slots needs the time reached ({self.t_ms:g} ms) to be a multiple of the "
                               f"slot ({slot_ms:g} ms)")
        monitor = b2.StateMonitor(self.populations[read].brian2_group, "v", record=True,
                                  dt=self.timestep_ms * b2.ms if inside else every, when="start", order=0)
        currents = "\nie = 0*nA\nii = 0*nA"          # pyNN.brian2's IF_curr_exp currents
        resets = [self.populations[name].brian2_group.run_regularly(
            f"v = {float(v)!r}*mV" + (currents if name in self._current_based else ""), dt=every, when="start",
            order=1) for name, v in reset.items()]
        # a window reset is a per-step operation that sets v in one step of each slot only: v * 0 + value and
        # v * 1 + 0 are exact, so the other steps keep v as it is
        slot_steps = int(round(slot_ms / self.timestep_ms))
        for name, (t_ms, v) in (window_resets or {}).items():
            step = int(round(t_ms / self.timestep_ms)) - self.window_reset_lag_steps
            hit = f"int((t_in_timesteps - {start_slot * slot_steps}) % {slot_steps} == {step})"
            resets.append(self.populations[name].brian2_group.run_regularly(
                f"v = v * (1 - {hit}) + {float(v)!r}*mV * {hit}", dt=self.timestep_ms * b2.ms, when="start", order=1))
        network = self.sim.simulator.state.network
        network.add(monitor)
        chunk = max(1, n_slots // 10)
        done = 0
        while done < n_slots:
            done = min(n_slots, done + chunk)
            self.run_until((start_slot + done) * slot_ms + self.timestep_ms)   # + 1 step: the last read
            if progress is not None:
                progress(done, n_slots)
        values = np.asarray(monitor.v / b2.mV, dtype=float).T                  # (reads, size); read 0 = now
        times = np.asarray(monitor.t / b2.ms, dtype=float)
        network.remove(monitor)
        for op in resets:
            op.active = False
        if not inside:
            return values[1:n_slots + 1]
        want = start_slot * slot_ms + np.arange(n_slots) * slot_ms + read_ms
        return values[np.searchsorted(times, want - 1e-6)]

    def spikes(self, population: str) -> list[np.ndarray]:
        """As the common layer, read from Brian2's spike monitor directly (neo's containers are slow)."""
        self._check_open()
        pop = self.populations[population]
        device = pop.recorder._devices.get("spikes")
        if device is None:
            return [np.zeros(0) for _ in range(pop.size)]
        index = np.asarray(device.i)
        times = np.asarray(device.t / self._brian2.ms, dtype=float)
        # views of one sorted copy: a converted network records tens of millions of spikes
        order = np.argsort(index, kind="stable")
        bounds = np.zeros(pop.size + 1, dtype=np.int64)
        np.cumsum(np.bincount(index, minlength=pop.size)[:pop.size], out=bounds[1:])
        times = times[order]
        del order, index
        return [times[bounds[j]:bounds[j + 1]] for j in range(pop.size)]

    def import_simulator(self):
        import logging

        import brian2
        import pyNN.brian2 as sim

        brian2.prefs.codegen.target = "numpy"
        logging.getLogger("brian2").setLevel(logging.WARNING)
        brian2.BrianLogger.suppress_name("method_choice")
        brian2.BrianLogger.suppress_name("unused_brian_object")  # a memory closed before it ran
        self._brian2 = brian2
        return sim

    def after_setup(self) -> None:
        self._brian2.defaultclock.dt = self.timestep_ms * self._brian2.ms

    def cell_type(self, params: dict):
        celltype = self.sim.IF_curr_exp(**params)
        celltype.brian2_model = _exponential_euler_group()
        return celltype

    def set_weights(self, projection: str, matrix) -> None:
        self._check_open()
        syn = self.projections[projection]._brian2_synapses[0][0]
        receptor = self.projections[projection].receptor_type
        values = np.asarray(matrix, dtype=float)[np.asarray(syn.i), np.asarray(syn.j)]
        sign = -1.0 if receptor == "inhibitory" else 1.0
        syn.weight[:] = sign * np.abs(values) * self._brian2.nA

    def input_times(self, times):
        # spikes already delivered stay out: Brian2 would warn that it ignores them
        return [float(t) for t in times if t >= self.t_ms]

    def connector(self, pairs: np.ndarray, delay_ms: float):
        # pyNN's STDPMechanism turns a zero delay into min_delay (``delay or ...``): the connector
        # sets the delay itself
        pairs = np.asarray(pairs)
        return _bulk_connector_class()(pairs[:, 0], pairs[:, 1], delay_ms)

    def weighted_connector(self, pre: np.ndarray, post: np.ndarray, delay_ms: float, weights=None):
        return _bulk_connector_class()(pre, post, delay_ms, weights)

    def set_spike_times(self, population: str, trains: list) -> None:
        """As the common layer, straight into the population's SpikeGeneratorGroup: pyNN goes through a Sequence
        and a list of floats per source and float indices (about 1 GB and two minutes for 12 M spikes)."""
        self._check_open()
        group = self.populations[population].brian2_group
        if len(trains) != len(group):
            raise BackendError(f"brian2: {population} has {len(group)} sources, {len(trains)} spike trains given")
        trains = [np.asarray(t, dtype=float) for t in trains]
        trains = [t if np.all(t >= self.t_ms) else t[t >= self.t_ms] for t in trains]   # as ``input_times``
        times = np.concatenate(trains) if trains else np.zeros(0)
        index = np.repeat(np.arange(len(trains), dtype=np.int32), [len(t) for t in trains])
        if np.any((times[1:] < times[:-1]) & (index[1:] == index[:-1])):
            from pyNN import errors
            raise errors.InvalidParameterValueError("Spike times given to SpikeSourceArray must be in increasing order")
        group.set_spikes(index, times * self._brian2.ms)   # ms -> s as pyNN's translation does


@functools.cache
def _exponential_euler_group():
    """pyNN.brian2's threshold group, integrated by exponential Euler.

    For IF_curr_exp this integrates V exactly over a step with the synaptic current held at its
    value at the start of the step, then decays the current exactly: SpiNNaker's neuron update
    (docs/spinnaker_arithmetic.md). Brian2's default ("exact") gives a different PSP shape and spends about
    15 s in sympy deriving it in every new process.
    """
    from pyNN.brian2.cells import ThresholdNeuronGroup

    class ExponentialEulerGroup(ThresholdNeuronGroup):
        def __init__(self, n, equations, **parameters):
            super().__init__(n, equations, method="exponential_euler", **parameters)

    return ExponentialEulerGroup


#: the reset statement of each ``backends.graph.RESETS``: by subtraction a spike lowers v by v_thresh - v_reset
#: (the graph's threshold theta: convert.py gives a strict v > theta cell v_thresh = nextafter(theta) and
#: v_reset = v_thresh - theta, so that the difference is theta exactly in mV)
_RESET_CODE = {"value": "v = v_reset", "subtract": "v = v - (v_thresh - v_reset)"}


@functools.cache
def _integrator_group(method: str = "exponential_euler", reset: str = "value"):
    """pyNN.brian2's threshold group as the graph builds need it: a spike at v >= v_thresh (pyNN's is v >
    v_thresh) and no refractory step. Brian2 counts the spike step as refractory even at tau_refrac = 0 and then
    holds v at the reset value, so an input arriving in that step would be lost. ``method``: exponential Euler is
    exact for IF_curr_delta; IF_curr_exp (v and a current) needs "exact" (sympy derives it once per process).
    ``reset``: one of ``backends.graph.RESETS`` (``_RESET_CODE``)."""
    import brian2
    from pyNN.brian2.cells import BaseNeuronGroup

    brian2.BrianLogger.suppress_name("no_refractory")  # pyNN's "(unless refractory)" flag, unused here

    class IntegratorGroup(BaseNeuronGroup):
        def __init__(self, n, equations, **parameters):
            parameters.pop("tau_refrac", None)
            equations += """v_thresh : volt (constant)
                            v_reset  : volt (constant)"""
            super().__init__(n, equations, "v >= v_thresh", reset=_RESET_CODE[reset], refractory=False,
                             method=method, **parameters)

    return IntegratorGroup


@functools.cache
def _bulk_connector_class():
    import brian2
    from pyNN.connectors import Connector, FromListConnector

    class BulkConnector(FromListConnector):
        """FromListConnector for (pre, post) index arrays, connected in one Brian2 call; per-synapse weights come
        with the connector (or from the synapse type), every other parameter from the synapse type.

        Memory (a converted event network has tens of millions of synapses): the index and weight arrays are
        kept as given (no float pair list), dropped once connected, and the synapse type's parameters are
        copied with its scalars only; Brian2's synapse numbering (a complex array and a sort over all
        synapses) is skipped when the pairs are known to be distinct, where it is all zeros.
        """

        def __init__(self, pre, post, delay_ms, weights=None):
            Connector.__init__(self)
            self.pre, self.post = np.asarray(pre), np.asarray(post)
            self.weights = None if weights is None else np.asarray(weights, dtype=float)
            self.column_names = () if weights is None else ("weight",)
            self.delay_ms = delay_ms

        conn_list = property(bulk_rows)

        def connect(self, projection):
            pre, post = self.pre, self.post
            params = deepcopy(projection.synapse_type.parameter_space)
            params.shape = (len(pre),)
            if self.weights is not None:
                params.update(weight=self.weights)
            params = projection.synapse_type.translate(params)
            params.evaluate()
            syn = projection._brian2_synapses[0][0]
            _connect(syn, pre, post)
            projection._n_connections += len(pre)
            dt = projection._simulator.state.dt
            for name, value in chain(params.items(), projection.synapse_type.initial_conditions.items()):
                if name == "dendritic_delay_fraction":
                    continue
                if name == "delay":  # to the nearest step, as pyNN.brian2 does
                    value = round(self.delay_ms / dt) * dt * brian2.ms
                getattr(syn, name)[:] = value
            self.pre = self.post = self.weights = None

    return BulkConnector


def _connect(syn, pre: np.ndarray, post: np.ndarray) -> None:
    """``syn.connect(i=pre, j=post)``. pyNN's Synapses number the synapses of each (pre, post) pair
    (``multisynaptic_index``): over all synapses, about 70 bytes a synapse at once. For a first connect whose
    pairs are distinct every number is 0, which the zero-filled variable already holds."""
    index = syn.multisynaptic_index
    if index is None or len(syn) or not _distinct_pairs(pre, post, len(syn.source)):
        syn.connect(i=pre, j=post)
        return
    syn.multisynaptic_index = None
    try:
        syn.connect(i=pre, j=post)
    finally:
        syn.multisynaptic_index = index


def _distinct_pairs(pre: np.ndarray, post: np.ndarray, n_pre: int) -> bool:
    """Whether no (pre, post) pair repeats: at once if sorted by (post, pre), as a sparse matrix gives them."""
    if len(pre) < 2:
        return True
    key = np.asarray(post, dtype=np.int64) * n_pre + np.asarray(pre, dtype=np.int64)
    if not np.all(key[1:] > key[:-1]):
        key.sort()
    return bool(np.all(key[1:] != key[:-1]))

