"""A ``net.Net`` as a backend-neutral PyNN graph (``backends.graph``) and where it sits in time.

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
* **Reset.** The trained nets' cells reset to a value (PyNN's rule). The oracle is ``refsim`` with
  ``reset="value"`` and the same ``v_reset``, which Brian2 reproduces spike for spike; ``refsim`` with reset by
  subtraction shows what the reset to a value costs. An imported layer read with ``reset="subtract"`` gets cells
  that subtract (``DeltaCells.reset``), which Brian2 builds and NEST refuses.
* **Samples** run one after another in one simulation, each in its own slot of steps (``stream``); a slot's input
  starts in the backend's first input step (``Timing.lead_steps``).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from hippocam.backends.graph import CUBA_EXTRA_STEPS, CubaCells, DeltaCells, Graph, Sources, Synapses, Timing
from hippocam.errors import InputError

from hippocam.event_models.snn.connectivity import layer_matrices
from hippocam.event_models.snn.net import Net, bias_term, chain_delay
from . import close

READOUT_THRESHOLD_MV = 1e9   # never reached: the read-out integrates


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
    ``slot_steps``: one sample's slot; ``lead_steps``: the first step of a slot that holds input (the backend's
    ``Timing.lead_steps``)."""
    offset: tuple[int, ...]
    arrive: tuple[int, ...]
    hop_steps: int
    settled_steps: int
    read_steps: int
    slot_steps: int
    lead_steps: int
    close_steps: tuple[int, ...] = ()    # per closed layer: the step its closing inhibition arrives in
    reopens: tuple[bool, ...] = ()       # per closed layer: whether that is taken back in the slot's last step
    opens: tuple[tuple[int, int], ...] = ()   # (layer, step) of a self-driven layer: held below threshold from
    #                                           the slot's start, its membrane is set to v_init in that step
    close_mV: tuple[float, ...] = ()     # per closed layer: its closing inhibition (``close.closing_mV``; 0: none)
    hold_mV: tuple[float, ...] = ()      # per entry of ``opens``: the membrane it is held at (``close.holding_mV``)

    def bias_first_step(self, layer: int) -> int:
        """The step layer ``layer``'s bias source first fires in (its spikes arrive with the layer's inputs)."""
        return self.lead_steps + self.arrive[layer] - self.hop_steps


def _current_based(layer) -> bool:
    return layer.neuron is not None and layer.neuron.i_decay is not None


def to_graph(net: Net, params: RunParams, timing: Timing) -> tuple[Graph, Layout]:
    """The PyNN graph of ``net`` for a backend of ``timing`` (``Backend.graph_timing``) and where it sits in time."""
    if net.snn and tuned_params(net, params) != params:
        raise InputError(f"{net.name} was fine-tuned for a reset to {net.snn['v_reset']:g} theta from "
                         f"{net.snn['v_init']:g} theta, not {params.v_reset:g} from {params.v_init:g}; run it with "
                         "hippocam.event_models.pynn.tuned_params(net, params)")
    dt = params.timestep_ms
    hop = max(1, int(round(timing.hop_ms / dt)))
    lead = timing.lead_steps
    _check_recurrence(net, timing)
    offset: list[int] = []
    arrive: list[int] = []
    for i, layer in enumerate(net.layers):     # a layer's own recurrent weights (src == i) wait for nothing
        arrive.append(hop + max((0 if src < 0 else offset[src]) for src, _ in layer.inputs if src < i))
        offset.append(arrive[-1] + (CUBA_EXTRA_STEPS if _current_based(layer) else 0))
    settled = lead + max(offset) + params.steps
    if not net.layers[-1].spiking and offset[-1] == max(offset):
        read = settled - timing.read_lag_steps      # the read-out's membrane of refsim's last step
    else:
        read = settled + 1
    lags = [max(chain_delay(chain) for _, chain in layer.inputs) for layer in net.layers]
    # a delayed spike refsim drops (it would arrive after T) still arrives here, within the slot
    slot = max(read, settled, *(lead + arrive[i] + params.steps + lags[i] for i in range(len(net.layers))))
    # refsim stops after T steps; a current outlasts them, a late delayed spike still arrives, a subtraction can
    # leave v above threshold: any of them would fire a layer after its window, so an inhibition (of v, or of the
    # current) closes it in the step after, just deep enough (``close``)
    closed = [i for i, layer in enumerate(net.layers) if layer.spiking and (_current_based(layer) or lags[i] or
                                                                            _subtracts(layer))]
    closed += [i for i, layer in enumerate(net.layers) if not layer.spiking and _current_based(layer)]
    # a layer that fires at rest (v_leak above threshold) would fire before its window and after it: it is held
    # below threshold from the slot's start, set to v_init where its window starts, and closed after it
    driven = [i for i, layer in enumerate(net.layers) if _self_driven(layer)]
    closed += [i for i in driven if i not in closed]
    closes = {i: lead + arrive[i] + params.steps for i in closed}           # first step after the window
    opens = {i: lead + offset[i] for i in driven}
    reopen: dict[int, int] = {}       # closed layer -> steps from its close to the slot's last step
    current_based = [i for i in closed if _current_based(net.layers[i])]
    if current_based and not timing.resets_currents:
        # the backend cannot zero a current: let it die away (to 1e-12) before the slot ends, then take back the
        # closing inhibition in the slot's last step, exactly as much of it as is left
        decay = max(net.layers[i].neuron.i_decay for i in current_based)
        flush = int(np.ceil(np.log(1e-12) / np.log(decay)))
        if flush > 4096:
            raise InputError(f"{net.name}: a synaptic current decaying by {decay:g} per step takes {flush} steps to "
                             "die away on this backend, which cannot reset it; use brian2")
        slot = max(slot, max(closes[i] for i in current_based) + flush + 1)
        reopen = {i: slot - 1 - closes[i] for i in current_based}
    pops: list = [Sources("input", int(np.prod(net.input_shape))),
                  Sources("bias", max(timing.min_sources, len(net.layers)))]
    if closed:   # two sources per closed layer: closing its window, and taking that back (a current it cannot reset)
        pops.append(Sources("close", 2 * len(closed)))
    projs: list = []
    pulse: dict[int, float] = {}
    hold: dict[int, float] = {}
    for i, layer in enumerate(net.layers):
        size = int(np.prod(layer.shape))
        cells = layer_cells(layer, f"L{i}", size, params)
        if cells.reset not in timing.resets:     # before a backend is built: named as in the graph
            raise InputError(f"layer {layer.name}: it resets by subtraction, which this backend's cells cannot (they "
                             "reset to a value); run the graph on brian2, nest or in refsim")
        pops.append(cells)
        matrices = layer_matrices(net, i)
        for (src, lag), m in matrices.items():
            coo = m.tocoo()
            src_offset = 0 if src < 0 else offset[src]
            label = f"L{i}.from.{'input' if src < 0 else f'L{src}'}" + (f".delay{lag}" if lag else "")
            projs.append(Synapses(label, "input" if src < 0 else f"L{src}", f"L{i}", coo.col, coo.row, coo.data,
                                  (arrive[i] - src_offset + lag) * dt))
        per_cell = np.broadcast_to(bias_term(layer, snn=True)[0], layer.shape).ravel()
        if np.any(per_cell != 0):
            projs.append(Synapses(f"L{i}.bias", "bias", f"L{i}", np.full(size, i), np.arange(size), per_cell,
                                  hop * dt))
        dynamics = _dynamics(layer, cells)
        if i in opens:
            hold[i] = close.holding_mV(dynamics, opens[i] + 1)
        if i in closes:      # until the slot's reset, which comes as late as the backend reads (it runs ahead)
            pulse[i] = close.closing_mV(dynamics, close.drive(matrices, per_cell, size), params.steps,
                                        slot - closes[i] + timing.read_lag_steps, leaks_before=i not in opens)
        if pulse.get(i):
            j = 2 * closed.index(i)
            projs.append(Synapses(f"L{i}.close", "close", f"L{i}", np.full(size, j), np.arange(size),
                                  np.full(size, pulse[i]), hop * dt))
            if i in reopen:      # what is left of the pulse in the current after the slot's decay
                back = -pulse[i] * float(layer.neuron.i_decay) ** reopen[i]
                projs.append(Synapses(f"L{i}.reopen", "close", f"L{i}", np.full(size, j + 1), np.arange(size),
                                      np.full(size, back), hop * dt))
    layout = Layout(tuple(offset), tuple(arrive), hop, settled, read, slot, lead, tuple(closes[i] for i in closed),
                    tuple(i in reopen and pulse[i] != 0 for i in closed), tuple(sorted(opens.items())),
                    tuple(pulse[i] for i in closed), tuple(hold[i] for i, _ in sorted(opens.items())))
    return Graph(dt, tuple(pops), tuple(projs)), layout


def _subtracts(layer) -> bool:
    return layer.spiking and layer.neuron is not None and layer.neuron.reset == "subtract"


def _dynamics(layer, cells) -> close.Dynamics:
    """``cells`` (a layer's population) with the decays refsim steps ``layer`` by."""
    n = layer.neuron
    return close.Dynamics(layer.name, theta_cell=cells.v_thresh_mV, theta=cells.v_thresh_mV - cells.v_reset_mV,
                          reset=cells.reset, v_reset=cells.v_reset_mV, v_init=cells.v_init_mV,
                          v_decay=1.0 if n is None else float(n.v_decay), v_leak=cells.v_rest_mV,
                          i_decay=None if n is None or n.i_decay is None else float(n.i_decay))


def _self_driven(layer) -> bool:
    n = layer.neuron
    if not layer.spiking or n is None:
        return False
    return n.v_leak > layer.threshold if n.strict else n.v_leak >= layer.threshold


def _check_recurrence(net: Net, timing: Timing) -> None:
    """Recurrent weights a backend can build in refsim's time: a layer's own. A spike of step t acts in step t + 1
    (one hop); round a loop through other layers refsim takes one step, a backend a hop per layer. A current-based
    cell feels a current one step late (``CUBA_EXTRA_STEPS``), so its own spikes need a hop of no time: a backend
    with ``Timing.same_step_current_hop`` (Brian2, NEST) jumps the currents in time for the next step."""
    for i, layer in enumerate(net.layers):
        for src, _ in layer.inputs:
            if src > i:
                raise InputError(f"layers {layer.name} and {net.layers[src].name} form a loop: refsim goes round it in "
                                 "one step, a backend takes a step per hop; only a layer's own recurrent weights "
                                 "run on a backend (run this graph in refsim)")
            if src == i and _current_based(layer) and not timing.same_step_current_hop:
                raise InputError(f"layer {layer.name}: recurrent weights onto a layer with a synaptic current "
                                 "(CubaLIF) cannot keep refsim's timing on this backend, whose current moves the "
                                 "membrane one step late; run this graph on brian2, nest or in refsim")


def layer_cells(layer, name: str, size: int, params: RunParams):
    """The population of a layer: the trained nets' IF neurons (IF_curr_delta), or an imported layer's leak and
    synaptic current (IF_curr_delta, or IF_curr_exp with a current)."""
    neuron = layer.neuron
    theta = float(layer.threshold) if layer.spiking else READOUT_THRESHOLD_MV
    if layer.spiking and neuron is not None and neuron.strict:     # v > theta: PyNN's cells here fire at v >= theta
        theta = float(np.nextafter(theta, np.inf))
    if neuron is None:
        if not layer.spiking:
            return DeltaCells(name, size, v_thresh_mV=theta, record_spikes=False)
        return DeltaCells(name, size, v_thresh_mV=theta, v_reset_mV=params.v_reset * theta,
                          v_init_mV=params.v_init * theta)
    reset, v_reset = "value", neuron.v_reset
    if layer.spiking and neuron.reset == "subtract":
        # refsim subtracts the threshold itself: the cells lower v by v_thresh - v_reset, which is theta exactly
        # (theta and its next float are one ulp apart, and that gap is a float: Sterbenz)
        reset, v_reset = "subtract", theta - float(layer.threshold)
    dt = params.timestep_ms
    tau_m = -dt / np.log(neuron.v_decay) if neuron.v_decay < 1 else DeltaCells.tau_m_ms
    common = dict(v_thresh_mV=theta, v_reset_mV=v_reset, v_init_mV=neuron.v_init, v_rest_mV=neuron.v_leak,
                  tau_m_ms=float(tau_m), record_spikes=layer.spiking, reset=reset, v_decay=float(neuron.v_decay))
    if neuron.i_decay is None:
        return DeltaCells(name, size, **common)
    if not 0 < neuron.i_decay < 1:
        raise InputError(f"layer {layer.name}: its synaptic current decays by {neuron.i_decay:g} per step; PyNN's "
                         "IF_curr_exp needs a decay strictly between 0 and 1")
    tau_syn = float(-dt / np.log(neuron.i_decay))
    if abs(tau_syn - tau_m) < 1e-6 * tau_m:
        raise InputError(f"layer {layer.name}: the current and the membrane decay alike (tau {tau_m:g} ms): "
                         "IF_curr_exp is not built for equal time constants; change one of them slightly")
    return CubaCells(name, size, tau_syn_ms=tau_syn, i_decay=float(neuron.i_decay), **common)


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
