"""NIR export (and import back) of a ``net.Net``, with the time step, units and reset recorded.

The graph (``nir`` 1.0.8) is: ``input`` -> weight nodes -> neuron node ``L{i}`` for every layer, one chain of weight
nodes ``L{i}.in{j}.op{k}`` per input of a layer (several edges into one node add up), the last layer -> ``output``.

Semantics (also written into the graph's metadata): discrete time, step ``dt`` = 1 ms (``time_unit`` "ms").
A spiking layer is ``nir.IF`` with r = 1/dt (so one step adds the input current: v += I[t]), ``v_threshold`` = the
layer's threshold, ``v_reset`` = 0. The current I[t] = the weight chains applied to the spikes of step t (0/1 per
neuron) plus the bias of the chain's last node (the SNN's calibrated bias when there is one), added once per step.
A spike is emitted when v >= v_threshold; the reference reset is by subtraction (v -= v_threshold) with v starting
at v_threshold/2 (metadata ``reset``, ``v_initial``). The read-out is ``nir.LI`` with tau = 1e9 ms and r = tau/dt:
a perfect integrator over the run (argmax of v after T steps). Inputs are spike trains made by
``encodings.spread`` from counts in 0..D.

Grouped (depthwise) convs are written as dense ``Conv2d`` weights with zeros between groups (nir 1.0.8's type
check cannot read grouped weights back). 3-D layers (NIR has no Conv3d) are written exactly as 2-D ones over a
folded shape: a (C, X, Y, Z) tensor is read as (C*X, Y, Z) in C order; a 3-D conv becomes a ``Conv2d`` whose
weight is block-banded along X, a 3-D pool a 1x1 ``Conv2d`` summing X slices followed by a 2-D pool. The folding is
recorded in the metadata (``fold_3d``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from hippocam.errors import InputError

from ..snn.net import Net
from ..snn.ops import WEIGHTED, AvgPool, Conv, Dense, Flatten, Scale, SumPool
from .nodes import nir_module as _nir

DT_MS = 1.0
READOUT_TAU_MS = 1e9


def _fold(shape):
    """(C, X, Y, Z) -> (C*X, Y, Z); 1-D and 2-D shapes unchanged."""
    shape = tuple(int(s) for s in shape)
    return (shape[0] * shape[1],) + shape[2:] if len(shape) == 4 else shape


def _conv3d_as_2d(w, stride, pad, depth_in):
    """A 3-D conv weight (Cout, Cin, kx, ky, kz) over X of size ``depth_in`` as a Conv2d weight over folded
    channels (Cout*Xo, Cin*X, ky, kz): output slice xo takes input slice xi = xo*stride + a - pad through kernel
    tap a."""
    cout, cin, kx = w.shape[:3]
    depth_out = (depth_in + 2 * pad - kx) // stride + 1
    w2 = np.zeros((cout, depth_out, cin, depth_in) + w.shape[3:], w.dtype)
    for xo in range(depth_out):
        for a in range(kx):
            xi = xo * stride + a - pad
            if 0 <= xi < depth_in:
                w2[:, xo, :, xi] = w[:, :, a]
    return w2.reshape((cout * depth_out, cin * depth_in) + w.shape[3:]), depth_out


def _ungroup(w, groups):
    """A grouped conv weight as the equivalent dense one (zeros between groups): nir 1.0.8's type check reads
    the input channels from weight.shape[1], so grouped convs do not survive a write and read."""
    if groups == 1:
        return w
    cout, cin_g = w.shape[:2]
    cg = cout // groups
    full = np.zeros((cout, cin_g * groups) + w.shape[2:], w.dtype)
    for g in range(groups):
        full[g * cg:(g + 1) * cg, g * cin_g:(g + 1) * cin_g] = w[g * cg:(g + 1) * cg]
    return full


def _pool3d_as_2d(kernel, channels, depth_in, average):
    """A non-overlapping 3-D pool as (1x1 Conv2d summing kx slices along X, 2-D pool over Y, Z)."""
    kx = kernel[0]
    depth_out = depth_in // kx
    w = np.zeros((channels, depth_out, channels, depth_in, 1, 1), np.float32)
    for c in range(channels):
        for xo in range(depth_out):
            w[c, xo, c, xo * kx:(xo + 1) * kx] = 1.0 / kx if average else 1.0
    return w.reshape(channels * depth_out, channels * depth_in, 1, 1), depth_out


def _conv_nodes(nir, op, shape, b, name):
    c_out = op.weight.shape[0]
    bb = np.zeros(c_out, np.float32) if b is None else np.asarray(b, np.float32)
    if op.weight.ndim == 4:
        node = nir.Conv2d(input_shape=np.array(shape[1:]), weight=_ungroup(op.weight, op.groups).astype(np.float32),
                          stride=op.stride, padding=op.padding, dilation=1, groups=1, bias=bb)
        return [(name, node)], (c_out,) + tuple((s + 2 * op.padding - k_) // op.stride + 1
                                                for s, k_ in zip(shape[1:], op.weight.shape[2:]))
    if op.weight.ndim != 5:
        raise InputError(f"{name}: a {op.weight.ndim - 2}-D convolution has no NIR form here; use 2-D or 3-D ones")
    if op.groups != 1:                                  # 3-D, folded along X
        raise InputError(f"{name}: grouped 3-D convolutions cannot be exported; use groups=1")
    w2, depth_out = _conv3d_as_2d(op.weight, op.stride, op.padding, shape[1])
    out_yz = tuple((s + 2 * op.padding - k_) // op.stride + 1 for s, k_ in zip(shape[2:], op.weight.shape[3:]))
    node = nir.Conv2d(input_shape=np.array(shape[2:]), weight=w2.astype(np.float32), stride=op.stride,
                      padding=op.padding, dilation=1, groups=1, bias=np.repeat(bb, depth_out))
    return [(name, node)], (c_out, depth_out) + out_yz


def _pool_nodes(nir, op, shape, b, name):
    ker = tuple(op.kernel)
    avg = isinstance(op, AvgPool)
    nodes = []
    if len(ker) == 3:
        w2, depth_out = _pool3d_as_2d(ker, shape[0], shape[1], avg)
        nodes.append((name + "x", nir.Conv2d(input_shape=np.array(shape[2:]), weight=w2, stride=1, padding=0,
                                             dilation=1, groups=1, bias=np.zeros(len(w2), np.float32))))
        shape = (shape[0], depth_out) + shape[2:]
        ker = ker[1:]
    pool = nir.AvgPool2d if avg else nir.SumPool2d
    nodes.append((name, pool(kernel_size=np.array(ker), stride=np.array(ker), padding=np.array([0, 0]))))
    return nodes, shape[:-2] + tuple(s // k_ for s, k_ in zip(shape[-2:], ker))


def _flatten_nodes(nir, op, shape, b, name):
    node = nir.Flatten(input_type={"input": np.array(_fold(shape))}, start_dim=0, end_dim=-1)
    return [(name, node)], (int(np.prod(shape)),)


def _dense_nodes(nir, op, shape, b, name):
    w = op.weight.astype(np.float32)
    node = nir.Linear(weight=w) if b is None else nir.Affine(weight=w, bias=np.asarray(b, np.float32))
    return [(name, node)], (op.weight.shape[0],)


def _scale_nodes(nir, op, shape, b, name):
    if np.size(op.factor) != 1:
        raise InputError(f"{name}: only a scalar Scale has an NIR form here; fold the array into the weights")
    return [(name, nir.Scale(scale=np.full(_fold(shape), float(np.squeeze(op.factor)), np.float32)))], shape


# op class -> NIR nodes of one op: (nir module, op, input shape (unfolded), bias or None, node name) ->
# ([(name, node)], output shape)
TO_NODES = {Conv: _conv_nodes, SumPool: _pool_nodes, AvgPool: _pool_nodes, Flatten: _flatten_nodes,
            Dense: _dense_nodes, Scale: _scale_nodes}


def _chain_nodes(nir, chain, in_shape, bias, prefix):
    """NIR nodes for one chain starting from a tensor of ``in_shape`` (unfolded); the bias (per channel) goes on
    the last conv/dense node. Returns ([(name, node)], out_shape)."""
    nodes = []
    shape = tuple(in_shape)
    last_w = max((k for k, op in enumerate(chain) if isinstance(op, WEIGHTED)), default=None)
    for k, op in enumerate(chain):
        build = TO_NODES.get(type(op))
        if build is None:
            raise InputError(f"{prefix}: a {type(op).__name__} op has no NIR form in this exporter")
        new, shape = build(nir, op, shape, bias if k == last_w else None, f"{prefix}.op{k}")
        nodes += new
    return nodes, shape


def to_nir(net: Net, steps: int | None = None, dt_ms: float = DT_MS):
    """The NIR graph of ``net`` (see the module docstring for the semantics)."""
    nir = _nir()
    nodes = {"input": nir.Input(input_type={"input": np.array(_fold(net.input_shape))})}
    edges = []
    folded = any(len(layer.shape) == 4 for layer in net.layers) or len(net.input_shape) == 4
    for i, layer in enumerate(net.layers):
        target = f"L{i}"
        for j, (src, chain) in enumerate(layer.inputs):
            in_shape = net.input_shape if src < 0 else net.layers[src].shape
            bias = (layer.snn_bias if layer.snn_bias is not None else layer.bias) if j == 0 else None
            chain_nodes, _ = _chain_nodes(nir, chain, in_shape, bias, f"{target}.in{j}")
            prev = "input" if src < 0 else f"L{src}"
            for name, node in chain_nodes:
                nodes[name] = node
                edges.append((prev, name))
                prev = name
            edges.append((prev, target))
        shape = _fold(layer.shape)
        if layer.spiking:
            nodes[target] = nir.IF(r=np.full(shape, 1.0 / dt_ms), v_threshold=np.full(shape, layer.threshold),
                                   v_reset=np.zeros(shape),
                                   metadata={"reset": "subtract", "v_initial": 0.5 * layer.threshold,
                                             "spike_condition": "v >= v_threshold", "name": layer.name})
        else:
            nodes[target] = nir.LI(tau=np.full(shape, READOUT_TAU_MS), r=np.full(shape, READOUT_TAU_MS / dt_ms),
                                   v_leak=np.zeros(shape),
                                   metadata={"role": "readout: argmax of v after T steps", "name": layer.name})
    nodes["output"] = nir.Output(output_type={"output": np.array(_fold(net.layers[-1].shape))})
    edges.append((f"L{len(net.layers) - 1}", "output"))
    calibrated = any(layer.snn_bias is not None for layer in net.layers)
    meta = {"producer": "hippocam.event_models", "model": net.name, "dt": float(dt_ms), "time_unit": "ms",
            "biases": "calibrated for the binary SNN (Layer.snn_bias)" if calibrated else "as trained",
            "discretisation": "discrete time; per step v += r*dt*I[t] (IF), spikes of step t reach the next layer "
                              "in the same step (no delay)",
            "reset": "subtract", "v_initial_fraction": 0.5, "spike_condition": "v >= v_threshold",
            "levels": int(net.levels), "input_encoding": "counts k in 0..levels spread over T steps: "
                                                         "floor(t*k/levels + 1/2) spikes by step t",
            "input_shape": ",".join(map(str, net.input_shape)),
            "fold_3d": "(C,X,Y,Z) read as (C*X,Y,Z) in C order" if folded else "none",
            "readout": "LI with tau=1e9 ms is a perfect integrator; class = argmax v after T steps"}
    if steps is not None:
        meta["steps"] = int(steps)
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta)


def write(net: Net, path, steps: int | None = None, dt_ms: float = DT_MS) -> Path:
    nir = _nir()
    path = Path(path)
    nir.write(str(path), to_nir(net, steps, dt_ms))
    return path
