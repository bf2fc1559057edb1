"""Injected faults for robustness experiments: damage to the network and to its input.

Faults act on the backend-neutral description (removed synapses, silenced neurons) and on the
scheduled input spikes (dropped, jittered), so every backend sees the same damage.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

#: populations whose neurons may be silenced (the user's IN and OUT are left intact)
INTERNAL = ("CueCue", "CueCont", "ContCue", "ContCont", "ContCond", "ContCondInt", "MergeCue", "MergeCont")


@dataclass(frozen=True)
class Faults:
    """Fractions in [0, 1]; ``jitter_steps`` is the largest shift (timesteps) of a jittered spike."""
    synapses_removed: float = 0.0
    neurons_silenced: float = 0.0
    inputs_dropped: float = 0.0
    inputs_jittered: float = 0.0
    jitter_steps: int = 1
    seed: int = 0

    def damage(self, spec):
        """A copy of ``spec`` with synapses removed at random and silenced neurons' inputs cut."""
        rng = np.random.default_rng(self.seed)
        silenced = {p.name: rng.random(p.size) < self.neurons_silenced
                    for p in spec.populations if p.name in INTERNAL}
        projections = []
        for proj in spec.projections:
            keep = rng.random(len(proj.pairs)) >= self.synapses_removed
            if proj.post in silenced:  # a neuron with no input never fires
                keep &= ~silenced[proj.post][proj.pairs[:, 1]]
            if keep.all():
                projections.append(proj)
            elif keep.any():
                projections.append(dataclasses.replace(proj, pairs=proj.pairs[keep]))
        return dataclasses.replace(spec, projections=tuple(projections))

    def disturb(self, spikes, dt_ms: float, not_before_ms: float = 0.0):
        """Input spikes (neuron, ms) with some dropped and some moved by up to ``jitter_steps``
        (never before ``not_before_ms``, the earliest time the simulator still delivers)."""
        if not (self.inputs_dropped or self.inputs_jittered):
            return spikes
        rng = np.random.default_rng(self.seed + 1)
        out = []
        for neuron, t in spikes:
            if rng.random() < self.inputs_dropped:
                continue
            if rng.random() < self.inputs_jittered:
                shift = int(rng.integers(1, self.jitter_steps + 1)) * (1 if rng.random() < 0.5 else -1)
                t = max(not_before_ms, t + shift * dt_ms)
            out.append((neuron, t))
        return tuple(sorted(set(out), key=lambda s: (s[1], s[0])))
