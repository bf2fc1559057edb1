"""Conformance across backends: the same scenarios on every installed backend, in one matrix.

Each cell is operations correct / total against the oracle, with the backend's minimum spacing and
wall time. Backends that can only map here (SpiNNaker without a board) report their mapping.
"""
from __future__ import annotations

import time

from hippocam import backends
from hippocam.cam import Memory, workloads

from .output import write_json

NAME = "conformance"


def scenarios(quick: bool = False, seed: int = 0):
    """(name, cue_size, content_size, operations) of the fixed set."""
    sizes = ((5, 10), (16, 6)) if quick else ((5, 10), (16, 6), (32, 32))
    out = [("functional", 5, 10, workloads.functional()),
           ("pyramidal 5x10", 5, 10, workloads.pyramidal(5, 10))]
    out += [(f"random {c}x{k}", c, k, workloads.random_workload(c, k, 300, seed)) for c, k in sizes]
    return out


def run_cell(backend: str, c: int, k: int, ops) -> dict:
    t0 = time.perf_counter()
    with Memory(c, k, backend=backend, record="output") as mem:
        if not getattr(mem.backend, "can_simulate", True):
            mapping = mem.backend.mapping()
            return {"mode": "map only", "cores": mapping.get("cores"), "chips": mapping.get("chips"),
                    "wall_s": round(time.perf_counter() - t0, 2)}
        results = mem.run(ops)
        spacing = f"{mem.profile.spacing_after_learn_ms:g}/{mem.profile.spacing_after_recall_ms:g}"
    return {"mode": "simulated", "correct": sum(r.agrees for r in results), "total": len(results),
            "spacing_ms": spacing, "wall_s": round(time.perf_counter() - t0, 2),
            "wrong_ops": [i for i, r in enumerate(results) if not r.agrees][:20]}


def run(out_dir, backend: str | None = None, seed: int | None = 0, log=print, quick: bool = False,
        backend_names=None) -> dict:
    names = backend_names or ([backend] if backend else backends.names())
    table = {}
    for name in names:
        try:
            backends.get(name)
        except backends.BackendError as err:
            table[name] = {"_status": str(err)}
            log(f"{name}: skipped ({err})")
            continue
        table[name] = {}
        for scen, c, k, ops in scenarios(quick, seed or 0):
            cell = run_cell(name, c, k, ops)
            table[name][scen] = cell
            log(f"{name:<16} {scen:<16} {_fmt(cell)}")
    result = {"experiment": NAME, "seed": seed, "matrix": table,
              "agreed": sum(c.get("correct", 0) for row in table.values() for c in row.values() if isinstance(c, dict)),
              "total": sum(c.get("total", 0) for row in table.values() for c in row.values() if isinstance(c, dict))}
    write_json(out_dir / "result.json", result)
    text = matrix_text(table)
    (out_dir / "summary.md").write_text(f"# Conformance across backends\n\n{text}\n")
    log("\n" + text)
    return result


def _fmt(cell: dict) -> str:
    if cell.get("mode") == "map only":
        return f"mapped: {cell['cores']} cores on {cell['chips']} chip(s) ({cell['wall_s']} s)"
    return f"{cell['correct']}/{cell['total']} at {cell['spacing_ms']} ms ({cell['wall_s']} s)"


def matrix_text(table: dict) -> str:
    scens = [s for row in table.values() for s in row if not s.startswith("_")]
    scens = list(dict.fromkeys(scens))
    lines = ["| backend | " + " | ".join(scens) + " |", "|---|" + "---|" * len(scens)]
    for name, row in table.items():
        if "_status" in row:
            lines.append(f"| {name} | " + " | ".join(["not installed"] * len(scens)) + " |")
            continue
        lines.append(f"| {name} | " + " | ".join(_fmt(row[s]) if s in row else "-" for s in scens) + " |")
    return "\n".join(lines)
