"""NEST 3.10 through pyNN.nest, one thread, on-grid spikes (profile ``cam/profiles/nest.toml``).

Conventions absorbed here (docs/toolchain.md, docs/cam_spec.md; each checked on NEST itself):
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

import numpy as np

from hippocam.errors import BackendError
from ..pynn_common import PyNNBackend, slot_events
from . import extension
from .connectors import bulk_connector_class, connect_parrots
from .ranks import gather_events, gather_values, num_processes, patch_pynn, settle_kernel_for_ranks
from .recording import lazy_recorder_class, split_by_index


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
        self._own_cells: dict[str, str] = {}   # populations of hippocam's cell model, with why (``build_graph``)

    def import_simulator(self):
        os.environ.setdefault("PYNEST_QUIET", "1")  # read when nest is first imported
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Cannot find nest-config": only NESTML extensions are lost
            try:
                import pyNN.nest as sim
            except ImportError as err:  # uncaught, it would end under Brian2's "report this issue" banner
                raise BackendError(f"backend 'nest' needs NEST ({err}); install it with: pip install '.[nest]'") \
                    from None
        patch_pynn()
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
        settle_kernel_for_ranks()

    def build(self, spec, record: str = "all", graph=None) -> None:
        """As the common layer; also records IN (the parrots) with ``record="all"``.

        Populations are made with recorders whose multimeter is only created in NEST once something
        records an analog variable: pyNN.nest makes one per population, and at one-step min_delay
        NEST updates each of them every step (about 7% of Simulate at 64 x 64, recording nothing).
        """
        self.operation_grid_ms = spec.profile.hints.operation_grid_ms
        self._own_cells = {} if graph is None else extension.needs(graph)
        with self._lazy_recorders(graph):
            super().build(spec, record, graph)
        if record == "all":
            self.populations["IN"].record("spikes")

    def build_graph(self, graph) -> None:
        """As the common layer, with the recorders of ``build``; populations NEST's own cells cannot be get
        hippocam's (``extension``)."""
        self._own_cells = extension.needs(graph)
        with self._lazy_recorders(graph):
            super().build_graph(graph)

    # NEST's cells reset to a value, and its current moves the membrane a step after a spike arrives, so a layer's
    # own spikes, sent with the shortest delay (a step), would act a step late: such populations are hippocam's
    # ``extension.MODEL``, which subtracts, and whose "recurrent" receptor joins the current in the step of arrival
    graph_resets = ("value", "subtract")
    same_step_current_hop = True
    same_step_delay_steps = 1

    def delta_cell_type(self, cells):
        return self._own_cell_type(cells) if cells.name in self._own_cells else super().delta_cell_type(cells)

    def cuba_cell_type(self, cells):
        if cells.name in self._own_cells:
            return self._own_cell_type(cells)
        return super().cuba_cell_type(cells)

    def _own_cell_type(self, cells):
        from ..graph import step_decays
        decay_m, decay_syn = step_decays(cells, self.timestep_ms)    # the network's own numbers, to the bit
        celltype = self.sim.native_cell_type(extension.MODEL)
        # weights in mV, as IF_curr_delta's: pyNN.nest's nA -> pA scaling of synapses is undone (and the bulk
        # connector then hands NEST the given weights untouched)
        celltype.receptor_scale = 1e-3
        # what a spike subtracts is v_thresh - v_reset, as Brian2's cells compute it
        return celltype(E_L=cells.v_rest_mV, V_th=cells.v_thresh_mV, V_reset=cells.v_reset_mV,
                        V_sub=cells.v_thresh_mV - cells.v_reset_mV, subtract=float(cells.reset == "subtract"),
                        decay_m=decay_m, decay_syn=decay_syn)

    def membrane_variable(self, celltype) -> str:
        return "V_m" if _is_own(celltype) else super().membrane_variable(celltype)

    def current_weight_scale(self, cells, celltype, timestep_ms: float) -> float:
        # the model takes a current's weights as they are: mV per step of its current
        return 1.0 if _is_own(celltype) else super().current_weight_scale(cells, celltype, timestep_ms)

    def graph_receptor(self, post, receptor: str, same_step: bool) -> str:
        if not _is_own(post.celltype):
            return super().graph_receptor(post, receptor, same_step)
        # the model takes signed weights on one receptor per timing
        return "recurrent" if same_step else "current" if post.label in self._current_based else "delta"

    @contextlib.contextmanager
    def _lazy_recorders(self, graph):
        """Populations made meanwhile get ``lazy_recorder_class`` recorders; with a graph, its populations'
        spike recorders are made first (``after_graph_setup``)."""
        population, eager = self.sim.Population, self.sim.Population._recorder_class
        population._recorder_class = recorder = lazy_recorder_class()
        self._graph_recorders = 0 if graph is None else len(graph.populations)
        try:
            yield
        finally:
            population._recorder_class = eager
            recorder.spike_detector_class.pool.clear()    # never carried to another network
            self._graph_recorders = 0

    def after_graph_setup(self) -> None:
        super().after_graph_setup()
        if self._own_cells:   # NEST loads a module only before the first node
            extension.install(_nest(), next(iter(self._own_cells.values())))
        pool = lazy_recorder_class().spike_detector_class.pool
        pool[:] = [_nest().Create("spike_recorder") for _ in range(self._graph_recorders)]

    def after_graph_build(self, graph) -> None:
        super().after_graph_build(graph)
        from ..graph import Sources
        for p in graph.populations:
            pop = self.populations[p.name]
            if isinstance(p, Sources) and getattr(pop, "_deferred_parrot_connections", False):
                pop._connect_parrot_neurons = functools.partial(connect_parrots, pop)

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
    # a source's spike at t reaches NEST as its generator's spike at t - min_delay (pyNN.nest's parrots), which NEST
    # needs later than 0: with min_delay one step, a graph's input starts in step 2
    graph_lead_steps = 2
    # NEST's update that stamps its spikes t covers (t - dt, t], and pyNN.nest's first run goes one min_delay
    # (one step) further than asked, which every later run keeps: measured with leaky read-outs against refsim
    membrane_read_lag_steps = 2

    def membrane(self, population: str) -> np.ndarray:
        self._check_open()
        return gather_values(_nest().GetStatus(self.populations[population].node_collection, "V_m"))

    def set_membrane(self, population: str, v_mV) -> None:
        self._check_open()
        _nest().SetStatus(self.populations[population].node_collection, {"V_m": float(v_mV)})

    # iaf_psc_exp's currents are not settable state in NEST 3.10: a graph lets them die away instead
    resets_currents = False

    # pyNN.nest's first run goes one min_delay (a step) further than asked, which every later run keeps: a membrane
    # set at t holds before the update of the step stamped t + 2 steps (checked with a self-driven layer, whose
    # spikes would move by a step otherwise)
    window_reset_lag_steps = 2

    def run_slots(self, slot_ms: float, n_slots: int, reset: dict, read: str, progress=None,
                  read_ms: float | None = None, window_resets: dict | None = None) -> np.ndarray:
        # Every nest.Simulate prepares and cleans up the whole kernel (about 0.3 s with a million synapses):
        # the first slot runs through pyNN (deferred connections, its extra min_delay), the rest in one
        # RunManager, reading and setting membranes between Run calls.
        self._check_open()
        nest = _nest()
        start = self.t_ms
        events = slot_events(slot_ms, read_ms, window_resets, self.window_reset_lag_steps * self.timestep_ms)
        out = []

        def act(name, v):
            if name is None:
                out.append(self.membrane(read))
            else:
                self.set_membrane(name, v)

        def after_slot(s):
            for name, v in reset.items():
                self.set_membrane(name, v)
            if progress is not None:
                progress(s + 1, n_slots)

        for t, name, v in events:
            self.run_until(start + t)
            act(name, v)
        self.run_until(start + slot_ms)
        after_slot(0)
        if n_slots > 1:
            with nest.RunManager():
                for s in range(1, n_slots):
                    done = 0.0
                    for t, name, v in events:
                        if t > done:
                            nest.Run(t - done)
                            done = t
                        act(name, v)
                    if done < slot_ms:
                        nest.Run(slot_ms - done)
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
        senders, times = gather_events(senders, times)  # under MPI: every rank decodes every cell's spikes
        keep = times <= (self.t_ms if self._t_is_kernel else state.t)
        if not keep.all():
            senders, times = senders[keep], times[keep]
        del keep
        gids = self._sender_index.get(population)
        if gids is None:
            gids = self._sender_index[population] = np.asarray(pop.all_cells, dtype=np.int64)
        index = np.searchsorted(gids, senders)  # pyNN's cells have increasing node ids
        del senders
        return split_by_index(index, times, pop.size)

    def weights(self, projection: str) -> np.ndarray:
        """As the common layer; under MPI, every rank's connections on every rank (pyNN's default gathers them
        on rank 0 only)."""
        self._check_open()
        if num_processes() == 1:
            return super().weights(projection)
        return np.asarray(self.projections[projection].get("weight", format="array", gather="all"), dtype=float)

    def connector(self, pairs: np.ndarray, delay_ms: float):
        pairs = np.asarray(pairs)
        return bulk_connector_class()(pairs[:, 0], pairs[:, 1])

    def weighted_connector(self, pre: np.ndarray, post: np.ndarray, delay_ms: float, weights=None):
        return bulk_connector_class()(pre, post, weights)

    def input_times(self, times) -> list[float]:
        return self._input_array(times).tolist()

    def _input_array(self, times) -> np.ndarray:
        # spikes already delivered stay out: the generators need not carry the whole history. Times
        # at or before min_delay (only injected jitter makes them) are left out too, as NEST leaves out
        # late ones: pyNN.nest would hand their generator a time <= 0, which NEST refuses.
        times = np.asarray(times, dtype=float)
        times = times[(times > self.t_ms + 1e-9) & (times > self._min_delay + 1e-9)]
        # pyNN.nest makes the generators precise: a time t goes out in the step ending at or after it, so a step's
        # time computed a rounding error high (0.1 * 23 = 2.3000000000000003 ms) would arrive a step late
        return times - 1e-6 * (self.timestep_ms or 1.0)

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


def _is_own(celltype) -> bool:
    return getattr(celltype, "nest_model", None) == extension.MODEL
