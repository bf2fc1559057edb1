"""NEST 3.10 through pyNN.nest, one thread, on-grid spikes (profile ``cam/profiles/nest.toml``).

Conventions absorbed here (TOOLCHAIN.md, SPEC.md 7; each checked on NEST itself):
- a hop costs delay + 1 step (input is added after the voltage update) and the shortest delay is
  one step, so a latency L is sent as a delay of L - dt; the profile runs at dt 0.5 ms so that the
  1 ms latencies of the timeline stay reachable;
- spikes on the timestep grid (``spike_precision="on_grid"``), one thread, no banner
  (``PYNEST_QUIET``), pyNN's "cannot set an initial value for I_syn" warnings filtered;
- STDP delays are dendritic (``dendritic_delay_fraction=1``); additive A_plus is scaled by w_max
  (the common layer divides the profile's absolute steps by w_max); inhibitory weights are negative;
- input spikes must come later than min_delay, and after a run NEST drops, silently, every new input
  spike within 2 min_delay of the time it has reached (pyNN.nest feeds inputs through parrot neurons
  one min_delay early and simulates one min_delay ahead): ``next_input_ms`` never offers those times.
"""
from __future__ import annotations

import contextlib
import functools
import logging
import math
import os
from collections import defaultdict
from copy import deepcopy

import numpy as np

from hippocam.errors import BackendError
from .pynn_common import PyNNBackend


class _QuietPyNNNest(logging.Filter):
    """Drops two pyNN.nest warnings that say nothing to our users: NEST cannot set I_syn's initial
    value (it is 0 anyway), and which of one possible STDP models it picked (stdp_synapse)."""

    noisy = ("_set_initial_value_array", "_get_nest_synapse_model")

    def filter(self, record: logging.LogRecord) -> bool:
        return record.funcName not in self.noisy


class Backend(PyNNBackend):
    name = "nest"
    extra_latency_steps = 1
    dendritic_delay_fraction = 1.0

    def __init__(self, timestep_ms: float | None = None):
        super().__init__(timestep_ms)
        self.operation_grid_ms = 0.0
        self._graph_recorders = 0   # spike recorders to make before a graph's cells (``_lazy_recorders``)

    def import_simulator(self):
        os.environ.setdefault("PYNEST_QUIET", "1")  # read when nest is first imported
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Cannot find nest-config": only NESTML extensions are lost
            import pyNN.nest as sim
        # pyNN 0.13 still calls nest.GetStatus/SetStatus, which NEST 3.10 flags as deprecated
        warnings.filterwarnings("ignore", message=r"(?s).*(Get|Set)Status\(\) is deprecated", category=UserWarning)
        logger = logging.getLogger("PyNN")
        if not any(isinstance(f, _QuietPyNNNest) for f in logger.filters):
            logger.addFilter(_QuietPyNNNest())
        return sim

    def setup_options(self) -> dict:
        return {"spike_precision": "on_grid", "threads": 1, "verbosity": "error"}

    def after_setup(self) -> None:
        super().after_setup()
        # Fixed from here on. A kernel query (pyNN's get_min_delay, state.t) builds NEST's whole status
        # dictionary, over 1 ms once a memory has run a while: the hot paths below make none.
        self._min_delay = self.sim.get_min_delay()
        self._sender_index: dict = {}
        self._t_is_kernel = True  # t_ms is pyNN's state.t (every run ended on the timestep grid)

    def build(self, spec, record: str = "all", graph=None) -> None:
        """As the common layer; also records IN (the parrots) with ``record="all"``.

        Populations are made with recorders whose multimeter is only created in NEST once something
        records an analog variable: pyNN.nest makes one per population, and at one-step min_delay
        NEST updates each of them every step (about 7% of Simulate at 64 x 64, recording nothing).
        """
        self.operation_grid_ms = spec.profile.hints.operation_grid_ms
        with self._lazy_recorders(graph):
            super().build(spec, record, graph)
        if record == "all":
            self.populations["IN"].record("spikes")

    def build_graph(self, graph) -> None:
        """As the common layer, with the recorders of ``build``."""
        with self._lazy_recorders(graph):
            super().build_graph(graph)

    @contextlib.contextmanager
    def _lazy_recorders(self, graph):
        """Populations made meanwhile get ``_lazy_recorder_class`` recorders; with a graph, its populations'
        spike recorders are made first (``after_graph_setup``)."""
        population, eager = self.sim.Population, self.sim.Population._recorder_class
        population._recorder_class = recorder = _lazy_recorder_class()
        self._graph_recorders = 0 if graph is None else len(graph.populations)
        try:
            yield
        finally:
            population._recorder_class = eager
            recorder.spike_detector_class.pool.clear()    # never carried to another network
            self._graph_recorders = 0

    def after_graph_setup(self) -> None:
        super().after_graph_setup()
        pool = _lazy_recorder_class().spike_detector_class.pool
        pool[:] = [_nest().Create("spike_recorder") for _ in range(self._graph_recorders)]

    def after_graph_build(self, graph) -> None:
        super().after_graph_build(graph)
        from .graph import Sources
        for p in graph.populations:
            pop = self.populations[p.name]
            if isinstance(p, Sources) and getattr(pop, "_deferred_parrot_connections", False):
                pop._connect_parrot_neurons = functools.partial(_connect_parrots, pop)

    def set_spike_times(self, population: str, trains: list) -> None:
        """As the common layer, straight into the spike generators behind the sources' parrots (as ``set_inputs``):
        pyNN's parameter translation goes through a Sequence and a list of floats per source (about 1 GB and two
        minutes for 12 M spikes)."""
        self._check_open()
        pop = self.populations[population]
        if self.sim.simulator.state._time_offset != 0.0 or not getattr(pop.celltype, "uses_parrot", False):
            return super().set_spike_times(population, trains)
        md = self._min_delay
        _nest().SetStatus(pop.node_collection_source,
                          [{"spike_times": self._input_array(t) - md} for t in trains])

    def set_inputs(self, trains: list[np.ndarray]) -> None:
        """As the common layer, straight into the spike generators behind IN's parrots.

        pyNN.nest sets a parrot source's ``spike_times`` to the given times minus min_delay (the
        parrot adds it back); this does the same with one ``SetStatus`` instead of pyNN's parameter
        translation per call.
        """
        self._check_open()
        pop = self.populations["IN"]
        state = self.sim.simulator.state
        if state._time_offset != 0.0:  # never after a reset: let pyNN apply its offset
            return super().set_inputs(trains)
        md = self._min_delay
        params = [{"spike_times": (np.asarray(self.input_times(t), dtype=float) - md).tolist()} for t in trains]
        _nest().SetStatus(pop.node_collection_source, params)

    def run_until(self, t_ms: float) -> None:
        """As the common layer, without pyNN's kernel queries for the current time.

        pyNN runs ``tstop - state.t``; while every run ends on the timestep grid, state.t is t_ms, so
        this hands pyNN.nest's ``state.run`` the same duration (it still makes deferred connections
        and adds the first run's extra min_delay). Off the grid, pyNN does it all.
        """
        self._check_open()
        if t_ms <= self.t_ms:
            return
        dt = self.timestep_ms
        state = self.sim.simulator.state
        if (self._t_is_kernel and state._time_offset == 0.0
                and abs(round(t_ms / dt) * dt - t_ms) < 1e-9):
            state.run(t_ms - self.t_ms)
        else:
            self._t_is_kernel = False
            self.sim.run_until(t_ms)
        self.t_ms = t_ms

    # IF_curr_delta (iaf_psc_delta) adds an arriving spike to V_m in the step it arrives: a hop is its delay
    delta_extra_latency_steps = 0

    reads_membrane = True
    # NEST's update that stamps its spikes t covers (t - dt, t], and pyNN.nest's first run goes one min_delay
    # (one step) further than asked, which every later run keeps: measured with leaky read-outs against refsim
    membrane_read_lag_steps = 2

    def membrane(self, population: str) -> np.ndarray:
        self._check_open()
        return np.asarray(_nest().GetStatus(self.populations[population].node_collection, "V_m"), dtype=float)

    def set_membrane(self, population: str, v_mV) -> None:
        self._check_open()
        _nest().SetStatus(self.populations[population].node_collection, {"V_m": float(v_mV)})

    # iaf_psc_exp's currents are not settable state in NEST 3.10: a graph lets them die away instead
    resets_currents = False

    def run_slots(self, slot_ms: float, n_slots: int, reset: dict, read: str, progress=None,
                  read_ms: float | None = None) -> np.ndarray:
        # Every nest.Simulate prepares and cleans up the whole kernel (about 0.3 s with a million synapses):
        # the first slot runs through pyNN (deferred connections, its extra min_delay), the rest in one
        # RunManager, reading and resetting membranes between Run calls.
        self._check_open()
        nest = _nest()
        start = self.t_ms
        read_ms = slot_ms if read_ms is None else read_ms
        out = []

        def after_slot(s):
            for name, v in reset.items():
                self.set_membrane(name, v)
            if progress is not None:
                progress(s + 1, n_slots)

        self.run_until(start + read_ms)
        out.append(self.membrane(read))
        self.run_until(start + slot_ms)
        after_slot(0)
        if n_slots > 1:
            with nest.RunManager():
                for s in range(1, n_slots):
                    nest.Run(read_ms)
                    out.append(self.membrane(read))
                    if read_ms < slot_ms:
                        nest.Run(slot_ms - read_ms)
                    after_slot(s)
            self.t_ms = start + n_slots * slot_ms
        return np.array(out)

    def delay(self, latency_ms: float) -> float:
        d = super().delay(latency_ms)
        if d < self.timestep_ms - 1e-9:
            raise BackendError(
                f"nest: a latency of {latency_ms:g} ms needs a delay of {d:g} ms, below NEST's minimum of one "
                f"step ({self.timestep_ms:g} ms): at dt {self.timestep_ms:g} ms no hop is shorter than "
                f"{2 * self.timestep_ms:g} ms; use a profile with a finer timestep (profile \"nest\" runs at 0.5 ms)")
        return d

    def spikes(self, population: str) -> list[np.ndarray]:
        """Spike times (ms) of every neuron of ``population``, recorded since the build.

        Read from the population's NEST spike recorder, as pyNN's ``get_data`` does (events up to
        the time reached, NEST runs one min_delay ahead), without building neo objects.
        """
        self._check_open()
        pop = self.populations[population]
        state = self.sim.simulator.state
        if state._time_offset != 0.0:
            return super().spikes(population)
        events = _nest().GetStatus(pop.recorder._spike_detector.device, "events")[0]
        # tens of millions of spikes from a converted network: every step below drops what it no longer needs
        senders = np.asarray(events.pop("senders"), dtype=np.int64)
        times = np.asarray(events.pop("times"), dtype=float)
        del events
        keep = times <= (self.t_ms if self._t_is_kernel else state.t)
        if not keep.all():
            senders, times = senders[keep], times[keep]
        del keep
        gids = self._sender_index.get(population)
        if gids is None:
            gids = self._sender_index[population] = np.asarray(pop.all_cells, dtype=np.int64)
        index = np.searchsorted(gids, senders)  # pyNN's cells have increasing node ids
        del senders
        return _split_by_index(index, times, pop.size)

    def connector(self, pairs: np.ndarray, delay_ms: float):
        pairs = np.asarray(pairs)
        return _bulk_connector_class()(pairs[:, 0], pairs[:, 1])

    def weighted_connector(self, pre: np.ndarray, post: np.ndarray, delay_ms: float, weights=None):
        return _bulk_connector_class()(pre, post, weights)

    def input_times(self, times) -> list[float]:
        return self._input_array(times).tolist()

    def _input_array(self, times) -> np.ndarray:
        # spikes already delivered stay out: the generators need not carry the whole history. Times
        # at or before min_delay (only injected jitter makes them) are left out too, as NEST leaves out
        # late ones: pyNN.nest would hand their generator a time <= 0, which NEST refuses.
        times = np.asarray(times, dtype=float)
        return times[(times > self.t_ms + 1e-9) & (times > self._min_delay + 1e-9)]

    def next_input_ms(self) -> float:
        """Earliest input time (ms) NEST still delivers, rounded up to the profile's operation grid.

        Before the first run: min_delay + dt (a parrot's generator needs a time > 0). After a run to t:
        t + 2 min_delay + dt (t + 2 min_delay itself is dropped; measured at dt 0.25, 0.5 and 1 ms).
        """
        dt = self.timestep_ms or 0.0
        min_delay = dt if self.closed else self._min_delay  # the common layer sets it to dt
        t = (self.t_ms + 2 * min_delay + dt) if self.t_ms > 0 else (min_delay + dt)
        grid = self.operation_grid_ms
        if grid > 0:
            t = math.ceil(t / grid - 1e-9) * grid
        return t


def _nest():
    import nest
    return nest


#: HPC synapses (a 2-byte target index) reach the first 65534 nodes of a thread; with one thread a node's index is
#: its node id - 1
HPC_MAX_NODE_ID = 65534


def _split_by_index(index: np.ndarray, times: np.ndarray, size: int) -> list[np.ndarray]:
    """``times`` split by ``index`` (0..size-1) into one array per index, each in its given order: views of one
    sorted copy (the monitors of a converted network hold tens of millions of spikes)."""
    order = np.argsort(index, kind="stable")  # each cell's spikes stay in time order
    bounds = np.zeros(size + 1, dtype=np.int64)
    np.cumsum(np.bincount(index, minlength=size)[:size], out=bounds[1:])
    times = times[order]
    del order
    return [times[bounds[i]:bounds[i + 1]] for i in range(size)]


def _node_ids(nodes) -> np.ndarray:
    """The node ids of a NodeCollection (sorted, distinct): from its ends when they are contiguous (a population:
    one ``Create``), as ``tolist`` asks NEST for every node's status (0.1 s for 30 k nodes)."""
    n = len(nodes)
    if n:
        first, last = nodes[0].global_id, nodes[n - 1].global_id
        if last - first + 1 == n:
            return np.arange(first, last + 1, dtype=np.int64)
    return np.asarray(nodes.tolist(), dtype=np.int64)


def _connect_parrots(pop) -> None:
    """pyNN.nest's deferred generator -> parrot connections of a spike source population, with
    ``static_synapse_hom_w_hpc`` where the parrots are in its reach (a parrot repeats what arrives and ignores the
    weight). NEST keeps each device's connections in a container of its own that starts with room for 1024 of them:
    32 kB per spike generator with static_synapse, 8 kB with this one."""
    nest = _nest()
    spec = {"delay": pop._simulator.state.min_delay}
    parrots = pop.node_collection
    if nest.local_num_threads == 1 and parrots[len(parrots) - 1].global_id <= HPC_MAX_NODE_ID:
        spec["synapse_model"] = "static_synapse_hom_w_hpc"
    nest.Connect(pop.node_collection_source, parrots, "one_to_one", syn_spec=spec)
    pop._deferred_parrot_connections = False


@functools.cache
def _lazy_recorder_class():
    """pyNN.nest's Recorder with a multimeter that exists in NEST only once it is used."""
    import nest
    import importlib

    base_recording = importlib.import_module("pyNN.recording")
    recording = importlib.import_module("pyNN.nest.recording")  # pyNN.nest's "recording" is pyNN's
    simulator = importlib.import_module("pyNN.nest.simulator")

    class LazyMultimeter(recording.Multimeter):
        def __init__(self, to_memory=True):  # RecordingDevice.__init__ without touching the device
            self._device = None
            self._to_memory = to_memory
            self._initial_values = {}
            self._all_ids = set()
            self._connected = False
            self._overrun_data = None
            self._clean = True
            self.interval = simulator.state.dt  # until the device exists
            simulator.state.recording_devices.append(self)

        @property
        def device(self):
            if self._device is None:
                self._device = nest.Create("multimeter")
                self._device.record_to = "memory" if self._to_memory else "ascii"
                recording._set_status(self._device, {"interval": self.interval})
            return self._device

        def connect_to_cells(self):
            if self._all_ids:
                return super().connect_to_cells()
            self._connected = True

    class CompactSpikeDetector(recording.SpikeDetector):
        """pyNN.nest's spike recorder, connected with ``static_synapse_hom_w_hpc`` rather than
        ``static_synapse``. NEST keeps a neuron's connections to devices in a container of its own that starts
        with room for 1024 of them: 32 kB per recorded neuron with static_synapse (2.8 GB for 86 k cells), 8 kB
        with this one. The recorder stores the sender and the spike time either way.

        HPC synapses reach only the first 65534 nodes of a thread: a graph build makes its recorders before its
        cells (``pool``, one per population, taken in order); a recorder made later falls back to static_synapse
        when it is out of reach (NEST then makes no connection)."""

        pool: list = []

        def __init__(self, to_memory=True):
            self.device = self.pool.pop(0) if self.pool else nest.Create("spike_recorder")
            parameters = {} if to_memory else {"precision": simulator.state.default_recording_precision}
            recording.RecordingDevice.__init__(self, parameters, to_memory)

        def connect_to_cells(self):
            assert not self._connected
            if len(self._all_ids) > 0:
                cells, spec = nest.NodeCollection(sorted(self._all_ids)), {"delay": simulator.state.min_delay}
                try:
                    nest.Connect(cells, self.device, {"rule": "all_to_all"},
                                 {**spec, "synapse_model": "static_synapse_hom_w_hpc"})
                except nest.NESTError as err:
                    if "HPC" not in str(err):
                        raise
                    nest.Connect(cells, self.device, {"rule": "all_to_all"}, spec)
            self._connected = True

    class LazyRecorder(recording.Recorder):
        def __init__(self, population, file=None):  # pyNN.nest's, with the lazy multimeter
            self._multimeter = LazyMultimeter()
            self._spike_detector = CompactSpikeDetector()
            base_recording.Recorder.__init__(self, population, file)
            self.recorded_all = defaultdict(set)

        def _get_sampling_interval(self):
            mm = self._multimeter
            return mm.interval if mm._device is None else recording.Recorder._get_sampling_interval(self)

        def _set_sampling_interval(self, value):
            mm = self._multimeter
            if value is not None and mm._device is None:
                mm.interval = value
            else:
                recording.Recorder._set_sampling_interval(self, value)

        sampling_interval = property(fget=_get_sampling_interval, fset=_set_sampling_interval)

    LazyRecorder.spike_detector_class = CompactSpikeDetector
    return LazyRecorder


@functools.cache
def _bulk_connector_class():
    """FromListConnector that connects a whole projection with one ``nest.Connect`` call.

    pyNN.nest's FromListConnector calls nest.Connect once per postsynaptic cell; one call with
    ``one_to_one`` over paired node arrays, with the weights and delays as arrays (one value for a CAM
    projection, one per synapse for a converted event network), is about 10x faster from 64 x 64 up.
    Per-synapse weights come with the connector (or from the synapse type), every other parameter from the
    synapse type. Memory (tens of millions of synapses): the index and weight arrays are kept as given (no
    float pair list), dropped once connected, and the synapse type's parameters are copied with its scalars only.
    """
    import nest
    from pyNN.connectors import Connector, FromListConnector

    class BulkConnector(FromListConnector):
        def __init__(self, pre, post, weights=None):
            Connector.__init__(self)
            self.pre, self.post = np.asarray(pre), np.asarray(post)
            self.weights = None if weights is None else np.asarray(weights, dtype=float)
            self.column_names = () if weights is None else ("weight",)

        @property
        def conn_list(self):
            """The (pre, post[, weight]) rows, as FromListConnector has them (empty once connected)."""
            if self.pre is None:
                return np.zeros((0, 2 + len(self.column_names)))
            return np.column_stack([self.pre, self.post] + ([] if self.weights is None else [self.weights]))

        def connect(self, projection):
            pre, post, n = self.pre, self.post, len(self.pre)
            self.pre = self.post = None
            if n == 0:
                return
            synapse = projection.synapse_type
            if self.weights is None:
                params = synapse.native_parameters
            else:
                params = deepcopy(synapse.parameter_space)   # scalars: the weights are here
                params.shape = (n,)
                params.update(weight=self.weights)
                self.weights = None
                params = synapse.translate(params)
            params.shape = (n,)
            params.evaluate(simplify=True)     # homogeneous values become scalars, per-synapse ones stay arrays
            native = dict(params.items())
            del params
            # delta synapses: pyNN.nest scales weights to pA and back to mV with the cell's receptor_scale
            scale = getattr(projection.post.celltype, "receptor_scale", 1.0)
            weight = np.broadcast_to(np.asarray(native.pop("weight"), dtype=float), n) * scale
            delay = np.ascontiguousarray(np.broadcast_to(np.asarray(native.pop("delay"), dtype=float), n))
            for unused in ("tau_minus", "dendritic_delay_fraction", "w_min_always_zero_in_NEST"):
                native.pop(unused, None)
            pre_ids = _node_ids(projection.pre.node_collection)[pre]
            post_ids = _node_ids(projection.post.node_collection)[post]
            del pre, post
            # plasticity parameters (tau_plus, lambda, alpha, Wmax, mu_plus, mu_minus) are
            # per-connection properties of stdp_synapse: pass them with the connections
            syn = {k: float(v) for k, v in native.items()}
            syn.update({"synapse_model": projection.nest_synapse_model,
                        "synapse_label": projection.nest_synapse_label,
                        "weight": np.ascontiguousarray(weight), "delay": delay})
            del weight, native
            cell = projection.post.celltype
            if not cell.standard_receptor_type:
                syn["receptor_type"] = cell.get_receptor_type(projection.receptor_type)
            nest.Connect(pre_ids, post_ids, {"rule": "one_to_one"}, syn)
            del syn, post_ids
            projection._sources.update(np.unique(pre_ids).tolist())
            projection._simulator.state.stale_connection_cache = True

    return BulkConnector
