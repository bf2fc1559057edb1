"""Fine-tuning a converted network for the reset PyNN cells have (needs ``pip install ".[train]"``).

Why: a trained net's SNN resets by subtraction (``refsim``'s default), which keeps the membrane's residue above
the threshold; PyNN cells reset to a value. Recalibrating the biases for the reset to a value
(``pynn.convert.calibrated_for_reset_to_value``) keeps most of the accuracy on small nets, not on the point and
voxel nets (10-20 points lost at T = 8..32). Here the SNN itself is trained: ``refsim``'s binary IF network (spike
input from ``encodings.spread``, reset to ``v_reset`` theta, start at ``v_init`` theta, T steps) unrolled in torch,
the spike's derivative replaced by a fast-sigmoid surrogate (width ``SURROGATE_WIDTH`` theta), the loss the cross
entropy of the read-out's membrane after T steps divided by T, through time (BPTT). Weights and SNN biases learn;
thresholds, pooling and shortcut scales stay. The result is a ``net.Net`` whose SNN semantics (``Net.snn``) say
which reset it was tuned for, so the PyNN builds use it as it is, without a recalibration.
"""
from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from hippocam.errors import InputError

from hippocam.event_models.data import encodings
from hippocam.event_models.snn.net import Net, bias_term
from hippocam.event_models.snn.ops import WEIGHTED, AvgPool, Conv, Delay, Dense, Flatten, Op, Scale, SumPool
from .train import require_torch, torch

if torch is not None:
    from .train import cosine_schedule, descend

SURROGATE_WIDTH = 0.25     # of theta: the fast sigmoid's scale (its derivative halves at 0.41 * width from theta)


@dataclasses.dataclass(frozen=True)
class TuneParams:
    """steps: T; v_reset / v_init: fractions of theta; epochs, batch, lr (Adam, cosine decay to 0)."""
    steps: int = 8
    v_reset: float = 0.5
    v_init: float = 0.5
    epochs: int = 8
    batch: int = 32
    lr: float = 3e-4

    def __post_init__(self):
        for name in ("steps", "epochs", "batch"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise InputError(f"{name} must be a positive integer, got {v!r}")
        if not (0.0 <= self.v_reset < 1.0 and 0.0 <= self.v_init < 1.0):
            raise InputError("v_reset and v_init are fractions of the threshold in [0, 1)")
        if not self.lr > 0:
            raise InputError(f"the learning rate must be positive, got {self.lr!r}")


def check_tunable(net: Net) -> None:
    """Only the trained IF nets (no imported neuron dynamics, no delays) are unrolled here."""
    for layer in net.layers:
        if layer.neuron is not None:
            raise InputError(f"{net.name}: layer {layer.name!r} has imported neuron dynamics; fine-tuning takes "
                             "the nets 'hippocam event train' makes (IF layers)")
        for _, chain in layer.inputs:
            for op in chain:
                if isinstance(op, Delay):
                    raise InputError(f"{net.name}: layer {layer.name!r} has a delayed input; fine-tuning does "
                                     "not unroll delays")


if torch is not None:
    from torch import nn
    from torch.nn import functional as F

    class _Spike(torch.autograd.Function):
        """Heaviside of u = (v - theta) / theta; fast-sigmoid derivative 1 / (1 + |u| / w)^2 / w."""
        @staticmethod
        def forward(ctx, u):
            ctx.save_for_backward(u)
            return (u >= 0).to(u.dtype)

        @staticmethod
        def backward(ctx, g):
            (u,) = ctx.saved_tensors
            return g / (SURROGATE_WIDTH * (1 + u.abs() / SURROGATE_WIDTH) ** 2)

    def _conv(module, op, key, x):
        w = module.weights[module.where[key]]
        fn = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[w.dim() - 2]
        return fn(x, w, None, op.stride, op.padding, 1, op.groups)

    def _avgpool(x, kernel):
        return {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}[len(kernel)](x, tuple(kernel))

    # op class -> its torch form (module, op, (layer, chain, op) index, x); the weights are the module's parameters
    _TORCH = {
        Conv: _conv,
        Dense: lambda module, op, key, x: F.linear(x, module.weights[module.where[key]]),
        SumPool: lambda module, op, key, x: _avgpool(x, op.kernel) * float(np.prod(op.kernel)),
        AvgPool: lambda module, op, key, x: _avgpool(x, op.kernel),
        Flatten: lambda module, op, key, x: x.reshape(len(x), -1),
        Scale: lambda module, op, key, x: x * torch.as_tensor(np.asarray(op.factor, np.float32)),
    }

    class Unrolled(nn.Module):
        """``refsim.simulate`` (binary mode, spike input, reset to a value) as a differentiable torch module."""

        def __init__(self, net: Net, params: TuneParams):
            super().__init__()
            check_tunable(net)
            self.net, self.params = net, params
            self.weights = nn.ParameterList()
            self.biases = nn.ParameterList()
            self.where: dict = {}          # (layer, chain, op) -> index into weights
            for i, layer in enumerate(net.layers):
                for j, (_, chain) in enumerate(layer.inputs):
                    for k, op in enumerate(chain):
                        if isinstance(op, WEIGHTED):
                            self.where[(i, j, k)] = len(self.weights)
                            self.weights.append(nn.Parameter(torch.tensor(np.asarray(op.weight, np.float32))))
                self.biases.append(nn.Parameter(torch.tensor(
                    bias_term(layer, snn=True)[0].astype(np.float32))))

        def _op(self, op: Op, key, x):
            fn = _TORCH.get(type(op))
            if fn is None:
                raise InputError(f"fine-tuning cannot unroll a {type(op).__name__} op")
            return fn(self, op, key, x)

        def forward(self, trains):
            """trains: (T, B, *input_shape) 0/1 -> read-out membrane after T steps (B, classes)."""
            p, layers = self.params, self.net.layers
            b = trains.shape[1]
            v = [torch.full((b,) + tuple(layer.shape), p.v_init * layer.threshold if layer.spiking else 0.0)
                 for layer in layers]
            for t in range(trains.shape[0]):
                spikes = []
                for i, layer in enumerate(layers):
                    cur = self.biases[i]
                    for j, (src, chain) in enumerate(layer.inputs):
                        x = trains[t] if src < 0 else spikes[src]
                        for k, op in enumerate(chain):
                            x = self._op(op, (i, j, k), x)
                        cur = cur + x
                    v[i] = v[i] + cur
                    if layer.spiking:
                        s = _Spike.apply((v[i] - layer.threshold) / layer.threshold)
                        kept = (1 - s).detach()          # the reset itself passes no gradient
                        v[i] = v[i] * kept + (1 - kept) * (p.v_reset * layer.threshold)
                        spikes.append(s)
                    else:
                        spikes.append(None)
            return v[-1]

        def export(self) -> Net:
            """The tuned net; ``bias`` and ``snn_bias`` both the tuned SNN bias (the source network's integer
            activations no longer describe these weights)."""
            layers = []
            for i, layer in enumerate(self.net.layers):
                inputs = []
                for j, (src, chain) in enumerate(layer.inputs):
                    ops = tuple(dataclasses.replace(op, weight=self.weights[self.where[(i, j, k)]].detach()
                                                    .numpy().astype(np.float32))
                                if (i, j, k) in self.where else op for k, op in enumerate(chain))
                    inputs.append((src, ops))
                b = self.biases[i].detach().double().numpy()
                b = b.reshape(b.shape[0], -1)[:, 0] if np.ndim(layer.bias) == 1 else b
                b = b.astype(np.float32).astype(float)
                layers.append(dataclasses.replace(layer, inputs=tuple(inputs), bias=b,
                                                  snn_bias=b if layer.spiking else None))
            p = self.params
            snn = {"reset": "value", "v_reset": p.v_reset, "v_init": p.v_init, "steps": p.steps,
                   "tuned_from": self.net.name}
            return dataclasses.replace(self.net, layers=tuple(layers), snn=snn)


def _trains(counts: np.ndarray, steps: int, levels: int):
    return torch.from_numpy(encodings.spread(counts, steps, levels).astype(np.float32))


def fine_tune(net: Net, x_train: np.ndarray, y_train: np.ndarray, params: TuneParams, seed: int = 0,
              log=print, threads: int = 1) -> Net:
    """``net`` (its SNN biases as the start: calibrate them for the reset first) trained as its binary SNN with
    reset to ``params.v_reset`` theta on counts ``x_train`` (N, *input_shape), labels ``y_train``."""
    require_torch()
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    model = Unrolled(net, params)
    y = torch.as_tensor(np.asarray(y_train), dtype=torch.long)
    n = len(x_train)
    per_epoch = math.ceil(n / params.batch)
    total = params.epochs * per_epoch
    opt = torch.optim.Adam(model.parameters(), lr=params.lr)
    sched = cosine_schedule(opt, total)
    gen = np.random.default_rng(seed)
    for epoch in range(params.epochs):
        t0, loss_sum, correct = time.perf_counter(), 0.0, 0
        for idx in np.array_split(gen.permutation(n), per_epoch):
            out = model(_trains(x_train[idx], params.steps, net.levels)) / params.steps
            batch_loss, batch_correct = descend(opt, sched, out, y[idx])
            loss_sum += batch_loss
            correct += batch_correct
        log(f"  epoch {epoch + 1}/{params.epochs}: loss {loss_sum / n:.3f}, train accuracy (SNN) "
            f"{correct / n:.3f}, {time.perf_counter() - t0:.0f} s")
    return model.export()
