"""The paper's stress bench (tb2) for any size: values, complements, values again."""
from __future__ import annotations

import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from hippocam.cam import Memory, workloads  # noqa: E402
from hippocam.cam.scenario import result_dict  # noqa: E402

from .common import md_table, progress  # noqa: E402
from .output import write_json  # noqa: E402
from .plots import raster  # noqa: E402

NAME = "pyramidal"
BLOCKS = ("values", "complements", "values again")
PHASES = ("learn", "recall by cue", "recall by each bit")


def run(out_dir, backend: str = "brian2", seed: int | None = 0, log=print, size=(5, 10)) -> dict:
    c, k = size
    ops = workloads.pyramidal(c, k)
    log(f"pyramidal {c}x{k} on {backend}: {len(ops)} operations")
    t0 = time.perf_counter()
    mem = Memory(c, k, backend=backend, record="all" if c + k <= 40 else "output")
    results = mem.run(ops, progress=progress(log, "pyramidal"))
    wall = time.perf_counter() - t0
    per_block = len(ops) // 3
    phases = []
    for b, block in enumerate(BLOCKS):
        chunk = results[b * per_block:(b + 1) * per_block]
        for name, part in zip(PHASES, (chunk[:c], chunk[c:2 * c], chunk[2 * c:])):
            phases.append({"block": block, "phase": name, "agreed": sum(r.agrees for r in part), "total": len(part)})
    result = result_dict(mem, results, experiment=NAME, wall_seconds=round(wall, 2), phases=phases)
    write_json(out_dir / "result.json", result)
    fig, ax = plt.subplots(figsize=(8, 3))
    labels = [f"{p['block']}\n{p['phase']}" for p in phases]
    ax.bar(range(len(phases)), [100 * p["agreed"] / p["total"] for p in phases], color="tab:green")
    ax.set_xticks(range(len(phases)), labels, fontsize=6)
    ax.set_ylabel("agree with oracle (%)")
    ax.set_ylim(0, 105)
    ax.set_title(f"Pyramidal bench {c}x{k} on {backend}: {result['agreed']}/{result['total']}")
    fig.tight_layout()
    fig.savefig(out_dir / "phases.png", dpi=120)
    plt.close(fig)
    if c + k <= 40:
        raster(mem, results, out_dir / "raster.png", f"Pyramidal bench {c}x{k} on {backend}", internal=False)
    mem.close()
    table = md_table(["block", "phase", "agree"], [[p["block"], p["phase"], f"{p['agreed']}/{p['total']}"]
                                                 for p in phases])
    (out_dir / "summary.md").write_text(
        f"# Pyramidal bench ({backend}, {c}x{k})\n\nLearn cue i with the binary value i+1, recall each cue, "
        f"recall by each single bit; then the complements; then the values again.\n\n"
        f"**{result['agreed']}/{result['total']} operations agree with the oracle** ({wall:.1f} s).\n\n{table}\n")
    log(f"  {result['agreed']}/{result['total']} agree")
    return result
