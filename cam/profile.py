"""Parameter profiles: one data file per backend profile in ``cam/profiles/``.

A profile holds everything that is a number: cell parameters (PyNN ``IF_curr_exp`` names and units:
nF, ms, mV, nA), projection weights (nA, magnitudes: the backend applies the inhibitory sign) and
latencies (ms from a source spike to the step in which the target integrates it, SpiNNaker's
convention; the backend translates to its own delay), STDP parameters, the operation protocol and
the decoding windows.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from hippocam.backends.hints import RunHints
from hippocam import files
from hippocam.errors import InputError

PROFILE_DIR = Path(__file__).parent / "profiles"

#: the 18 projections of docs/cam_spec.md §2, in order.
PROJECTIONS = (
    "in_cue", "in_content", "cue_copy", "cue_inhibits_cuecont", "cue_veto", "content_gate",
    "gate_out", "content_detect", "detect_push", "cue_to_content", "content_to_cue",
    "cuecont_lateral", "merge_cue_direct", "merge_cue_recall", "merge_content_direct",
    "merge_content_recall", "out_cue", "out_content",
)
PLASTIC = ("cue_to_content", "content_to_cue")
#: projections whose weight is given per content bit (the original's "6k").
PER_CONTENT_BIT = ("cue_inhibits_cuecont", "cuecont_lateral")


@dataclass(frozen=True)
class STDP:
    """Additive spike-pair STDP. Steps are absolute weight changes (nA) per unit trace."""
    tau_plus_ms: float
    tau_minus_ms: float
    w_max_nA: float
    step_plus_nA: float
    step_minus_nA: float
    w_min_nA: float = 0.0


@dataclass(frozen=True)
class Windows:
    """Decoding windows, [start, end) in ms after an operation's first input step."""
    learn_cues: tuple[float, float]
    learn_content: tuple[float, float]
    recall_cue_cues: tuple[float, float]
    recall_cue_content: tuple[float, float]
    recall_content_content: tuple[float, float]
    recall_content_cues: tuple[float, float]


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    timestep_ms: float
    cells: Mapping[str, Mapping[str, float]]
    population_cells: Mapping[str, str]
    weights_nA: Mapping[str, float]
    latencies_ms: Mapping[str, float]
    stdp: Mapping[str, STDP]  # per plastic projection
    learn_hold_steps: int
    spacing_after_learn_ms: float
    spacing_after_recall_ms: float
    earliest_op_ms: float
    windows: Windows
    source: str = ""
    hints: RunHints = field(default_factory=RunHints)  # what the backend is asked beyond cells and synapses

    def weight(self, projection: str, content_size: int) -> float:
        w = self.weights_nA[projection]
        return w * content_size if projection in PER_CONTENT_BIT else w

    def spacing_after(self, op_kind: str) -> float:
        return self.spacing_after_learn_ms if op_kind == "learn" else self.spacing_after_recall_ms


def available() -> list[str]:
    return sorted(p.stem for p in PROFILE_DIR.glob("*.toml"))


def load(name_or_path: str | Path) -> Profile:
    """Load a profile by name (``brian2``) or from a TOML file path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = PROFILE_DIR / f"{name_or_path}.toml"
        if not path.exists():
            raise InputError(f"unknown profile {name_or_path!r}; available: {', '.join(available())}")
    text = files.read_text(path, "profile")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"cannot read profile {path}: {err}") from None
    try:
        return _parse(data, str(path))
    except KeyError as err:
        raise InputError(f"profile {path} lacks {err}") from None


def _parse(d: dict, source: str) -> Profile:
    missing = [p for p in PROJECTIONS if p not in d["weights_nA"] or p not in d["latencies_ms"]]
    if missing:
        raise InputError(f"profile {source} lacks weight or latency for {', '.join(missing)}")
    t = d["protocol"]
    w = d["windows_ms"]
    return Profile(
        name=d["name"], description=d.get("description", ""), timestep_ms=float(d["timestep_ms"]),
        cells=MappingProxyType({k: MappingProxyType(dict(v)) for k, v in d["cells"].items()}),
        population_cells=MappingProxyType(dict(d["population_cells"])),
        weights_nA=MappingProxyType({k: float(v) for k, v in d["weights_nA"].items()}),
        latencies_ms=MappingProxyType({k: float(v) for k, v in d["latencies_ms"].items()}),
        stdp=MappingProxyType({p: STDP(**d["stdp"][p]) for p in PLASTIC}),
        learn_hold_steps=int(t["learn_hold_steps"]),
        spacing_after_learn_ms=float(t["spacing_after_learn_ms"]),
        spacing_after_recall_ms=float(t["spacing_after_recall_ms"]),
        earliest_op_ms=float(t.get("earliest_op_ms", 0.0)),
        windows=Windows(**{k: tuple(v) for k, v in w.items()}),
        source=source,
        hints=RunHints.from_table(dict(d.get("backend", {})), source),
    )
