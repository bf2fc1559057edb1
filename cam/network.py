"""The CA3 CAM as a backend-neutral network description (docs/cam_spec.md §2).

``build_spec`` returns plain data: populations with their cell parameters and projections as
explicit (pre, post) index pairs with a weight (nA, magnitude), a latency (ms) and a receptor.
Backends turn it into simulator objects; nothing here knows which simulator runs it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .profile import PLASTIC, STDP, Profile

#: population name -> (size expression, role). IN and OUT have size c + k (cues first).
POPULATIONS = ("IN", "CueCue", "CueCont", "ContCue", "ContCont", "ContCond", "ContCondInt",
               "MergeCue", "MergeCont", "OUT")


@dataclass(frozen=True)
class PopulationSpec:
    name: str
    size: int
    cell: dict | None  # IF_curr_exp parameters; None for the spike source IN


@dataclass(frozen=True)
class ProjectionSpec:
    name: str
    pre: str
    post: str
    pairs: np.ndarray  # shape (n, 2): presynaptic, postsynaptic index
    weight_nA: float  # magnitude; sign comes from the receptor
    latency_ms: float
    receptor: str  # "excitatory" or "inhibitory"
    stdp: STDP | None = None


@dataclass(frozen=True)
class NetworkSpec:
    cue_size: int
    content_size: int
    profile: Profile
    populations: tuple[PopulationSpec, ...]
    projections: tuple[ProjectionSpec, ...]

    def population(self, name: str) -> PopulationSpec:
        return next(p for p in self.populations if p.name == name)

    @property
    def n_neurons(self) -> int:
        return sum(p.size for p in self.populations if p.cell is not None)

    @property
    def n_synapses(self) -> int:
        return sum(len(p.pairs) for p in self.projections)

    @property
    def n_plastic(self) -> int:
        return sum(len(p.pairs) for p in self.projections if p.stdp is not None)


def one_to_one(n: int, pre_offset: int = 0) -> np.ndarray:
    i = np.arange(n)
    return np.stack([i + pre_offset, i], axis=1)


def all_to_all(n_pre: int, n_post: int, self_connections: bool = True) -> np.ndarray:
    pre, post = np.meshgrid(np.arange(n_pre), np.arange(n_post), indexing="ij")
    pairs = np.stack([pre.ravel(), post.ravel()], axis=1)
    if not self_connections:
        pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    return pairs


def build_spec(cue_size: int, content_size: int, profile: Profile) -> NetworkSpec:
    c, k = cue_size, content_size
    sizes = {"IN": c + k, "CueCue": c, "CueCont": c, "ContCue": k, "ContCont": k, "ContCond": k,
             "ContCondInt": 1, "MergeCue": c, "MergeCont": k, "OUT": c + k}
    pops = tuple(
        PopulationSpec(name, sizes[name],
                       None if name == "IN" else dict(profile.cells[profile.population_cells[name]]))
        for name in POPULATIONS)
    exc, inh = "excitatory", "inhibitory"
    # name: (pre, post, pairs, receptor), in the order of docs/cam_spec.md §2's table
    table = {
        "in_cue": ("IN", "CueCue", one_to_one(c), exc),
        "in_content": ("IN", "ContCue", one_to_one(k, pre_offset=c), exc),
        "cue_copy": ("CueCue", "CueCont", one_to_one(c), exc),
        "cue_inhibits_cuecont": ("CueCue", "CueCont", all_to_all(c, c, False), inh),
        "cue_veto": ("CueCue", "ContCond", all_to_all(c, k), inh),
        "content_gate": ("ContCue", "ContCond", one_to_one(k), exc),
        "gate_out": ("ContCond", "ContCont", one_to_one(k), exc),
        "content_detect": ("ContCue", "ContCondInt", all_to_all(k, 1), exc),
        "detect_push": ("ContCondInt", "ContCond", all_to_all(1, k), exc),
        "cue_to_content": ("CueCue", "ContCue", all_to_all(c, k), exc),
        "content_to_cue": ("ContCont", "CueCont", all_to_all(k, c), exc),
        "cuecont_lateral": ("CueCont", "CueCont", all_to_all(c, c, False), inh),
        "merge_cue_direct": ("CueCue", "MergeCue", one_to_one(c), exc),
        "merge_cue_recall": ("CueCont", "MergeCue", one_to_one(c), exc),
        "merge_content_direct": ("ContCue", "MergeCont", one_to_one(k), exc),
        "merge_content_recall": ("ContCont", "MergeCont", one_to_one(k), exc),
        "out_cue": ("MergeCue", "OUT", one_to_one(c), exc),
        "out_content": ("MergeCont", "OUT", np.stack([np.arange(k), np.arange(k) + c], axis=1), exc),
    }
    projs = []
    for name, (pre, post, pairs, receptor) in table.items():
        if len(pairs) == 0:  # e.g. the lateral inhibitions of a one-cue memory
            continue
        plastic = name in PLASTIC
        projs.append(ProjectionSpec(
            name=name, pre=pre, post=post, pairs=pairs.astype(np.int64),
            weight_nA=profile.weight(name, k),
            latency_ms=profile.latencies_ms[name], receptor=receptor,
            stdp=profile.stdp[name] if plastic else None))
    return NetworkSpec(c, k, profile, pops, tuple(projs))
