"""Write the snnTorch fixtures (NAME.nir as snnTorch's exporter wrote it, NAME.npz with snnTorch's own spikes):

    python tests/data/make_snntorch_fixtures.py        # needs snntorch==1.0.0 and torch

* ``snntorch_lif_zero`` / ``snntorch_lif_subtract``: Linear, Leaky, Linear, Leaky, reset to zero / by subtraction;
* ``snntorch_cuba_rec_zero``: Linear, Synaptic (CubaLIF), Linear, RLeaky (a LIF layer with all-to-all recurrent
  weights), reset to zero.

(Convolutional nets come from Norse and Sinabs: snnTorch 1.0.0's exporter fails on a Conv2d, AvgPool2d, Flatten
net, with or without a batch axis in the sample.)

Every layer has ``reset_delay=False``: the reset in the step of the spike, as NIR describes it (snnTorch's default
resets one step later, which no NIR node describes). By subtraction, snnTorch 1.0.0 then fires when the membrane
less one threshold exceeds the threshold, in any step after one that kept a membrane above the threshold through
its reset (its guard against a double reset): NIR's rule only while no membrane stays above the threshold after
a reset. The subtracting net is weak enough for that, and ``make`` checks it; a synaptic current makes it common,
so the recurrent CubaLIF net resets to zero only. snnTorch writes time constants in seconds for a step of
0.1 ms (tau = 1e-4 s / (1 - beta)), and v_reset = 0 whatever the reset: the subtracting nets are read with
``--reset subtract``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import framework_fixture as ff  # noqa: E402

STEPS = 30


def leaky(n, beta, reset, **kw):
    import snntorch as snn
    import torch
    # per-neuron parameters: the exporter needs shaped arrays
    n = n if isinstance(n, tuple) else (n,)
    return snn.Leaky(beta=torch.full(n, beta), threshold=torch.ones(n), init_hidden=True,
                     reset_mechanism=reset, reset_delay=False, **kw)


def lif_net(reset):
    import torch
    torch.manual_seed(1)
    net = torch.nn.Sequential(torch.nn.Linear(8, 6), leaky(6, 0.9, reset), torch.nn.Linear(6, 4),
                              leaky(4, 0.8, reset))
    # by subtraction, weaker: no membrane may stay above the threshold after its reset (see make)
    scale = 2.5 if reset == "zero" else 1.25
    with torch.no_grad():
        net[0].weight.mul_(scale)
        net[2].weight.mul_(scale)
    return net, (8,)


def cuba_rec_net(reset):
    import snntorch as snn
    import torch
    torch.manual_seed(2)
    syn = snn.Synaptic(alpha=torch.full((6,), 0.7), beta=torch.full((6,), 0.85), threshold=torch.ones(6), init_hidden=True,
                       reset_mechanism=reset, reset_delay=False)
    rec = snn.RLeaky(beta=torch.full((4,), 0.9), linear_features=4, threshold=torch.ones(4), init_hidden=True,
                     reset_mechanism=reset, reset_delay=False)
    net = torch.nn.Sequential(torch.nn.Linear(8, 6), syn, torch.nn.Linear(6, 4), rec)
    with torch.no_grad():
        net[0].weight.mul_(1.2)
        net[2].weight.mul_(1.5)
        rec.recurrent.weight.mul_(1.5)
    return net, (8,)


def own_spikes(net, x: np.ndarray) -> dict:
    """snnTorch's spikes of every spiking module (by its index in the Sequential, the node name nirtorch gives)."""
    return run(net, x)[0]


def run(net, x: np.ndarray) -> tuple[dict, float]:
    """(spikes of every spiking module, the highest membrane any of them kept after its reset)."""
    import snntorch as snn
    import snntorch.utils
    import torch
    rec, hooks, kept = {}, [], [-np.inf]

    def hook(mod, i, o, name):
        rec[name].append((o[0] if isinstance(o, tuple) else o).numpy().copy())
        kept[0] = max(kept[0], float(mod.mem.max()))

    for name, m in net.named_children():
        if isinstance(m, snn.SpikingNeuron):
            rec[name] = []
            hooks.append(m.register_forward_hook(lambda mod, i, o, name=name: hook(mod, i, o, name)))
    snntorch.utils.reset(net)
    with torch.no_grad():
        for t in range(x.shape[0]):
            net(torch.tensor(x[t]))
    for h in hooks:
        h.remove()
    return {k: np.stack(v) for k, v in rec.items()}, kept[0]


def export(net, shape):
    import nir
    import torch
    from snntorch.export_nir import export_to_nir
    graph = export_to_nir(net, torch.zeros(shape))   # no batch axis: the Input node takes it as written
    return graph, lambda path: nir.write(path, graph)


def make(name, net, shape, reset, seed):
    import snntorch
    x, density = ff.inputs(STEPS, 4, shape, seed)
    graph, write = export(net, shape)
    spikes, kept = run(net, x)
    if reset == "subtract" and kept > 1.0:
        # snnTorch 1.0.0 (reset_delay=False) then tests the next step's membrane less one threshold: not NIR's rule
        raise SystemExit(f"{name}: a membrane of {kept:g} is above the threshold after its reset: lower the weights")
    ff.save(name, write, x, density, ff.node_names(spikes, graph.nodes), dt_ms=0.1, time_unit="s", reset=reset,
            framework="snntorch", version=snntorch.__version__)


def main() -> None:
    for reset, rule in (("zero", "value"), ("subtract", "subtract")):
        make(f"snntorch_lif_{reset}", *lif_net(reset), rule, 10)
    make("snntorch_cuba_rec_zero", *cuba_rec_net("zero"), "value", 11)


if __name__ == "__main__":
    main()
