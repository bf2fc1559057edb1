"""The original authors' SpiNNaker recordings of the CAM, replayed in the step-exact model.

A recording (JSON) holds ``cue_size``, ``content_size``, ``sim_time_ms`` and, per recorded population label,
{neuron index: spike times (ms)}. ``replay_recording`` drives ``backends.spinnaker_model`` with the recorded
input spikes and counts, per population, the recorded spikes the model reproduces (docs/spinnaker_arithmetic.md
describes the arithmetic it models).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hippocam.backends import spinnaker_model
from hippocam.errors import InputError
from . import network
from .profile import Profile, load

#: labels of the original authors' recordings -> (our population, index offset in it: 0, or "c" = after the cues)
RECORDING_LABELS = {
    "INcue": ("IN", 0), "INcont": ("IN", "c"),
    "CA3cueCueRecall": ("CueCue", 0), "CA3contCueRecall": ("ContCue", 0),
    "CA3contCond": ("ContCond", 0), "CA3contCondInt": ("ContCondInt", 0),
    "CA3cueContRecall": ("CueCont", 0), "CA3contContRecall": ("ContCont", 0),
    "CA3MergeCue": ("MergeCue", 0), "CA3MergeCont": ("MergeCont", 0),
    "OUTcue": ("OUT", 0), "OUTcont": ("OUT", "c"),
}


@dataclass(frozen=True)
class Recording:
    spec: network.NetworkSpec  # the network the recording ran, with the replay's profile
    sim_time_ms: float
    trains: dict[str, list[set[float]]]  # per population of ``spec``, the recorded spike times of each neuron

    @property
    def cue_size(self) -> int:
        return self.spec.cue_size

    @property
    def content_size(self) -> int:
        return self.spec.content_size


def _profile(profile) -> Profile:
    return profile if isinstance(profile, Profile) else load(profile)


def load_recording(path, profile="reference") -> Recording:
    """A recording file, its spikes sorted into the populations of the CAM it ran (built with ``profile``)."""
    data = json.loads(Path(path).read_text())
    spec = network.build_spec(int(data["cue_size"]), int(data["content_size"]), _profile(profile))
    trains = {p.name: [set() for _ in range(p.size)] for p in spec.populations}
    for label, neurons in data["populations"].items():
        if label not in RECORDING_LABELS:
            raise InputError(f"{path}: unknown population label {label!r}; known: {', '.join(RECORDING_LABELS)}")
        pop, off = RECORDING_LABELS[label]
        off = spec.cue_size if off == "c" else off
        for i, times in neurons.items():
            trains[pop][off + int(i)].update(float(t) for t in times)
    return Recording(spec, float(data["sim_time_ms"]), trains)


def replay_recording(path, profile="reference") -> dict:
    """Drive the model with a recording's input spikes and compare every population spike for spike.

    Returns {population: {"matched", "total" (recorded spikes), "extra" (model spikes not recorded)}}
    over [0, sim_time_ms), with IN included as a check of the replay itself.
    """
    rec = load_recording(path, profile)
    model = spinnaker_model.Backend()
    model.build(rec.spec)
    try:
        model.set_inputs([np.sort(np.fromiter(t, float)) for t in rec.trains["IN"]])
        model.run_until(rec.sim_time_ms)
        report = {}
        for pop, want in rec.trains.items():
            got = [set(np.asarray(t).tolist()) for t in model.spikes(pop)]
            report[pop] = {"matched": sum(len(w & g) for w, g in zip(want, got)),
                           "total": sum(len(w) for w in want),
                           "extra": sum(len(g - w) for w, g in zip(want, got))}
    finally:
        model.close()
    return report
