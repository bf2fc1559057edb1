"""Write the Rockpool fixtures (NAME.nir as Rockpool's ``to_nir`` and ``nir.write`` wrote it, NAME.npz with
Rockpool's own spikes):

    python -m venv VENV && VENV/bin/pip install torch==2.13.0 rockpool==3.1.0 nir==1.0.8 nirtorch==2.6
    VENV/bin/python tests/data/make_rockpool_fixtures.py

Rockpool is not a dependency of hippocam (nor installed beside it); the files it writes are what the tests check.

* ``rockpool_cubalif``: LinearTorch (with bias), LIFTorch, LinearTorch, LIFTorch; the two layers have different
  time constants;
* ``rockpool_cubalif_rec``: the same, with ``has_rec=True`` on the first LIFTorch (a recurrent CubaLIF layer).

Rockpool's conventions (3.1.0, ``LIFTorch``, measured against its own simulation): with a = exp(-dt/tau_mem) and
b = exp(-dt/tau_syn), each step t first updates the synaptic current, I <- b (I + x[t] + s[t-1] W_rec), where x[t]
is the weighted input of the step and s[t-1] the layer's own spikes of the step before; then the membrane,
v <- a v + I + bias. A neuron spikes when v >= threshold (floor(v / threshold) spikes, capped at
``max_spikes_per_dt``, set to 1 here, so one spike per step as NIR describes) and the threshold is subtracted from
v for each spike. This is NIR's CubaLIF solved exactly over the step with subtraction on reset:
``--dt-ms 1000*dt --time-unit s --integrator exact --reset subtract`` (dt = 1 ms here: ``--dt-ms 1``).

What Rockpool's exporter writes for a LIFTorch is one ``nir.CubaLIF`` with tau_mem, tau_syn in seconds,
r = tau_mem a / dt, v_leak = 0, the threshold, and nothing else. What it leaves out, and what the npz records so
that the tests set it before reading (the .nir itself is Rockpool's, untouched):

* ``w_in/NODE`` (every CubaLIF node): NIR's default w_in = 1 is not Rockpool's update. Read exactly, a unit input
  moves hippocam's current by w_in (1 - b) and the current moves the membrane by r (1 - a) per unit, where Rockpool
  moves the current by b and the membrane by the current itself: w_in = b / ((1 - b) r (1 - a)) per node, computed
  from the node's own tau_syn, tau_mem and r (the layers' time constants differ).
* ``w_rec/NODE`` (the recurrent layer only): the exporter writes no recurrent weights at all, no node and no edge.
  The array is the weight of the ``nir.Linear`` that carries the layer's spikes back to itself (NIR's (out, in)
  layout: Rockpool's ``w_rec``, which acts as s @ W_rec, transposed). The tests add that node and its two edges.
  This script checks that zeroing ``w_rec`` in Rockpool changes its spikes (else the recurrence would be untested)
  and refuses to write otherwise.

Also left out by the exporter, and kept out of these nets: the neuron ``bias`` (v_leak is written as 0 whatever
the bias is; both fixtures have bias 0, which the script checks). Rockpool's graphs fail NIR's own type check
(its Input node's or the last node's type, depending on the sample given to ``to_nir``), so they are read with
``type_check=False``. Rockpool fires at v >= threshold and NIR readers (hippocam) at v > threshold: the script
replays every membrane from the weights with the update above, checks that the replay gives Rockpool's spikes, and
refuses a net where a membrane lands within 1e-6 of a threshold.
"""
from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import framework_fixture as ff  # noqa: E402

STEPS = 30
DT_S = 1e-3
N_IN, N1, N2 = 16, 12, 6
THRESHOLD = 1.0
READ = {"dt_ms": 1000 * DT_S, "time_unit": "s", "integrator": "exact"}
TAUS = ((0.02, 0.008), (0.01, 0.005))          # (tau_mem, tau_syn) of the first and the second layer, seconds


def cuba_net(rec: bool, seed: int, scale_in: float, scale_rec: float, scale_out: float):
    import torch
    from rockpool.nn.combinators import Sequential
    from rockpool.nn.modules import LIFTorch, LinearTorch
    torch.manual_seed(seed)

    def lif(n, taus, has_rec=False):
        return LIFTorch((n, n), tau_mem=taus[0], tau_syn=taus[1], dt=DT_S, threshold=THRESHOLD, bias=0.0,
                        noise_std=0.0, max_spikes_per_dt=1, has_rec=has_rec)

    net = Sequential(LinearTorch((N_IN, N1), has_bias=False), lif(N1, TAUS[0], rec),
                     LinearTorch((N1, N2), has_bias=False), lif(N2, TAUS[1]))
    with torch.no_grad():
        net[0].weight.mul_(scale_in)
        net[2].weight.mul_(scale_out)
        if rec:
            net[1].w_rec.mul_(scale_rec)
    return net


def lif_names(net) -> list:
    return [name for name, m in net.modules().items() if type(m).__name__ == "LIFTorch"]


def own_spikes(net, x: np.ndarray) -> dict:
    """Rockpool's spikes of every LIFTorch (steps, samples, n), by the module's name in the Sequential."""
    import torch
    net = net.reset_state()
    with torch.no_grad():
        _, _, rec = net(torch.from_numpy(x).swapaxes(0, 1), record=True)
    return {k: rec[k]["spikes"].numpy().swapaxes(0, 1).copy() for k in lif_names(net)}


def replay(net, x: np.ndarray) -> tuple[dict, float]:
    """The update of the module doc in float64 from the net's weights: every layer's spikes, and the smallest
    distance of any membrane (before its reset) from the threshold."""
    mods = list(net.modules().values())
    h = x.astype(np.float64)
    out, closest = {}, np.inf
    for lin, lif, name in ((mods[0], mods[1], lif_names(net)[0]), (mods[2], mods[3], lif_names(net)[1])):
        assert not np.any(lif.bias.detach().numpy()), "the fixtures keep the neuron bias at 0"
        w = lin.weight.detach().numpy().astype(np.float64)
        inp = h @ w + (lin.bias.detach().numpy() if getattr(lin, "bias", None) is not None else 0.0)
        a = np.exp(-DT_S / float(lif.tau_mem.detach().reshape(-1)[0]))
        b = np.exp(-DT_S / float(lif.tau_syn.detach().reshape(-1)[0]))
        w_rec = lif.w_rec.detach().numpy().astype(np.float64) if getattr(lif, "w_rec", None) is not None else 0.0
        n = w.shape[1]
        i_syn = np.zeros((x.shape[1], n))
        v = np.zeros((x.shape[1], n))
        s = np.zeros((x.shape[1], n))
        spikes = []
        for t in range(x.shape[0]):
            i_syn = b * (i_syn + inp[t] + s @ w_rec)
            v = a * v + i_syn
            closest = min(closest, float(np.min(np.abs(v - THRESHOLD))))
            s = (v >= THRESHOLD).astype(np.float64)
            v = v - s * THRESHOLD
            spikes.append(s)
        out[name] = np.stack(spikes)
        h = out[name]
    return out, closest


def w_in_patch(graph) -> dict:
    """The w_in every CubaLIF node needs (module doc), from the node's own parameters as written."""
    patch = {}
    for name, node in graph.nodes.items():
        if type(node).__name__ == "CubaLIF":
            tau_mem, tau_syn, r = (np.asarray(p, np.float64) for p in (node.tau_mem, node.tau_syn, node.r))
            a, b = np.exp(-DT_S / tau_mem), np.exp(-DT_S / tau_syn)
            patch[f"w_in/{name}"] = b / ((1 - b) * r * (1 - a))
    return patch


def export(net):
    import nir
    import torch
    from rockpool.nn.modules import to_nir
    graph = to_nir(net, torch.zeros(N_IN))
    return graph, lambda path: nir.write(path, graph)


def make(name, rec, seed, scales, data_seed):
    import rockpool
    import torch
    x, density = ff.inputs(STEPS, 4, (N_IN,), data_seed)
    net = cuba_net(rec, seed, *scales)
    spikes = own_spikes(net, x)
    mine, closest = replay(net, x)
    for k, s in spikes.items():
        if not np.array_equal(mine[k], s):
            raise SystemExit(f"{name} {k}: the replay gives {int(np.sum(mine[k] != s))} cells unlike Rockpool's")
        if not 0 < s.sum() < s.size:
            raise SystemExit(f"{name} {k}: {int(s.sum())} spikes of {s.size}: silent or saturated")
    if not any(s[:, density == max(ff.DENSITIES)].sum() > s[:, density == min(ff.DENSITIES)].sum()
               for s in spikes.values()):
        raise SystemExit(f"{name}: no layer fires more at the densest inputs than at the sparsest")
    if closest < 1e-6:
        raise SystemExit(f"{name}: a membrane lands within {closest:g} of the threshold: change the seed")
    print(f"{name}: closest membrane to a threshold {closest:.3g}")
    graph, write = export(net)
    extra = w_in_patch(graph)
    if len(extra) != 2:
        raise SystemExit(f"{name}: expected two CubaLIF nodes, got {sorted(extra)}")
    if rec:
        lif = net[1]
        node = lif_names(net)[0]
        if node not in graph.nodes:
            raise SystemExit(f"{name}: no node {node} in the graph")
        if any(e[0] == node and e[1] == node for e in graph.edges) or len(graph.nodes) != 6:
            raise SystemExit(f"{name}: the exporter wrote a recurrent edge or node; this script assumes it does not")
        w_rec = lif.w_rec.detach().numpy().copy()
        with torch.no_grad():
            lif.w_rec.zero_()
        without = own_spikes(net, x)
        with torch.no_grad():
            lif.w_rec.copy_(torch.from_numpy(w_rec))
        changed = {k: int(np.sum(without[k] != s)) for k, s in spikes.items()}
        if changed[node] == 0:
            raise SystemExit(f"{name}: zeroing w_rec leaves Rockpool's spikes as they are: the recurrence is untested")
        print(f"{name}: zeroing w_rec changes {changed} cells")
        extra[f"w_rec/{node}"] = w_rec.T.astype(np.float32)
    ff.save(name, write, x, density, ff.node_names(spikes, graph.nodes), reset="subtract", framework="rockpool",
            version=rockpool.__version__, **READ, **extra)


def main() -> None:
    warnings.simplefilter("ignore")          # Rockpool warns about its optional backends
    make("rockpool_cubalif", False, 3, (0.3, 0.0, 0.5), 50)
    make("rockpool_cubalif_rec", True, 12, (0.3, 1.0, 0.5), 51)


if __name__ == "__main__":
    main()
