"""What each population of the CA3 memory is, for figure labels and the report (docs/cam_spec.md §2).

Kept apart from ``plots`` so the HTML report can explain the names without importing matplotlib.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Population:
    name: str
    side: str     # "cue" or "content": which half of the memory its neurons stand for (the raster's colour)
    size: str     # in cues c and content bits k
    short: str    # a few words, next to the raster's rows
    role: str     # one line, in the report's table


#: in the raster's order, top to bottom
POPULATIONS = (
    Population("IN", "both", "c + k", "input",
               "the input you drive: cue neurons first (red), then content bits (blue)"),
    Population("CueCue", "cue", "c", "cue from input",
               "cue neurons driven by the input cue; pre side of the cue->content matrix"),
    Population("ContCue", "content", "k", "content from input",
               "content neurons driven by the input content or, in a recall by cue, by the cue->content matrix"),
    Population("ContCondInt", "content", "1", "content present",
               "one neuron that detects that content input is present; opens the gate for old bits in an overwrite"),
    Population("ContCond", "content", "k", "gate",
               "gate from ContCue to ContCont: passes content except during a recall by cue"),
    Population("ContCont", "content", "k", "content to cues",
               "content neurons; pre side of the content->cue matrix"),
    Population("CueCont", "cue", "c", "cue from content",
               "cue neurons driven by content (the matching cues of a recall by content); post side of content->cue"),
    Population("MergeCue", "cue", "c", "cue OR", "OR of the two cue paths (CueCue, CueCont), aligned in time"),
    Population("MergeCont", "content", "k", "content OR",
               "OR of the two content paths (ContCue, ContCont), aligned in time"),
    Population("OUT", "both", "c + k", "output (the answer)",
               "the output the decoder reads: cue neurons first (red), then content bits (blue)"),
)

BY_NAME = {p.name: p for p in POPULATIONS}
INTERNAL = tuple(p.name for p in POPULATIONS if p.name not in ("IN", "OUT"))


def is_cue_row(name: str, index: int, cue_size: int) -> bool:
    """Whether row ``index`` of population ``name`` is a cue neuron (IN and OUT hold the c cues first)."""
    side = BY_NAME[name].side
    return index < cue_size if side == "both" else side == "cue"


def markdown_table() -> str:
    side = {"cue": "cue", "content": "content", "both": "cues, then content"}
    rows = [f"| {p.name} | {p.size} | {side[p.side]} | {p.role} |" for p in POPULATIONS]
    return "\n".join(["| population | neurons | side | what it does |", "|---|---|---|---|", *rows])
