"""The linear ops of a weight chain: one frozen dataclass per kind (as NIR has one node type per kind), and their
numpy forms.

A chain is a sequence of ops from a source layer (or the input) to a target layer, applied to a batch (B, *shape):

* ``Conv``     N-d cross-correlation (PyTorch's conv): weight (Cout, Cin/groups, *kernel), stride, zero padding
* ``Dense``    weight (out, in) on a flat input
* ``SumPool``  non-overlapping sum pooling (stride = kernel) over the trailing len(kernel) axes
* ``AvgPool``  the same, divided by the kernel's size
* ``Flatten``  (C, *S) -> (C*prod(S),) in C order
* ``Scale``    times ``factor``: a scalar (identity shortcuts, an imported layer's jump) or an array over the shape
* ``Delay``    the chain acts on the source's spikes of ``steps`` time steps earlier (imported graphs only); the
               values pass unchanged (``refsim`` and the PyNN builds take the timing from ``chain_delay``)

Code that treats kinds differently looks the op's class up in a table (``APPLY`` here, ``connectivity``'s
matrices, the NIR writer, the torch unrolling), so a new kind fails loudly where it is not handled yet.
Saved models (format version 1) describe an op as ``kind, stride, padding, groups, kernel`` plus one array;
``to_record`` and ``from_record`` translate (a delay's steps are stored in ``stride`` there).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable, Union

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from hippocam.errors import InputError


def _positive_int(value, what: str, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise InputError(f"{what} must be an integer >= {low}, got {value!r}")
    return int(value)


def _kernel(kernel, what: str) -> tuple[int, ...]:
    kernel = tuple(kernel)
    if not kernel:
        raise InputError(f"{what}: give a kernel size per pooled axis, e.g. (2, 2)")
    return tuple(_positive_int(k, f"{what} kernel size") for k in kernel)


# Weight-bearing ops compare by identity (eq=False): numpy arrays have no single truth value, so the generated
# __eq__ would raise on them.
@dataclass(frozen=True, eq=False)
class Conv:
    weight: np.ndarray
    stride: int = 1
    padding: int = 0
    groups: int = 1

    def __post_init__(self):
        w = np.asarray(self.weight)
        if not 3 <= w.ndim <= 5:
            raise InputError(f"a conv weight is (Cout, Cin/groups, *kernel) for 1-D to 3-D inputs, got shape "
                             f"{w.shape}")
        _positive_int(self.stride, "a conv's stride")
        _positive_int(self.padding, "a conv's padding", 0)
        groups = _positive_int(self.groups, "a conv's groups")
        if w.shape[0] % groups:
            raise InputError(f"a conv with {groups} groups needs a multiple of {groups} output channels, "
                             f"its weight has {w.shape[0]}")

    @property
    def kernel(self) -> tuple[int, ...]:
        return tuple(np.shape(self.weight)[2:])


@dataclass(frozen=True, eq=False)
class Dense:
    weight: np.ndarray

    def __post_init__(self):
        if np.ndim(self.weight) != 2:
            raise InputError(f"a dense weight is (out, in), got shape {np.shape(self.weight)}")


@dataclass(frozen=True)
class SumPool:
    kernel: tuple[int, ...]

    def __post_init__(self):
        object.__setattr__(self, "kernel", _kernel(self.kernel, "a sum pool"))


@dataclass(frozen=True)
class AvgPool:
    kernel: tuple[int, ...]

    def __post_init__(self):
        object.__setattr__(self, "kernel", _kernel(self.kernel, "an average pool"))


@dataclass(frozen=True)
class Flatten:
    pass


@dataclass(frozen=True, eq=False)
class Scale:
    factor: np.ndarray | float

    def __post_init__(self):
        if not np.issubdtype(np.asarray(self.factor).dtype, np.number):
            raise InputError(f"a scale factor is a number or an array of numbers, got {self.factor!r}")


@dataclass(frozen=True)
class Delay:
    steps: int

    def __post_init__(self):
        _positive_int(self.steps, "a delay in time steps", 0)


Op = Union[Conv, Dense, SumPool, AvgPool, Flatten, Scale, Delay]
WEIGHTED = (Conv, Dense)      # the ops whose arrays are trained parameters


def unknown(op, where: str) -> InputError:
    """The error for an op that a table has no entry for."""
    kinds = ", ".join(KINDS.values())
    return InputError(f"{where}: {type(op).__name__} is not an op; build chains from event_models.snn.ops "
                      f"(kinds {kinds})")


# --------------------------------------------------------------------------------------------- numpy forms
def conv(x: np.ndarray, w: np.ndarray, stride: int = 1, padding: int = 0, groups: int = 1) -> np.ndarray:
    """N-d cross-correlation (PyTorch's conv): x (B, Cin, *S), w (Cout, Cin/groups, *K) -> (B, Cout, *S')."""
    nd = w.ndim - 2
    if padding:
        x = np.pad(x, [(0, 0), (0, 0)] + [(padding, padding)] * nd)
    b, cin = x.shape[:2]
    cout, cin_g = w.shape[:2]
    ksize = w.shape[2:]
    out_sp = tuple((s - k) // stride + 1 for s, k in zip(x.shape[2:], ksize))
    if groups == 1 and stride == 1 and all(k == 1 for k in ksize):
        # pointwise: one matrix product over channels
        return np.matmul(w.reshape(cout, cin), x.reshape(b, cin, -1)).reshape((b, cout) + out_sp)
    if cin_g == 1 and groups == cin:
        # depthwise: one multiply-add of a shifted view per kernel offset (no im2col copy)
        m = cout // groups
        out = np.zeros((b, groups, m) + out_sp)
        for off in np.ndindex(*ksize):
            sl = tuple(slice(o, o + stride * (n - 1) + 1, stride) for o, n in zip(off, out_sp))
            xs = x[(slice(None), slice(None)) + sl][:, :, None]
            out += xs * w[(slice(None), 0) + off].reshape((1, groups, m) + (1,) * nd)
        return out.reshape((b, cout) + out_sp)
    win = sliding_window_view(x, ksize, axis=tuple(range(2, 2 + nd)))
    win = win[(slice(None), slice(None)) + (slice(None, None, stride),) * nd]     # (B, Cin, *S', *K)
    outs = []
    cg = cout // groups
    for g in range(groups):
        wg = win[:, g * cin_g:(g + 1) * cin_g]
        # im2col: (B, *S', Cin_g, *K) rows times the (Cin_g*K, Cout_g) weight matrix, through BLAS
        cols = np.moveaxis(wg, 1, 1 + nd).reshape(-1, cin_g * int(np.prod(ksize)))
        res = cols @ w[g * cg:(g + 1) * cg].reshape(cg, -1).T
        outs.append(np.moveaxis(res.reshape((b,) + out_sp + (cg,)), -1, 1))
    return outs[0] if groups == 1 else np.concatenate(outs, axis=1)


def sumpool(x: np.ndarray, kernel: tuple[int, ...]) -> np.ndarray:
    """Non-overlapping sum pooling over the trailing len(kernel) axes (sizes must divide)."""
    nd = len(kernel)
    shape = x.shape[:-nd]
    for s, k in zip(x.shape[-nd:], kernel):
        shape += (s // k, k)
    y = x.reshape(shape)
    return y.sum(axis=tuple(range(x.ndim - nd + 1, x.ndim + nd, 2)))


APPLY: dict[type, Callable[[Op, np.ndarray], np.ndarray]] = {
    Conv: lambda op, x: conv(x, op.weight, op.stride, op.padding, op.groups),
    Dense: lambda op, x: x @ op.weight.T,
    SumPool: lambda op, x: sumpool(x, op.kernel),
    AvgPool: lambda op, x: sumpool(x, op.kernel) / float(np.prod(op.kernel)),
    Flatten: lambda op, x: x.reshape(len(x), -1),
    Scale: lambda op, x: x * op.factor,
    Delay: lambda op, x: x,
}


def apply_op(op: Op, x: np.ndarray) -> np.ndarray:
    """Apply one op to a batch x (B, *shape)."""
    fn = APPLY.get(type(op))
    if fn is None:
        raise unknown(op, "apply_op")
    return fn(op, x)


def apply_chain(chain, x: np.ndarray) -> np.ndarray:
    for op in chain:
        x = apply_op(op, x)
    return x


def apply_chain_to(chain, x: np.ndarray, shape) -> np.ndarray:
    """``apply_chain``, laid out as (B, *shape) of the target layer: a graph may give a chain's values in another
    layout of the same size (an Input written with a batch axis of 1, (1, n), into n neurons)."""
    y = apply_chain(chain, x)
    return y.reshape((y.shape[0],) + tuple(shape))


def chain_delay(chain) -> int:
    """Steps of delay along a chain (its ``Delay`` ops)."""
    return sum(op.steps for op in chain if isinstance(op, Delay))


def indicator_chain(chain) -> tuple[Op, ...]:
    """The chain with every weight replaced by 1 where it is non-zero (and pooling as a plain sum): applied to
    spike counts it counts synaptic events, applied to ones it counts synapses (fan-in)."""
    out = []
    for op in chain:
        if isinstance(op, WEIGHTED):
            out.append(dataclasses.replace(op, weight=(op.weight != 0).astype(float)))
        elif isinstance(op, AvgPool):
            out.append(SumPool(op.kernel))
        elif isinstance(op, Scale):
            out.append(Scale(np.asarray(float(np.any(op.factor != 0)))))
        else:
            out.append(op)
    return tuple(out)


# ----------------------------------------------------------------------------- saved form (format version 1)
KINDS: dict[type, str] = {Conv: "conv", Dense: "dense", SumPool: "sumpool", AvgPool: "avgpool",
                          Flatten: "flatten", Scale: "scale", Delay: "delay"}


def op_array(op: Op) -> np.ndarray | None:
    """The op's one array (a weight or a scale factor), None for ops without one."""
    if isinstance(op, WEIGHTED):
        return op.weight
    if isinstance(op, Scale):
        return op.factor
    return None


def op_key(op: Op) -> tuple:
    """(kind, stride, padding, groups, kernel): the op without its array, as format version 1 stores it."""
    if type(op) not in KINDS:
        raise unknown(op, "saving a chain")
    stride, padding, groups, kernel = 1, 0, 1, []
    if isinstance(op, Conv):
        stride, padding, groups = op.stride, op.padding, op.groups
    elif isinstance(op, (SumPool, AvgPool)):
        kernel = list(op.kernel)
    elif isinstance(op, Delay):
        stride = op.steps
    return KINDS[type(op)], stride, padding, groups, kernel


def to_record(op: Op) -> dict:
    kind, stride, padding, groups, kernel = op_key(op)
    return {"kind": kind, "stride": stride, "padding": padding, "groups": groups, "kernel": kernel}


def from_record(record: dict, array: np.ndarray | None) -> Op:
    """The op a saved record (``to_record``) and its array describe."""
    kind = record.get("kind")
    if kind in ("conv", "dense", "scale") and array is None:
        raise InputError(f"a saved {kind} op has no array; the model file is damaged: write it again")
    if kind == "conv":
        return Conv(array, record["stride"], record["padding"], record["groups"])
    if kind == "dense":
        return Dense(array)
    if kind == "sumpool":
        return SumPool(tuple(record["kernel"]))
    if kind == "avgpool":
        return AvgPool(tuple(record["kernel"]))
    if kind == "flatten":
        return Flatten()
    if kind == "scale":
        return Scale(array)
    if kind == "delay":
        return Delay(record["stride"])
    raise InputError(f"a saved op of unknown kind {kind!r}; this hippocam reads {', '.join(KINDS.values())}")
