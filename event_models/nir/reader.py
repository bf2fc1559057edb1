"""Import a NIR graph written by any framework (snnTorch, Norse, Sinabs, Rockpool, Lava-DL, ...) as a ``net.Net``.

NIR's nodes are continuous-time: with spikes as Dirac impulses S(t) into the weights W,

* ``IF``:       dv/dt = R I                          -> a spike moves v by R W a
* ``LIF``:      tau dv/dt = (v_leak - v) + R I       -> a spike moves v by R W a / tau; v decays to v_leak
* ``CubaLIF``:  tau_syn dI/dt = -I + w_in S(t);  tau_mem dv/dt = (v_leak - v) + R I
* ``LI``, ``CubaLI``: as LIF and CubaLIF without spikes (read-outs: the class is argmax v after T steps)

and reset to ``v_reset`` after a spike (``reset="value"``, NIR's rule; ``"subtract"``: v -= v_threshold in the
step of the spike, for networks trained with reset by subtraction; snnTorch's own subtraction comes a step late and
is not this rule), fired when v > v_threshold (strictly, as snnTorch and Norse do). The import discretises them at
the step ``dt`` you give, with each input held for one step (a discrete-time exporter's spike is a one-step pulse of
height 1), into ``net.Neuron``:

* ``integrator="euler"`` (the default; what snnTorch's Leaky and Synaptic and Norse's LIFBox compute, checked in
  the tests): decay ``1 - dt/tau``, jump per unit weight ``r dt / tau``;
* ``integrator="exact"``: the equations solved over the step with the input held: decay ``exp(-dt/tau)``, jump
  ``r (1 - exp(-dt/tau))`` (the membrane's exact response to a unit input lasting one step); CubaLIF's current
  the same way (``w_in (1 - exp(-dt/tau_syn))``), its membrane driven by the current held over the step;
* IF (no leak): jump ``r dt`` either way.

The jump per unit weight is folded into the chain as a ``scale`` op, and an Affine bias b is a per-step input
of the same factor. ``reset="subtract"`` is exact in refsim; PyNN cells reset to a value only (a PyNN build of such
a layer is refused, naming it).
``time_unit`` says what the graph's time constants are in: snnTorch writes seconds, so a snnTorch graph needs
``time_unit="s"`` and its ``dt`` in ms. An IF node has no time constant to tell the unit by, but its jump ``r dt``
depends on it: a jump far from 1 (``IF_JUMP_RANGE``) is what reading a discrete-time graph (Sinabs writes r = 1:
one step is one time unit) in another unit gives, and is warned about (``UnitWarning``), naming the fix.

A graph that fails NIR's own type check on reading (Rockpool writes an Output of type [[1, 1, 1]] after a layer
of [[1]]) is read again without it, with a warning: the import checks every layer's size itself.

Weight chains between two neuron nodes (Affine, Linear, Conv1d, Conv2d, SumPool2d, AvgPool2d, Flatten, Scale,
Delay) fuse into one projection. A node, edge or parameter this cannot map raises ``InputError`` naming it.
Graphs written by ``export.to_nir`` (this package's own, with their reset by subtraction) go through
``load.from_nir`` and come back exactly.
"""
from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np

from hippocam.errors import InputError

from ..snn.net import Layer, Net, Neuron
from ..snn.ops import Delay, Scale
from .load import from_nir
from .nodes import FROM_NODE, READ_ERRORS, feedforward_order, find_cycle, nir_module as _nir, walk_chain, \
    text as _s

TIME_UNITS = {"ms": 1.0, "s": 1000.0, "us": 1e-3}
INTEGRATORS = ("euler", "exact")
RESETS = ("value", "subtract")
#: an IF node's jump per unit weight, r dt, outside this range is warned about: a time unit that does not fit
IF_JUMP_RANGE = (1e-2, 1e2)

WEIGHT_NODES = tuple(FROM_NODE)
NEURON_NODES = ("IF", "LIF", "CubaLIF", "LI", "CubaLI")


class UnitWarning(UserWarning):
    """The graph's numbers do not fit the time unit it is read in (an IF node's jump r dt far from 1)."""


def _uniform(node_name: str, field: str, value) -> float:
    arr = np.unique(np.asarray(value, float))
    if arr.size != 1:
        raise InputError(f"node {node_name}: {field} differs between neurons ({arr.min():g}..{arr.max():g}); "
                         "only one value per layer is supported")
    return float(arr[0])


def _decay(tau: float, dt: float, integrator: str, node_name: str, field: str) -> float:
    if not tau > 0:
        raise InputError(f"node {node_name}: {field} must be positive, got {tau:g}")
    if integrator == "exact":
        return float(np.exp(-dt / tau))
    if dt >= tau:
        raise InputError(f"node {node_name}: {field} = {tau:g} is not longer than the step {dt:g} (same unit): "
                         "Euler steps would wipe or overshoot the state; use integrator='exact' or a smaller dt")
    return 1.0 - dt / tau


def read(graph, dt_ms: float = 1.0, time_unit: str = "ms", integrator: str = "euler", reset: str = "value",
         name: str | None = None, levels: int = 1) -> Net:
    """A ``Net`` from a NIR graph (or a .nir file). ``dt_ms``: the simulation step in ms; ``time_unit``: the unit
    of the graph's time constants ("ms", "s" or "us"); ``integrator``: "euler" or "exact"; ``reset``: "value"
    (NIR's) or "subtract" (see the module doc)."""
    nir = _nir()
    if time_unit not in TIME_UNITS:
        raise InputError(f"unknown time unit {time_unit!r}; use one of {', '.join(TIME_UNITS)}")
    if integrator not in INTEGRATORS:
        raise InputError(f"unknown integrator {integrator!r}; use euler or exact")
    if reset not in RESETS:
        raise InputError(f"unknown reset {reset!r}; use value (NIR's rule: v = v_reset) or subtract "
                         "(v -= v_threshold)")
    if not (isinstance(dt_ms, (int, float)) and dt_ms > 0):
        raise InputError(f"dt must be a positive number of ms, got {dt_ms!r}")
    source = graph
    if isinstance(graph, (str, Path)):
        if not Path(graph).exists():
            raise InputError(f"{graph}: no such NIR file")
        graph = _read_file(nir, source)
    meta = {k: _s(v) for k, v in (graph.metadata or {}).items()}
    if meta.get("producer") == "hippocam.event_models":
        return from_nir(graph, name=name or meta.get("model", "imported"))
    dt = dt_ms / TIME_UNITS[time_unit]                   # the step in the graph's time unit
    nodes = graph.nodes
    edges = [(_s(a), _s(b)) for a, b in graph.edges]
    preds: dict[str, list[str]] = {}
    for a, b in edges:
        if a not in nodes or b not in nodes:
            raise InputError(f"edge {a} -> {b} names a node the graph does not have")
        preds.setdefault(b, []).append(a)
    inputs = [k for k, n in nodes.items() if isinstance(n, nir.Input)]
    if len(inputs) != 1:
        raise InputError(f"the NIR graph must have exactly one Input node, has {len(inputs)}")
    inp = inputs[0]
    for k, n in nodes.items():
        kind = type(n).__name__
        if kind not in WEIGHT_NODES + NEURON_NODES + ("Input", "Output"):
            raise InputError(f"node {k}: {kind} is not supported (supported: {', '.join(WEIGHT_NODES)}; neurons "
                             f"{', '.join(NEURON_NODES)})")
    input_shape = tuple(int(s) for s in np.asarray(nodes[inp].input_type["input"]).ravel())
    neurons = [k for k, n in nodes.items() if type(n).__name__ in NEURON_NODES]
    if not neurons:
        raise InputError("the NIR graph has no neuron node (IF, LIF, CubaLIF, LI or CubaLI)")
    for out in (k for k, n in nodes.items() if isinstance(n, nir.Output)):
        for p in preds.get(out, []):
            if p not in neurons:
                raise InputError(f"node {p} feeds the Output directly: weights after the last neuron layer are not "
                                 "supported (end the graph with a neuron node, e.g. LI for a read-out)")
    _check_weight_loops(nodes, neurons, preds)
    order = feedforward_order(neurons, preds, inp)
    index: dict[str, int] = {}
    layers: list[Layer] = []
    for target in order:
        node = nodes[target]
        kind = type(node).__name__
        shape, spiking, neuron, jump, bias_gain = _neuron(target, node, kind, dt, integrator, reset)
        if kind == "IF":
            _check_if_jump(target, jump, dt_ms, time_unit)
        chains, bias = [], np.zeros(int(np.prod(shape)))
        for first in preds.get(target, []):
            steps, cur = walk_chain(nodes, preds, first, lambda n: n == inp or n in neurons, dt)
            node_bias = None
            for k, (name, _, b) in enumerate(steps):
                if b is not None:
                    if node_bias is not None:
                        raise InputError(f"node {name}: only one biased node per chain is supported")
                    if any(not isinstance(op, Delay) for _, op, _ in steps[:k]):
                        raise InputError(f"node {name}: a bias must sit on the last weight node before {target}")
                    node_bias = b
            chain = tuple(op for _, op, _ in reversed(steps)) + (Scale(np.asarray(jump)),)
            recurrent = cur != inp and cur not in index          # itself, or a layer after it: a loop
            if recurrent:   # as in snnTorch's and Norse's recurrent cells: the spikes of the step before
                chain = chain + (Delay(1),)
            if node_bias is not None:
                bias = bias + np.broadcast_to(_expand_bias(node_bias, shape, cur, target), bias.shape) * bias_gain
            if cur != inp and type(nodes[cur]).__name__ not in ("IF", "LIF", "CubaLIF"):
                raise InputError(f"node {cur}: a non-spiking layer ({type(nodes[cur]).__name__}) feeds {target}; "
                                 "only spiking layers can be sources")
            chains.append((-1 if cur == inp else cur, chain))
        if not chains:
            raise InputError(f"node {target}: no input edge")
        # NIR fires when v > threshold (strictly: ``Neuron.strict``), and a reset by subtraction takes the threshold
        # itself off
        threshold = _uniform(target, "v_threshold", node.v_threshold) if spiking else 1.0
        bias = bias.reshape(shape)
        layers.append(Layer(target, tuple(chains), bias, threshold, shape, spiking, bias, neuron))
        index[target] = len(layers) - 1
    layers = [dataclasses.replace(layer, inputs=tuple((src if src == -1 else index[src], chain)
                                                      for src, chain in layer.inputs)) for layer in layers]
    for layer in layers:
        _check_sizes(layer.name, layer.inputs, layer.shape, input_shape, layers)
    return Net(name or meta.get("model", "imported"), input_shape, levels, tuple(layers),
               {}, ())


def _check_weight_loops(nodes, neurons, preds):
    """A loop of weight nodes alone (no neuron in it) has no step to wait for: refused, naming its nodes."""
    weights = [k for k in nodes if k not in neurons]
    succ: dict = {}
    for b, sources in preds.items():
        for a in sources:
            succ.setdefault(a, []).append(b)
    loop = find_cycle(weights, succ)
    if loop:
        raise InputError(f"the NIR graph has a loop of weight nodes without a neuron in it ({' -> '.join(loop)}): "
                         "it would take no time to go round; put a neuron node in the loop")


def _check_sizes(target, chains, shape, input_shape, layers):
    """Every chain into ``target`` must give one value per neuron (an error here, not a numpy traceback later)."""
    from ..snn.connectivity import chain_matrix
    for src, chain in chains:
        in_shape = input_shape if src < 0 else layers[src].shape
        try:
            _, out = chain_matrix(chain, in_shape)
        except ValueError as err:
            raise InputError(f"the weights into {target}: {err}") from None
        if int(np.prod(out)) != int(np.prod(shape)):
            raise InputError(f"the weights into {target} give {int(np.prod(out))} values for its "
                             f"{int(np.prod(shape))} neurons")


def _gain(tau: float, dt: float, integrator: str) -> float:
    """The response of dx/dt = (-x + u) / tau, from x = 0, to u = 1 held for one step: dt/tau for Euler, and
    1 - exp(-dt/tau) exactly (-expm1, so that a long tau loses no digits)."""
    return float(-np.expm1(-dt / tau)) if integrator == "exact" else dt / tau


def _neuron(name, node, kind, dt, integrator, reset):
    """(shape, spiking, Neuron, jump per unit weight, bias drive per unit bias per step) of a neuron node."""
    r = np.asarray(node.r, float)
    if r.ndim == 0:
        raise InputError(f"node {name}: give its parameters as arrays of the layer's shape (r is a scalar), so "
                         "the layer's size is known")
    shape = tuple(int(s) for s in r.shape)
    r = _uniform(name, "r", r)
    v_reset = _uniform(name, "v_reset", node.v_reset) if hasattr(node, "v_reset") else 0.0
    spiking = kind in ("IF", "LIF", "CubaLIF")
    rule = dict(reset=reset, strict=True) if spiking else {}
    if kind == "IF":
        return shape, True, Neuron(v_reset=v_reset, v_init=0.0, **rule), r * dt, r * dt
    v_leak = _uniform(name, "v_leak", node.v_leak)
    if kind in ("LIF", "LI"):
        tau = _uniform(name, "tau", node.tau)
        neuron = Neuron(v_decay=_decay(tau, dt, integrator, name, "tau"), v_leak=v_leak, v_reset=v_reset,
                        v_init=v_leak, **rule)
        jump = r * _gain(tau, dt, integrator)
        return shape, spiking, neuron, jump, jump
    tau_syn = _uniform(name, "tau_syn", node.tau_syn)
    tau_mem = _uniform(name, "tau_mem", node.tau_mem)
    w_in = _uniform(name, "w_in", node.w_in)
    neuron = Neuron(v_decay=_decay(tau_mem, dt, integrator, name, "tau_mem"), v_leak=v_leak, v_reset=v_reset,
                    v_init=v_leak, i_decay=_decay(tau_syn, dt, integrator, name, "tau_syn"), **rule)
    # a spike moves I by w_in W times the current's gain; I drives v by R I times the membrane's per step: one factor
    factor = (w_in * _gain(tau_syn, dt, integrator)) * (r * _gain(tau_mem, dt, integrator))
    return shape, spiking, neuron, factor, factor


def _check_if_jump(name, jump, dt_ms, time_unit):
    low, high = IF_JUMP_RANGE
    if low <= abs(jump) <= high:
        return
    fits = [u for u, f in TIME_UNITS.items() if low <= abs(jump * TIME_UNITS[time_unit] / f) <= high]
    fix = (f"read it with time_unit={fits[0]!r}" if fits else
           f"choose time_unit and dt_ms so that r dt is about 1 (dt_ms = {dt_ms / abs(jump):g} here)")
    step = f"{dt_ms / TIME_UNITS[time_unit]:g} {time_unit}"
    warnings.warn(f"node {name}: an IF node integrates dv/dt = r I, so each input of weight 1 moves v by r dt = "
                  f"{jump:g} (dt = {dt_ms:g} ms = {step}); discrete-time exporters write r for a jump of "
                  f"about 1 per step (Sinabs: r = 1, dt = one time unit), so the time unit is probably wrong and "
                  f"the layer will hardly fire (or fire at every input): {fix}", UnitWarning, stacklevel=3)


def read_file(source):
    """The NIR graph in the file ``source``, read as ``read`` reads it: again without NIR's type check (and a
    warning) when only that fails; InputError when it is no NIR file."""
    return _read_file(_nir(), source)


def _read_file(nir, source):
    try:
        return nir.read(str(source))
    except ValueError as err:
        if "type" not in str(err).lower():
            raise InputError(f"{source}: not a readable NIR file (ValueError: {err})") from None
        try:
            graph = nir.read(str(source), type_check=False)
        except READ_ERRORS as again:
            raise InputError(f"{source}: not a readable NIR file ({type(again).__name__}: {again})") from None
        warnings.warn(f"{source}: NIR's type check fails ({err}); read without it (nir.read(..., type_check=False)): "
                      "the import checks every layer's size itself", UserWarning, stacklevel=3)
        return graph
    except READ_ERRORS as err:
        raise InputError(f"{source}: not a readable NIR file ({type(err).__name__}: {err})") from None


def _expand_bias(b, shape, src, target):
    b = np.asarray(b, float)
    n = int(np.prod(shape))
    if b.size == n:
        return b.ravel()
    if b.ndim == 1 and len(shape) > 1 and b.size == shape[0]:        # a per-channel conv bias
        return np.repeat(b, n // shape[0])
    raise InputError(f"the bias into {target} has {b.size} values for {n} neurons")
