"""The reference spiking simulation: a ``net.Net`` run as integrate-and-fire neurons in discrete time.

This is the oracle for the PyNN builds (issue 6). Semantics, per time step t = 1..T of length ``dt`` (ms):

* input: integer counts k in 0..D become binary trains (``encodings.spread``: floor(t*k/D + 1/2) spikes by step t),
  or, with ``input="current"``, a constant current chain(k/D) every step (analog first layer);
* every layer, in order, in the same step (no synaptic delay): I[t] = sum_chains chain(s_src[t]) + b, where b is the
  layer's bias per step: its calibrated ``snn_bias`` in binary mode if it has one; ``bias`` times D in multispike
  mode;
* spiking layer: v += I[t]; binary mode: s = 1 where v >= theta; multispike mode: s = clip(floor(v/theta), 0, D);
  reset by subtraction v -= theta*s, or to value v = v_reset*theta where s > 0; initial v = v_init*theta;
* read-out layer: v += I[t], never fires; the prediction is argmax v after T steps.

With multispike neurons and T = 1 the simulation reproduces the source network (``net.forward``) exactly; with
binary neurons, reset by subtraction and a constant input current, a layer's spike count over T = D steps is its
integer activation exactly. Elsewhere it approximates it, better as T grows.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hippocam.errors import InputError

from hippocam.event_models.data import encodings
from .net import Net, bias_term, check_input, default_batch
from .ops import apply_chain, apply_chain_to, chain_delay, indicator_chain

RESETS = ("subtract", "value")
MODES = ("binary", "multispike")
INPUTS = ("spikes", "current")


@dataclass(frozen=True)
class SimParams:
    """steps: T; reset: 'subtract' or 'value'; mode: 'binary' or 'multispike'; input: 'spikes' or 'current';
    v_init: initial membrane as a fraction of the threshold; v_reset: the reset value (reset='value'), also
    as a fraction of the threshold;
    dt_ms: the step length, recorded for exports (the simulation itself is unitless in time)."""
    steps: int = 8
    reset: str = "subtract"
    mode: str = "binary"
    input: str = "spikes"
    v_init: float = 0.5
    v_reset: float = 0.0
    dt_ms: float = 1.0

    def __post_init__(self):
        if isinstance(self.steps, bool) or not isinstance(self.steps, (int, np.integer)) or not \
                1 <= self.steps <= 10000:
            raise InputError(f"timesteps must be an integer in 1..10000, got {self.steps!r}")
        for name, value, allowed in (("reset", self.reset, RESETS), ("mode", self.mode, MODES),
                                     ("input", self.input, INPUTS)):
            if value not in allowed:
                raise InputError(f"unknown {name} {value!r}; use one of {', '.join(allowed)}")


@dataclass(frozen=True)
class SimResult:
    """logits: read-out membrane after T steps (B, classes); counts: total spikes per spiking layer
    (B, *shape) (None for the read-out); input_spikes: input spikes per sample (B,); sops: synaptic events
    per layer (B,) (spikes times fan-out, counted at the receiving layer); trace: per layer, per step, the spikes
    of a spiking layer (uint8) or the membrane after the step of a non-spiking one (T, b, *shape), for the first
    ``trace`` samples, if asked for."""
    logits: np.ndarray
    counts: list
    input_spikes: np.ndarray
    sops: list
    trace: list | None = None

    @property
    def predictions(self) -> np.ndarray:
        return np.argmax(self.logits, axis=1)


def simulate(net: Net, counts: np.ndarray | None, params: SimParams = SimParams(), batch: int | None = None,
             trace: int = 0, trains: np.ndarray | None = None) -> SimResult:
    """Run ``net`` as an SNN on input counts (B, *input_shape) in 0..D, ``batch`` samples at a time; or, with
    ``counts=None``, on given binary input ``trains`` (T, B, *input_shape), T = ``params.steps``."""
    if trains is not None:
        trains = np.asarray(trains)
        if counts is not None or trains.shape[0] != params.steps or params.input != "spikes" or \
                params.mode != "binary":
            raise InputError("give either counts or trains (T = steps, binary mode, spike input), not both")
        counts = np.zeros(trains.shape[1:], dtype=np.int64)      # shapes and batching only
    counts = np.asarray(counts)
    check_input(net, counts)
    batch = batch or default_batch(net)
    d, steps = net.levels, params.steps
    if counts.size and (counts.min() < 0 or counts.max() > d):
        raise InputError(f"input counts must lie in 0..{d}, got {counts.min()}..{counts.max()}")
    n = len(net.layers)
    parts = {"logits": [], "counts": [[] for _ in range(n)], "input": [], "sops": [[] for _ in range(n)]}
    traces = [[] for _ in range(n)] if trace else None
    ind = [[(src, indicator_chain(chain)) for src, chain in layer.inputs] for layer in net.layers]
    delays = [[chain_delay(chain) for _, chain in layer.inputs] for layer in net.layers]
    keep_history = [any(src == i and delays[k][j] for k, lay in enumerate(net.layers)
                        for j, (src, _) in enumerate(lay.inputs)) for i in range(n)]
    for start in range(0, len(counts), batch):
        x = counts[start:start + batch].astype(float)
        b = len(x)
        if params.mode == "multispike":
            x_steps = np.broadcast_to(x, (steps,) + x.shape)
        elif trains is not None:
            x_steps = trains[:, start:start + batch]
        elif params.input == "spikes":
            x_steps = encodings.spread(counts[start:start + batch], steps, d)     # uint8: cast per step
        else:
            x_steps = None
        x_current = x / d if params.input == "current" and params.mode == "binary" else None
        bias_scale = d if params.mode == "multispike" else 1
        v = [np.full((b,) + tuple(layer.shape), layer.neuron.v_init if layer.neuron is not None else
                     params.v_init * layer.threshold if layer.spiking else 0.0)
             for layer in net.layers]
        syn = [np.zeros((b,) + tuple(layer.shape)) if layer.neuron is not None and layer.neuron.i_decay is not None
               else None for layer in net.layers]
        history = [[] for _ in range(n)]          # spikes per step, for chains with a delay
        total = [np.zeros((b,) + tuple(layer.shape)) for layer in net.layers]
        steady = {}   # chains from the input under a constant current: computed once
        rec = [[] for _ in range(n)] if trace and start == 0 else None
        for t in range(steps):
            spikes = []
            for i, layer in enumerate(net.layers):
                cur = bias_scale * bias_term(layer, snn=params.mode == "binary")
                for j, (src, chain) in enumerate(layer.inputs):
                    if src < 0 and x_current is not None:
                        if (i, j) not in steady:
                            steady[(i, j)] = apply_chain_to(chain, x_current, layer.shape)
                        cur = cur + steady[(i, j)]
                    else:
                        lag = delays[i][j]
                        if lag == 0:
                            pre = x_steps[t].astype(float) if src < 0 else spikes[src]
                        elif t < lag:
                            continue
                        else:
                            pre = x_steps[t - lag].astype(float) if src < 0 else history[src][t - lag]
                        cur = cur + apply_chain_to(chain, pre, layer.shape)
                neuron = layer.neuron
                if neuron is None:
                    v[i] += cur
                else:
                    if syn[i] is not None:
                        syn[i] = neuron.i_decay * syn[i] + cur
                        cur = syn[i]
                    v[i] = neuron.v_leak + neuron.v_decay * (v[i] - neuron.v_leak) + cur
                if layer.spiking:
                    if params.mode == "binary":
                        fired = v[i] > layer.threshold if neuron is not None and neuron.strict else \
                            v[i] >= layer.threshold
                        s = fired.astype(float)
                    else:
                        s = np.clip(np.floor(v[i] / layer.threshold), 0, d)
                    reset, v_reset = ((neuron.reset, neuron.v_reset) if neuron is not None else
                                      (params.reset, params.v_reset * layer.threshold))
                    if reset == "subtract":
                        v[i] -= layer.threshold * s
                    else:
                        v[i] = np.where(s > 0, v_reset, v[i])
                    total[i] += s
                    if keep_history[i]:
                        history[i].append(s)
                else:
                    s = None
                spikes.append(s)
                if rec is not None:   # spikes of a spiking layer, the membrane of a read-out
                    rec[i].append(s[:trace].astype(np.uint8) if s is not None else v[i][:trace].copy())
        # a spiking output layer answers with its spike counts (the read-out of spiking exports)
        parts["logits"].append(total[-1] if net.layers[-1].spiking else v[-1])
        if x_steps is not None:
            in_total = x_steps.sum(axis=0, dtype=float)
            parts["input"].append(in_total.reshape(b, -1).sum(1))
        else:
            parts["input"].append(np.zeros(b))
            in_total = None
        for i, layer in enumerate(net.layers):
            parts["counts"][i].append(total[i] if layer.spiking else None)
            ev = np.zeros(b)
            for src, chain in ind[i]:
                pre = in_total if src < 0 else total[src]
                if pre is not None:
                    ev += apply_chain(chain, pre).reshape(b, -1).sum(1)
            parts["sops"][i].append(ev)
        if rec is not None:
            traces = [np.stack(r) if r else None for r in rec]
    counts_out = [np.concatenate(c) if c[0] is not None else None for c in parts["counts"]]
    return SimResult(np.concatenate(parts["logits"]), counts_out, np.concatenate(parts["input"]),
                     [np.concatenate(s) for s in parts["sops"]], traces)
