"""The SpiNNaker backend: a network spec (``build``, e.g. a CAM's) or a graph (``build_graph``, ``graphs``).

What the translation absorbs (docs/toolchain.md, docs/spinnaker_arithmetic.md):
- a hop costs exactly its delay, so delay == latency (``extra_latency_steps = 0``); the shortest delay is one
  timestep;
- STDP: ``dendritic_delay_fraction = 1``; additive A_plus / A_minus are absolute weight steps (nA per unit
  trace), so the profile's steps are passed as they are, not divided by w_max;
- inhibitory weights are magnitudes (sPyNNaker takes the absolute value anyway);
- every projection is a ``FromListConnector`` with a weight column on whole populations (views crash with
  OneToOne/FromList in 7.4.1);
- spike times are plain lists of lists given when IN is created: ``Population.set(spike_times=...)`` breaks
  sPyNNaker 7.4.1's next run (even before the first one), so the network is created at the first run (or
  ``mapping()``), with every input known. A memory on SpiNNaker therefore runs its operations as one batch;
  ``set_inputs`` refuses changed inputs after that with a BackendError, and ``set_weights`` works only before
  it (``Projection.set`` is not implemented);
- partitioning, placement and routing happen in the first run; ``mapping()`` reads their reports.
"""
from __future__ import annotations

import contextlib
import functools
import io
import logging
import math
import os

import numpy as np

from hippocam.errors import BackendError
from ..graph import DeltaCells
from ..pynn_common import PyNNBackend, claim, release
from . import patches
from .config import NO_BOARD, ENV_TIMEOUT, ENV_VERBOSE, board_config, spynnaker_config
from .config import time_scale_factor as time_scale_factor_of
from .graphs import CONNECTOR_WHY, GraphPath
from .limits import MAX_PLASTIC_ROW
from .probe import probe_board
from .reports import check_placed, parse_reports

log = logging.getLogger(__name__)


@functools.cache
def spynnaker_errors() -> tuple[type[BaseException], ...]:
    """The exceptions sPyNNaker's stack raises for a failed call (its packages' bases, PyNN's errors, I/O).

    Anything else out of a sPyNNaker call is a bug, here or there, and propagates unchanged."""
    import pyNN.errors as pynn_errors
    from pacman.exceptions import PacmanException
    from spinn_front_end_common.utilities.exceptions import SpinnFrontEndException
    from spinn_machine.exceptions import SpinnMachineException
    from spinn_utilities.exceptions import SpiNNUtilsException
    from spinnman.exceptions import SpinnmanException
    from spynnaker.pyNN.exceptions import SpynnakerException

    return (SpiNNUtilsException, PacmanException, SpinnFrontEndException, SpinnmanException, SpinnMachineException,
            SpynnakerException, pynn_errors.InvalidParameterValueError, pynn_errors.NonExistentParameterError,
            pynn_errors.InvalidDimensionsError, pynn_errors.ConnectionError, pynn_errors.InvalidModelError,
            pynn_errors.NoModelAvailableError, pynn_errors.RecordingError, NotImplementedError, OSError)


__all__ = ["Backend", "NO_BOARD", "spynnaker_errors"]


class Backend(GraphPath, PyNNBackend):
    """Options: the board (``config``, ``machine``, ``board_version``, ``reports_dir``, ``virtual``; see
    ``config``), ``probe_timeout_s`` (see ``probe``), ``verbose`` (or ``HIPPOCAM_SPINNAKER_VERBOSE=1``: show
    sPyNNaker's progress bars and warnings, else kept in ``console`` and the reports' provenance database),
    ``neurons_per_core`` (the most cells and spike sources of a graph population on one core, default 256),
    ``time_scale_factor`` (or ``HIPPOCAM_SPINNAKER_TIME_SCALE``: sPyNNaker's slow-down of real time, a whole
    number; else a profile's ``[backend] time_scale_factor``, else sPyNNaker's 1; ``mapping()`` reports it)."""

    name = "spinnaker"
    extra_latency_steps = 0
    dendritic_delay_fraction = 1.0

    def __init__(self, timestep_ms: float | None = None, *, config: str | os.PathLike | None = None,
                 machine: str | None = None, board_version: int | str | None = None,
                 reports_dir: str | os.PathLike | None = None, virtual: bool | None = None,
                 probe_timeout_s: float | None = None, verbose: bool | None = None,
                 neurons_per_core: int | None = None, time_scale_factor: int | str | None = None):
        self.board = board_config(config, machine, board_version, reports_dir, virtual)
        # only a caller that asked for a virtual board may "run" on it (to map, or to test the batch path); a
        # virtual board chosen because nothing is configured refuses to run, so nobody reads its empty spikes
        # as the model's answer
        self.map_only_runs = virtual is True
        # a board records a read-out's v (run_slots) and reports membranes; the class (and the registry) says False:
        # without a board nothing streams
        self.reads_membrane = not self.board.virtual
        if neurons_per_core is not None and not (isinstance(neurons_per_core, int) and 1 <= neurons_per_core <= 256):
            raise BackendError(f"spinnaker: neurons_per_core must be an integer in 1..256, got {neurons_per_core!r}")
        self.neurons_per_core = neurons_per_core
        self.time_scale_factor = time_scale_factor_of(time_scale_factor)
        try:
            self.probe_timeout_s = float(probe_timeout_s if probe_timeout_s is not None
                                         else os.environ.get(ENV_TIMEOUT) or 5.0)
        except ValueError:
            raise BackendError(f"spinnaker: {ENV_TIMEOUT} must be a number of seconds, "
                               f"not {os.environ.get(ENV_TIMEOUT)!r}") from None
        if verbose is None:
            verbose = os.environ.get(ENV_VERBOSE, "").strip().lower() not in ("", "0", "false", "no")
        self.verbose = verbose
        self.console = ""  # what sPyNNaker printed (progress bars, warnings) when not verbose
        super().__init__(timestep_ms)
        self._reset()

    def _reset(self) -> None:
        self.spec = None
        self.graph = None  # a backends.graph.Graph (build_graph) instead of a CAM spec
        self._source_trains: dict[str, list[list[float]]] = {}  # graph sources: spike times per neuron
        self._v_init: dict[str, float] = {}
        self.ring_buffer: dict[str, dict] = {}  # graph cells: the fixed-point input range chosen per population
        self.chip = None  # a graph's chip.plan: every cell and weight in chip units
        self._record_v: set[str] = set()  # graph cell populations whose v is recorded (a read-out)
        self.record = "all"
        self._trains: list[list[float]] = []
        self._weights: dict[str, np.ndarray] = {}  # per projection, one value (nA) per pair
        self._materialized = False
        self._has_run = False
        self.report_dir: str | None = None  # sPyNNaker's folder of the latest run
        self.populations, self.projections = {}, {}

    @property
    def can_simulate(self) -> bool:
        """False on a virtual board: the network is mapped, not executed (spikes come back empty)."""
        return not self.board.virtual

    # -- translation hooks -----------------------------------------------------------------
    def import_simulator(self):
        try:
            import pyNN.spiNNaker as sim
        except ImportError as err:
            raise BackendError(f"backend 'spinnaker' needs sPyNNaker ({err}); "
                               "install it with: pip install '.[spinnaker]'") from None
        patches.apply()
        return sim

    def setup_options(self) -> dict:
        tsf = self.time_scale_factor
        if tsf is None and self.spec is not None:
            tsf = self.spec.profile.hints.time_scale_factor
        return {"time_scale_factor": tsf} if tsf else {}

    def delay(self, latency_ms: float) -> float:
        d = super().delay(latency_ms)
        if d < self.timestep_ms - 1e-9:
            raise BackendError(f"spinnaker: a latency of {latency_ms} ms is below sPyNNaker's shortest "
                               f"delay of one timestep ({self.timestep_ms} ms)")
        return d

    def signed_weight(self, weight_nA: float, receptor: str) -> float:
        return abs(weight_nA)  # the receptor gives the sign; sPyNNaker takes |w| anyway

    def stdp_synapse(self, stdp, weight_nA: float, delay_ms: float):
        sim = self.sim
        return sim.STDPMechanism(
            timing_dependence=sim.SpikePairRule(tau_plus=stdp.tau_plus_ms, tau_minus=stdp.tau_minus_ms,
                                                A_plus=stdp.step_plus_nA, A_minus=stdp.step_minus_nA),
            weight_dependence=sim.AdditiveWeightDependence(w_min=stdp.w_min_nA, w_max=stdp.w_max_nA),
            weight=weight_nA, delay=delay_ms, dendritic_delay_fraction=self.dendritic_delay_fraction)

    def connector(self, pairs: np.ndarray, delay_ms: float, weights: np.ndarray | None = None):
        if weights is None:
            return self.sim.FromListConnector(pairs.tolist())
        return self.sim.FromListConnector(np.column_stack([pairs, weights]).tolist(), column_names=["weight"])

    def input_times(self, times) -> list[float]:
        dt = self.timestep_ms or 1.0
        out = [float(t) for t in times]
        off = [t for t in out if abs(t / dt - round(t / dt)) > 1e-6]
        if off:
            raise BackendError(f"spinnaker: input time {off[0]} ms is off the {dt} ms timestep grid")
        return out

    # -- life cycle ----------------------------------------------------------------------------
    #: a CAM and a converted graph in one sPyNNaker network is not built here (``build(spec, graph=)`` refuses)
    links_memory = False

    def build(self, spec, record: str = "all", graph=None) -> None:
        """Check ``spec`` and the board; the network itself is created at the first run."""
        if graph is not None:
            raise BackendError("spinnaker: a memory and a converted network in one sPyNNaker network is not built "
                               "yet; run the event-to-memory pipeline on spinnaker-model (SpiNNaker's arithmetic), "
                               "brian2 or nest")
        self._begin_build()
        self.spec, self.record = spec, record
        self.timestep_ms = self.timestep_ms or spec.profile.timestep_ms
        for pr in spec.projections:  # translation errors now, not at the first run
            self.delay(pr.latency_ms)
        self._trains = [[] for _ in range(spec.population("IN").size)]
        self._weights = {pr.name: np.full(len(pr.pairs), abs(pr.weight_nA)) for pr in spec.projections}
        self._open()

    def _begin_build(self) -> None:
        """A new network replaces this backend's; another backend object's open network is refused (``claim``)."""
        self.close()
        self._reset()
        claim(self)

    def _open(self) -> None:
        try:
            probe_board(self.board, self.probe_timeout_s)
        except BackendError:
            release(self)
            raise
        self.closed = False
        self.t_ms = 0.0

    def _materialize(self) -> None:
        """Create the network in sPyNNaker, with the inputs and weights known so far."""
        self._check_open()
        if self._materialized:
            return
        if self.graph is not None:
            return self._materialize_graph()
        spec, sim, dt = self.spec, self.sim, self.timestep_ms
        self._materialized = True  # from here on, a failure must end sPyNNaker
        with self._sim_call("setup"), spynnaker_config(self.board.text):
            sim.setup(timestep=dt, min_delay=dt, **self.setup_options())
        with self._sim_call("building the network"):
            for p in spec.populations:
                if p.cell is None:
                    pop = self._input_population(p)
                else:
                    pop = sim.Population(p.size, self.cell_type(p.cell), label=p.name,
                                         initial_values={"v": p.cell["v_rest"]})
                    if self.record == "all" or p.name == "OUT":
                        pop.record("spikes")
                self.populations[p.name] = pop
            self._limit_plastic_rows()
            for pr in spec.projections:
                delay = self.delay(pr.latency_ms)
                weight = self.signed_weight(pr.weight_nA, pr.receptor)
                synapse = (sim.StaticSynapse(weight=weight, delay=delay) if pr.stdp is None
                           else self.stdp_synapse(pr.stdp, weight, delay))
                self.projections[pr.name] = sim.Projection(
                    self.populations[pr.pre], self.populations[pr.post],
                    self.connector(pr.pairs, delay, self._weights[pr.name]), synapse,
                    receptor_type=pr.receptor, label=pr.name)

    def _limit_plastic_rows(self) -> None:
        """Split the post side of each all-to-all plastic projection into slices of at most 254 neurons.

        A plastic synaptic row (one pre neuron onto one core's slice) holds at most 254 synapses in
        sPyNNaker 7.4.1 (SynapseRowTooBigException from 255), while a core holds up to 256 neurons.
        """
        for pr in self.spec.projections:
            size = self.spec.population(pr.post).size
            if pr.stdp is not None and size > MAX_PLASTIC_ROW:
                cores = math.ceil(size / MAX_PLASTIC_ROW)
                self.populations[pr.post].set_max_atoms_per_core(math.ceil(size / cores))

    def _input_population(self, p):
        return self._source_population(p.name, p.size, self._trains)

    def _source_population(self, name: str, size: int, trains: list[list[float]]):
        if any(trains):
            return self.sim.Population(size, self.sim.SpikeSourceArray(spike_times=trains), label=name)
        # a list of lists without any spike crashes sPyNNaker 7.4.1: give a flat [], and keep its warning
        # "SpikeSourceArray has no spike times" (which it repeats at exit) quiet: here it is intended
        logger = logging.getLogger("spynnaker.pyNN.models.spike_source.spike_source_array_vertex")
        level = logger.level
        logger.setLevel(logging.ERROR)
        try:
            return self.sim.Population(size, self.sim.SpikeSourceArray(spike_times=[]), label=name)
        finally:
            logger.setLevel(level)

    @contextlib.contextmanager
    def _sim_call(self, what: str, fatal: bool = True):
        """Run a sPyNNaker call quietly (unless verbose) and turn sPyNNaker's failures into BackendError.

        ``fatal``: any failure leaves sPyNNaker unusable, so the network is ended and closed.
        """
        buf = io.StringIO()
        quiet = contextlib.ExitStack()
        if not self.verbose:  # progress bars and warnings go to stderr: keep them in self.console
            quiet.enter_context(contextlib.redirect_stderr(buf))
            quiet.enter_context(contextlib.redirect_stdout(buf))
        done = False
        try:
            with quiet:
                yield
            done = True
        except spynnaker_errors() as err:
            tail = "\n".join(buf.getvalue().strip().splitlines()[-5:])
            where = f"; reports in {self.report_dir or self.board.reports_dir}"
            raise BackendError(f"spinnaker ({self.board.describe()}): {what} failed: "
                               f"{type(err).__name__}: {err}{where}" + (f"\n{tail}" if tail else "")) from err
        finally:
            self.console += buf.getvalue()
            if fatal and not done:
                self._abandon()

    def _abandon(self) -> None:
        """After a failed sPyNNaker call: end the simulator and mark this network closed.

        Ending may fail too after such a failure; that is logged (debug) and the call's own error stands."""
        if self._materialized:
            self._materialized = False
            with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
                from spynnaker.pyNN.data import SpynnakerDataView

                try:
                    if not SpynnakerDataView.is_shutdown():  # sPyNNaker often ends itself on an error
                        self.sim.end()
                except spynnaker_errors() as err:
                    log.debug("spinnaker: ending sPyNNaker after a failed call failed too: %r", err, exc_info=True)
        self.closed = True
        release(self)

    def set_inputs(self, trains: list[np.ndarray]) -> None:
        """Set the spike times (ms) of every IN neuron; after the first run only the same ones are accepted."""
        self._check_open()
        new = [self.input_times(t) for t in trains]
        # the network is created by the first run, with these spike times: sPyNNaker 7.4.1 breaks on
        # any later Population.set(spike_times=...) (its send buffer becomes a list it cannot index)
        if self._materialized and new != self._trains:
            raise BackendError(
                "spinnaker: SpiNNaker needs every input before the first run (sPyNNaker 7.4.1 cannot "
                "change spike times once the network is built): give all operations to one "
                "Memory.run([...]) call (batch), or build a new memory")
        self._trains = new

    def run_until(self, t_ms: float) -> None:
        if self.board.virtual and not self.map_only_runs:
            raise BackendError(NO_BOARD)
        self._run_until(t_ms)

    def _run_until(self, t_ms: float) -> None:
        self._materialize()
        if t_ms > self.t_ms + 1e-9:
            with self._sim_call(f"the run to {t_ms} ms"):
                self.sim.run_until(t_ms)
                self._note_report_dir()
                if self.graph is not None and not self.ring_buffer:
                    self._note_ring_buffers()
            self._has_run = True
            self.t_ms = t_ms

    def _note_report_dir(self) -> None:
        from spinn_utilities.exceptions import SpiNNUtilsException
        from spynnaker.pyNN.data import SpynnakerDataView

        try:
            self.report_dir = SpynnakerDataView.get_run_dir_path()
        except SpiNNUtilsException as err:  # a run without a report folder: mapping() says so when asked
            log.debug("spinnaker: no report folder after the run: %r", err)
            self.report_dir = None

    def _population_size(self, population: str) -> int:
        if self.graph is not None:
            for p in self.graph.populations:
                if p.name == population:
                    return p.size
            raise BackendError(f"spinnaker: no population {population!r}")
        return self.spec.population(population).size

    def spikes(self, population: str) -> list[np.ndarray]:
        """Spike times (ms) per neuron; empty on a virtual board (nothing is executed there)."""
        self._check_open()
        size = self._population_size(population)
        if self.board.virtual or not self._has_run:
            return [np.zeros(0) for _ in range(size)]
        with self._sim_call(f"reading the spikes of {population}", fatal=False):
            return super().spikes(population)

    def weights(self, projection: str) -> np.ndarray:
        """Weights (nA) as a pre x post array (NaN where unconnected).

        Read from the board after a run; before a run, and always on a virtual board (which keeps
        no weights), the values the network is (or would be) loaded with.
        """
        self._check_open()
        pr = self._projection_spec(projection)
        if self._has_run and not self.board.virtual:
            with self._sim_call(f"reading the weights of {projection}", fatal=False):
                return np.abs(super().weights(projection))
        out = np.full((self.spec.population(pr.pre).size, self.spec.population(pr.post).size), np.nan)
        out[pr.pairs[:, 0], pr.pairs[:, 1]] = self._weights[projection]
        return out

    def _projection_spec(self, projection: str):
        if self.spec is None:
            raise BackendError("spinnaker: weights are read and set for a network spec (build); a graph's weights "
                               "are the ones given to build_graph")
        pr = next((p for p in self.spec.projections if p.name == projection), None)
        if pr is None:
            raise BackendError(f"spinnaker: no projection {projection!r}")
        return pr

    def set_weights(self, projection: str, matrix) -> None:
        """Set the weights (nA magnitudes, pre x post) of a projection's connections; before the first run only."""
        self._check_open()
        if self._materialized:
            raise BackendError("spinnaker: sPyNNaker 7.4.1 cannot set weights once the network is built "
                               "(Projection.set is not implemented); set them before the first run")
        pr = self._projection_spec(projection)
        self._weights[projection] = np.abs(np.asarray(matrix, dtype=float)[pr.pairs[:, 0], pr.pairs[:, 1]])

    def mapping(self, run_ms: float | None = None) -> dict:
        """Where the network was placed (``parse_reports``), mapping it first if it has not run.

        An unrun network is run for ``run_ms`` (default one timestep): on a real board that is its
        first run, which fixes its inputs.
        """
        self._materialize()
        if not self._has_run:
            self._run_until(run_ms or self.timestep_ms)
        report = parse_reports(self.report_dir)
        if self.graph is not None:
            check_placed(report, self.graph.populations)
            report.update(neurons=self.graph.n_neurons, synapses=self.graph.n_synapses,
                          sources=sum(p.size for p in self.graph.populations if not isinstance(p, DeltaCells)),
                          timestep_ms=self.graph.timestep_ms)
            for name, rb in self.ring_buffer.items():
                report["populations"][name]["ring_buffer"] = rb
            report["projections"] = {
                f"{s.name}.{s.receptor[:3]}": {"pre": s.pre_pop, "post": s.post_pop, "synapses": len(s.pre),
                                               "delay_steps": s.delay_steps, "connector": CONNECTOR_WHY}
                for s in self.chip.synapses}
        else:
            check_placed(report, self.spec.populations)
            report.update(neurons=self.spec.n_neurons, synapses=self.spec.n_synapses,
                          plastic_synapses=self.spec.n_plastic)
        report["board"] = self.board.describe()
        report["time_scale_factor"] = self._time_scale_used()
        return report

    def _time_scale_used(self) -> float | None:
        """The time_scale_factor sPyNNaker runs with (None when it was never set up)."""
        from spinn_utilities.exceptions import SpiNNUtilsException
        from spynnaker.pyNN.data import SpynnakerDataView

        try:
            return SpynnakerDataView.get_time_scale_factor()
        except SpiNNUtilsException:
            return None

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        release(self)
        if self._materialized:
            self._materialized = False
            try:
                with self._sim_call("end", fatal=False):
                    self.sim.end()
            except BackendError as err:  # closing is clean-up: the network is gone either way
                log.debug("%s", err)

