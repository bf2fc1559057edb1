"""What a backend offers, as typed protocols: ``Backend`` for a CAM (``cam.network.NetworkSpec``), ``GraphBackend``
for the converted event networks (``backends.graph``) as well.

Every backend module defines a class ``Backend`` that satisfies ``Backend`` (``backends.get`` makes one); the PyNN
backends (``pynn_common.PyNNBackend``) satisfy ``GraphBackend``. Times are ms, weights nA (a CAM's) or mV (a
graph's), as each method says. A simulator runs one network per process: building one while another backend of the
same simulator is open is a ``BackendError``; ``close()`` (or a ``with`` block) frees it.
"""
from __future__ import annotations

from typing import Callable, Protocol

import numpy as np

from .graph import Graph, Timing


class Backend(Protocol):
    """A simulator running a CAM. Each backend absorbs its simulator's conventions (delays, STDP scaling,
    inhibitory sign, spike-time rules), so callers never branch on its name."""

    name: str
    #: how far it has simulated (ms)
    t_ms: float
    #: its timestep (ms); None until built, unless given
    timestep_ms: float | None
    closed: bool

    def build(self, spec, record: str = "all") -> None:
        """Create the network of a ``cam.network.NetworkSpec``: latencies are hop latencies (SpiNNaker's
        convention), weights magnitudes (nA); ``record`` is "all" or "output"."""

    def set_inputs(self, trains: list[np.ndarray]) -> None:
        """The full spike times (ms) of every IN neuron, past ones included."""

    def next_input_ms(self) -> float:
        """The earliest input time (ms) still delivered after what has run."""

    def run_until(self, t_ms: float) -> None:
        """Simulate up to ``t_ms``."""

    def spikes(self, population: str) -> list[np.ndarray]:
        """Spike times (ms) of every neuron of ``population`` since the build."""

    def weights(self, projection: str) -> np.ndarray:
        """The weights (nA) of ``projection`` as a pre x post array."""

    def set_weights(self, projection: str, matrix: np.ndarray) -> None:
        """Set the weights (nA magnitudes, pre x post) of the existing connections of ``projection``."""

    def close(self) -> None:
        """End the network and free the simulator for the next one."""


class GraphBackend(Backend, Protocol):
    """A backend that also runs a ``backends.graph.Graph`` (alone, or beside a CAM with ``build(spec, graph=)``)."""

    #: whether ``membrane`` reads membranes back (what streaming samples through a converted network needs)
    reads_membrane: bool
    #: whether ``build(spec, graph=)`` puts a CAM and a graph into one network (the event-to-memory pipeline)
    links_memory: bool
    #: the shortest delay (steps) the simulator accepts
    min_delay_steps: int
    #: steps a delta-synapse hop costs beyond its delay
    delta_extra_latency_steps: int
    #: a graph cell's spike acts on a CAM's cells as an IN spike this many steps later
    delta_to_input_lag_steps: int

    def build(self, spec, record: str = "all", graph: Graph | None = None) -> None:
        """As ``Backend.build``; with ``graph`` (at the spec's timestep) both go into one network."""

    def build_graph(self, graph: Graph) -> None:
        """Create the sources, cells and weighted synapses of ``graph``."""

    def graph_timing(self, timestep_ms: float) -> Timing:
        """What this backend's timing means for laying a graph out in time at ``timestep_ms``."""

    def set_spike_times(self, population: str, trains: list) -> None:
        """Spike times (ms) of every source of ``population``, given before the run that delivers them."""

    def membrane(self, population: str) -> np.ndarray:
        """The membrane (mV) of every cell of ``population`` now."""

    def set_membrane(self, population: str, v_mV) -> None:
        """Set the membrane (mV) of every cell of ``population`` now (between runs)."""

    def reset_cells(self, population: str, v_mV) -> None:
        """Start ``population`` afresh now: membranes to ``v_mV``, synaptic currents to 0 where the timing's
        ``resets_currents``."""

    def run_slots(self, slot_ms: float, n_slots: int, reset: dict, read: str,
                  progress: Callable[[int, int], None] | None = None, read_ms: float | None = None,
                  window_resets: dict | None = None) -> np.ndarray:
        """Run ``n_slots`` slots of ``slot_ms``, reading the membranes (mV) of ``read`` at ``read_ms`` into each,
        setting those of ``window_resets`` (name -> (ms into the slot, mV)) before that step's update, and starting
        every population of ``reset`` (name -> mV) afresh at its end; returns (n_slots, size of read)."""

    def __enter__(self) -> GraphBackend:
        ...

    def __exit__(self, *exc) -> None:
        ...
