"""Which board sPyNNaker talks to, and the configuration file it reads (no sPyNNaker import at module level).

Keyword arguments of ``Backend`` override the environment; ``virtual=True`` overrides both:

- ``virtual=True``, or nothing configured: a virtual SpiNN-5 board (mapped, not executed).
- ``HIPPOCAM_SPINNAKER_CFG=/path/to/file.cfg`` (``config=``): your own sPyNNaker configuration
  (``machine_name`` + ``version``, or ``spalloc_server``); see ``spinnaker_config/board-example.cfg``.
  Its sections override hippocam's settings; its ``[Machine]`` section replaces the virtual board's.
- ``HIPPOCAM_SPINNAKER_MACHINE=host`` (``machine=``): a directly attached board, with
  ``HIPPOCAM_SPINNAKER_VERSION`` (``board_version=``, default 5).
- ``HIPPOCAM_SPINNAKER_REPORTS=dir`` (``reports_dir=``): where sPyNNaker's reports go (default
  ``<tmp>/hippocam-spinnaker-<uid>``; sPyNNaker keeps the newest 10 runs there).
- ``HIPPOCAM_SPINNAKER_TIMEOUT=s`` and ``HIPPOCAM_SPINNAKER_VERBOSE=1``: see ``probe`` and ``Backend``.
- ``HIPPOCAM_SPINNAKER_TIME_SCALE=n`` (``time_scale_factor=``): how many times slower than real time a board
  runs (sPyNNaker's ``time_scale_factor``, a whole number >= 1; ``time_scale_factor``).

sPyNNaker reads ``~/.spynnaker.cfg`` or ``$XDG_CONFIG_HOME/.spynnaker.cfg`` and writes a template into ``~``
when it finds none. ``spynnaker_config`` writes the effective configuration into a temporary folder and points
``XDG_CONFIG_HOME`` at it during ``setup()`` only: nothing is written into the home directory.
"""
from __future__ import annotations

import configparser
import contextlib
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hippocam.errors import BackendError

CONFIG_DIR = Path(__file__).resolve().parents[1] / "spinnaker_config"
VIRTUAL_CFG = CONFIG_DIR / "virtual" / ".spynnaker.cfg"
ENV_CFG = "HIPPOCAM_SPINNAKER_CFG"
ENV_MACHINE = "HIPPOCAM_SPINNAKER_MACHINE"
ENV_VERSION = "HIPPOCAM_SPINNAKER_VERSION"
ENV_REPORTS = "HIPPOCAM_SPINNAKER_REPORTS"
ENV_TIMEOUT = "HIPPOCAM_SPINNAKER_TIMEOUT"
ENV_VERBOSE = "HIPPOCAM_SPINNAKER_VERBOSE"
ENV_TIME_SCALE = "HIPPOCAM_SPINNAKER_TIME_SCALE"

NO_BOARD = ("spinnaker: no SpiNNaker board is configured, so nothing can run here (a virtual board only maps); "
            "set HIPPOCAM_SPINNAKER_MACHINE=<host> or HIPPOCAM_SPINNAKER_CFG=<file.cfg> to run on a board, "
            "or see the mapping with 'hippocam cam map' / 'hippocam event map'")
#: the largest slow-down accepted: beyond it a 1 ms step takes over a second of board time
MAX_TIME_SCALE = 10000


def time_scale_factor(value: int | str | None = None) -> int | None:
    """sPyNNaker's ``time_scale_factor`` from ``value`` or ``HIPPOCAM_SPINNAKER_TIME_SCALE``: a whole number in
    1..10000, or None (not set: the profile's, else sPyNNaker's default of 1). BackendError naming the bad value."""
    where = "time_scale_factor"
    if value is None:
        value, where = os.environ.get(ENV_TIME_SCALE) or None, ENV_TIME_SCALE
    if value is None:
        return None
    try:
        n = int(str(value).strip())
    except ValueError:
        n = 0
    if not 1 <= n <= MAX_TIME_SCALE:
        raise BackendError(f"spinnaker: {where} must be a whole number in 1..{MAX_TIME_SCALE} (how many times "
                           f"slower than real time the board runs), not {value!r}")
    return n


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
        _layer_user_file(cfg, path, config_from)
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
    board = BoardConfig(text=_text(cfg), virtual=is_virtual, version=get("version"),
                        machine_name=get("machinename"), spalloc_server=get("spallocserver"),
                        remote_url=get("remotespinnakerurl"),
                        reports_dir=Path.cwd() if reports_path in (None, "DEFAULT") else Path(reports_path),
                        source=source)
    if not is_virtual and not (board.machine_name or board.spalloc_server or board.remote_url):
        raise BackendError(f"spinnaker: the configuration {source} names no board: set [Machine] "
                           "machine_name (and version) or spalloc_server, or virtual_board = True")
    return board


def _layer_user_file(cfg: configparser.RawConfigParser, path: Path, config_from: str) -> None:
    """Lay the user's file (and the machine_spec_file it names) over ``cfg``; its [Machine] replaces ours."""
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
    if user.has_section("Machine"):
        cfg.remove_section("Machine")
    for section in user.sections():
        if not cfg.has_section(section):
            cfg.add_section(section)
        for key, value in user.items(section):
            cfg.set(section, key, value)


def _text(cfg: configparser.RawConfigParser) -> str:
    out = io.StringIO()
    cfg.write(out)
    return out.getvalue()


def graph_config(text: str, timestep_ms: float) -> str:
    """The configuration ``text`` for a graph build: ``[Simulation] spikes_per_second`` raised to one spike per
    step (unless the user's configuration sets it), for what sPyNNaker still sizes by rate (default 30/s)."""
    cfg = _parser()
    cfg.read_string(text)
    if not cfg.has_section("Simulation"):
        cfg.add_section("Simulation")
    if not cfg.has_option("Simulation", "spikespersecond"):
        cfg.set("Simulation", "spikespersecond", f"{1000.0 / timestep_ms:g}")
    return _text(cfg)


@contextlib.contextmanager
def spynnaker_config(text: str):
    """Make sPyNNaker read ``text`` as its user configuration while the block runs (``setup``).

    The file lives in a temporary folder named by XDG_CONFIG_HOME (sPyNNaker's documented lookup, so it never
    writes its template into ``~``); ``patches.pinned_user_config`` keeps a ``~/.spynnaker.cfg`` out of it.
    """
    from .patches import pinned_user_config

    with tempfile.TemporaryDirectory(prefix="hippocam-spynnaker-cfg-") as folder:
        path = os.path.join(folder, ".spynnaker.cfg")
        Path(path).write_text(text)
        old_xdg = os.environ.get("XDG_CONFIG_HOME")
        os.environ["XDG_CONFIG_HOME"] = folder
        try:
            with pinned_user_config(path):
                yield path
        finally:
            if old_xdg is None:
                os.environ.pop("XDG_CONFIG_HOME", None)
            else:
                os.environ["XDG_CONFIG_HOME"] = old_xdg
