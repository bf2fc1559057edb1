"""Weight chains of a ``net.Net`` as explicit synapse lists: the form every PyNN backend can build.

A chain (a sequence of ``ops``) is a linear map from a source tensor (C, *S) to a target tensor; here it becomes a
sparse matrix M (target size x source size, C order) with ``M @ x.ravel() == apply_chain(chain, x)``. Conv, pool,
flatten, dense and scale ops are turned into index arithmetic (no dense identity is ever pushed through the ops),
so a 16^3 voxel conv becomes a few million synapses in well under a second. Products of the ops' matrices give the
chain; chains from the same source add up into one projection.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from hippocam.errors import InputError

from .net import Net
from .ops import AvgPool, Conv, Delay, Dense, Flatten, Op, Scale, SumPool, chain_delay, unknown


def _conv_matrix(op: Conv, in_shape: tuple[int, ...]) -> tuple[sp.csr_matrix, tuple[int, ...]]:
    w = np.asarray(op.weight, float)
    nd = w.ndim - 2
    cin, spatial = in_shape[0], tuple(in_shape[1:])
    cout, cin_g = w.shape[:2]
    ksize = w.shape[2:]
    if len(spatial) != nd or cin != cin_g * op.groups:
        raise InputError(f"a conv of weight {w.shape} (groups {op.groups}) cannot take an input of shape "
                         f"{in_shape}; give it {cin_g * op.groups} channels and {nd} spatial axes")
    out_sp = tuple((s + 2 * op.padding - k) // op.stride + 1 for s, k in zip(spatial, ksize))
    n_in_sp, n_out_sp = int(np.prod(spatial)), int(np.prod(out_sp))
    positions = np.stack(np.unravel_index(np.arange(n_out_sp), out_sp), axis=1)      # (n_out_sp, nd)
    co = np.arange(cout)[:, None]                                                   # (cout, 1)
    cil = np.arange(cin_g)[None, :]                                                 # (1, cin_g)
    ci = (co // (cout // op.groups)) * cin_g + cil                                  # (cout, cin_g)
    rows, cols, vals = [], [], []
    for off in np.ndindex(*ksize):
        src = positions * op.stride + np.asarray(off) - op.padding
        ok = np.all((src >= 0) & (src < np.asarray(spatial)), axis=1)
        if not ok.any():
            continue
        p_out = np.flatnonzero(ok)
        p_in = np.ravel_multi_index(tuple(src[ok].T), spatial)
        wk = w[(slice(None), slice(None)) + off]                                    # (cout, cin_g)
        keep = wk != 0
        c_o, c_i = np.broadcast_to(co, wk.shape)[keep], ci[keep]
        rows.append((c_o[:, None] * n_out_sp + p_out[None, :]).ravel())
        cols.append((c_i[:, None] * n_in_sp + p_in[None, :]).ravel())
        vals.append(np.repeat(wk[keep], len(p_out)))
    shape = (cout * n_out_sp, cin * n_in_sp)
    if not rows:
        return sp.csr_matrix(shape), (cout,) + out_sp
    m = sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=shape)
    return m.tocsr(), (cout,) + out_sp


def _pool_matrix(op: SumPool | AvgPool, in_shape: tuple[int, ...]) -> tuple[sp.csr_matrix, tuple[int, ...]]:
    kernel = tuple(op.kernel)
    nd = len(kernel)
    lead, spatial = tuple(in_shape[:-nd]), tuple(in_shape[-nd:])
    if any(s % k for s, k in zip(spatial, kernel)):
        raise InputError(f"a pool of kernel {kernel} does not divide the input shape {in_shape}; "
                         "pools are non-overlapping: pick a kernel that divides every pooled axis")
    out_shape = lead + tuple(s // k for s, k in zip(spatial, kernel))
    idx = np.unravel_index(np.arange(int(np.prod(in_shape))), in_shape)
    out_idx = idx[:len(lead)] + tuple(i // k for i, k in zip(idx[len(lead):], kernel))
    rows = np.ravel_multi_index(out_idx, out_shape)
    value = 1.0 / float(np.prod(kernel)) if isinstance(op, AvgPool) else 1.0
    n_in = len(rows)
    m = sp.csr_matrix((np.full(n_in, value), (rows, np.arange(n_in))), shape=(int(np.prod(out_shape)), n_in))
    return m, out_shape


def _dense_matrix(op: Dense, in_shape: tuple[int, ...]) -> tuple[sp.csr_matrix, tuple[int, ...]]:
    w = np.asarray(op.weight, float)
    n = int(np.prod(in_shape))
    if w.shape[1] != n:
        raise InputError(f"a dense weight {w.shape} cannot take an input of {n} values; its second axis must be {n}")
    return sp.csr_matrix(w), (w.shape[0],)


def _scale_matrix(op: Scale, in_shape: tuple[int, ...]) -> tuple[sp.csr_matrix, tuple[int, ...]]:
    factor = np.asarray(op.factor, float)
    try:
        s = np.broadcast_to(factor, in_shape).ravel()
    except ValueError:
        raise InputError(f"a scale of shape {factor.shape} cannot multiply an input of shape {in_shape}; give a "
                         "scalar or an array of the input's shape") from None
    return sp.diags(s, format="csr"), in_shape


def _identity(n: int, shape: tuple[int, ...]) -> tuple[sp.csr_matrix, tuple[int, ...]]:
    return sp.identity(n, format="csr"), shape


MATRIX = {
    Conv: _conv_matrix,
    SumPool: _pool_matrix,
    AvgPool: _pool_matrix,
    Dense: _dense_matrix,
    Scale: _scale_matrix,
    Flatten: lambda op, in_shape: _identity(int(np.prod(in_shape)), (int(np.prod(in_shape)),)),
    Delay: lambda op, in_shape: _identity(int(np.prod(in_shape)), in_shape),   # timing only (``chain_delay``)
}


def op_matrix(op: Op, in_shape: tuple[int, ...]) -> tuple[sp.csr_matrix, tuple[int, ...]]:
    """The sparse matrix (out size x in size) of one op on an input of ``in_shape`` (no batch axis), and the
    output shape."""
    fn = MATRIX.get(type(op))
    if fn is None:
        raise unknown(op, "op_matrix")
    return fn(op, tuple(int(s) for s in in_shape))


def chain_matrix(chain, in_shape) -> tuple[sp.csr_matrix, tuple[int, ...]]:
    """The whole chain as one sparse matrix (target size x source size) and the target shape."""
    shape = tuple(int(s) for s in in_shape)
    total = sp.identity(int(np.prod(shape)), format="csr")
    for op in chain:
        m, shape = op_matrix(op, shape)
        total = m @ total
    total = total.tocsr()
    total.eliminate_zeros()
    return total, shape


def layer_matrices(net: Net, index: int) -> dict[tuple[int, int], sp.csr_matrix]:
    """The synapses into layer ``index``: (source index (-1 = input), delay in steps) -> summed sparse matrix
    (post x pre). Chains from one source with one delay add up into one projection."""
    layer = net.layers[index]
    out: dict[tuple[int, int], sp.csr_matrix] = {}
    for src, chain in layer.inputs:
        in_shape = net.input_shape if src < 0 else net.layers[src].shape
        m, shape = chain_matrix(chain, in_shape)
        if int(np.prod(shape)) != int(np.prod(layer.shape)):
            raise InputError(f"layer {layer.name}: a chain from {src} gives shape {shape}, not {layer.shape}; "
                             "fix the chain's ops or the layer's shape")
        key = (src, chain_delay(chain))
        out[key] = (out[key] + m).tocsr() if key in out else m
    for m in out.values():
        m.eliminate_zeros()
    return out
