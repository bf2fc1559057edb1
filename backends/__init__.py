"""Simulator backends behind one interface, PyNN-style: one small module per simulator.

``get("brian2")`` returns a fresh backend object; each module absorbs its simulator's conventions
(delays, STDP scaling, inhibitory sign, spike-time rules), so callers never branch on the name.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass

DEFAULT = "brian2"


class BackendError(RuntimeError):
    """A backend is unknown, not installed, or cannot run what was asked; the message says how to fix it."""


@dataclass(frozen=True)
class BackendInfo:
    name: str
    module: str
    simulator: str  # the distribution that provides it
    install: str  # the command that installs it
    summary: str


REGISTRY: dict[str, BackendInfo] = {
    "brian2": BackendInfo("brian2", "backends.brian2", "Brian2", "pip install .",
                          "pyNN.brian2, numpy code generation, dt 1 ms (the default)"),
}


def names() -> list[str]:
    return list(REGISTRY)


def get(name: str = DEFAULT, **options):
    """Instantiate backend ``name``; raise BackendError naming the fix if unknown or missing."""
    info = REGISTRY.get(name)
    if info is None:
        raise BackendError(f"unknown backend {name!r}; available: {', '.join(REGISTRY)}")
    try:
        module = importlib.import_module(info.module)
    except ImportError as err:
        raise BackendError(f"backend {name!r} needs {info.simulator}, which is not installed "
                           f"({err}); install it with: {info.install}") from None
    return module.Backend(**options)
