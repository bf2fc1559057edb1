"""Simulator backends behind one interface, PyNN-style: one small module per simulator.

``get("brian2")`` returns a fresh backend object; each module absorbs its simulator's conventions
(delays, STDP scaling, inhibitory sign, spike-time rules), so callers never branch on the name.

Every backend module defines a class ``Backend`` that satisfies ``interface.Backend`` (build a CAM, give it
inputs, run, read spikes and weights, close); those that also run the converted event networks
(``backends.graph``) satisfy ``interface.GraphBackend``. One network per simulator is open at a time: close one
(or use a ``with`` block) before building the next.
Most are PyNN backends and subclass ``pynn_common.PyNNBackend``.
"""
from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from importlib import metadata

from hippocam.errors import BackendError
from .interface import Backend

DEFAULT = "brian2"


@dataclass(frozen=True)
class BackendInfo:
    name: str
    module: str
    simulator: str  # the distribution that provides it
    install: str  # the command that installs it, from a checkout (hippocam is on no package index)
    summary: str
    profile: str = ""  # its default parameter profile (cam/profiles/NAME.toml); "" = the backend's name
    imports: tuple[str, ...] = ()  # the modules it needs beyond the core install (looked up, not imported)
    reads_membrane: bool = False  # its Backend's ``reads_membrane``: it can stream samples through an event network

    @property
    def default_profile(self) -> str:
        return self.profile or self.name


REGISTRY: dict[str, BackendInfo] = {
    "brian2": BackendInfo("brian2", "hippocam.backends.brian2", "Brian2", "pip install .",
                          "pyNN.brian2, numpy code generation, dt 1 ms (the default)", reads_membrane=True),
    "nest": BackendInfo("nest", "hippocam.backends.nest", "nest-simulator", "pip install '.[nest]'",
                        "pyNN.nest (NEST 3.10), one thread, dt 0.5 ms", imports=("nest", "pyNN.nest"),
                        reads_membrane=True),
    "spinnaker": BackendInfo("spinnaker", "hippocam.backends.spinnaker", "sPyNNaker", "pip install '.[spinnaker]'",
                             "sPyNNaker 7.4.1: maps on a virtual board here; runs on a configured board",
                             imports=("spynnaker", "pyNN.spiNNaker")),
    # part of hippocam itself: its version is hippocam's
    "spinnaker-model": BackendInfo("spinnaker-model", "hippocam.backends.spinnaker_model", "hippocam", "pip install .",
                                   "a step-exact numpy model of SpiNNaker (not a board): CAMs, and graphs in its "
                                   "s16.15 arithmetic", profile="spinnaker", reads_membrane=True),
}


def names() -> list[str]:
    return list(REGISTRY)


def streaming_names() -> list[str]:
    """The backends that can stream samples through a converted event network (they read membranes back)."""
    return [name for name, entry in REGISTRY.items() if entry.reads_membrane]


def info(name: str) -> BackendInfo:
    """The registry entry of ``name``; BackendError if there is none."""
    if name not in REGISTRY:
        raise BackendError(f"unknown backend {name!r}; available: {', '.join(REGISTRY)}")
    return REGISTRY[name]


def _findable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:  # its parent package is missing
        return False


def missing(name: str) -> str | None:
    """Why backend ``name`` cannot be used here (not installed, with the command that installs it), or None.

    Looks the simulator's modules up without importing them (importing NEST starts its kernel), so it is cheap
    enough to ask before any folder is made or any data is loaded; a simulator that is installed but broken
    still fails, as a BackendError, when ``get`` imports it."""
    info_ = info(name)
    absent = [m for m in info_.imports if not _findable(m)]
    if absent:
        return (f"backend {name!r} needs {info_.simulator}, which is not installed (no module {absent[0]!r}); "
                f"install it with: {info_.install}")
    return None


def require(name: str) -> BackendInfo:
    """The registry entry of ``name``; BackendError naming the fix if it is unknown or not installed."""
    problem = missing(name)
    if problem:
        raise BackendError(problem)
    return info(name)


def no_board(name: str) -> str | None:
    """Why backend ``name`` cannot *run* a network here although it is installed, or None: sPyNNaker without a
    configured board (``HIPPOCAM_SPINNAKER_MACHINE`` / ``_CFG``) only maps on a virtual board."""
    if name != "spinnaker" or missing(name):
        return None
    from .spinnaker import board_config  # the configuration only: sPyNNaker itself is not imported
    from .spinnaker.backend import NO_BOARD
    return NO_BOARD if board_config().virtual else None


def version(name: str) -> str:
    """The installed version of what provides backend ``name`` ("-" when it is not installed as a distribution)."""
    try:
        return metadata.version(info(name).simulator)
    except metadata.PackageNotFoundError:  # not installed, or hippocam run from a source tree
        return "-"


def run_facts(name: str) -> str:
    """What an installed backend adds about this run for ``hippocam backends`` (NEST: whether it has MPI and how many
    ranks run), from its module's ``run_facts()``; "" when it has nothing to add."""
    module = importlib.import_module(info(name).module)
    hook = getattr(module, "run_facts", None)
    return hook() if hook else ""


def get(name: str = DEFAULT, **options) -> Backend:
    """Instantiate backend ``name``; raise BackendError naming the fix if unknown or missing."""
    info_ = require(name)
    try:
        module = importlib.import_module(info_.module)
    except ImportError as err:
        raise BackendError(f"backend {name!r} needs {info_.simulator}, which is not installed "
                           f"({err}); install it with: {info_.install}") from None
    return module.Backend(**options)
