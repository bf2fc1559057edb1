"""Workload generators and fault injection, against independent references."""
import json
import os
from pathlib import Path

import numpy as np
import pytest

from hippocam.cam import profile, workloads
from hippocam.cam.faults import Faults
from hippocam.cam.network import build_spec
from hippocam.cam.operations import Operation
from hippocam.cam.scheduler import schedule

SHARED = Path(os.environ.get("HIPPOCAM_SHARED", Path(__file__).resolve().parents[2] / "shared"))
TB2 = SHARED / "cam" / "hardware_recordings" / "tb2_pyramidal_content.json"


@pytest.mark.skipif(not TB2.exists(), reason=f"the hardware recordings are not at {TB2} (set HIPPOCAM_SHARED)")
def test_pyramidal_reproduces_the_recorded_tb2_inputs():
    rec = json.loads(TB2.read_text())
    c, k = rec["cue_size"], rec["content_size"]
    ops = [Operation(o.op, o.cue, o.content, 1.0 + 14.0 * i) for i, o in enumerate(workloads.pyramidal(c, k))]
    trains = schedule(ops, c, profile.load("reference")).spike_trains(c + k)
    pops = rec["populations"]
    recorded = [pops["INcue"].get(str(i), []) for i in range(c)] + [pops["INcont"].get(str(j), []) for j in range(k)]
    assert [list(t) for t in trains] == [sorted(map(float, r)) for r in recorded]


def test_random_workload_is_seeded_and_mixed():
    a = workloads.random_workload(8, 12, 400, seed=5)
    assert a == workloads.random_workload(8, 12, 400, seed=5)
    assert a != workloads.random_workload(8, 12, 400, seed=6)
    kinds = {o.op for o in a}
    assert kinds == {"learn", "recall_cue", "recall_content"}
    frags = [len(o.content) for o in a if o.op == "recall_content"]
    assert min(frags) == 1 and max(frags) == 4
    learned = {o.cue for o in a if o.op == "learn"}
    assert any(o.op == "recall_cue" and o.cue not in learned for o in a) or len(learned) == 8
    cues_overwritten = [o.cue for o in a if o.op == "learn"]
    assert len(cues_overwritten) > len(set(cues_overwritten))  # overwrites happen


def test_faults_remove_the_asked_fraction_and_silence_whole_neurons():
    spec = build_spec(16, 16, profile.load("brian2"))
    damaged = Faults(synapses_removed=0.2, seed=1).damage(spec)
    assert 0.75 < damaged.n_synapses / spec.n_synapses < 0.85
    silent = Faults(neurons_silenced=0.25, seed=2).damage(spec)
    for pop in ("ContCue", "CueCont"):
        fed = set()
        for p in silent.projections:
            if p.post == pop:
                fed |= set(p.pairs[:, 1].tolist())
        n = silent.population(pop).size
        assert 0 < n - len(fed) < n  # some neurons lost every input, not all
    assert Faults().damage(spec).n_synapses == spec.n_synapses


def test_input_faults_drop_and_jitter():
    spikes = tuple((n, float(t)) for t in range(1, 201) for n in range(5))
    dropped = Faults(inputs_dropped=0.1, seed=3).disturb(spikes, 1.0)
    assert 0.85 < len(dropped) / len(spikes) < 0.95
    moved = Faults(inputs_jittered=1.0, seed=3).disturb(spikes[:5], 1.0)
    assert all(abs(t - 1.0) == 1.0 or t == 0.0 for _, t in moved)
    assert all(t >= 1.0 for _, t in Faults(inputs_jittered=1.0, seed=3).disturb(spikes[:5], 1.0, not_before_ms=1.0))
    assert Faults().disturb(spikes, 1.0) is spikes
