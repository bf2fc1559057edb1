"""Test samples streamed through a converted network (``convert.to_graph``) on a backend, one sample per slot.

Between slots every membrane is set back to its initial value and the read-out's membrane is read (its argmax is the
class). All input and bias spike times are given before the first run: a backend may drop inputs given too close
after a run (NEST) or take them only up front (SpiNNaker).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from hippocam import backends
from hippocam.backends.graph import Graph
from hippocam.backends.interface import GraphBackend
from hippocam.errors import InputError

from hippocam.event_models.data import encodings
from hippocam.event_models.snn.net import Net, check_input
from .convert import Layout, RunParams, to_graph


def _initial(layer, params: RunParams) -> float:
    if layer.neuron is not None:
        return layer.neuron.v_init
    return params.v_init * layer.threshold if layer.spiking else 0.0


@dataclass(frozen=True)
class PyNNResult:
    """logits: read-out membrane (mV) per sample; counts: spikes per spiking layer (B, *shape) (None for the
    read-out); input_spikes (B,); build_s / run_s: wall seconds; n_neurons, n_synapses."""
    logits: np.ndarray
    counts: list
    input_spikes: np.ndarray
    build_s: float
    run_s: float
    n_neurons: int
    n_synapses: int

    @property
    def predictions(self) -> np.ndarray:
        return np.argmax(self.logits, axis=1)


def simulate(net: Net, counts: np.ndarray, backend: str = backends.DEFAULT, params: RunParams = RunParams(),
             progress=None) -> PyNNResult:
    """Run ``net`` on ``backend`` over input counts (B, *input_shape) in 0..D, one sample per slot."""
    counts = np.asarray(counts)
    check_input(net, counts)
    t0 = time.perf_counter()
    dt = params.timestep_ms
    with streaming_backend(backend) as sim:     # closed on a failure too: it holds the simulator until then
        graph, layout = to_graph(net, params, sim.graph_timing(dt))
        sim.build_graph(graph)
        n, slot = len(counts), layout.slot_steps
        trains = stream_samples(sim, net, counts, params, graph, layout)
        build_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        logits = run_stream(sim, net, params, layout, n, progress)
        run_s = time.perf_counter() - t0
        layer_counts = spike_counts(sim, net, n, slot, dt)
    if net.layers[-1].spiking:        # a spiking output layer answers with its spike counts, as in refsim
        logits = layer_counts[-1].reshape(n, -1)
    return PyNNResult(logits, layer_counts, trains.sum(axis=(0, 2)).astype(float), build_s, run_s,
                      graph.n_neurons, graph.n_synapses)


def run_stream(sim: GraphBackend, net: Net, params: RunParams, layout: Layout, n: int, progress=None) -> np.ndarray:
    """Run the ``n`` slots of a built and fed graph; the read-out's membrane (mV) at each slot's read step."""
    dt = params.timestep_ms
    reset = initial_membranes(net, params)
    # a self-driven layer waits below threshold until its window opens (``Layout.opens``, ``hold_mV``)
    window = {f"L{i}": (step * dt, reset[f"L{i}"]) for i, step in layout.opens}
    held = {f"L{i}": v for (i, _), v in zip(layout.opens, layout.hold_mV)}
    reset.update(held)
    for name, v in held.items():          # the first slot starts from the build's membranes
        sim.set_membrane(name, v)
    return sim.run_slots(layout.slot_steps * dt, n, reset, f"L{len(net.layers) - 1}", progress,
                         read_ms=layout.read_steps * dt, **({"window_resets": window} if window else {}))


def stream_samples(sim: GraphBackend, net: Net, counts: np.ndarray, params: RunParams, graph: Graph,
                   layout: Layout) -> np.ndarray:
    """Give ``sim`` (built from ``graph``) the input and bias spikes of every sample, sample i in slot i of
    ``layout.slot_steps`` steps. Returns the input spike trains (T, B, inputs) in 0/1."""
    n, steps, slot, dt = len(counts), params.steps, layout.slot_steps, params.timestep_ms
    trains = encodings.spread(counts, steps, net.levels).reshape(steps, n, -1)      # (T, B, inputs)
    step_idx, sample_idx, neuron_idx = np.nonzero(trains)
    times = (sample_idx * slot + layout.lead_steps + step_idx) * dt
    order = np.lexsort((times, neuron_idx))
    sim.set_spike_times("input", _per_neuron(neuron_idx[order], times[order], trains.shape[2]))
    bias_trains = []
    for i in range(graph.populations[1].size):
        if i < len(net.layers):
            first = layout.bias_first_step(i)
            bias_trains.append(((np.arange(n)[:, None] * slot + first + np.arange(steps)[None, :]) * dt).ravel())
        else:
            bias_trains.append(np.zeros(0))
    sim.set_spike_times("bias", bias_trains)
    if layout.close_steps:
        starts, hop = np.arange(n) * slot, layout.hop_steps
        close = []
        for step, reopens in zip(layout.close_steps, layout.reopens):
            close.append((starts + step - hop) * dt)
            close.append((starts + slot - 1 - hop) * dt if reopens else np.zeros(0))
        sim.set_spike_times("close", close)
    return trains


def initial_membranes(net: Net, params: RunParams) -> dict:
    """Population name -> the membrane (mV) every layer starts each sample with."""
    return {f"L{i}": _initial(layer, params) for i, layer in enumerate(net.layers)}


def spike_counts(sim: GraphBackend, net: Net, n: int, slot_steps: int, dt: float) -> list:
    """Spikes per sample (n, *shape) of every spiking layer (None for the others), from slots of ``slot_steps``."""
    out = []
    for i, layer in enumerate(net.layers):
        if not layer.spiking:
            out.append(None)
            continue
        c = np.zeros((n, int(np.prod(layer.shape))))
        for j, st in enumerate(sim.spikes(f"L{i}")):
            if len(st):
                c[:, j] = np.bincount((np.asarray(st) / dt // slot_steps).astype(int), minlength=n)[:n]
        out.append(c.reshape((n,) + tuple(layer.shape)))
    return out


def streaming_backend(backend: str) -> GraphBackend:
    """A new backend ``backend`` that can stream samples (``GraphBackend.reads_membrane``); InputError if not."""
    sim = backends.get(backend)
    if not getattr(sim, "reads_membrane", False):      # a backend without graphs has no such attribute
        raise InputError(f"backend {backend!r} cannot stream samples through a converted network here (it reads "
                         "no membranes back); use brian2 or nest, and 'hippocam event map' for SpiNNaker")
    return sim


def _per_neuron(neurons: np.ndarray, times: np.ndarray, size: int) -> list[np.ndarray]:
    """Split time stamps sorted by neuron into one array per neuron."""
    bounds = np.searchsorted(neurons, np.arange(size + 1))
    return [times[bounds[j]:bounds[j + 1]] for j in range(size)]
