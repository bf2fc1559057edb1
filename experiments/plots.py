"""Figures shared by experiments (matplotlib, Agg: no display needed)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from .populations import BY_NAME, INTERNAL, is_cue_row  # noqa: E402

CUE_COLOUR, CONTENT_COLOUR = "tab:red", "tab:blue"
LEGEND = ("cue neuron (red)", "content-bit neuron (blue)", "operation starts (grey line)")


def axis_scale(values, decades: float = 1.0) -> str:
    """"log" when the positive ``values`` span at least ``decades`` decades (max / min >= 10 ** decades), else
    "linear": a log axis over less than a decade shows no tick label a reader can use (9.9-10.3 MB)."""
    vals = [float(v) for v in values if v is not None and float(v) > 0]
    if len(vals) < 2:
        return "linear"
    return "log" if max(vals) / min(vals) >= 10 ** decades else "linear"


def raster(mem, results, path, title: str, internal: bool = True) -> None:
    """Write ``raster_figure`` to ``path``."""
    fig = raster_figure(mem, results, title, internal)
    fig.savefig(path, dpi=130)
    plt.close(fig)


def raster_figure(mem, results, title: str, internal: bool = True):
    """Raster of IN and OUT (rows 0..c-1 the cue neurons, then the content bits) and, optionally, the internal
    populations, each labelled with what it does; red rows are cue neurons, blue rows content-bit neurons.

    Operation times are marked, with the operation and whether it agreed with the oracle.
    """
    pops = ["IN", *INTERNAL, "OUT"] if internal else ["IN", "OUT"]
    end = mem.now_ms
    fig_h = 2.8 + 0.9 * len(pops)
    fig, axes = plt.subplots(len(pops), 1, figsize=(11, fig_h), sharex=True,
                             gridspec_kw={"height_ratios": [3 if p in ("IN", "OUT") else 1.4 for p in pops]})
    c = mem.cue_size
    for ax, name in zip(axes, pops):
        trains = mem.spikes(name)
        for i, t in enumerate(trains):
            if len(t):
                colour = CUE_COLOUR if is_cue_row(name, i, c) else CONTENT_COLOUR
                ax.scatter(t, np.full(len(t), i), s=6, marker="|", color=colour, linewidths=1.2)
        ax.set_ylabel(f"{name}\n{BY_NAME[name].short}", rotation=0, ha="right", va="center", fontsize=8)
        ax.set_ylim(-1, max(len(trains), 1))
        n = max(len(trains), 1)
        ax.set_yticks(sorted({int(v) for v in np.linspace(0, n - 1, min(n, 3)).round()}))
        ax.tick_params(labelsize=7)
        if name in ("IN", "OUT"):
            ax.axhline(c - 0.5, color="grey", lw=0.5)
        for r in results:
            ax.axvline(r.at_ms, color="0.85", lw=0.6, zorder=0)
    for r in results:
        axes[0].annotate(r.op.describe() + ("" if r.agrees else "  WRONG"), (r.at_ms, len(mem.spikes("IN"))),
                         rotation=30, fontsize=6, va="bottom",
                         color="black" if r.agrees else "red", annotation_clip=False)
    axes[-1].set_xlabel("time (ms of biological time)")
    axes[-1].set_xlim(0, end)
    fig.supylabel("neuron index (IN, OUT: cues 0..c-1, then content bits)", fontsize=8)
    handles = [Line2D([], [], color=CUE_COLOUR, marker="|", ls="", markersize=9, markeredgewidth=1.5),
               Line2D([], [], color=CONTENT_COLOUR, marker="|", ls="", markersize=9, markeredgewidth=1.5),
               Line2D([], [], color="0.75", lw=1.0)]
    fig.legend(handles, LEGEND, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.suptitle(title, fontsize=10, y=0.995)
    fig.tight_layout(rect=(0.02, 0.03, 1, 0.93))
    return fig
