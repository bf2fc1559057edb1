"""A ``net.Net`` as a PyNN network on any backend, and test samples streamed through it.

The network (``to_graph``) is the reference SNN of ``refsim`` in PyNN's terms (``backends.graph``): every layer a
population of ``IF_curr_delta`` cells (threshold theta mV, a spike adds its weight in mV at once, tau_m so long
that there is no leak), the read-out a population that never fires; weights are the chains of ``connectivity``.
What differs from ``refsim``, and how it is absorbed:

* **Latency.** ``refsim`` has none; on a backend every hop takes at least ``Backend.min_latency_ms`` (the probe
  ``backends.graph.probe`` measures it), and a current-based cell's membrane one step more. Each layer gets an
  offset (steps from an input step to the step its membrane holds it: one hop more than the latest of its
  sources) and each projection the latency that makes every path (shortcuts included) arrive in the same step, as
  in ``refsim``. The slot ends where the backend reads the read-out's membrane of the last step.
* **Bias.** A constant current would act before the first input arrives; instead one bias source per layer fires
  in every step of that layer's window with per-cell weights b (mV per step), which is exactly ``refsim``'s
  I[t] = ... + b.
* **Reset.** PyNN cells reset to a value, never by subtraction. The oracle is ``refsim`` with ``reset="value"``
  and the same ``v_reset``, which Brian2 reproduces spike for spike; ``refsim`` with reset by subtraction shows
  what the reset to a value costs.
* **Samples** run one after another in one simulation, each in its own slot of steps; between slots every
  membrane is set back to its initial value and the read-out's membrane is read (its argmax is the class).

All input and bias spike times are given before the first run (NEST drops inputs given too close after a run;
SpiNNaker takes them only up front).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from dataclasses import dataclass

import numpy as np

from hippocam import backends
from hippocam.backends.graph import CUBA_EXTRA_STEPS, CubaCells, DeltaCells, Graph, Sources, Synapses, Timing
from hippocam.errors import InputError

from hippocam.event_models.data import encodings
from hippocam.event_models.snn.connectivity import layer_matrices
from hippocam.event_models.snn.net import Net, bias_term, chain_delay, check_input

READOUT_THRESHOLD_MV = 1e9   # never reached: the read-out integrates
LEAD_STEPS = 2               # first input step of a slot (NEST needs input later than min_delay)
CLOSE_MV = -1e6              # closes a current-based layer's window


@dataclass(frozen=True)
class RunParams:
    """steps: T; v_init / v_reset: the initial and the reset membrane as fractions of each layer's threshold
    (resetting to theta/2 rather than 0 keeps, on average, the residue that reset by subtraction would keep:
    digits-cnn at T = 8 scores 95.3 % so against 48.1 % with a reset to 0 and 98.2 % with subtraction);
    timestep_ms: the PyNN step (one ``refsim`` step)."""
    steps: int = 8
    v_init: float = 0.5
    v_reset: float = 0.5
    timestep_ms: float = 1.0

    def __post_init__(self):
        if isinstance(self.steps, bool) or not isinstance(self.steps, (int, np.integer)) or not \
                1 <= self.steps <= 4096:
            raise InputError(f"timesteps must be an integer in 1..4096, got {self.steps!r}")


@dataclass(frozen=True)
class Layout:
    """Where things are in time, in steps. ``offset[i]``: from an input step to the step in which layer i's
    membrane holds it (the same step in ``refsim``); ``arrive[i]``: to the step its inputs arrive in (one less for a
    current-based layer: ``CUBA_EXTRA_STEPS``); ``hop_steps``: the shortest hop; ``settled_steps``: the first step
    of a slot after every layer's window; ``read_steps``: when (steps into the slot) the read-out is read;
    ``slot_steps``: one sample's slot."""
    offset: tuple[int, ...]
    arrive: tuple[int, ...]
    hop_steps: int
    settled_steps: int
    read_steps: int
    slot_steps: int
    close_steps: tuple[int, ...] = ()    # per closed layer: the step its closing inhibition arrives in
    reopens: tuple[bool, ...] = ()       # per closed layer: whether that is taken back in the slot's last step

    def bias_first_step(self, layer: int) -> int:
        """The step layer ``layer``'s bias source first fires in (its spikes arrive with the layer's inputs)."""
        return LEAD_STEPS + self.arrive[layer] - self.hop_steps


def _current_based(layer) -> bool:
    return layer.neuron is not None and layer.neuron.i_decay is not None


def to_graph(net: Net, params: RunParams, timing: Timing) -> tuple[Graph, Layout]:
    """The PyNN graph of ``net`` for a backend of ``timing`` (``Backend.graph_timing``) and where it sits in time."""
    if net.snn and tuned_params(net, params) != params:
        raise InputError(f"{net.name} was fine-tuned for a reset to {net.snn['v_reset']:g} theta from "
                         f"{net.snn['v_init']:g} theta, not {params.v_reset:g} from {params.v_init:g}; run it with "
                         "pynn_net.tuned_params(net, params)")
    dt = params.timestep_ms
    hop = max(1, int(round(timing.hop_ms / dt)))
    offset: list[int] = []
    arrive: list[int] = []
    for layer in net.layers:
        arrive.append(hop + max((0 if src < 0 else offset[src]) for src, _ in layer.inputs))
        offset.append(arrive[-1] + (CUBA_EXTRA_STEPS if _current_based(layer) else 0))
    settled = LEAD_STEPS + max(offset) + params.steps
    if not net.layers[-1].spiking and offset[-1] == max(offset):
        read = settled - timing.read_lag_steps      # the read-out's membrane of refsim's last step
    else:
        read = settled + 1
    lags = [max(chain_delay(chain) for _, chain in layer.inputs) for layer in net.layers]
    # a delayed spike refsim drops (it would arrive after T) still arrives here, within the slot
    slot = max(read, settled, *(LEAD_STEPS + arrive[i] + params.steps + lags[i] for i in range(len(net.layers))))
    # refsim stops after T steps; a current outlasts them and a late delayed spike still arrives: either would fire
    # a layer after its window, so a deep inhibition (of v, or of the current) closes it in the step after
    closed = [i for i, layer in enumerate(net.layers) if layer.spiking and (_current_based(layer) or lags[i])]
    closed += [i for i, layer in enumerate(net.layers) if not layer.spiking and _current_based(layer)]
    closes = {i: LEAD_STEPS + arrive[i] + params.steps for i in closed}           # first step after the window
    reopen: dict[int, float] = {}
    current_based = [i for i in closed if _current_based(net.layers[i])]
    if current_based and not timing.resets_currents:
        # the backend cannot zero a current: let it die away (to 1e-12) before the slot ends, then take back the
        # closing inhibition in the slot's last step, exactly as much of it as is left
        decay = max(net.layers[i].neuron.i_decay for i in current_based)
        flush = int(np.ceil(np.log(1e-12) / np.log(decay)))
        if flush > 4096:
            raise InputError(f"{net.name}: a synaptic current decaying by {decay:g} per step takes {flush} steps to die "
                             "away on this backend, which cannot reset it; use brian2")
        slot = max(slot, max(closes[i] for i in current_based) + flush + 1)
        reopen = {i: -CLOSE_MV * float(net.layers[i].neuron.i_decay) ** (slot - 1 - closes[i]) for i in current_based}
    pops: list = [Sources("input", int(np.prod(net.input_shape))), Sources("bias", max(2, len(net.layers)))]
    if closed:   # two sources per closed layer: closing its window, and taking that back (a current, on NEST)
        pops.append(Sources("close", 2 * len(closed)))
    projs: list = []
    for i, layer in enumerate(net.layers):
        size = int(np.prod(layer.shape))
        pops.append(_cells(layer, f"L{i}", size, params))
        for (src, lag), m in layer_matrices(net, i).items():
            coo = m.tocoo()
            src_offset = 0 if src < 0 else offset[src]
            label = f"L{i}.from.{'input' if src < 0 else f'L{src}'}" + (f".delay{lag}" if lag else "")
            projs.append(Synapses(label, "input" if src < 0 else f"L{src}", f"L{i}", coo.col, coo.row, coo.data,
                                  (arrive[i] - src_offset + lag) * dt))
        per_cell = np.broadcast_to(bias_term(layer, snn=True)[0], layer.shape).ravel()
        if np.any(per_cell != 0):
            projs.append(Synapses(f"L{i}.bias", "bias", f"L{i}", np.full(size, i), np.arange(size), per_cell,
                                  hop * dt))
        if i in closes:
            j = 2 * closed.index(i)
            projs.append(Synapses(f"L{i}.close", "close", f"L{i}", np.full(size, j), np.arange(size),
                                  np.full(size, CLOSE_MV), hop * dt))
            if i in reopen:
                projs.append(Synapses(f"L{i}.reopen", "close", f"L{i}", np.full(size, j + 1), np.arange(size),
                                      np.full(size, reopen[i]), hop * dt))
    layout = Layout(tuple(offset), tuple(arrive), hop, settled, read, slot, tuple(closes[i] for i in closed),
                    tuple(i in reopen for i in closed))
    return Graph(dt, tuple(pops), tuple(projs)), layout


def _cells(layer, name: str, size: int, params: RunParams):
    """The population of a layer: the trained nets' IF neurons (IF_curr_delta), or an imported layer's leak and
    synaptic current (IF_curr_delta, or IF_curr_exp with a current)."""
    theta = float(layer.threshold) if layer.spiking else READOUT_THRESHOLD_MV
    neuron = layer.neuron
    if neuron is None:
        if not layer.spiking:
            return DeltaCells(name, size, v_thresh_mV=theta, record_spikes=False)
        return DeltaCells(name, size, v_thresh_mV=theta, v_reset_mV=params.v_reset * theta,
                          v_init_mV=params.v_init * theta)
    if layer.spiking and neuron.reset != "value":
        raise InputError(f"layer {layer.name}: reset by subtraction has no PyNN cell; PyNN cells reset to a value")
    dt = params.timestep_ms
    tau_m = -dt / np.log(neuron.v_decay) if neuron.v_decay < 1 else DeltaCells.tau_m_ms
    common = dict(v_thresh_mV=theta, v_reset_mV=neuron.v_reset, v_init_mV=neuron.v_init, v_rest_mV=neuron.v_leak,
                  tau_m_ms=float(tau_m), record_spikes=layer.spiking)
    if neuron.i_decay is None:
        return DeltaCells(name, size, **common)
    if not 0 < neuron.i_decay < 1:
        raise InputError(f"layer {layer.name}: its synaptic current decays by {neuron.i_decay:g} per step; PyNN's "
                         "IF_curr_exp needs a decay strictly between 0 and 1")
    tau_syn = float(-dt / np.log(neuron.i_decay))
    if abs(tau_syn - tau_m) < 1e-6 * tau_m:
        raise InputError(f"layer {layer.name}: the current and the membrane decay alike (tau {tau_m:g} ms): "
                         "IF_curr_exp is not built for equal time constants; change one of them slightly")
    return CubaCells(name, size, tau_syn_ms=tau_syn, **common)


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
    sim = streaming_backend(backend)
    dt = params.timestep_ms
    graph, layout = to_graph(net, params, sim.graph_timing(dt))
    sim.build_graph(graph)
    n, slot = len(counts), layout.slot_steps
    trains = stream_samples(sim, net, counts, params, graph, layout)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    readout = f"L{len(net.layers) - 1}"
    logits = sim.run_slots(slot * dt, n, initial_membranes(net, params), readout, progress,
                           read_ms=layout.read_steps * dt)
    run_s = time.perf_counter() - t0
    layer_counts = spike_counts(sim, net, n, slot, dt)
    sim.close()
    if net.layers[-1].spiking:        # a spiking output layer answers with its spike counts, as in refsim
        logits = layer_counts[-1].reshape(n, -1)
    return PyNNResult(logits, layer_counts, trains.sum(axis=(0, 2)).astype(float), build_s, run_s,
                      graph.n_neurons, graph.n_synapses)


def stream_samples(sim, net: Net, counts: np.ndarray, params: RunParams, graph: Graph, layout: Layout) -> np.ndarray:
    """Give ``sim`` (built from ``graph``) the input and bias spikes of every sample, sample i in slot i of
    ``layout.slot_steps`` steps. Returns the input spike trains (T, B, inputs) in 0/1."""
    n, steps, slot, dt = len(counts), params.steps, layout.slot_steps, params.timestep_ms
    trains = encodings.spread(counts, steps, net.levels).reshape(steps, n, -1)      # (T, B, inputs)
    step_idx, sample_idx, neuron_idx = np.nonzero(trains)
    times = (sample_idx * slot + LEAD_STEPS + step_idx) * dt
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


def spike_counts(sim, net: Net, n: int, slot_steps: int, dt: float) -> list:
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


def streaming_backend(backend: str):
    sim = backends.get(backend)
    if not getattr(sim, "reads_membrane", False):
        raise InputError(f"backend {backend!r} cannot stream samples through a converted network here (it reads "
                         "no membranes back); use brian2 or nest, and 'hippocam event map' for SpiNNaker")
    return sim


def _per_neuron(neurons: np.ndarray, times: np.ndarray, size: int) -> list[np.ndarray]:
    """Split time stamps sorted by neuron into one array per neuron."""
    bounds = np.searchsorted(neurons, np.arange(size + 1))
    return [times[bounds[j]:bounds[j + 1]] for j in range(size)]


CALIBRATION_SAMPLES = 256


def _fingerprint(net: Net) -> str:
    from hippocam.event_models.snn.ops import op_array, op_key
    digest = hashlib.sha1(json.dumps([net.name, net.levels, list(net.input_shape), net.dataset],
                                     sort_keys=True, default=str).encode())
    for layer in net.layers:
        digest.update(np.float64(layer.threshold).tobytes())
        digest.update(json.dumps([list(layer.shape), layer.spiking, layer.neuron.as_dict() if layer.neuron else None,
                                  [[src, [op_key(op) for op in chain]]
                                   for src, chain in layer.inputs]], default=str).encode())
        for b in (layer.bias, layer.snn_bias):
            if b is not None:
                digest.update(np.ascontiguousarray(b, dtype=np.float64).tobytes())
        for _, chain in layer.inputs:
            for op in chain:
                if op_array(op) is not None:
                    digest.update(np.ascontiguousarray(op_array(op), dtype=np.float64).tobytes())
    return digest.hexdigest()[:16]


def calibrated_for_reset_to_value(net: Net, params: RunParams = RunParams(), folder=None) -> Net:
    """``net`` with its SNN biases calibrated again (``calibrate.calibrate``, one round on the first 256 training
    inputs) for what PyNN cells do: reset to ``params.v_reset`` theta. Cached with the data sets."""
    from hippocam.event_models.data import datasets
    from hippocam.event_models.snn import refsim
    from hippocam.event_models.data.cache import cached
    from hippocam.event_models.snn.calibrate import calibrate

    sim_params = refsim.SimParams(steps=params.steps, reset="value", v_reset=params.v_reset, v_init=params.v_init)

    def build():
        x, _ = datasets.load_split(net.dataset, "train", limit=CALIBRATION_SAMPLES, folder=folder)
        tuned, _ = calibrate(net, x, params.steps, params=sim_params)
        return {f"L{i}": np.asarray(layer.snn_bias, float) for i, layer in enumerate(tuned.layers) if layer.spiking}

    if not net.dataset:
        raise InputError(f"{net.name}: the model does not say which data it was trained on, so it cannot be "
                         "calibrated; simulate it as it is with pynn_net.simulate")
    biases = cached(f"{net.name}-reset-to-value-bias",
                    {"net": _fingerprint(net), "steps": params.steps, "v_reset": params.v_reset,
                     "v_init": params.v_init, "samples": CALIBRATION_SAMPLES}, build, folder)
    layers = tuple(dataclasses.replace(layer, snn_bias=biases[f"L{i}"]) if f"L{i}" in biases else layer
                   for i, layer in enumerate(net.layers))
    return dataclasses.replace(net, layers=layers)


V_RESET_CANDIDATES = (0.5, 0.6, 0.7, 0.8)


def choose_v_reset(net: Net, steps: int, folder=None, candidates=V_RESET_CANDIDATES) -> tuple[float, dict]:
    """The reset value (fraction of theta) that serves ``net`` best at ``steps`` with PyNN's reset to a value:
    each candidate's biases are recalibrated (``calibrated_for_reset_to_value``), then scored by ``refsim`` on
    256 other training inputs. Returns (best, {candidate: training accuracy}); cached with the data sets."""
    from hippocam.event_models.data import datasets
    from hippocam.event_models.snn import refsim
    from hippocam.event_models.data.cache import cached

    def build():
        x, y = datasets.load_split(net.dataset, "train", limit=2 * CALIBRATION_SAMPLES, folder=folder)
        x, y = x[CALIBRATION_SAMPLES:], y[CALIBRATION_SAMPLES:]      # not the calibration inputs
        scores = []
        for v in candidates:
            tuned = calibrated_for_reset_to_value(net, RunParams(steps=steps, v_reset=v), folder)
            pred = refsim.simulate(tuned, x, refsim.SimParams(steps=steps, reset="value", v_reset=v)).predictions
            scores.append(float(np.mean(pred == y)))
        return {"candidates": np.asarray(candidates, float), "accuracy": np.asarray(scores)}

    if not net.dataset:
        raise InputError(f"{net.name}: the model does not say which data it was trained on; give v_reset yourself")
    found = cached(f"{net.name}-v-reset", {"net": _fingerprint(net), "steps": steps,
                                           "candidates": list(candidates), "samples": CALIBRATION_SAMPLES},
                   build, folder)
    scores = {float(c): float(a) for c, a in zip(found["candidates"], found["accuracy"])}
    return max(scores, key=lambda c: (scores[c], -abs(c - 0.5))), scores


def tuned_params(net: Net, params: RunParams) -> RunParams:
    """``params`` with the reset and start values a fine-tuned net (``Net.snn``) was trained for; a net trained in
    count space takes ``params`` as they are. A T other than the tuned one is allowed (the weights then serve it
    less well)."""
    snn = net.snn
    if not snn:
        return params
    if snn.get("reset") != "value":
        raise InputError(f"{net.name} was fine-tuned for reset {snn.get('reset')!r}; PyNN cells reset to a value")
    return dataclasses.replace(params, v_reset=float(snn["v_reset"]), v_init=float(snn["v_init"]))


def compare(net: Net, counts: np.ndarray, labels: np.ndarray, backend: str, params: RunParams = RunParams(),
            progress=None, calibrate: bool = True, folder=None, shipped: Net | None = None) -> dict:
    """Run ``net`` on ``backend`` and set it against the reference SNN: the same network with the same reset to
    a value (the oracle: should agree everywhere), and the ``shipped`` SNN (default ``net``) with reset by
    subtraction (what PyNN's reset to a value costs). ``calibrate``: recalibrate the biases for the reset to a
    value first; a net fine-tuned for it (``Net.snn``) runs as it is, with its own reset value."""
    from hippocam.event_models.snn import refsim
    streaming_backend(backend)      # before minutes of calibration
    shipped = shipped if shipped is not None else net
    tuned = bool(net.snn)
    if tuned:
        params = tuned_params(net, params)
    elif calibrate:
        net = calibrated_for_reset_to_value(net, params, folder)
    t0 = time.perf_counter()
    oracle = refsim.simulate(net, counts, refsim.SimParams(steps=params.steps, reset="value",
                                                           v_reset=params.v_reset, v_init=params.v_init))
    ref_s = time.perf_counter() - t0
    subtract = refsim.simulate(shipped, counts, refsim.SimParams(steps=params.steps, v_init=params.v_init))
    got = simulate(net, counts, backend, params, progress)
    labels = np.asarray(labels)
    spiking = [i for i, layer in enumerate(net.layers) if layer.spiking]
    exact = [bool(np.array_equal(got.counts[i], oracle.counts[i])) for i in spiking]
    n = len(labels)
    return {"model": net.name, "backend": backend, "samples": int(n), "steps": params.steps,
            "v_reset": params.v_reset, "v_init": params.v_init,
            "calibrated_for_reset_to_value": calibrate and not tuned,
            "fine_tuned_for_reset_to_value": tuned,
            "accuracy": float(np.mean(got.predictions == labels)),
            "reference_accuracy": float(np.mean(oracle.predictions == labels)),
            "agreement": float(np.mean(got.predictions == oracle.predictions)),
            "subtract_accuracy": float(np.mean(subtract.predictions == labels)),
            "agreement_with_subtract": float(np.mean(got.predictions == subtract.predictions)),
            "layers_spike_exact": exact,
            "spikes_per_sample": float(sum(got.counts[i].sum() for i in spiking) / n),
            "reference_spikes_per_sample": float(sum(oracle.counts[i].sum() for i in spiking) / n),
            "input_spikes_per_sample": float(got.input_spikes.mean()),
            "neurons": got.n_neurons, "synapses": got.n_synapses, "build_s": got.build_s, "run_s": got.run_s,
            "samples_per_s": n / got.run_s if got.run_s > 0 else float("inf"),
            "reference_samples_per_s": n / ref_s if ref_s > 0 else float("inf")}


def table(result: dict) -> str:
    r = result
    lines = [f"{r['model']} on {r['backend']}: {r['samples']} test samples, T={r['steps']}, reset to "
             f"{r['v_reset']:g} theta; {r['neurons']:,} neurons, {r['synapses']:,} synapses "
             f"(built in {r['build_s']:.1f} s)",
             f"  accuracy {100 * r['accuracy']:.2f}%   reference SNN (same reset) {100 * r['reference_accuracy']:.2f}%"
             f"   agreement {100 * r['agreement']:.1f}%   spike counts identical in "
             f"{sum(r['layers_spike_exact'])}/{len(r['layers_spike_exact'])} layers",
             f"  {_weights_line(r)}; the shipped SNN with reset by subtraction (not available in PyNN) "
             f"{100 * r['subtract_accuracy']:.2f}%, agreement "
             f"{100 * r['agreement_with_subtract']:.1f}%",
             f"  spikes per sample {r['spikes_per_sample']:,.0f} (reference {r['reference_spikes_per_sample']:,.0f}),"
             f" input spikes {r['input_spikes_per_sample']:,.0f}",
             f"  speed: {r['samples_per_s']:.2f} samples/s on {r['backend']}, reference SNN "
             f"{r['reference_samples_per_s']:.1f} samples/s"]
    return "\n".join(lines)


def _weights_line(r: dict) -> str:
    if r.get("fine_tuned_for_reset_to_value"):
        return "weights fine-tuned for the reset to a value (finetune.py)"
    return f"biases {'recalibrated' if r['calibrated_for_reset_to_value'] else 'as shipped'} for the reset to a value"
