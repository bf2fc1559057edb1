"""Accuracy, agreement, spikes, synaptic operations, parameters and the 45 nm energy proxy.

The energy figures are a *theoretical ASIC proxy* in the convention of the spike-driven transformer papers
(Horowitz 2014, 45 nm, 32-bit float): 4.6 pJ per multiply-accumulate (MAC, the source network; and the first layer
of an SNN fed an analog current), 0.9 pJ per accumulate (AC, one synaptic event of the SNN). Neuron updates,
memory traffic and routing are not counted; on SpiNNaker or a CPU the real cost is orders of magnitude higher.
"""
from __future__ import annotations

import numpy as np

from . import refsim
from .net import Net, default_batch, forward
from .ops import apply_chain, indicator_chain

PJ_MAC = 4.6
PJ_AC = 0.9
PROXY_NOTE = "energy: theoretical 45 nm proxy (4.6 pJ/MAC, 0.9 pJ/AC), not a measurement"


def _source_shape(net: Net, src: int):
    return net.input_shape if src < 0 else net.layers[src].shape


def dense_macs(net: Net) -> list[int]:
    """Per layer: synapses (= MACs of one dense forward pass of the source network)."""
    out = []
    for layer in net.layers:
        n = 0
        for src, chain in layer.inputs:
            ones = np.ones((1,) + tuple(_source_shape(net, src)))
            n += int(round(apply_chain(indicator_chain(chain), ones).sum()))
        out.append(n)
    return out


def active_macs(net: Net, counts: np.ndarray, acts: list) -> list[float]:
    """Per layer, mean per sample: MACs of a source network that skips zero activations (active sites)."""
    out = []
    batch = default_batch(net)
    for layer in net.layers:
        n = 0.0
        for src, chain in layer.inputs:
            pre = counts if src < 0 else acts[src]
            ind = indicator_chain(chain)
            for s in range(0, len(pre), batch):
                n += apply_chain(ind, (np.asarray(pre[s:s + batch]) > 0).astype(float)).sum()
        out.append(float(n) / len(counts))
    return out


def evaluate(net: Net, counts: np.ndarray, labels: np.ndarray, steps=(1, 2, 4, 8, 16, 32),
             reset: str = "subtract", input_mode: str = "spikes", v_reset: float = 0.0, v_init: float = 0.5) -> dict:
    """Source-network accuracy and, per T, SNN accuracy, agreement, spikes, synaptic events and energy proxy.
    ``v_reset``, ``v_init``: fractions of the threshold (``refsim.SimParams``)."""
    labels = np.asarray(labels)
    logits, acts = forward(net, counts)
    src_pred = np.argmax(logits, axis=1)
    macs = dense_macs(net)
    act_macs = active_macs(net, counts, acts)
    n_neurons = [int(np.prod(layer.shape)) for layer in net.layers]
    result = {
        "model": net.name, "samples": int(len(labels)), "levels": net.levels, "params": net.n_params,
        "reset": reset, "input": input_mode, "v_reset": v_reset if reset == "value" else None,
        "source": {"accuracy": float(np.mean(src_pred == labels)), "macs": int(sum(macs)),
                   "macs_per_layer": macs, "active_macs": float(sum(act_macs)),
                   "active_macs_per_layer": [round(a, 1) for a in act_macs],
                   "energy_uj": sum(macs) * PJ_MAC * 1e-6,
                   "mean_activation_per_layer": [float(a.mean()) if layer.spiking else None
                                                 for a, layer in zip(acts, net.layers)]},
        "snn": [], "note": PROXY_NOTE,
        "layers": [layer.name for layer in net.layers], "neurons": n_neurons,
    }
    for t in steps:
        sim = refsim.simulate(net, counts, refsim.SimParams(steps=int(t), reset=reset, input=input_mode,
                                                            v_reset=v_reset, v_init=v_init))
        pred = sim.predictions
        spikes = [float(c.sum() / len(labels)) if c is not None else 0.0 for c in sim.counts]
        sops = [float(s.mean()) for s in sim.sops]
        first_mac = macs[0] if input_mode == "current" else 0    # an analog first layer multiplies once
        sop_total = sum(sops)
        result["snn"].append({
            "steps": int(t), "accuracy": float(np.mean(pred == labels)),
            "agreement": float(np.mean(pred == src_pred)),
            "input_spikes": float(sim.input_spikes.mean()),
            "spikes": float(sum(spikes)), "spikes_per_layer": [round(s, 1) for s in spikes],
            "rate_per_layer": [round(s / (n * t), 4) for s, n in zip(spikes, n_neurons)],
            "sops": sop_total, "sops_per_layer": [round(s, 1) for s in sops],
            "energy_uj": (sop_total * PJ_AC + first_mac * PJ_MAC) * 1e-6,
        })
    return result


def table(result: dict) -> str:
    """A plain-text table of ``evaluate``'s result."""
    src = result["source"]
    lines = [f"{result['model']}: {result['samples']} test samples, D={result['levels']}, {result['params']} params, "
             f"reset {'by subtraction' if result['reset'] == 'subtract' else 'to %g theta' % result['v_reset']}, "
             f"input as {result['input']}",
             f"source net (integer activations): accuracy {100 * src['accuracy']:.2f}%, {src['macs']:,} MACs "
             f"({src['active_macs']:,.0f} at active sites), energy proxy {src['energy_uj']:.3f} uJ, per sample",
             f"in spk (input spikes), spikes, SOPs and E are per test sample: means over the {result['samples']}",
             f"{'T':>4} {'SNN acc':>8} {'agree':>7} {'in spk':>8} {'spikes':>9} {'SOPs':>11} {'E uJ':>8} "
             f"{'E_SNN/E_ANN':>11}"]
    for r in result["snn"]:
        ratio = r["energy_uj"] / src["energy_uj"] if src["energy_uj"] else float("nan")
        lines.append(f"{r['steps']:>4} {100 * r['accuracy']:>7.2f}% {100 * r['agreement']:>6.1f}% "
                     f"{r['input_spikes']:>8.0f} {r['spikes']:>9.0f} {r['sops']:>11,.0f} {r['energy_uj']:>8.3f} "
                     f"{ratio:>11.2f}")
    lines.append(result["note"])
    return "\n".join(lines)
