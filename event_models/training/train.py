"""Training with integer-valued spike activations (needs the extra: ``pip install ".[train]"``).

Every hidden activation is the quantised clip-floor-shift function a = lam/D * clip(floor(z*D/lam + 1/2), 0, D)
with a learnable clip ``lam`` per layer and a straight-through gradient (the QCFS / multi-spike form: an integer
k in 0..D that D binary steps reproduce). Options: 4-bit learned-step-size weights (LSQ, per output channel, as in
QSD-Transformer) and the SPAM optimiser (Adam with momentum reset, spike-aware gradient clipping and warm-up).
After training, batch norm is folded and the net is exported as a ``net.Net`` in count space (weights times the
source layer's clip, thresholds = clips), so nothing downstream needs torch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from hippocam.errors import InputError

from hippocam.event_models.snn.net import Layer, Net
from hippocam.event_models.snn.ops import AvgPool, Conv, Dense, Flatten, Scale

try:
    import torch
    from torch import nn
    from torch.nn import functional as F
except ImportError:  # pragma: no cover - torch is an optional extra
    torch = None


def require_torch():
    if torch is None:
        raise InputError("training needs PyTorch: from a hippocam checkout, pip install '.[train]' (torch 2.13.0, CPU)")


# ----------------------------------------------------------------------------------------- architecture spec
# The layers a recipe trains: sizes, no weights (the exported net's ``snn.ops`` carry those).
@dataclass(frozen=True)
class ConvSpec:
    """An ``nd``-D convolution from ``cin`` to ``cout`` channels, kernel ``k`` per axis."""
    cin: int
    cout: int
    k: int
    stride: int = 1
    pad: int = 0
    groups: int = 1
    nd: int = 2


@dataclass(frozen=True)
class PoolSpec:
    """Non-overlapping average pooling."""
    kernel: tuple[int, ...]


@dataclass(frozen=True)
class FlattenSpec:
    pass


@dataclass(frozen=True)
class DenseSpec:
    fin: int
    fout: int


@dataclass(frozen=True)
class Unit:
    """One population: ``ops`` (``ConvSpec``, ``PoolSpec``, ``FlattenSpec``, ``DenseSpec``) applied to source
    ``src`` (-1 = input); ``add``: a shortcut source whose activation is added before the activation;
    ``spiking=False`` for the read-out."""
    name: str
    src: int
    ops: tuple
    add: int | None = None
    spiking: bool = True


@dataclass(frozen=True)
class Recipe:
    """How one shipped model is trained. ``dataset``: a ``datasets`` spec; ``steps``: the T values evaluated,
    ``stated``: the T its accuracy is stated at (and the biases are calibrated for, if ``calibrate``)."""
    name: str
    family: str
    dataset: dict
    units: tuple
    input_shape: tuple
    epochs: int = 30
    batch: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-4
    w4: bool = False
    optimizer: str = "adam"
    steps: tuple = (1, 2, 4, 8, 16, 32)
    stated: int = 8
    shift_augment: int = 0
    calibrate: bool = True
    notes: str = ""
    extra: dict = field(default_factory=dict)


# --------------------------------------------------------------------------------------------- torch parts
if torch is not None:
    class _RoundSTE(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return torch.floor(x + 0.5)

        @staticmethod
        def backward(ctx, g):
            return g

    def qcfs(z, lam, levels):
        """Integer activation in 'value' units: lam * k / D, k = clip(floor(z * D / lam + 1/2), 0, D)."""
        u = torch.clamp(z / lam * levels, 0, levels)
        return _RoundSTE.apply(u) * lam / levels

    class QAct(nn.Module):
        def __init__(self, levels, init=1.0):
            super().__init__()
            self.levels = levels
            self.lam = nn.Parameter(torch.tensor(float(init)))

        def clip(self):
            return self.lam.abs() + 1e-3

        def forward(self, z):
            return qcfs(z, self.clip(), self.levels)

    def lsq(w, step, bits=4):
        """Learned-step-size quantisation (Esser et al. 2020): signed ``bits``-bit integers times a per-output-channel
        step; the step's gradient is scaled by 1/sqrt(n * Qp) as LSQ prescribes."""
        qn, qp = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
        g = 1.0 / math.sqrt(w[0].numel() * qp)
        s = step * g + (step - step * g).detach()         # value step, gradient step * g
        s = s.view((-1,) + (1,) * (w.dim() - 1))
        return _RoundSTE.apply(torch.clamp(w / s, qn, qp)) * s

    class WeightOp(nn.Module):
        """A conv or dense weight with optional 4-bit LSQ quantisation."""

        def __init__(self, spec: ConvSpec | DenseSpec, w4, bias):
            super().__init__()
            self.spec = spec
            if isinstance(spec, ConvSpec):
                mod = (nn.Conv2d if spec.nd == 2 else nn.Conv3d)(spec.cin, spec.cout, spec.k, spec.stride, spec.pad,
                                                                 groups=spec.groups, bias=bias)
                self.fn = F.conv2d if spec.nd == 2 else F.conv3d
                self.kw = dict(stride=spec.stride, padding=spec.pad, groups=spec.groups)
            else:
                mod = nn.Linear(spec.fin, spec.fout, bias=bias)
                self.fn, self.kw = F.linear, {}
            self.weight, self.bias = mod.weight, mod.bias
            self.w4 = w4
            if w4:
                init = 2 * self.weight.detach().abs().flatten(1).mean(1) / math.sqrt(7)
                self.step = nn.Parameter(init)

        def qweight(self):
            return lsq(self.weight, self.step.abs() + 1e-8) if self.w4 else self.weight

        def forward(self, x):
            return self.fn(x, self.qweight(), self.bias, **self.kw)

    class Model(nn.Module):
        def __init__(self, recipe: Recipe, levels: int):
            super().__init__()
            self.recipe, self.levels = recipe, levels
            self.chains, self.norms, self.acts = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
            for u in recipe.units:
                mods = []
                for op in u.ops:
                    if isinstance(op, (ConvSpec, DenseSpec)):
                        mods.append(WeightOp(op, recipe.w4, bias=not u.spiking))
                    elif isinstance(op, PoolSpec):
                        k = op.kernel
                        mods.append(nn.AvgPool2d(k) if len(k) == 2 else nn.AvgPool3d(k))
                    elif isinstance(op, FlattenSpec):
                        mods.append(nn.Flatten())
                    else:
                        raise InputError(f"unit {u.name}: {op!r} is not a layer spec; use ConvSpec, PoolSpec, "
                                         "FlattenSpec or DenseSpec")
                self.chains.append(nn.Sequential(*mods))
                last = [op for op in u.ops if isinstance(op, (ConvSpec, DenseSpec))][-1]
                cout = last.cout if isinstance(last, ConvSpec) else last.fout
                nd = last.nd if isinstance(last, ConvSpec) else 0
                self.norms.append({0: nn.BatchNorm1d, 2: nn.BatchNorm2d, 3: nn.BatchNorm3d}[nd](cout)
                                  if u.spiking else nn.Identity())
                self.acts.append(QAct(levels) if u.spiking else nn.Identity())

        def forward(self, x):
            outs = []
            for u, chain, norm, act in zip(self.recipe.units, self.chains, self.norms, self.acts):
                z = norm(chain(x if u.src < 0 else outs[u.src]))
                if u.add is not None:
                    z = z + outs[u.add]
                outs.append(act(z))
            return outs[-1]

    def cosine_schedule(opt, total: int):
        """The learning rate times 0.5 * (1 + cos(pi * s / total)): from its value to 0 over ``total`` steps."""
        return torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total)))

    def descend(opt, sched, out, labels) -> tuple[float, int]:
        """One step on the cross entropy of logits ``out``: (the loss times the batch size, correct answers)."""
        loss = F.cross_entropy(out, labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        return float(loss.detach()) * len(labels), int((out.argmax(1) == labels).sum())

    class SPAM(torch.optim.Optimizer):
        """Adam with periodic momentum reset, spike-aware clipping and a cosine warm-up after each reset
        (Huang et al., ICLR 2025). Entries with g^2 > theta * v are clipped to sign(g) * sqrt(theta * v)."""

        def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, reset=500,
                     warmup=150, theta=5000.0):
            super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))
            self.reset, self.warmup, self.theta, self.count = reset, warmup, theta, 0

        @torch.no_grad()
        def step(self, closure=None):
            self.count += 1
            since = (self.count - 1) % self.reset          # steps since the last reset
            fresh = since == 0 and self.count > 1
            ramp = 0.5 * (1 - math.cos(math.pi * min(1.0, (since + 1) / self.warmup))) if self.count > self.reset \
                else 1.0
            for group in self.param_groups:
                b1, b2 = group["betas"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    g = p.grad
                    st = self.state[p]
                    if not st or fresh:
                        st["m"], st["v"] = torch.zeros_like(p), torch.zeros_like(p)
                    m, v = st["m"], st["v"]
                    if since > 0:
                        bound = torch.sqrt(self.theta * v)
                        g = torch.where(g * g > self.theta * v, torch.sign(g) * bound, g)
                    if group["weight_decay"]:
                        p.mul_(1 - group["lr"] * group["weight_decay"])
                    m.mul_(b1).add_(g, alpha=1 - b1)
                    v.mul_(b2).addcmul_(g, g, value=1 - b2)
                    k = since + 1
                    mh, vh = m / (1 - b1 ** k), v / (1 - b2 ** k)
                    p.add_(-group["lr"] * ramp * mh / (vh.sqrt() + group["eps"]))


# ------------------------------------------------------------------------------------------------ training
def _shift(x, n, gen):
    """Random integer translation by up to n pixels (zero fill), one shift per batch (cheap augmentation)."""
    dx, dy = (int(v) for v in torch.randint(-n, n + 1, (2,), generator=gen))
    x = torch.roll(x, (dy, dx), dims=(-2, -1))
    if dy > 0:
        x[..., :dy, :] = 0
    elif dy < 0:
        x[..., dy:, :] = 0
    if dx > 0:
        x[..., :dx] = 0
    elif dx < 0:
        x[..., dx:] = 0
    return x


def fit(recipe: Recipe, x_train: np.ndarray, y_train: np.ndarray, seed: int, log=print, threads: int = 1):
    """Train ``recipe`` on counts ``x_train`` (N, *shape) in 0..D; returns the torch model (eval mode)."""
    require_torch()
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    levels = recipe.dataset["levels"]
    model = Model(recipe, levels)
    x = torch.tensor(x_train, dtype=torch.float32) / levels
    y = torch.tensor(y_train, dtype=torch.long)
    gen = torch.Generator().manual_seed(seed)
    decay = [p for n, p in model.named_parameters() if n.endswith("weight") and p.dim() > 1]
    rest = [p for n, p in model.named_parameters() if not (n.endswith("weight") and p.dim() > 1)]
    groups = [{"params": decay, "weight_decay": recipe.weight_decay}, {"params": rest, "weight_decay": 0.0}]
    if recipe.optimizer == "spam":
        opt = SPAM(groups, lr=recipe.lr)
    elif recipe.optimizer == "adam":
        opt = torch.optim.AdamW(groups, lr=recipe.lr)
    else:
        raise InputError(f"unknown optimiser {recipe.optimizer!r}; use adam or spam")
    n = len(x)
    per_epoch = math.ceil(n / recipe.batch)
    total = recipe.epochs * per_epoch
    sched = cosine_schedule(opt, total)
    for epoch in range(recipe.epochs):
        model.train()
        perm = torch.randperm(n, generator=gen)
        loss_sum, correct = 0.0, 0
        for b in range(per_epoch):
            idx = perm[b * recipe.batch:(b + 1) * recipe.batch]
            xb = x[idx]
            if recipe.shift_augment:
                xb = _shift(xb.clone(), recipe.shift_augment, gen)
            batch_loss, batch_correct = descend(opt, sched, model(xb), y[idx])
            loss_sum += batch_loss
            correct += batch_correct
        if epoch == recipe.epochs - 1 or epoch % max(1, recipe.epochs // 6) == 0:
            log(f"  epoch {epoch + 1}/{recipe.epochs}: loss {loss_sum / n:.3f}, train accuracy {correct / n:.3f}")
    model.eval()
    return model


# -------------------------------------------------------------------------------------------------- export
def export(model, recipe: Recipe, classes=()) -> Net:
    """Fold batch norm and clips into a count-space ``net.Net`` (float32-rounded weights)."""
    require_torch()
    levels = recipe.dataset["levels"]
    lams = [float(a.clip().detach()) if isinstance(a, QAct) else None for a in model.acts]
    shapes = _shapes(model, recipe)
    layers = []
    with torch.no_grad():
        for i, (u, chain, norm) in enumerate(zip(recipe.units, model.chains, model.norms)):
            lam_src = 1.0 if u.src < 0 else lams[u.src]
            ops, bias = [], None
            wops = [m for m in chain if isinstance(m, WeightOp)]
            for m, spec in zip(chain, u.ops):
                if isinstance(m, WeightOp):
                    w = m.qweight().detach().double().numpy().copy()
                    b = m.bias.detach().double().numpy().copy() if m.bias is not None else np.zeros(w.shape[0])
                    if m is wops[-1] and isinstance(norm, nn.modules.batchnorm._BatchNorm):
                        g = (norm.weight / torch.sqrt(norm.running_var + norm.eps)).double().numpy()
                        w = w * g.reshape((-1,) + (1,) * (w.ndim - 1))
                        b = (b - norm.running_mean.double().numpy()) * g + norm.bias.double().numpy()
                    if m is wops[0]:
                        w = w * lam_src       # the source emits counts k; its value is lam * k / D
                    if m is wops[-1]:
                        bias = b
                    if isinstance(spec, ConvSpec):
                        ops.append(Conv(w.astype(np.float32), spec.stride, spec.pad, spec.groups))
                    else:
                        ops.append(Dense(w.astype(np.float32)))
                elif isinstance(spec, PoolSpec):
                    ops.append(AvgPool(tuple(spec.kernel)))
                else:
                    ops.append(Flatten())
            inputs = [(u.src, tuple(ops))]
            if u.add is not None:
                inputs.append((u.add, (Scale(np.asarray(lams[u.add], np.float32)),)))
            # count space: I = D * z, so the bias (added D times per macro step, once per binary step) stays z's
            layers.append(Layer(u.name, tuple(inputs), bias.astype(np.float32).astype(float),
                                float(np.float32(lams[i])) if u.spiking else 1.0, shapes[i], u.spiking))
    return Net(recipe.name, tuple(recipe.input_shape), levels, tuple(layers), dict(recipe.dataset), tuple(classes))


def _shapes(model, recipe):
    x = torch.zeros((2,) + tuple(recipe.input_shape))
    shapes = []
    with torch.no_grad():
        model.eval()
        outs = []
        for u, chain, norm, act in zip(recipe.units, model.chains, model.norms, model.acts):
            z = norm(chain(x if u.src < 0 else outs[u.src]))
            outs.append(z)
            shapes.append(tuple(z.shape[1:]))
    return shapes


def torch_logits(model, counts: np.ndarray, levels: int) -> np.ndarray:
    require_torch()
    with torch.no_grad():
        return model(torch.tensor(counts, dtype=torch.float32) / levels).double().numpy()
