"""Write the Sinabs fixtures (NAME.nir as ``sinabs.to_nir`` wrote it, NAME.npz with Sinabs' own spikes):

    python -m venv VENV && VENV/bin/pip install torch==2.13.0 sinabs==3.1.3
    VENV/bin/python tests/data/make_sinabs_fixtures.py

Sinabs 3.1.3 pins nir 1.0.4, older than hippocam's, hence a venv of its own; the files it writes are what this
checks. ``sinabs_if_cnn_subtract`` (Sinabs' default reset, ``MembraneSubtract``) and ``sinabs_if_cnn_value``
(``MembraneReset`` to 0): Conv2d, IAF, SumPool2d, Conv2d, IAF, SumPool2d, Flatten, Linear, IAF, with
``SingleSpike`` (Sinabs' default ``MultiSpike`` fires several spikes in a step, which NIR's IF does not describe).

Sinabs' IAF adds its input as it is (r = 1, no dt), which NIR's IF gives at a step of 1 in the graph's unit:
``--dt-ms 1 --time-unit ms``. Sinabs fires at v >= threshold and NIR-readers (and hippocam) at v > threshold: the
script checks that no membrane of these inputs lands exactly on a threshold, where the two would differ.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import framework_fixture as ff  # noqa: E402

STEPS = 30
SHAPE = (1, 12, 12)


def if_cnn(reset: str):
    import sinabs.layers as sl
    import torch
    from sinabs.activation import MembraneReset, MembraneSubtract, SingleSpike
    torch.manual_seed(6)

    def iaf():
        return sl.IAFSqueeze(num_timesteps=STEPS, spike_fn=SingleSpike, record_states=True,
                             reset_fn=MembraneReset(reset_value=0.0) if reset == "value" else MembraneSubtract())

    net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), iaf(), sl.SumPool2d(2),
                              torch.nn.Conv2d(4, 6, 3, padding=1), iaf(), sl.SumPool2d(2), torch.nn.Flatten(),
                              torch.nn.Linear(54, 5), iaf())
    with torch.no_grad():
        net[0].weight.mul_(1.5)
        net[3].weight.mul_(0.6)
        net[7].weight.mul_(0.6)
    return net


def own_spikes(net, x: np.ndarray) -> tuple[dict, float]:
    """Sinabs' spikes of every IAF layer (T, B, *shape), and the smallest distance of any membrane (before its
    reset) from the threshold."""
    import sinabs
    import torch
    steps, n = x.shape[:2]
    rec, hooks, closest = {}, [], [np.inf]

    def hook(mod, i, o, name):
        rec[name] = o.detach().numpy().reshape((n, steps) + tuple(o.shape[1:])).swapaxes(0, 1).copy()

    for name, m in net.named_children():
        if type(m).__name__.startswith("IAF"):
            hooks.append(m.register_forward_hook(lambda mod, i, o, name=name: hook(mod, i, o, name)))
    sinabs.reset_states(net)
    with torch.no_grad():
        # sample-major (batch, time) flattened, as the Squeeze layers take it
        net(torch.tensor(x.swapaxes(0, 1).reshape((n * steps,) + x.shape[2:])))
    for h in hooks:
        h.remove()
    # replay each layer's membrane from its input to find near-ties with the threshold
    with torch.no_grad():
        h = torch.tensor(x.swapaxes(0, 1).reshape((n * steps,) + x.shape[2:]))
        for m in net:
            if type(m).__name__.startswith("IAF"):
                inp = h.reshape((n, steps) + tuple(h.shape[1:])).numpy().astype(np.float64)
                v = np.zeros_like(inp[:, 0])
                for t in range(steps):
                    v = v + inp[:, t]
                    closest[0] = min(closest[0], float(np.min(np.abs(v - 1.0))))
                    s = v >= 1.0
                    v = np.where(s, 0.0, v) if isinstance(m.reset_fn, sinabs.activation.MembraneReset) else v - s
            h = m(h)
    return rec, closest[0]


def fill_missing_shapes(net, graph, sample) -> None:
    """Sinabs 3.1 leaves a Conv2d's input_shape and the pools', convs' and Flatten's input and output types None,
    which nir.write cannot store: those fields, and only those, are set here to the shapes the layers take and give
    (without the time axis)."""
    import torch
    seen, h = {}, sample
    with torch.no_grad():
        for name, m in net.named_children():
            before = tuple(h.shape[1:])
            h = m(h)
            seen[name] = (before, tuple(h.shape[1:]))
    for name, node in graph.nodes.items():
        if name not in seen:
            continue
        if type(node).__name__ == "Conv2d" and node.input_shape is None:
            node.input_shape = np.asarray(seen[name][0][-2:])
        for field, shape in (("input_type", seen[name][0]), ("output_type", seen[name][1])):
            types = getattr(node, field, None)
            if isinstance(types, dict):
                for k, v in types.items():
                    if v is None:
                        types[k] = np.asarray(shape)


def main() -> None:
    import nir
    import sinabs
    import torch
    x, density = ff.inputs(STEPS, 4, SHAPE, seed=30)
    for reset in ("subtract", "value"):
        net = if_cnn(reset)
        sample = torch.zeros((STEPS,) + SHAPE)
        graph = sinabs.to_nir(net, sample)
        fill_missing_shapes(net, graph, sample)
        spikes, closest = own_spikes(net, x)
        if closest < 1e-6:
            raise SystemExit(f"a membrane lands within {closest:g} of the threshold: change the seed")
        print(f"closest membrane to a threshold: {closest:.3g}")
        ff.save(f"sinabs_if_cnn_{reset}", lambda path: nir.write(path, graph), x, density,
                ff.node_names(spikes, graph.nodes), dt_ms=1.0, time_unit="ms", reset=reset, framework="sinabs",
                version=sinabs.__version__)


if __name__ == "__main__":
    main()
