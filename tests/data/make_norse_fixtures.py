"""Write the Norse fixtures (NAME.nir as ``norse.torch.to_nir`` wrote it, NAME.npz with Norse's own spikes):

    python tests/data/make_norse_fixtures.py        # needs norse==1.1.0 and torch

* ``norse_lif_value`` / ``norse_lif_subtract``: Linear, LIFBoxCell, Linear, LIFBoxCell (reset to v_reset = 0, or
  Norse's ``reset_subtract``);
* ``norse_cubalif``: Linear, LIFCell, Linear, LIFCell, which Norse exports as CubaLIF with w_in left at NIR's
  default of 1, where its own update needs w_in = tau_syn / dt: the fixture records that value (``w_in``), and the
  tests set it before reading;
* ``norse_if_cnn``: Conv2d, IAFCell, Conv2d (stride 2), IAFCell, Conv2d (to 1 x 1), IAFCell.

How to read them (each fixture records it): Norse 1.1 writes a LIF's tau as dt * (1 / tau_mem_inv) (its
``dt / tau_mem_inv``), so a step of dt seconds is dt^2 in the graph's seconds: dt = 1 ms reads as
``--dt-ms 0.001 --time-unit s``. Its IAF cell adds its input as it is (a jump of r = 1 per unit, no dt), which NIR's
IF (dv/dt = R I) gives at a step of 1 in the graph's unit: ``--dt-ms 1 --time-unit ms``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import framework_fixture as ff  # noqa: E402

STEPS = 30
DT_S = 1e-3
LIF_READ = {"dt_ms": 1000 * DT_S ** 2, "time_unit": "s"}
IF_READ = {"dt_ms": 1.0, "time_unit": "ms"}
TAU_SYN_INV = 200.0
# what w_in should have been: Norse adds a spike to the current as it is, NIR's CubaLIF by w_in dt / tau_syn, with
# dt = DT_S**2 and tau_syn = DT_S / TAU_SYN_INV in the graph's seconds
NORSE_W_IN = 1.0 / (DT_S * TAU_SYN_INV)


def lif_net(reset):
    import norse.torch as norse
    import torch
    from norse.torch.functional.reset import reset_subtract, reset_value
    torch.manual_seed(4)

    def cell(n, tau_ms):
        p = norse.LIFBoxParameters(tau_mem_inv=torch.full((n,), 1000.0 / tau_ms), v_leak=torch.zeros(n),
                                   v_th=torch.ones(n), v_reset=torch.zeros(n), method="heaviside",
                                   reset_method=reset_value if reset == "value" else reset_subtract)
        return norse.LIFBoxCell(p, dt=DT_S)

    net = norse.SequentialState(torch.nn.Linear(8, 6), cell(6, 10.0), torch.nn.Linear(6, 4), cell(4, 5.0))
    with torch.no_grad():
        net[0].weight.mul_(12.0)
        net[2].weight.mul_(12.0)
    return net, (8,), LIF_READ


def cuba_net(reset="value"):
    """LIFCell layers, which Norse exports as CubaLIF without w_in (see the module doc)."""
    import norse.torch as norse
    import torch
    torch.manual_seed(7)

    def cell(n):
        p = norse.LIFParameters(tau_syn_inv=torch.full((n,), TAU_SYN_INV), tau_mem_inv=torch.full((n,), 100.0),
                                v_leak=torch.zeros(n), v_th=torch.ones(n), v_reset=torch.zeros(n), method="heaviside")
        return norse.LIFCell(p, dt=DT_S)

    net = norse.SequentialState(torch.nn.Linear(8, 6), cell(6), torch.nn.Linear(6, 4), cell(4))
    with torch.no_grad():
        net[0].weight.mul_(6.0)
        net[2].weight.mul_(6.0)
    return net, (8,), LIF_READ


def if_cnn(reset="value"):
    import norse.torch as norse
    import torch
    torch.manual_seed(5)

    def cell(shape):
        return norse.IAFCell(norse.IAFParameters(v_th=torch.full(shape, 1.0), v_reset=torch.zeros(shape),
                                                 method="heaviside"), dt=DT_S)

    # Norse 1.1's to_nir maps neither pooling nor Flatten (it writes no node for them): a strided conv, and a
    # last conv as wide as its input, stand in for the pool and the linear layer
    net = norse.SequentialState(torch.nn.Conv2d(1, 4, 3, padding=1), cell((4, 8, 8)),
                                torch.nn.Conv2d(4, 6, 3, stride=2, padding=1), cell((6, 4, 4)),
                                torch.nn.Conv2d(6, 3, 4), cell((3, 1, 1)))
    with torch.no_grad():
        net[0].weight.mul_(1.5)
        net[2].weight.mul_(1.5)
        net[4].weight.add_(0.04)      # excitatory on balance: the last layer fires
    return net, (1, 8, 8), IF_READ


def own_spikes(net, x: np.ndarray) -> dict:
    """Norse's spikes of every cell, by its index in the SequentialState (the node name the export gives)."""
    import torch
    rec, hooks = {}, []
    for name, m in net.named_children():
        if "Cell" in type(m).__name__:
            rec[name] = []
            hooks.append(m.register_forward_hook(lambda mod, i, o, name=name: rec[name].append(o[0].numpy().copy())))
    state = None
    with torch.no_grad():
        for t in range(x.shape[0]):
            _, state = net(torch.tensor(x[t]), state)
    for h in hooks:
        h.remove()
    return {k: np.stack(v) for k, v in rec.items()}


def export(net, shape):
    import nir
    import torch
    from norse.torch import to_nir
    # a sample without the batch axis: with one, Norse writes an Input of (1, *shape) that nir's own type check
    # (in nir.read) refuses against the first node's (*shape)
    graph = to_nir(net, torch.zeros(shape), dt=DT_S)
    x, seen = torch.zeros((1,) + shape), {}
    with torch.no_grad():
        for name, m in net.named_children():
            seen[name] = tuple(x.shape[1:])
            x = m(x)[0] if "Cell" in type(m).__name__ else m(x)
    for name, node in graph.nodes.items():
        # Norse 1.1 leaves a Conv2d's input_shape None, which nir.write cannot store: the one field set here, to
        # the height and width the layer takes
        if type(node).__name__ == "Conv2d" and node.input_shape is None:
            node.input_shape = np.asarray(seen[name][-2:])
    return graph, lambda path: nir.write(path, graph)


def make(name, net, shape, how, reset, seed, **extra):
    import norse
    x, density = ff.inputs(STEPS, 4, shape, seed)
    graph, write = export(net, shape)
    ff.save(name, write, x, density, ff.node_names(own_spikes(net, x), graph.nodes), reset=reset,
            framework="norse", version=getattr(norse, "__version__", "1.1.0"), **how, **extra)


def main() -> None:
    for reset in ("value", "subtract"):
        make(f"norse_lif_{reset}", *lif_net(reset), reset, 20)
    make("norse_if_cnn", *if_cnn(), "value", 21)
    make("norse_cubalif", *cuba_net(), "value", 40, w_in=NORSE_W_IN)


if __name__ == "__main__":
    main()
