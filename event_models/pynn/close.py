"""How deep a layer must be pushed below threshold outside its window, and no deeper.

refsim stops after T steps; on a backend a layer lives on until its slot ends. A layer that could fire there (a
synaptic current outlasting the window, delayed spikes still arriving, a membrane left above threshold by reset by
subtraction, a leak towards a rest above threshold) gets one inhibitory pulse in the first step after its window
(``closing_mV``); a layer that fires at rest is also held below threshold from its slot's start until its window
opens (``holding_mV``). Both are the smallest values that provably keep every cell below threshold (to a margin
of ``MARGIN``), from upper bounds of what the cells can hold and still receive: a fixed -1e6 mV did the same, but
no SpiNNaker core holds it (s16.15 reaches +-65536 mV) and as a weight it would spoil its population's 16-bit
weight resolution. Bounds (per cell, then the layer's worst):

* window: from the membrane at the window's start (v_init, or the rest it leaks to if that is higher), each step
  i <- d_i i + P and v <- v_leak + d_v (v - v_leak) + (i or P), with P the sum of the cell's positive weights
  (every input spiking) and its bias; a cell that could reach threshold holds at most max(v_reset, theta') after
  a reset to a value, max(theta', v - theta) after a subtraction (theta' the cells' firing threshold);
* after the window: the same map without firing, driven only by what still arrives (a projection of delay L
  brings spikes in the L steps after the window; the layer's own recurrent spikes of its last step arrive in the
  first); the pulse C moves v by C e_k k steps later (e_k = d_v^k, or sum_j d_v^(k-j) d_i^j through a current),
  so C < (theta' - v_k) / e_k for every remaining step k.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hippocam.errors import InputError

#: the largest inhibition (mV) a closing pulse or a held membrane may use: s16.15, SpiNNaker's membrane and weight
#: format, holds magnitudes below 65536
MAX_CLOSE_MV = 65535.0
#: relative and absolute (times max(1, |theta|)) slack above the bound, for the backends' rounding (Brian2 holds
#: volts, NEST's built-in IF_curr_exp converts a current's weight to nA and back)
MARGIN = 1e-6


@dataclass(frozen=True)
class Dynamics:
    """A layer's cells as refsim steps them (``net.Neuron``): decays per step, the rest v_leak, start and reset
    values, the firing threshold of the cells (``theta_cell``: v >= it fires) and, for ``reset="subtract"``, what
    a spike subtracts (``theta``)."""
    name: str
    theta_cell: float
    theta: float
    reset: str
    v_reset: float
    v_init: float
    v_decay: float = 1.0
    v_leak: float = 0.0
    i_decay: float | None = None


@dataclass(frozen=True)
class Drive:
    """Upper bounds of the input a layer's cells get per step (mV, per cell): ``window`` in each step of the window
    (positive weights of every projection, positive bias), ``after[k]`` in the k-th step after it (projections whose
    delay is more than k)."""
    window: np.ndarray
    after: tuple[np.ndarray, ...] = ()


def drive(matrices: dict, bias: np.ndarray, size: int) -> Drive:
    """The ``Drive`` of a layer from its input matrices ((source, delay) -> sparse post x pre, as
    ``connectivity.layer_matrices``) and its per-cell bias (mV per step of its window)."""
    per_delay: dict[int, np.ndarray] = {}
    for (_, lag), m in matrices.items():
        pos = np.asarray(m.maximum(0).sum(axis=1), float).ravel()
        per_delay[lag] = per_delay.get(lag, np.zeros(size)) + pos
    window = sum(per_delay.values(), np.zeros(size)) + np.maximum(np.broadcast_to(bias, (size,)), 0.0)
    longest = max(per_delay, default=0)
    after = tuple(sum((p for lag, p in per_delay.items() if lag > k), np.zeros(size)) for k in range(longest))
    return Drive(window, after)


def _window_end(d: Dynamics, drv: Drive, steps: int, leaks_before: bool) -> tuple[np.ndarray, np.ndarray]:
    """Upper bounds of (v, i) per cell after the window's last step."""
    start = max(d.v_init, d.v_leak) if leaks_before else d.v_init
    v = np.full(drv.window.shape, start, float)
    i = np.zeros_like(v)
    for _ in range(steps):
        if d.i_decay is not None:
            i = d.i_decay * i + drv.window
        v = d.v_leak + d.v_decay * (v - d.v_leak) + (i if d.i_decay is not None else drv.window)
        if d.reset == "subtract":
            after_spike = np.maximum(d.theta_cell, v - d.theta)
        else:
            after_spike = np.full_like(v, max(d.v_reset, d.theta_cell))
        v = np.where(v < d.theta_cell, v, after_spike)
    return v, i


def _after(d: Dynamics, drv: Drive, v: np.ndarray, i: np.ndarray, steps: int):
    """Per remaining step k: the free membrane's upper bound (cells) and the pulse's effect e_k on v."""
    effect = 0.0
    for k in range(steps):
        arriving = drv.after[k] if k < len(drv.after) else 0.0
        if d.i_decay is not None:
            i = d.i_decay * i + arriving
            effect = d.v_decay * effect + d.i_decay ** k
        else:
            effect = d.v_decay ** k
        v = d.v_leak + d.v_decay * (v - d.v_leak) + (i if d.i_decay is not None else arriving)
        yield v, effect


def closing_mV(d: Dynamics, drv: Drive, window_steps: int, after_steps: int, leaks_before: bool = True) -> float:
    """The pulse (mV, <= 0) that keeps every cell below threshold for ``after_steps`` steps after a window of
    ``window_steps``: on the membrane, or on the current of a layer with one. 0 when nothing could fire.
    InputError when no pulse within ``MAX_CLOSE_MV`` can."""
    v, i = _window_end(d, drv, window_steps, leaks_before)
    bound = np.inf                       # the pulse must lie below (theta' - v_k) / e_k for every k
    for v_k, e_k in _after(d, drv, v, i, after_steps):
        worst = float(np.max(v_k)) if v_k.size else -np.inf
        if worst >= d.theta_cell and not e_k > 0:
            raise InputError(f"layer {d.name}: it would fire after its window, where an inhibition no longer reaches "
                             "it; run this graph in refsim")
        if e_k > 0:
            bound = min(bound, (d.theta_cell - worst) / e_k)
    if bound > 0 or (bound == 0 and d.reset == "value"):   # theta' bounds a reset-to-value cell only from above
        return 0.0
    pulse = bound - MARGIN * (abs(bound) + max(1.0, abs(d.theta)))
    _check_pulse(d, drv, v, i, after_steps, pulse)
    return pulse


def _check_pulse(d: Dynamics, drv: Drive, v, i, after_steps: int, pulse: float) -> None:
    """The guarantee, checked as the backends compute it: the bound plus the pulse stays below threshold."""
    if abs(pulse) > MAX_CLOSE_MV:
        raise InputError(f"layer {d.name}: keeping it below threshold after its window takes an inhibition of "
                         f"{-pulse:.6g} mV, more than a SpiNNaker core holds ({MAX_CLOSE_MV:g} mV); run this graph "
                         "in refsim")
    for v_k, e_k in _after(d, drv, v, i, after_steps):
        if v_k.size and float(np.max(v_k)) + pulse * e_k >= d.theta_cell:
            raise InputError(f"layer {d.name}: a closing pulse of {pulse:.6g} mV does not keep it below threshold "
                             "after its window; run this graph in refsim")


def holding_mV(d: Dynamics, steps: int) -> float:
    """The membrane (mV) a layer resting above threshold is held at from its slot's start: leaking towards
    v_leak, it stays below threshold for ``steps`` steps (until its window opens). InputError beyond
    ``MAX_CLOSE_MV``."""
    gap = d.v_leak - d.theta_cell            # > 0: the rest lies at or above threshold
    need = d.v_leak - gap / d.v_decay ** steps if d.v_decay > 0 else d.theta_cell
    hold = need - MARGIN * (abs(need) + max(1.0, abs(d.theta)))
    if not abs(hold) <= MAX_CLOSE_MV:
        raise InputError(f"layer {d.name}: its membrane rests above threshold; held below it for {steps} steps "
                         f"before its window it would start at {hold:.6g} mV, beyond what a SpiNNaker core holds "
                         f"({MAX_CLOSE_MV:g} mV); run this graph in refsim")
    if any(d.v_leak + d.v_decay ** k * (hold - d.v_leak) >= d.theta_cell for k in range(steps + 1)):
        raise InputError(f"layer {d.name}: held at {hold:.6g} mV it would reach threshold before its window; run "
                         "this graph in refsim")
    return hold
