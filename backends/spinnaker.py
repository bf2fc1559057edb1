"""SpiNNaker through sPyNNaker 7.4.1 (``pyNN.spiNNaker``): a virtual board here, a real one when configured.

Conventions absorbed here (TOOLCHAIN.md, SPEC.md 6):
- a hop costs exactly its delay, so delay == latency (``extra_latency_steps = 0``); the shortest
  delay is one timestep;
- STDP: ``dendritic_delay_fraction = 1``; additive A_plus / A_minus are absolute weight steps (nA per
  unit trace), so the profile's steps are passed as they are, not divided by w_max;
- inhibitory weights are magnitudes (sPyNNaker takes the absolute value anyway);
- every projection is a ``FromListConnector`` with a weight column on whole populations (views crash
  with OneToOne/FromList in 7.4.1);
- spike times are plain lists of lists given when IN is created: ``Population.set(spike_times=...)``
  breaks sPyNNaker 7.4.1's next run (even before the first one), so the network is created at the
  first run (or ``mapping()``), with every input known. A memory on SpiNNaker therefore runs its
  operations as one batch; ``set_inputs`` refuses changed inputs after that with a BackendError, and
  ``set_weights`` works only before it (``Projection.set`` is not implemented);
- partitioning, placement and routing happen in the first run; ``mapping()`` reads their reports.

Graphs (``build_graph``, the converted event networks of ``event_models``): IF_curr_delta cells, spike sources
and one FromListConnector per projection and sign with a weight and a delay column (a hop costs its delay, at
least one step). Spike times (``set_spike_times``) and initial membranes are taken when the network is created
at the first run or ``mapping()``. The cells fire at most once per step, the bias sources every step: each cell
population gets ``max_expected_summed_weight`` = the largest summed |weight| a cell can receive in one step, so
its fixed-point ring buffers cannot saturate (sPyNNaker's default sizes them for 30 spikes/s), and an incoming
spike buffer for its fan-in (at most 2048); ``[Simulation] spikes_per_second`` is raised to one spike per step
for what sPyNNaker still sizes by rate. Parameters beyond s16.15 (tau_m 1e7 ms, a read-out threshold of 1e9 mV)
are clamped to 65535. ``map_graph`` / ``format_graph_map`` (``hippocam event map``) report the mapping.
sPyNNaker 7.4.1 builds synaptic rows in quadratic time; ``rows_by_index`` replaces that builder (same rows).

Which board (keyword arguments of ``Backend`` override the environment; ``virtual=True`` overrides both):
- ``virtual=True``, or nothing configured: a virtual SpiNN-5 board. The network is mapped (reports,
  ``mapping()``) but not executed: ``can_simulate`` is False and ``spikes()`` returns empty trains.
- ``HIPPOCAM_SPINNAKER_CFG=/path/to/file.cfg`` (``config=``): your own sPyNNaker configuration
  (``machine_name`` + ``version``, or ``spalloc_server``); see ``spinnaker_config/board-example.cfg``.
  Its sections override hippocam's settings; its ``[Machine]`` section replaces the virtual board's.
- ``HIPPOCAM_SPINNAKER_MACHINE=host`` (``machine=``): a directly attached board, with
  ``HIPPOCAM_SPINNAKER_VERSION`` (``board_version=``, default 5).
- ``HIPPOCAM_SPINNAKER_REPORTS=dir`` (``reports_dir=``): where sPyNNaker's reports go (default
  ``<tmp>/hippocam-spinnaker-<uid>``; sPyNNaker keeps the newest 10 runs there).
- ``HIPPOCAM_SPINNAKER_TIMEOUT=s`` (``probe_timeout_s=``, default 5): before building on a real board
  the backend asks it for its version (SCP) or connects to the spalloc server, and raises a
  BackendError if nothing answers within that time (sPyNNaker itself retries for minutes). A board
  that is powered but not booted does not answer either: ``0`` skips the check and lets sPyNNaker
  boot it.
- ``HIPPOCAM_SPINNAKER_VERBOSE=1`` (``verbose=``): show sPyNNaker's progress bars and warnings
  (otherwise kept in ``Backend.console``; its warnings are also in the reports' provenance database).
- A profile may set ``[backend] time_scale_factor`` (sPyNNaker's slow-down of real time, integer).

sPyNNaker reads its configuration from ``~/.spynnaker.cfg`` or ``$XDG_CONFIG_HOME/.spynnaker.cfg``
and writes a template into ``~`` when it finds none. This backend writes the effective configuration
into a temporary folder and points ``XDG_CONFIG_HOME`` (and sPyNNaker's lookup) at it during
``setup()`` only: nothing is written into the home directory and a ``~/.spynnaker.cfg`` is ignored.
"""
from __future__ import annotations

import configparser
import contextlib
import io
import logging
import math
import os
import re
import socket
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hippocam.errors import BackendError
from .pynn_common import PyNNBackend, _live

CONFIG_DIR = Path(__file__).parent / "spinnaker_config"
VIRTUAL_CFG = CONFIG_DIR / "virtual" / ".spynnaker.cfg"
ENV_CFG = "HIPPOCAM_SPINNAKER_CFG"
ENV_MACHINE = "HIPPOCAM_SPINNAKER_MACHINE"
ENV_VERSION = "HIPPOCAM_SPINNAKER_VERSION"
ENV_REPORTS = "HIPPOCAM_SPINNAKER_REPORTS"
ENV_TIMEOUT = "HIPPOCAM_SPINNAKER_TIMEOUT"
ENV_VERBOSE = "HIPPOCAM_SPINNAKER_VERBOSE"
SCAMP_PORT = 17893  # SC&MP's UDP port on every board
SPALLOC_PORT = 22244  # the classic spalloc server's TCP port
MAX_PLASTIC_ROW = 254  # synapses of one plastic row (pre neuron -> one core) in sPyNNaker 7.4.1
S1615_MAX = 65535.0  # the largest membrane / threshold sPyNNaker's s16.15 fixed point holds (mV)
SOURCES_PER_CORE = 256  # spike sources of a graph on one core (sPyNNaker's default puts thousands on one)
MAX_SPIKE_BUFFER = 2048  # incoming spikes a graph core buffers per step at most (4 bytes each, in DTCM)


# -- configuration (no sPyNNaker import needed) --------------------------------------------------
def _parser() -> configparser.RawConfigParser:
    p = configparser.RawConfigParser()
    # sPyNNaker's own option matching: case and underscores do not matter (machineName == machine_name)
    p.optionxform = lambda name: name.lower().replace("_", "")
    return p


def _none(value: str | None) -> str | None:
    return None if value is None or value.strip().lower() in ("", "none") else value.strip()


@dataclass(frozen=True)
class BoardConfig:
    """The effective sPyNNaker configuration and the board it names."""
    text: str  # the .spynnaker.cfg handed to sPyNNaker
    virtual: bool
    version: str | None
    machine_name: str | None
    spalloc_server: str | None
    remote_url: str | None
    reports_dir: Path
    source: str  # where the board came from, for messages

    def describe(self) -> str:
        if self.virtual:
            return f"virtual board (version {self.version or '?'})"
        target = self.machine_name or self.spalloc_server or self.remote_url
        return f"board {target} ({self.source})"


def default_reports_dir() -> Path:
    uid = os.getuid() if hasattr(os, "getuid") else os.getpid()
    return Path(tempfile.gettempdir()) / f"hippocam-spinnaker-{uid}"


def board_config(config: str | os.PathLike | None = None, machine: str | None = None,
                 board_version: int | str | None = None, reports_dir: str | os.PathLike | None = None,
                 virtual: bool | None = None) -> BoardConfig:
    """Resolve the board from the arguments, then the HIPPOCAM_SPINNAKER_* variables (module doc).

    Layers: hippocam's virtual-board file, then the user's file (its ``[Machine]`` replaces ours),
    then ``machine``/``board_version``, then ``reports_dir``. ``virtual=True`` ignores any configured
    board. Raises BackendError for an unreadable config file or one that names no board.
    """
    def pick(arg, env):
        return (arg, f"{env.lower().removeprefix('hippocam_spinnaker_')}={arg}") if arg else \
            (os.environ.get(env) or None, env)

    config, config_from = pick(config, ENV_CFG)
    machine, machine_from = pick(machine, ENV_MACHINE)
    board_version, _ = pick(board_version, ENV_VERSION)
    reports, _ = pick(reports_dir, ENV_REPORTS)
    cfg = _parser()
    cfg.read(VIRTUAL_CFG)
    cfg.set("Reports", "defaultreportfilepath", str(default_reports_dir()))
    source = "hippocam's virtual board"
    if config and not virtual:
        path = Path(config).expanduser()
        user = _parser()
        try:
            read = user.read(path)
            spec_file = _none(user.get("Machine", "machinespecfile", fallback=None))
            if spec_file:  # sPyNNaker reads a machine_spec_file right after the file naming it
                user.remove_option("Machine", "machinespecfile")
                read += user.read(Path(spec_file).expanduser())
        except configparser.Error as err:
            raise BackendError(f"spinnaker: cannot parse the configuration {path}: {err}") from None
        if not read:
            raise BackendError(f"spinnaker: the configuration {path} (from {config_from}) does not exist "
                               "or cannot be read")
        if user.has_section("Machine"):  # the user's board replaces the virtual one entirely
            cfg.remove_section("Machine")
        for section in user.sections():
            if not cfg.has_section(section):
                cfg.add_section(section)
            for key, value in user.items(section):
                cfg.set(section, key, value)
        source = f"{path} (from {config_from})"
    if machine and not virtual:
        cfg.remove_section("Machine")
        cfg.add_section("Machine")
        cfg.set("Machine", "machinename", machine)
        cfg.set("Machine", "version", "5")
        source = machine_from
    if board_version:
        cfg.set("Machine", "version", str(board_version))
    if reports:
        cfg.set("Reports", "defaultreportfilepath", str(Path(reports).expanduser()))
    get = lambda option: _none(cfg.get("Machine", option, fallback=None))  # noqa: E731
    is_virtual = (get("virtualboard") or "false").lower() in ("true", "1", "yes", "on", "t", "y")
    reports_path = _none(cfg.get("Reports", "defaultreportfilepath"))
    board = BoardConfig(text="", virtual=is_virtual, version=get("version"), machine_name=get("machinename"),
                        spalloc_server=get("spallocserver"), remote_url=get("remotespinnakerurl"),
                        reports_dir=Path.cwd() if reports_path in (None, "DEFAULT") else Path(reports_path),
                        source=source)
    if not is_virtual and not (board.machine_name or board.spalloc_server or board.remote_url):
        raise BackendError(f"spinnaker: the configuration {source} names no board: set [Machine] "
                           "machine_name (and version) or spalloc_server, or virtual_board = True")
    out = io.StringIO()
    cfg.write(out)
    return BoardConfig(**{**board.__dict__, "text": out.getvalue()})


def probe_board(board: BoardConfig, timeout_s: float) -> None:
    """Check within ``timeout_s`` (s) that the configured board or spalloc server answers.

    A board must answer an SCP version request on UDP 17893; a spalloc server must accept a TCP
    connection. Raises BackendError naming the target and the fix; does nothing for a virtual board,
    a remote (HBP) URL, or ``timeout_s <= 0``.
    """
    if board.virtual or timeout_s <= 0:
        return
    hint = (f"check the address and that the board is powered and reachable (board from {board.source}). "
            f"A board that is powered but not yet booted does not answer this check: "
            f"set {ENV_TIMEOUT}=0 to skip it and let sPyNNaker boot the board (it gives up after about "
            f"3 minutes if nothing answers).")
    if board.machine_name:
        _probe_scamp(board.machine_name, timeout_s, hint)
    elif board.spalloc_server:
        url = urllib.parse.urlsplit(board.spalloc_server if "://" in board.spalloc_server
                                    else f"spalloc://{board.spalloc_server}")
        port = url.port or {"http": 80, "https": 443}.get(url.scheme, SPALLOC_PORT)
        try:
            with socket.create_connection((url.hostname, port), timeout=timeout_s):
                pass
        except OSError as err:
            raise BackendError(f"spinnaker: cannot reach the spalloc server {url.hostname}:{port} within "
                               f"{timeout_s:g} s ({err}); check spalloc_server in {board.source}") from None


def _probe_scamp(host: str, timeout_s: float, hint: str) -> None:
    from spinnman.connections.udp_packet_connections import SCAMPConnection
    from spinnman.exceptions import SpinnmanException, SpinnmanTimeoutException
    from spinnman.messages.scp.abstract_messages import AbstractSCPRequest
    from spinnman.messages.scp.impl import GetVersion

    # the chip that receives the packet answers (SpiNNMan asks the same way before it boots a board)
    request = GetVersion(AbstractSCPRequest.DEFAULT_DEST_X_COORD, AbstractSCPRequest.DEFAULT_DEST_Y_COORD, 0)

    try:
        conn = SCAMPConnection(remote_host=host)
    except (SpinnmanException, OSError) as err:
        raise BackendError(f"spinnaker: cannot open a connection to the board {host!r} ({err}); {hint}") from None
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BackendError(f"spinnaker: the board {host} did not answer within {timeout_s:g} s "
                                   f"(SCP version request on UDP {SCAMP_PORT}); {hint}")
            try:
                conn.send(conn.get_scp_data(request))
                conn.receive_scp_response(timeout=min(1.0, left))
                return
            except SpinnmanTimeoutException:
                continue
            except (SpinnmanException, OSError) as err:
                # e.g. ICMP "port unreachable": nothing listens at that address
                raise BackendError(f"spinnaker: the board {host} cannot be reached ({err}); {hint}") from None
    finally:
        conn.close()


@contextlib.contextmanager
def _spynnaker_config(text: str):
    """Make sPyNNaker read ``text`` as its user configuration while the block runs (``setup``).

    The file lives in a temporary folder named by XDG_CONFIG_HOME (sPyNNaker's documented lookup, so
    it never writes its template into ``~``). sPyNNaker also refuses to start when it finds a second
    user configuration (``~/.spynnaker.cfg``, ``/etc/xdg/.spynnaker.cfg``), so its lookup is pinned
    to this file for the same time.
    """
    from spinn_utilities import config_holder

    with tempfile.TemporaryDirectory(prefix="hippocam-spynnaker-cfg-") as folder:
        path = os.path.join(folder, ".spynnaker.cfg")
        Path(path).write_text(text)
        old_xdg = os.environ.get("XDG_CONFIG_HOME")
        old_lookup = getattr(config_holder, "_user_cfg", None)
        os.environ["XDG_CONFIG_HOME"] = folder
        if old_lookup is not None:
            config_holder._user_cfg = lambda: path
        try:
            yield path
        finally:
            if old_lookup is not None:
                config_holder._user_cfg = old_lookup
            if old_xdg is None:
                os.environ.pop("XDG_CONFIG_HOME", None)
            else:
                os.environ["XDG_CONFIG_HOME"] = old_xdg


def rows_by_index(connection_row_indices, n_rows: int, data, max_n_synapses: int) -> list:
    """sPyNNaker's ``convert_per_connection_data_to_rows`` in O(n log n): the items of ``data`` whose row index is
    i, in their order, at most ``max_n_synapses`` of them, flattened, for each row i < ``n_rows``."""
    idx = np.asarray(connection_row_indices)
    keep = (idx >= 0) & (idx < n_rows)
    if not keep.all():
        idx, data = idx[keep], data[keep]
    order = np.argsort(idx, kind="stable")
    ordered = data[order]
    counts = np.bincount(idx, minlength=n_rows)[:n_rows]
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    take = np.minimum(counts, max_n_synapses)
    return [ordered[a:a + n].reshape(-1) for a, n in zip(starts.tolist(), take.tolist())]


def _fast_rows() -> None:
    """Replace sPyNNaker 7.4.1's row builder, which compares every connection with every row index (quadratic:
    minutes for a million synapses, days for the 23 M of modelnet-voxel), by ``rows_by_index`` (same rows)."""
    from spynnaker.pyNN.models.neuron.synapse_dynamics.abstract_sdram_synapse_dynamics import (
        AbstractSDRAMSynapseDynamics)

    def convert_per_connection_data_to_rows(self, connection_row_indices, n_rows, data, max_n_synapses):
        return rows_by_index(connection_row_indices, n_rows, data, max_n_synapses)

    AbstractSDRAMSynapseDynamics.convert_per_connection_data_to_rows = convert_per_connection_data_to_rows


# -- the backend ---------------------------------------------------------------------------------
class Backend(PyNNBackend):
    name = "spinnaker"
    extra_latency_steps = 0
    dendritic_delay_fraction = 1.0

    def __init__(self, timestep_ms: float | None = None, *, config: str | os.PathLike | None = None,
                 machine: str | None = None, board_version: int | str | None = None,
                 reports_dir: str | os.PathLike | None = None, virtual: bool | None = None,
                 probe_timeout_s: float | None = None, verbose: bool | None = None,
                 neurons_per_core: int | None = None):
        """Options as in the module doc; ``verbose`` shows sPyNNaker's progress bars (else kept in ``console``);
        ``neurons_per_core``: the most cells (and spike sources) of a graph population (``build_graph``) on one
        core (default: 256, sPyNNaker's default for cells)."""
        self.board = board_config(config, machine, board_version, reports_dir, virtual)
        if neurons_per_core is not None and not (isinstance(neurons_per_core, int) and 1 <= neurons_per_core <= 256):
            raise BackendError(f"spinnaker: neurons_per_core must be an integer in 1..256, got {neurons_per_core!r}")
        self.neurons_per_core = neurons_per_core
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
        _fast_rows()
        return sim

    def setup_options(self) -> dict:
        tsf = self.spec.profile.hints.time_scale_factor if self.spec is not None else None
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
    def build(self, spec, record: str = "all") -> None:
        """Check ``spec`` and the board; the network itself is created at the first run."""
        other = _live.get(self.name)
        if other is not None and other is not self:
            other.close()
        self.close()
        self._reset()
        self.spec, self.record = spec, record
        self.timestep_ms = self.timestep_ms or spec.profile.timestep_ms
        for pr in spec.projections:  # translation errors now, not at the first run
            self.delay(pr.latency_ms)
        self._trains = [[] for _ in range(spec.population("IN").size)]
        self._weights = {pr.name: np.full(len(pr.pairs), abs(pr.weight_nA)) for pr in spec.projections}
        probe_board(self.board, self.probe_timeout_s)
        _live[self.name] = self
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
        with self._sim_call("setup"), _spynnaker_config(self.board.text):
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
        """Run a sPyNNaker call quietly (unless verbose) and turn its failures into BackendError.

        ``fatal``: the failure leaves sPyNNaker unusable, so the network is ended and closed.
        """
        buf = io.StringIO()
        quiet = contextlib.ExitStack()
        if not self.verbose:  # progress bars and warnings go to stderr: keep them in self.console
            quiet.enter_context(contextlib.redirect_stderr(buf))
            quiet.enter_context(contextlib.redirect_stdout(buf))
        try:
            with quiet:
                yield
        except BackendError:
            raise
        except Exception as err:
            tail = "\n".join(buf.getvalue().strip().splitlines()[-5:])
            where = f"; reports in {self.report_dir or self.board.reports_dir}"
            if fatal:
                self._abandon()
            raise BackendError(f"spinnaker ({self.board.describe()}): {what} failed: "
                               f"{type(err).__name__}: {err}{where}" + (f"\n{tail}" if tail else "")) from err
        finally:
            self.console += buf.getvalue()

    def _abandon(self) -> None:
        """After a failed sPyNNaker call: end the simulator (quietly) and mark this network closed."""
        if self._materialized:
            with contextlib.suppress(Exception), contextlib.redirect_stderr(io.StringIO()), \
                    contextlib.redirect_stdout(io.StringIO()):
                from spynnaker.pyNN.data import SpynnakerDataView

                if not SpynnakerDataView.is_shutdown():  # sPyNNaker often ends itself on an error
                    self.sim.end()
        self._materialized = False
        self.closed = True
        if _live.get(self.name) is self:
            del _live[self.name]

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
        from spynnaker.pyNN.data import SpynnakerDataView

        with contextlib.suppress(Exception):
            self.report_dir = SpynnakerDataView.get_run_dir_path()

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
            raise BackendError("spinnaker: weights are read and set for a CAM network (build); a graph's weights "
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

    # -- generic graphs (backends.graph): the converted event networks ------------------------
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
        from .graph import DeltaCells, Sources

        other = _live.get(self.name)
        if other is not None and other is not self:
            other.close()
        self.close()
        self._reset()
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
        probe_board(self.board, self.probe_timeout_s)
        _live[self.name] = self
        self.closed = False
        self.t_ms = 0.0

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

    def _population_size(self, population: str) -> int:
        if self.graph is not None:
            for p in self.graph.populations:
                if p.name == population:
                    return p.size
            raise BackendError(f"spinnaker: no population {population!r}")
        return self.spec.population(population).size

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
        from .graph import DeltaCells, split_by_sign

        g, sim, dt = self.graph, self.sim, self.timestep_ms
        self._materialized = True  # from here on, a failure must end sPyNNaker
        bounds = summed_weight_bounds(g)
        fan_in = _pre_neurons(g)
        with self._sim_call("setup"), _spynnaker_config(_graph_config(self.board.text, dt)):
            sim.setup(timestep=dt, min_delay=dt)
        with self._sim_call("building the network"):
            for p in g.populations:
                if isinstance(p, DeltaCells):
                    exc, inh = bounds.get(p.name, (0.0, 0.0))
                    extra = {"max_expected_summed_weight": [max(exc, 1e-3), max(inh, 1e-3)],
                             "incoming_spike_buffer_size": int(min(max(256, fan_in.get(p.name, 0)),
                                                                   MAX_SPIKE_BUFFER))}
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
        from .graph import DeltaCells

        bounds = summed_weight_bounds(self.graph)
        for p in self.graph.populations:
            if not isinstance(p, DeltaCells):
                continue
            with contextlib.suppress(Exception):
                shifts = [int(v) for v in self.populations[p.name]._vertex.get_ring_buffer_shifts()]
                self.ring_buffer[p.name] = {
                    "max_summed_weight_mV": [round(float(b), 4) for b in bounds.get(p.name, (0.0, 0.0))],
                    "shifts": shifts, "weight_step_mV": [2.0 ** (sh + 1 - 16) for sh in shifts]}

    def mapping(self, run_ms: float | None = None) -> dict:
        """Where the network was placed (``parse_reports``), mapping it first if it has not run.

        An unrun network is run for ``run_ms`` (default one timestep): on a real board that is its
        first run, which fixes its inputs.
        """
        self._materialize()
        if not self._has_run:
            self.run_until(run_ms or self.timestep_ms)
        report = parse_reports(self.report_dir)
        if self.graph is not None:
            report.update(_graph_counts(self.graph))
            _check_graph_mapping(report, self.graph)
            for name, rb in self.ring_buffer.items():
                report["populations"][name]["ring_buffer"] = rb
        else:
            report.update(_spec_counts(self.spec))
            _check_mapping(report, self.spec)
        report["board"] = self.board.describe()
        return report

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if _live.get(self.name) is self:
            del _live[self.name]
        if self._materialized:
            self._materialized = False
            with contextlib.suppress(BackendError), self._sim_call("end"):
                self.sim.end()


# -- mapping reports -----------------------------------------------------------------------------
_VERTEX = re.compile(r"^\*\*\*\* Vertex: '(?P<name>[^']*)'")
_POP_SIZE = re.compile(r"^Pop size: (?P<n>\d+)")
_SLICE = re.compile(r"Slice \((?P<lo>\d+):(?P<hi>\d+)\) on core \((?P<x>\d+), (?P<y>\d+), (?P<p>\d+)\)")
_SDRAM_CORE = re.compile(r"^ core \((?P<x>\d+),(?P<y>\d+),(?P<p>\d+)\) (?:Fixed|Constant) (?P<fixed>\d+) bytes"
                         r"(?: Per_timestep (?P<step>[\d.]+) bytes)?")
_SYSTEM_CORE = re.compile(r"Processor (?P<p>\d+): System Vertex: '(?P<name>[^']*)'")
_CHIP = re.compile(r"^\*\*\*\* Chip: \((?P<x>\d+), (?P<y>\d+)\)")


def parse_reports(run_dir: str | os.PathLike | None) -> dict:
    """Read sPyNNaker's placement and SDRAM reports of one run (``[Mode] mode = Info``).

    Returns ``cores``/``chips`` used by the network's populations, ``system_cores`` (sPyNNaker's
    monitors and gatherers on those chips), ``sdram_bytes`` (fixed SDRAM of the population cores) and
    per population ``neurons``, ``cores``, ``chips``, ``sdram_bytes``, ``sdram_per_step_bytes``
    (recording) and ``placements`` [(x, y, p)]. Raises BackendError if the placement report is missing.
    """
    if run_dir is None:
        raise BackendError("spinnaker: no report folder: the network has not been mapped")
    run = Path(run_dir)
    placement = run / "placement_by_vertex_using_graph.rpt"
    if not placement.exists():
        raise BackendError(f"spinnaker: {placement} is missing; sPyNNaker writes it with [Mode] mode = Info "
                           "(or [Reports] write_application_graph_placer_report = True)")
    pops: dict[str, dict] = {}
    current = None
    for line in placement.read_text().splitlines():
        if m := _VERTEX.match(line):
            current = pops.setdefault(m["name"], {"neurons": 0, "placements": []})
        elif current is not None and (m := _POP_SIZE.match(line)):
            current["neurons"] = int(m["n"])
        elif current is not None and (m := _SLICE.search(line)):
            current["placements"].append((int(m["x"]), int(m["y"]), int(m["p"])))
    sdram: dict[tuple, tuple[int, float]] = {}
    sdram_report = run / "chip_sdram_usage_by_core.rpt"
    if sdram_report.exists():
        for line in sdram_report.read_text().splitlines():
            if m := _SDRAM_CORE.match(line):
                sdram[(int(m["x"]), int(m["y"]), int(m["p"]))] = (int(m["fixed"]), float(m["step"] or 0))
    for pop in pops.values():
        cores = pop["placements"]
        pop["cores"] = len(cores)
        pop["chips"] = len({(x, y) for x, y, _ in cores})
        known = [sdram[c] for c in cores if c in sdram]
        pop["sdram_bytes"] = sum(f for f, _ in known) if len(known) == len(cores) else None
        pop["sdram_per_step_bytes"] = sum(s for _, s in known) if len(known) == len(cores) else None
    used_chips = {(x, y) for pop in pops.values() for x, y, _ in pop["placements"]}
    system = 0
    by_core = run / "placement_by_core_using_graph.rpt"
    if by_core.exists():
        chip = None
        for line in by_core.read_text().splitlines():
            if m := _CHIP.match(line):
                chip = (int(m["x"]), int(m["y"]))
            elif chip in used_chips and _SYSTEM_CORE.search(line):
                system += 1
    known_sdram = [p["sdram_bytes"] for p in pops.values()]
    return {
        "cores": sum(p["cores"] for p in pops.values()),
        "chips": len(used_chips),
        "system_cores": system,
        "sdram_bytes": sum(known_sdram) if None not in known_sdram else None,
        "populations": pops,
        "report_dir": str(run),
    }


def _spec_counts(spec) -> dict:
    return {"cue_size": spec.cue_size, "content_size": spec.content_size, "profile": spec.profile.name,
            "neurons": spec.n_neurons, "synapses": spec.n_synapses, "plastic_synapses": spec.n_plastic}


def _check_mapping(report: dict, spec) -> None:
    """Every population of ``spec`` placed with its own size: else the report was misread."""
    for p in spec.populations:
        got = report["populations"].get(p.name)
        if got is None or got["cores"] == 0 or got["neurons"] != p.size:
            raise BackendError(f"spinnaker: population {p.name} ({p.size} neurons) is not placed as expected "
                               f"in {report['report_dir']}: {got}")


def map_memory(cue_size: int, content_size: int, profile="spinnaker", run_ms: float = 1.0,
               **options) -> dict:
    """Build a ``cue_size`` x ``content_size`` CAM on a virtual board, map it and read the reports.

    ``profile``: a name, path or ``cam.profile.Profile``; ``options`` go to ``Backend`` (e.g.
    ``reports_dir``, ``board_version``). Returns the dict of ``parse_reports`` plus ``cue_size``,
    ``content_size``, ``profile``, ``neurons`` (IN excluded), ``synapses``, ``plastic_synapses``,
    ``board`` and ``seconds`` (wall time of build + mapping run, s; sPyNNaker's import excluded).
    """
    from hippocam.cam import network
    from hippocam.cam.operations import check_sizes
    from hippocam.cam.profile import Profile, load

    check_sizes(cue_size, content_size)
    prof = profile if isinstance(profile, Profile) else load(profile)
    spec = network.build_spec(cue_size, content_size, prof)
    backend = Backend(virtual=True, **options)
    try:
        t0 = time.perf_counter()
        backend.build(spec, record="all")
        report = backend.mapping(run_ms)
        report["seconds"] = round(time.perf_counter() - t0, 2)
    finally:
        backend.close()
    return report


def format_map(report: dict) -> str:
    """A text table of ``map_memory``'s result: per population neurons, cores, chips, SDRAM (KiB)."""
    def kib(b):
        return "?" if b is None else f"{b / 1024:.1f}"

    head = (f"CAM {report['cue_size']} x {report['content_size']} (profile {report.get('profile', '?')}) "
            f"on SpiNNaker, {report.get('board', '')}: {report['neurons']} neurons "
            f"(+ {report['populations'].get('IN', {}).get('neurons', 0)} input sources), "
            f"{report['synapses']} synapses ({report['plastic_synapses']} plastic)")
    rows = [("population", "neurons", "cores", "chips", "SDRAM KiB", "rec B/step")]
    for name, p in report["populations"].items():
        rows.append((name, p["neurons"], p["cores"], p["chips"], kib(p["sdram_bytes"]),
                     "?" if p["sdram_per_step_bytes"] is None else f"{p['sdram_per_step_bytes']:g}"))
    total_n = sum(p["neurons"] for p in report["populations"].values())
    rows.append(("total", total_n, report["cores"], report["chips"], kib(report["sdram_bytes"]), ""))
    return _mapping_table(head, rows, report)


# -- graphs (the converted event networks) ---------------------------------------------------
def summed_weight_bounds(graph) -> dict[str, tuple[float, float]]:
    """Per cell population, the largest summed excitatory and inhibitory weight (mV) one cell can get in one
    step when every source of its synapses spikes (each spikes at most once per step)."""
    from .graph import DeltaCells

    sizes = {p.name: p.size for p in graph.populations if isinstance(p, DeltaCells)}
    exc = {n: np.zeros(s) for n, s in sizes.items()}
    inh = {n: np.zeros(s) for n, s in sizes.items()}
    for syn in graph.projections:
        if syn.post_pop not in sizes:
            continue
        w = np.asarray(syn.weight_mV, float)
        post = np.asarray(syn.post)
        size = sizes[syn.post_pop]
        exc[syn.post_pop] += np.bincount(post, weights=np.where(w > 0, w, 0.0), minlength=size)
        inh[syn.post_pop] += np.bincount(post, weights=np.where(w < 0, -w, 0.0), minlength=size)
    return {n: (float(exc[n].max(initial=0.0)), float(inh[n].max(initial=0.0))) for n in sizes}


def _pre_neurons(graph) -> dict[str, int]:
    """Per population, how many distinct neurons send synapses to it (the most spikes it can get in a step)."""
    out: dict[str, int] = {}
    for syn in graph.projections:
        out[syn.post_pop] = out.get(syn.post_pop, 0) + len(np.unique(np.asarray(syn.pre)))
    return out


def _graph_config(text: str, timestep_ms: float) -> str:
    """The configuration for a graph build: ``[Simulation] spikes_per_second`` raised to one spike per step
    (unless the user's configuration sets it), for what sPyNNaker still sizes by rate."""
    cfg = _parser()
    cfg.read_string(text)
    if not cfg.has_section("Simulation"):
        cfg.add_section("Simulation")
    if not cfg.has_option("Simulation", "spikespersecond"):
        cfg.set("Simulation", "spikespersecond", f"{1000.0 / timestep_ms:g}")
    out = io.StringIO()
    cfg.write(out)
    return out.getvalue()


def _graph_counts(graph) -> dict:
    from .graph import DeltaCells

    return {"neurons": graph.n_neurons, "synapses": graph.n_synapses,
            "sources": sum(p.size for p in graph.populations if not isinstance(p, DeltaCells)),
            "timestep_ms": graph.timestep_ms}


def _check_graph_mapping(report: dict, graph) -> None:
    """Every population of ``graph`` placed with its own size."""
    for p in graph.populations:
        got = report["populations"].get(p.name)
        if got is None or got["cores"] == 0 or got["neurons"] != p.size:
            raise BackendError(f"spinnaker: population {p.name} ({p.size} neurons) is not placed as expected "
                               f"in {report['report_dir']}: {got}")


def map_graph(graph, spike_times: dict | None = None, run_ms: float | None = None, **options) -> dict:
    """Map a ``backends.graph.Graph`` on a virtual board and read the reports.

    ``spike_times``: {source population: spike trains (ms)} (the SDRAM of the sources depends on them);
    ``run_ms``: the length of the mapping run (recording SDRAM; default one timestep); ``options`` go to
    ``Backend`` (``reports_dir``, ``neurons_per_core``, ...). Returns ``parse_reports``' dict plus
    ``neurons`` (cells), ``sources``, ``synapses``, ``board``, per cell population ``ring_buffer`` and
    ``seconds`` (wall time of build + mapping run, s; sPyNNaker's import excluded).
    """
    backend = Backend(**{"virtual": True, **options})
    try:
        t0 = time.perf_counter()
        backend.build_graph(graph)
        for name, trains in (spike_times or {}).items():
            backend.set_spike_times(name, trains)
        report = backend.mapping(run_ms)
        report["seconds"] = round(time.perf_counter() - t0, 2)
    finally:
        backend.close()
    return report


def format_graph_map(report: dict, title: str = "graph") -> str:
    """A text table of ``map_graph``'s result: per population neurons, cores, chips, SDRAM (KiB), weight step."""
    def kib(b):
        return "?" if b is None else f"{b / 1024:.1f}"

    head = (f"{title} on SpiNNaker, {report.get('board', '')}: {report['neurons']:,} neurons "
            f"(+ {report['sources']:,} spike sources), {report['synapses']:,} synapses")
    rows = [("population", "neurons", "cores", "chips", "n/core", "SDRAM KiB", "w step mV (exc/inh)")]
    for name, p in report["populations"].items():
        rb = p.get("ring_buffer")
        step = "" if not rb else "/".join(f"{s:.2g}" for s in rb["weight_step_mV"])
        rows.append((name, p["neurons"], p["cores"], p["chips"], math.ceil(p["neurons"] / max(p["cores"], 1)),
                     kib(p["sdram_bytes"]), step))
    total_n = sum(p["neurons"] for p in report["populations"].values())
    rows.append(("total", total_n, report["cores"], report["chips"], "", kib(report["sdram_bytes"]), ""))
    return _mapping_table(head, rows, report)


def _mapping_table(head: str, rows: list, report: dict) -> str:
    """``head``, the rows as an aligned table (header and total ruled off), the system cores and the reports."""
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    lines = [head, ""]
    for i, r in enumerate(rows):
        cells = [str(r[0]).ljust(widths[0])] + [str(v).rjust(w) for v, w in zip(r[1:], widths[1:])]
        lines.append("  ".join(cells).rstrip())
        if i == 0 or i == len(rows) - 2:
            lines.append("  ".join("-" * w for w in widths))
    tail = f"plus {report['system_cores']} sPyNNaker system cores on those chips"
    if "seconds" in report:
        tail += f"; mapped in {report['seconds']} s"
    lines += ["", tail, f"reports: {report['report_dir']}"]
    return "\n".join(lines)
