"""Operations -> input spike trains (docs/cam_spec.md §3), pure functions.

Times are ms of biological time on the profile's timestep grid. An operation's time ``T`` is its
first input step; LEARN holds cue and content for ``learn_hold_steps`` steps, recalls are one step.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .operations import LEARN, RECALL_CUE, Operation
from hippocam.errors import InputError
from .profile import Profile


@dataclass(frozen=True)
class Schedule:
    times_ms: tuple[float, ...]  # T of each operation
    spikes: tuple[tuple[int, float], ...]  # (IN neuron, time ms), sorted by time
    end_ms: float  # when the last operation's answer is complete

    def spike_trains(self, n_inputs: int) -> list[np.ndarray]:
        return spike_trains(self.spikes, n_inputs)


def spike_trains(spikes, n_inputs: int) -> list[np.ndarray]:
    """(neuron, time ms) pairs -> one sorted array of times per input neuron."""
    trains: list[list[float]] = [[] for _ in range(n_inputs)]
    for neuron, t in spikes:
        trains[neuron].append(t)
    return [np.sort(np.asarray(t, dtype=float)) for t in trains]


def _on_grid(t: float, dt: float, where: str) -> float:
    steps = round(t / dt)
    if not math.isclose(steps * dt, t, abs_tol=1e-9):
        raise InputError(f"{where}: at_ms {t:g} is not on the {dt:g} ms timestep grid; use a multiple of {dt:g}")
    return steps * dt


def place(ops: Sequence[Operation], profile: Profile, after: Operation | None = None,
          after_ms: float | None = None, not_before_ms: float = 0.0) -> list[float]:
    """Times T of ``ops``; those without ``at_ms`` go at the minimum spacing.

    ``after``/``after_ms`` is the previous operation of a live memory, if any, and
    ``not_before_ms`` the earliest time the simulator still accepts input (it has already run up
    to there). Raises InputError for times before those, out of order, or closer than the spacing.
    """
    dt = profile.timestep_ms
    earliest = max(profile.earliest_op_ms, not_before_ms)
    prev, prev_t = after, after_ms
    times = []
    for i, op in enumerate(ops):
        where = f"operation {i}"
        ready = earliest if prev is None else max(earliest, prev_t + profile.spacing_after(prev.op))
        if op.at_ms is None:
            t = _on_grid(math.ceil(ready / dt - 1e-9) * dt, dt, where)
        else:
            t = _on_grid(op.at_ms, dt, where)
            if t < earliest:
                why = (f"the memory has already simulated up to {not_before_ms:g} ms"
                       if not_before_ms > profile.earliest_op_ms else f"profile {profile.name} starts inputs there")
                raise InputError(f"{where}: at_ms {t:g} is before the earliest input time {earliest:g} ms ({why})")
            if prev is not None and t < ready - 1e-9:
                gap = t - prev_t
                order = "out of order: " if gap <= 0 else ""
                raise InputError(
                    f"{where}: {order}at_ms {t:g} is {gap:g} ms after the previous {prev.op} at "
                    f"{prev_t:g} ms; profile {profile.name} needs at least "
                    f"{profile.spacing_after(prev.op):g} ms after a {prev.op} (use at_ms >= {ready:g})")
        times.append(t)
        prev, prev_t = op, t
    return times


def input_spikes(op: Operation, t: float, cue_size: int, profile: Profile) -> list[tuple[int, float]]:
    dt = profile.timestep_ms
    if op.op == LEARN:
        neurons = [op.cue] + [cue_size + b for b in sorted(op.content)]
        steps = range(profile.learn_hold_steps)
    elif op.op == RECALL_CUE:
        neurons, steps = [op.cue], range(1)
    else:
        neurons, steps = [cue_size + b for b in sorted(op.content)], range(1)
    return [(n, t + s * dt) for s in steps for n in neurons]


def answer_end(profile: Profile) -> float:
    """Offset (ms) after T by which every decoding window has closed."""
    return max(w[1] for w in vars(profile.windows).values())


def schedule(ops: Sequence[Operation], cue_size: int, profile: Profile,
             after: Operation | None = None, after_ms: float | None = None,
             not_before_ms: float = 0.0) -> Schedule:
    times = place(ops, profile, after, after_ms, not_before_ms)
    per_op = [input_spikes(op, t, cue_size, profile) for op, t in zip(ops, times)]
    spikes = [s for op_spikes in per_op for s in op_spikes]
    # each operation's spikes come sorted by (time, neuron); so does their concatenation when every
    # operation's spikes end before the next one's begin (the usual case), and sorting is left out
    last = -math.inf
    for op_spikes in per_op:
        if op_spikes:
            if op_spikes[0][1] <= last:
                spikes.sort(key=lambda s: (s[1], s[0]))
                break
            last = op_spikes[-1][1]
    end = (times[-1] + answer_end(profile)) if times else (after_ms or 0.0)
    return Schedule(tuple(times), tuple(spikes), end)
