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
from dataclasses import dataclass

from hippocam.errors import BackendError
from .interface import Backend

DEFAULT = "brian2"


@dataclass(frozen=True)
class BackendInfo:
    name: str
    module: str
    simulator: str  # the distribution that provides it
    install: str  # the command that installs it
    summary: str
    profile: str = ""  # its default parameter profile (cam/profiles/NAME.toml); "" = the backend's name

    @property
    def default_profile(self) -> str:
        return self.profile or self.name


REGISTRY: dict[str, BackendInfo] = {
    "brian2": BackendInfo("brian2", "hippocam.backends.brian2", "Brian2", "pip install .",
                          "pyNN.brian2, numpy code generation, dt 1 ms (the default)"),
    "nest": BackendInfo("nest", "hippocam.backends.nest", "nest-simulator", "pip install '.[nest]'",
                        "pyNN.nest (NEST 3.10), one thread, dt 0.5 ms"),
    "spinnaker": BackendInfo("spinnaker", "hippocam.backends.spinnaker", "sPyNNaker", "pip install '.[spinnaker]'",
                             "sPyNNaker 7.4.1: maps on a virtual board here; runs on a configured board"),
    "spinnaker-model": BackendInfo("spinnaker-model", "hippocam.backends.spinnaker_model", "numpy", "pip install .",
                                   "a step-exact numpy model of SpiNNaker's fixed-step semantics (not a board)",
                                   profile="spinnaker"),
}


def names() -> list[str]:
    return list(REGISTRY)


def info(name: str) -> BackendInfo:
    """The registry entry of ``name``; BackendError if there is none."""
    if name not in REGISTRY:
        raise BackendError(f"unknown backend {name!r}; available: {', '.join(REGISTRY)}")
    return REGISTRY[name]


def get(name: str = DEFAULT, **options) -> Backend:
    """Instantiate backend ``name``; raise BackendError naming the fix if unknown or missing."""
    info_ = info(name)
    try:
        module = importlib.import_module(info_.module)
    except ImportError as err:
        raise BackendError(f"backend {name!r} needs {info_.simulator}, which is not installed "
                           f"({err}); install it with: {info_.install}") from None
    return module.Backend(**options)
