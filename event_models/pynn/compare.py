"""A converted network on a backend set against the reference SNN (``refsim``), and the comparison as a table."""
from __future__ import annotations

import time

import numpy as np

from hippocam.event_models.snn.net import Net
from .convert import RunParams, tuned_params
from .reset import calibrated_for_reset_to_value
from .stream import simulate, streaming_backend


def compare(net: Net, counts: np.ndarray, labels: np.ndarray, backend: str, params: RunParams = RunParams(),
            progress=None, calibrate: bool = True, folder=None, shipped: Net | None = None) -> dict:
    """Run ``net`` on ``backend`` and set it against the reference SNN: the same network with the same reset to
    a value (the oracle: should agree everywhere), and the ``shipped`` SNN (default ``net``) with reset by
    subtraction (what PyNN's reset to a value costs). ``calibrate``: recalibrate the biases for the reset to a
    value first; a net fine-tuned for it (``Net.snn``) runs as it is, with its own reset value."""
    from hippocam.event_models.snn import refsim
    streaming_backend(backend)      # before minutes of calibration
    shipped = shipped if shipped is not None else net
    tuned = bool(net.snn)
    if tuned:
        params = tuned_params(net, params)
    elif calibrate:
        net = calibrated_for_reset_to_value(net, params, folder)
    t0 = time.perf_counter()
    oracle = refsim.simulate(net, counts, refsim.SimParams(steps=params.steps, reset="value",
                                                           v_reset=params.v_reset, v_init=params.v_init))
    ref_s = time.perf_counter() - t0
    subtract = refsim.simulate(shipped, counts, refsim.SimParams(steps=params.steps, v_init=params.v_init))
    got = simulate(net, counts, backend, params, progress)
    labels = np.asarray(labels)
    spiking = [i for i, layer in enumerate(net.layers) if layer.spiking]
    exact = [bool(np.array_equal(got.counts[i], oracle.counts[i])) for i in spiking]
    n = len(labels)
    return {"model": net.name, "backend": backend, "samples": int(n), "steps": params.steps,
            "v_reset": params.v_reset, "v_init": params.v_init,
            "calibrated_for_reset_to_value": calibrate and not tuned,
            "fine_tuned_for_reset_to_value": tuned,
            "accuracy": float(np.mean(got.predictions == labels)),
            "reference_accuracy": float(np.mean(oracle.predictions == labels)),
            "agreement": float(np.mean(got.predictions == oracle.predictions)),
            "subtract_accuracy": float(np.mean(subtract.predictions == labels)),
            "agreement_with_subtract": float(np.mean(got.predictions == subtract.predictions)),
            "layers_spike_exact": exact,
            # sum over cells and samples of |spikes here - spikes in refsim|, per spiking layer: 0 is exact
            "spike_count_difference": [int(np.abs(got.counts[i].astype(np.int64) - oracle.counts[i]).sum())
                                       for i in spiking],
            "spikes_per_sample": float(sum(got.counts[i].sum() for i in spiking) / n),
            "reference_spikes_per_sample": float(sum(oracle.counts[i].sum() for i in spiking) / n),
            "input_spikes_per_sample": float(got.input_spikes.mean()),
            "neurons": got.n_neurons, "synapses": got.n_synapses, "build_s": got.build_s, "run_s": got.run_s,
            "samples_per_s": n / got.run_s if got.run_s > 0 else float("inf"),
            "reference_samples_per_s": n / ref_s if ref_s > 0 else float("inf")}


def table(result: dict) -> str:
    r = result
    lines = [f"{r['model']} on {r['backend']}: {r['samples']} test samples, T={r['steps']}, reset to "
             f"{r['v_reset']:g} theta; {r['neurons']:,} neurons, {r['synapses']:,} synapses "
             f"(built in {r['build_s']:.1f} s)",
             f"  accuracy {100 * r['accuracy']:.2f}%   reference SNN (same reset) {100 * r['reference_accuracy']:.2f}%"
             f"   agreement {100 * r['agreement']:.1f}%   spike counts identical in "
             f"{sum(r['layers_spike_exact'])}/{len(r['layers_spike_exact'])} layers",
             f"  {_weights_line(r)}; the shipped SNN with reset by subtraction (not available in PyNN) "
             f"{100 * r['subtract_accuracy']:.2f}%, agreement "
             f"{100 * r['agreement_with_subtract']:.1f}%",
             f"  spikes per sample {r['spikes_per_sample']:,.0f} (reference {r['reference_spikes_per_sample']:,.0f}),"
             f" input spikes {r['input_spikes_per_sample']:,.0f}",
             f"  speed: {r['samples_per_s']:.2f} samples/s on {r['backend']}, reference SNN "
             f"{r['reference_samples_per_s']:.1f} samples/s"]
    return "\n".join(lines)


def _weights_line(r: dict) -> str:
    if r.get("fine_tuned_for_reset_to_value"):
        return "weights fine-tuned for the reset to a value (finetune.py)"
    return f"biases {'recalibrated' if r['calibrated_for_reset_to_value'] else 'as shipped'} for the reset to a value"
