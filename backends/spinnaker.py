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
- A profile may set ``[extra] time_scale_factor`` (sPyNNaker's slow-down of real time, integer).

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

from . import BackendError
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


# -- the backend ---------------------------------------------------------------------------------
class Backend(PyNNBackend):
    name = "spinnaker"
    extra_latency_steps = 0
    dendritic_delay_fraction = 1.0

    def __init__(self, timestep_ms: float | None = None, *, config: str | os.PathLike | None = None,
                 machine: str | None = None, board_version: int | str | None = None,
                 reports_dir: str | os.PathLike | None = None, virtual: bool | None = None,
                 probe_timeout_s: float | None = None, verbose: bool | None = None):
        """Options as in the module doc; ``verbose`` shows sPyNNaker's progress bars (else kept in ``console``)."""
        self.board = board_config(config, machine, board_version, reports_dir, virtual)
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
        return sim

    def setup_options(self) -> dict:
        tsf = self.spec.profile.extra.get("time_scale_factor") if self.spec is not None else None
        return {"time_scale_factor": int(tsf)} if tsf else {}

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
        if any(self._trains):
            return self.sim.Population(p.size, self.sim.SpikeSourceArray(spike_times=self._trains), label=p.name)
        # a list of lists without any spike crashes sPyNNaker 7.4.1: give a flat [], and keep its warning
        # "SpikeSourceArray has no spike times" (which it repeats at exit) quiet: here it is intended
        logger = logging.getLogger("spynnaker.pyNN.models.spike_source.spike_source_array_vertex")
        level = logger.level
        logger.setLevel(logging.ERROR)
        try:
            return self.sim.Population(p.size, self.sim.SpikeSourceArray(spike_times=[]), label=p.name)
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
            self._has_run = True
            self.t_ms = t_ms

    def _note_report_dir(self) -> None:
        from spynnaker.pyNN.data import SpynnakerDataView

        with contextlib.suppress(Exception):
            self.report_dir = SpynnakerDataView.get_run_dir_path()

    def spikes(self, population: str) -> list[np.ndarray]:
        """Spike times (ms) per neuron; empty on a virtual board (nothing is executed there)."""
        self._check_open()
        size = self.spec.population(population).size
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
            self.run_until(run_ms or self.timestep_ms)
        report = parse_reports(self.report_dir)
        report.update(_spec_counts(self.spec))
        report["board"] = self.board.describe()
        _check_mapping(report, self.spec)
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
    from cam import network
    from cam.operations import check_sizes
    from cam.profile import Profile, load

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
