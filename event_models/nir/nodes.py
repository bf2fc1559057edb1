"""NIR node kinds as hippocam ops (``snn.ops``): the one table both directions use (``export`` writes these kinds,
``load`` and ``reader`` read them), and the order in which a graph's neuron nodes are built."""
from __future__ import annotations

import numpy as np

from hippocam.errors import InputError

from ..snn.ops import AvgPool, Conv, Delay, Dense, Flatten, Scale, SumPool


def nir_module():
    try:
        import nir
    except ImportError:
        raise InputError("NIR needs the nir package: pip install nir==1.0.8") from None
    return nir


# what nir.read raises on a file that is not a NIR graph: h5py's OSError (not HDF5) and KeyError (no graph in it),
# nir's AssertionError (an unknown node type), TypeError (a node without its fields), ValueError and AttributeError
# (a field of the wrong form)
READ_ERRORS = (OSError, KeyError, ValueError, TypeError, AssertionError, AttributeError)


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def _conv(node, name, dt):
    pad = node.padding
    if isinstance(pad, str) or len(set(np.atleast_1d(pad).tolist())) != 1:
        raise InputError(f"node {name}: only equal integer padding is supported, got {pad!r}")
    stride = np.atleast_1d(node.stride)
    if len(set(stride.tolist())) != 1:
        raise InputError(f"node {name}: only equal strides are supported, got {stride.tolist()}")
    if np.any(np.atleast_1d(node.dilation) != 1):
        raise InputError(f"node {name}: dilation is not supported")
    b = np.asarray(node.bias, float) if node.bias is not None else None
    return Conv(np.asarray(node.weight, float), int(stride[0]), int(np.atleast_1d(pad)[0]),
                int(node.groups)), (b if b is not None and np.any(b != 0) else None)


def _pool(pool):
    def build(node, name, dt):
        k = tuple(int(v) for v in np.atleast_1d(node.kernel_size))
        if tuple(int(v) for v in np.atleast_1d(node.stride)) != k or np.any(np.asarray(node.padding) != 0):
            raise InputError(f"node {name}: only non-overlapping pools without padding are supported")
        return pool(k), None
    return build


def _scale(node, name, dt):
    vals = np.unique(np.asarray(node.scale, float))
    return Scale(vals[0] if len(vals) == 1 else np.asarray(node.scale, float)), None


# NIR node class name -> builder of (op, bias or None); keyed by name so that nir stays an optional import
FROM_NODE = {
    "Affine": lambda node, name, dt: (Dense(np.asarray(node.weight, float)), np.asarray(node.bias, float)),
    "Linear": lambda node, name, dt: (Dense(np.asarray(node.weight, float)), None),
    "Conv1d": _conv,
    "Conv2d": _conv,
    "SumPool2d": _pool(SumPool),
    "AvgPool2d": _pool(AvgPool),
    "Flatten": lambda node, name, dt: (Flatten(), None),
    "Scale": _scale,
    "Delay": lambda node, name, dt: (Delay(_delay_steps(name, node.delay, dt)), None),
}


def op_from_node(node, name, dt):
    """(op, bias or None) of one weight node; ``dt``: the step in the graph's time unit (for delays)."""
    kind = type(node).__name__
    build = FROM_NODE.get(kind)
    if build is None:
        raise InputError(f"node {name}: {kind} is not supported (weight nodes: {', '.join(FROM_NODE)})")
    return build(node, name, dt)


def walk_chain(nodes, preds, first: str, stop, dt) -> tuple[list, str]:
    """Follow the weight nodes from ``first`` (the node just before a neuron) back to the graph's input or a neuron
    node (``stop(name)`` is true). Returns ([(node name, op, bias or None)] from the neuron's side, where it
    stopped); both readers apply their own bias rules to the list."""
    steps, cur = [], first
    while not stop(cur):
        op, bias = op_from_node(nodes[cur], cur, dt)
        steps.append((cur, op, bias))
        ps = preds.get(cur, [])
        if len(ps) != 1:
            raise InputError(f"node {cur}: a weight node must have exactly one input, has {len(ps)}")
        cur = ps[0]
    return steps, cur


def _delay_steps(name, delay, dt) -> int:
    values = np.unique(np.asarray(delay, float))
    if values.size != 1:
        raise InputError(f"node {name}: delays differ between neurons; only one delay per edge is supported")
    steps = float(values[0]) / dt
    if steps < 0 or abs(steps - round(steps)) > 1e-6:
        raise InputError(f"node {name}: a delay of {values[0]:g} is not a whole number of steps of {dt:g}")
    return int(round(steps))


def _neuron_sources(n, neurons, preds) -> set:
    """The neuron nodes whose spikes reach ``n`` through weight nodes only."""
    out, stack, seen = set(), list(preds.get(n, [])), set()
    while stack:
        c = stack.pop()
        if c in seen:
            continue
        seen.add(c)
        if c in neurons:
            out.add(c)
        else:
            stack.extend(preds.get(c, []))
    return out


def find_cycle(nodes, succ) -> list | None:
    """One directed cycle among ``nodes`` (edges ``succ``: node -> successors), as its nodes in order; None if
    there is none."""
    state: dict = {}
    for root in nodes:
        if root in state:
            continue
        path, stack = [], [(root, iter(succ.get(root, ())))]
        state[root] = 1
        path.append(root)
        while stack:
            node, it = stack[-1]
            nxt = next((c for c in it if c in nodes and state.get(c) != 2), None)
            if nxt is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt):]
            else:
                state[nxt] = 1
                path.append(nxt)
                stack.append((nxt, iter(succ.get(nxt, ()))))
    return None


def topological(neurons, preds):
    """The neuron nodes in an order in which every one comes after its sources; InputError naming the nodes of a
    loop if there is one (graphs hippocam wrote have none)."""
    deps = {n: _neuron_sources(n, neurons, preds) for n in neurons}
    order, done = [], set()
    while len(order) < len(neurons):
        ready = [n for n in neurons if n not in done and deps[n] <= done]
        if not ready:
            rest = [n for n in neurons if n not in done]
            loop = find_cycle(rest, {n: [m for m in rest if n in deps[m]] for n in rest})
            raise InputError(f"the NIR graph has a recurrent loop between neuron nodes ({' -> '.join(loop)}); "
                             "read it with hippocam.event_models.nir.reader.read, which runs recurrent graphs")
        for n in ready:
            order.append(n)
            done.add(n)
    return order


def feedforward_order(neurons, preds, start) -> list:
    """The neuron nodes in the order a feedforward pass from ``start`` (the Input) meets them: reversed postorder
    of a depth-first walk along the edges, so that every edge that is not recurrent goes forward; an edge to a
    node no later in the order closes a loop (a recurrent edge, one step late). Neurons the walk does not reach
    come last, in the graph's order."""
    succ: dict = {}
    for n in neurons:
        for src in _neuron_sources(n, neurons, preds):
            succ.setdefault(src, []).append(n)
    roots = [n for n in neurons if start in _input_reach(n, neurons, preds)]
    post, seen = [], set()
    for root in roots + [n for n in neurons if n not in roots]:
        if root in seen:
            continue
        seen.add(root)
        stack = [(root, iter(succ.get(root, ())))]
        while stack:
            node, it = stack[-1]
            nxt = next((c for c in it if c not in seen), None)
            if nxt is None:
                post.append(node)
                stack.pop()
            else:
                seen.add(nxt)
                stack.append((nxt, iter(succ.get(nxt, ()))))
    return post[::-1]


def _input_reach(n, neurons, preds) -> set:
    """The non-neuron nodes (the Input among them) that reach ``n`` through weight nodes only."""
    out, stack, seen = set(), list(preds.get(n, [])), set()
    while stack:
        c = stack.pop()
        if c in seen or c in neurons:
            continue
        seen.add(c)
        out.add(c)
        stack.extend(preds.get(c, []))
    return out
