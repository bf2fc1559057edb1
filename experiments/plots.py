"""Figures shared by experiments (matplotlib, Agg: no display needed)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

INTERNAL = ("CueCue", "ContCue", "ContCondInt", "ContCond", "ContCont", "CueCont", "MergeCue", "MergeCont")


def raster(mem, results, path, title: str, internal: bool = True) -> None:
    """Raster of OUT (cues above content, as in the paper) and, optionally, the internal populations.

    Operation times are marked, with the operation and whether it agreed with the oracle.
    """
    pops = ["IN", *INTERNAL, "OUT"] if internal else ["IN", "OUT"]
    end = mem.now_ms
    fig_h = 2.2 + 0.9 * len(pops)
    fig, axes = plt.subplots(len(pops), 1, figsize=(11, fig_h), sharex=True,
                             gridspec_kw={"height_ratios": [3 if p in ("IN", "OUT") else 1.4 for p in pops]})
    c = mem.cue_size
    for ax, name in zip(axes, pops):
        trains = mem.spikes(name)
        for i, t in enumerate(trains):
            if len(t):
                is_cue = name in ("IN", "OUT") and i < c
                colour = "tab:red" if is_cue else "tab:blue"
                ax.scatter(t, np.full(len(t), i), s=6, marker="|", color=colour, linewidths=1.2)
        ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
        ax.set_ylim(-1, max(len(trains), 1))
        ax.tick_params(labelsize=7)
        if name in ("IN", "OUT"):
            ax.axhline(c - 0.5, color="grey", lw=0.5)
        for r in results:
            ax.axvline(r.at_ms, color="0.85", lw=0.6, zorder=0)
    for r in results:
        axes[0].annotate(r.op.describe() + ("" if r.agrees else "  WRONG"), (r.at_ms, len(mem.spikes("IN"))),
                         rotation=30, fontsize=6, va="bottom",
                         color="black" if r.agrees else "red", annotation_clip=False)
    axes[-1].set_xlabel("time (ms)")
    axes[-1].set_xlim(0, end)
    fig.suptitle(title, fontsize=10, y=0.995)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    fig.savefig(path, dpi=130)
    plt.close(fig)
