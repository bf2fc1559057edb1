"""Graphs hippocam wrote (``export.to_nir``) read back as a ``Net``."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from hippocam.errors import InputError

from ..snn.net import Layer, Net
from .nodes import READ_ERRORS, nir_module as _nir, text as _s, topological, walk_chain


def from_nir(graph, name: str = "imported", levels: int | None = None) -> Net:
    """Rebuild a ``Net`` from a graph written by ``to_nir`` (or one of the same shape: IF / LI neurons, weight
    chains of Conv2d, SumPool2d, AvgPool2d, Flatten, Linear, Affine, Scale). 3-D nets come back folded."""
    nir = _nir()
    if isinstance(graph, (str, Path)):
        try:
            graph = nir.read(str(graph))
        except READ_ERRORS as err:
            raise InputError(f"{graph}: not a readable NIR file ({err})") from None
    nodes, edges = graph.nodes, [(_s(a), _s(b)) for a, b in graph.edges]
    preds = {}
    for a, b in edges:
        preds.setdefault(b, []).append(a)
    neuron_names = [k for k, n in nodes.items() if isinstance(n, (nir.IF, nir.LI))]
    meta = {k: _s(v) if isinstance(v, bytes) else v for k, v in (graph.metadata or {}).items()}
    if levels is None:
        levels = int(meta.get("levels", 1))
    inp = next((k for k, n in nodes.items() if isinstance(n, nir.Input)), None)
    if inp is None:
        raise InputError("the NIR graph has no Input node")
    input_shape = tuple(int(s) for s in np.asarray(nodes[inp].input_type["input"]))
    index, shapes = {}, {}
    layers = []
    order = topological(neuron_names, preds)
    for target in order:
        inputs, bias = [], None
        for first in preds.get(target, []):
            steps, cur = walk_chain(nodes, preds, first, lambda n: n == inp or n in index, 1.0)
            for k, (name, _, b) in enumerate(steps):
                if b is not None:
                    if bias is not None or k != 0:
                        raise InputError(f"node {name}: a bias is supported only on the last node before a neuron")
                    bias = b
            inputs.append((-1 if cur == inp else index[cur], tuple(op for _, op, _ in reversed(steps))))
        node = nodes[target]
        shape = tuple(np.asarray(node.v_threshold if isinstance(node, nir.IF) else node.tau).shape)
        if bias is None:
            bias = np.zeros(shape[0])
        if isinstance(node, nir.IF):
            th = np.unique(np.asarray(node.v_threshold))
            if len(th) != 1:
                raise InputError(f"node {target}: only one threshold per layer is supported")
            layer = Layer(target, tuple(inputs), np.asarray(bias, float), float(th[0]), shape, True)
        else:
            layer = Layer(target, tuple(inputs), np.asarray(bias, float), 1.0, shape, False)
        index[target] = len(layers)
        layers.append(layer)
    return Net(name, input_shape, levels, tuple(layers))
