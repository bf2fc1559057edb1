"""The paper's functional experiment (docs/cam_spec.md §9): 9 operations on a 5 x 10 memory."""
from __future__ import annotations

import time

from hippocam.cam import Memory, workloads
from hippocam.cam.scenario import result_dict, table

from .output import write_json
from .plots import raster

NAME = "functional"
SPACING_MS = 10.0  # the paper's spacing


def run(out_dir, backend: str = "brian2", seed: int | None = None, log=print) -> dict:
    """Run it, write result.json, raster.png and summary.md into ``out_dir``; return the result."""
    ops = workloads.functional()
    ops = [type(o)(o.op, o.cue, o.content, 1.0 + SPACING_MS * i) for i, o in enumerate(ops)]
    t0 = time.perf_counter()
    mem = Memory(5, 10, backend=backend)
    results = mem.run(ops)
    wall = time.perf_counter() - t0
    result = result_dict(mem, results, experiment=NAME, wall_seconds=round(wall, 3),
                         build_seconds=round(mem.build_seconds, 3))
    write_json(out_dir / "result.json", result)
    raster(mem, results, out_dir / "raster.png",
           f"Functional experiment on {backend} (profile {mem.profile.name}): "
           f"{result['agreed']}/{result['total']} operations agree with the oracle")
    text = table(results)
    (out_dir / "summary.md").write_text(
        f"# Functional experiment ({backend})\n\nThe paper's 9 operations on a 5 x 10 memory, "
        f"10 ms apart (docs/cam_spec.md §9).\n\n```\n{text}\n```\n\nWall time {wall:.1f} s "
        f"(build {mem.build_seconds:.1f} s). Raster: raster.png (red rows: cue neurons, blue rows: content bits; "
        f"what each population does: `hippocam report`'s population table or docs/cam_spec.md §2)\n")
    log(text)
    mem.close()
    return result
