"""Bias calibration of a converted network for its binary SNN at T steps (after Li et al., ICML 2021).

Why: a binary IF neuron cannot take back a spike. When a neuron's input sums to about zero but its positive
contributions arrive before its negative ones, it fires anyway; the integer activation (clipped at 0) would not.
So the SNN's rates are biased upwards layer after layer, and deep or wide-pooled nets lose accuracy at small T
(the "unevenness" error). Calibration runs the SNN on a batch of training inputs and shifts each layer's bias,
layer by layer, by the per-channel mean difference between the integer activations and the SNN's rates (in
levels): one level is theta/D of input per step. The shifted biases are stored as ``Layer.snn_bias``: the
source network (``net.forward``, multispike mode) keeps the trained biases, the binary SNN and the NIR export use
the calibrated ones.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from . import refsim
from .net import Net, forward


def calibrate(net: Net, counts: np.ndarray, steps: int, rounds: int = 1,
              params: refsim.SimParams | None = None) -> tuple[Net, list[np.ndarray]]:
    """Copy of ``net`` with ``snn_bias`` calibrated for binary IF neurons over ``steps`` steps, from input counts
    ``counts`` (a batch of training inputs). ``params``: the SNN's semantics (default: reset by subtraction);
    starting from ``snn_bias`` where the net has one. Returns (net, per-layer shifts)."""
    params = params or refsim.SimParams(steps=steps)
    _, target = forward(net, counts)          # the integer activations of the trained network
    layers = [dataclasses.replace(layer, snn_bias=np.asarray(
        layer.snn_bias if layer.snn_bias is not None else layer.bias, float).copy()) if layer.spiking else layer
        for layer in net.layers]
    shifts = [np.zeros_like(np.asarray(layer.bias, float)) for layer in layers]
    for _ in range(rounds):
        for i, layer in enumerate(layers):
            if not layer.spiking:
                continue
            upto = dataclasses.replace(net, layers=tuple(layers[:i + 1]))     # later layers do not matter here
            sim = refsim.simulate(upto, counts, dataclasses.replace(params, steps=steps))
            err = target[i] - sim.counts[i] * net.levels / steps                # levels, per neuron
            per_channel = err.reshape(len(err), err.shape[1], -1).mean(axis=(0, 2))
            delta = layer.threshold * per_channel / net.levels
            if np.ndim(layer.bias) > 1:                                         # a per-neuron bias
                delta = delta.reshape((-1,) + (1,) * (np.ndim(layer.bias) - 1))
            shifts[i] = shifts[i] + delta
            layers[i] = dataclasses.replace(layer, snn_bias=layers[i].snn_bias + delta)
    return dataclasses.replace(net, layers=tuple(layers)), shifts
