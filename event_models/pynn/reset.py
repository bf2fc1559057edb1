"""A converted network's biases calibrated again, and its reset value chosen, for what PyNN cells do: reset to a
value (the shipped SNNs reset by subtraction). Both are cached with the data sets."""
from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np

from hippocam.errors import InputError

from hippocam.event_models.snn.net import Net
from .convert import RunParams


CALIBRATION_SAMPLES = 256


def _fingerprint(net: Net) -> str:
    from hippocam.event_models.snn.ops import op_array, op_key
    digest = hashlib.sha1(json.dumps([net.name, net.levels, list(net.input_shape), net.dataset],
                                     sort_keys=True, default=str).encode())
    for layer in net.layers:
        digest.update(np.float64(layer.threshold).tobytes())
        digest.update(json.dumps([list(layer.shape), layer.spiking, layer.neuron.as_dict() if layer.neuron else None,
                                  [[src, [op_key(op) for op in chain]]
                                   for src, chain in layer.inputs]], default=str).encode())
        for b in (layer.bias, layer.snn_bias):
            if b is not None:
                digest.update(np.ascontiguousarray(b, dtype=np.float64).tobytes())
        for _, chain in layer.inputs:
            for op in chain:
                if op_array(op) is not None:
                    digest.update(np.ascontiguousarray(op_array(op), dtype=np.float64).tobytes())
    return digest.hexdigest()[:16]


def calibrated_for_reset_to_value(net: Net, params: RunParams = RunParams(), folder=None) -> Net:
    """``net`` with its SNN biases calibrated again (``calibrate.calibrate``, one round on the first 256 training
    inputs) for what PyNN cells do: reset to ``params.v_reset`` theta. Cached with the data sets."""
    from hippocam.event_models.data import datasets
    from hippocam.event_models.snn import refsim
    from hippocam.event_models.data.cache import cached
    from hippocam.event_models.snn.calibrate import calibrate

    sim_params = refsim.SimParams(steps=params.steps, reset="value", v_reset=params.v_reset, v_init=params.v_init)

    def build():
        x, _ = datasets.load_split(net.dataset, "train", limit=CALIBRATION_SAMPLES, folder=folder)
        tuned, _ = calibrate(net, x, params.steps, params=sim_params)
        return {f"L{i}": np.asarray(layer.snn_bias, float) for i, layer in enumerate(tuned.layers) if layer.spiking}

    if not net.dataset:
        raise InputError(f"{net.name}: the model does not say which data it was trained on, so it cannot be "
                         "calibrated; simulate it as it is with hippocam.event_models.pynn.simulate")
    biases = cached(f"{net.name}-reset-to-value-bias",
                    {"net": _fingerprint(net), "steps": params.steps, "v_reset": params.v_reset,
                     "v_init": params.v_init, "samples": CALIBRATION_SAMPLES}, build, folder)
    layers = tuple(dataclasses.replace(layer, snn_bias=biases[f"L{i}"]) if f"L{i}" in biases else layer
                   for i, layer in enumerate(net.layers))
    return dataclasses.replace(net, layers=layers)


V_RESET_CANDIDATES = (0.5, 0.6, 0.7, 0.8)


def choose_v_reset(net: Net, steps: int, folder=None, candidates=V_RESET_CANDIDATES) -> tuple[float, dict]:
    """The reset value (fraction of theta) that serves ``net`` best at ``steps`` with PyNN's reset to a value:
    each candidate's biases are recalibrated (``calibrated_for_reset_to_value``), then scored by ``refsim`` on
    256 other training inputs. Returns (best, {candidate: training accuracy}); cached with the data sets."""
    from hippocam.event_models.data import datasets
    from hippocam.event_models.snn import refsim
    from hippocam.event_models.data.cache import cached

    def build():
        x, y = datasets.load_split(net.dataset, "train", limit=2 * CALIBRATION_SAMPLES, folder=folder)
        x, y = x[CALIBRATION_SAMPLES:], y[CALIBRATION_SAMPLES:]      # not the calibration inputs
        scores = []
        for v in candidates:
            tuned = calibrated_for_reset_to_value(net, RunParams(steps=steps, v_reset=v), folder)
            pred = refsim.simulate(tuned, x, refsim.SimParams(steps=steps, reset="value", v_reset=v)).predictions
            scores.append(float(np.mean(pred == y)))
        return {"candidates": np.asarray(candidates, float), "accuracy": np.asarray(scores)}

    if not net.dataset:
        raise InputError(f"{net.name}: the model does not say which data it was trained on; give v_reset yourself")
    found = cached(f"{net.name}-v-reset", {"net": _fingerprint(net), "steps": steps,
                                           "candidates": list(candidates), "samples": CALIBRATION_SAMPLES},
                   build, folder)
    scores = {float(c): float(a) for c, a in zip(found["candidates"], found["accuracy"])}
    return max(scores, key=lambda c: (scores[c], -abs(c - 0.5))), scores
