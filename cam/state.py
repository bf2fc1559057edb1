"""Saving what a memory learned and loading it into a new memory, on any backend.

The file holds the associations read from the network's two weight matrices (cue -> content and
content -> cue, a synapse counts as stored above half its w_max), the sizes, the profile and where
it came from. Loading sets those weights to the new profile's w_max, so the loaded memory recalls,
learns and forgets as if it had learned them itself.
"""
from __future__ import annotations

import datetime
import json
from importlib import metadata
from pathlib import Path

import numpy as np

from hippocam import backends

from .memory import Memory
from hippocam import files
from hippocam.errors import InputError
from .operations import check_sizes
from .oracle import Oracle

FORMAT = "hippocam-memory"
VERSION = 1


def stored_associations(mem: Memory) -> tuple[dict[int, frozenset[int]], list[int]]:
    """cue -> content bits read from the weights, and the cues whose two matrices disagree."""
    fwd = mem.backend.weights("cue_to_content") > mem.profile.stdp["cue_to_content"].w_max_nA / 2
    back = mem.backend.weights("content_to_cue").T > mem.profile.stdp["content_to_cue"].w_max_nA / 2
    assoc = {q: frozenset(np.flatnonzero(fwd[q]).tolist()) for q in range(mem.cue_size) if fwd[q].any()}
    mismatched = [q for q in range(mem.cue_size) if not np.array_equal(fwd[q], back[q])]
    return assoc, mismatched


def save(mem: Memory, path: str | Path, force: bool = False) -> dict:
    """Write the memory's learned state to ``path`` (JSON); refuse to overwrite unless ``force``."""
    path = Path(path)
    if path.exists() and not force:
        raise InputError(f"{path} exists; choose another name or pass force=True (--force) to overwrite it")
    assoc, mismatched = stored_associations(mem)
    oracle_mem = {q: s for q, s in mem.oracle.mem.items() if s}
    data = {
        "format": FORMAT, "version": VERSION,
        "cue_size": mem.cue_size, "content_size": mem.content_size,
        "associations": {str(q): sorted(s) for q, s in sorted(assoc.items())},
        "provenance": {
            "backend": mem.backend_name, "profile": mem.profile.name,
            "saved": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "hippocam": _version(), "operations": len(mem.history), "simulated_ms": mem.now_ms,
            "agrees_with_oracle": assoc == oracle_mem and not mismatched,
            "mismatched_cues": mismatched,
        },
    }
    path.write_text(json.dumps(data, indent=1) + "\n")
    return data


def read(path: str | Path) -> tuple[int, int, dict[int, frozenset[int]], dict]:
    """Validate a saved memory file; InputError names what is wrong."""
    path = Path(path)
    text = files.read_text(path, "saved memory")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"{path} is not a saved memory (invalid JSON: {err.msg}, line {err.lineno})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(f"{path} is not a saved hippocam memory (no \"format\": \"{FORMAT}\")")
    if data.get("version") != VERSION:
        raise InputError(f"{path} has format version {data.get('version')!r}; this hippocam reads version {VERSION}")
    try:
        c, k = check_sizes(data["cue_size"], data["content_size"])
        raw = data["associations"]
        assoc = {}
        for q, bits in raw.items():
            cue = int(q)
            if not 0 <= cue < c or not all(isinstance(b, int) and 0 <= b < k for b in bits):
                raise InputError(f"{path}: association {q}: {bits} does not fit a {c} x {k} memory")
            assoc[cue] = frozenset(bits)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise InputError(f"{path} is corrupt: {err!r}") from None
    return c, k, assoc, data.get("provenance", {})


def load(path: str | Path, backend: str = backends.DEFAULT, profile=None, cue_size: int | None = None,
         content_size: int | None = None, **options) -> Memory:
    """A new memory on ``backend`` holding the saved associations.

    ``cue_size``/``content_size``, when given, must match the file's (a clear error otherwise).
    """
    c, k, assoc, _ = read(path)
    if (cue_size is not None and cue_size != c) or (content_size is not None and content_size != k):
        raise InputError(f"{path} holds a {c} x {k} memory, not {cue_size} x {content_size}")
    mem = Memory(c, k, backend=backend, profile=profile, **options)
    preload(mem, assoc)
    return mem


def preload(mem: Memory, assoc: dict[int, frozenset[int]]) -> None:
    """Set the two weight matrices so that ``mem`` stores ``assoc``; its oracle learns the same."""
    fwd = np.zeros((mem.cue_size, mem.content_size))
    for q, bits in assoc.items():
        fwd[q, sorted(bits)] = 1.0
    mem.backend.set_weights("cue_to_content", fwd * mem.profile.stdp["cue_to_content"].w_max_nA)
    mem.backend.set_weights("content_to_cue", fwd.T * mem.profile.stdp["content_to_cue"].w_max_nA)
    mem.oracle = Oracle({q: frozenset(b) for q, b in assoc.items()})


def _version() -> str:
    try:
        return metadata.version("hippocam")
    except metadata.PackageNotFoundError:
        return "source"
