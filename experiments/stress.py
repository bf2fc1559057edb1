"""Long random workloads at the minimum spacing, and the error rate against spacing."""
from __future__ import annotations

import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from hippocam import backends  # noqa: E402
from hippocam.cam import Memory, profile as profiles, workloads  # noqa: E402

from . import spacing  # noqa: E402
from .common import error_kinds, md_table, progress  # noqa: E402
from .output import write_json  # noqa: E402

NAME = "stress"


def run(out_dir, backend: str = "brian2", seed: int | None = 0, log=print, size=(16, 16), n_ops: int = 1000,
        sweep_ops: int = 300, seeds: int = 2) -> dict:
    c, k = size
    seed = seed or 0
    prof = profiles.load(backends.info(backend).default_profile)
    log(f"stress {c}x{k} on {backend}: {n_ops} random operations at {prof.spacing_after_learn_ms:g}/"
        f"{prof.spacing_after_recall_ms:g} ms")
    t0 = time.perf_counter()
    with Memory(c, k, backend=backend, record="output") as mem:
        results = mem.run(workloads.random_workload(c, k, n_ops, seed), progress=progress(log, "long run"))
    long_run = {"operations": n_ops, "agreed": sum(r.agrees for r in results),
                "errors": dict(error_kinds(results)), "wall_s": round(time.perf_counter() - t0, 2)}
    log(f"  long run: {long_run['agreed']}/{n_ops} agree")
    learn_sp = [prof.spacing_after_learn_ms + d for d in (-3, -2, -1, 0, 1, 2, 4)]
    recall_sp = [prof.spacing_after_recall_ms + d for d in (-2, -1, 0, 1, 2, 4)]
    learn_sp = [s for s in learn_sp if s >= 1]
    recall_sp = [s for s in recall_sp if s >= 1]
    seed_list = tuple(range(seed, seed + seeds))
    rows = (spacing.sweep_to_minimum(backend, "learn", learn_sp, ((c, k),), seed_list, sweep_ops, log, kinds=True)
            + spacing.sweep_to_minimum(backend, "recall", recall_sp, ((c, k),), seed_list, sweep_ops, log,
                                       kinds=True))
    min_learn = spacing.minimum_safe([r for r in rows if r["after"] == "learn"])
    min_recall = spacing.minimum_safe([r for r in rows if r["after"] == "recall"])
    # gated (--check): the long run and the sweep's runs at the profile's spacings or above
    learn_ok, learn_n = spacing.checked([r for r in rows if r["after"] == "learn"], prof.spacing_after_learn_ms)
    recall_ok, recall_n = spacing.checked([r for r in rows if r["after"] == "recall"], prof.spacing_after_recall_ms)
    result = {"experiment": NAME, "backend": backend, "profile": prof.name, "size": [c, k], "seed": seed,
              "long_run": long_run, "sweep": rows, "minimum_after_learn_ms": min_learn,
              "minimum_after_recall_ms": min_recall, "profile_after_learn_ms": prof.spacing_after_learn_ms,
              "profile_after_recall_ms": prof.spacing_after_recall_ms,
              "agreed": long_run["agreed"] + learn_ok + recall_ok, "total": n_ops + learn_n + recall_n}
    write_json(out_dir / "result.json", result)
    fig = figure(rows, prof, {"learn": min_learn, "recall": min_recall},
                 f"Where the memory fails: {c}x{k} on {backend}")
    fig.savefig(out_dir / "spacing.png", dpi=120)
    plt.close(fig)
    table = md_table(["after", "spacing (ms)", "wrong / total", "how"],
                     [[r["after"], f"{r['spacing_ms']:g}", f"{r['wrong']}/{r['total']}",
                       ", ".join(f"{kk} {v}" for kk, v in sorted(r["kinds"].items())) or "-"] for r in rows])
    (out_dir / "summary.md").write_text(
        f"# Stress ({backend}, {c}x{k})\n\n"
        f"**Long run:** {long_run['agreed']}/{n_ops} random operations agree with the oracle at the profile's "
        f"spacing ({prof.spacing_after_learn_ms:g} ms after a learn, {prof.spacing_after_recall_ms:g} ms after a "
        f"recall; {long_run['wall_s']} s).\n\n"
        + spacing.finding(min_learn, min_recall, prof, ((c, k),), seed_list, sweep_ops) + "\n\n"
        f"{table}\n")
    return result


def figure(rows, prof, minimum: dict, title: str):
    """Errors against spacing, after a learn and after a recall: one colour per kind of error in both panels and
    one legend for both (an operation can be wrong in several ways, so the bars can rise above the line)."""
    kinds = sorted({kk for r in rows for kk in r["kinds"]})
    colours = {kind: plt.get_cmap("tab10")(i % 10) for i, kind in enumerate(kinds)}
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharey=True)
    for ax, which in zip(axes, ("learn", "recall")):
        part = [r for r in rows if r["after"] == which]
        bottom = [0.0] * len(part)
        x = [r["spacing_ms"] for r in part]
        for kind in kinds:
            vals = [100 * r["kinds"].get(kind, 0) / r["total"] for r in part]
            if any(vals):
                ax.bar(x, vals, bottom=bottom, color=colours[kind], width=0.7)
                bottom = [b + v for b, v in zip(bottom, vals)]
        ax.plot(x, [100 * r["wrong"] / r["total"] for r in part], "k.-")
        ax.axvline(getattr(prof, f"spacing_after_{which}_ms"), color="grey", ls="--", lw=0.8)
        ax.set_xlabel(f"spacing after a {which} (ms)")
        found = "none" if minimum[which] is None else f"{minimum[which]:g} ms"
        ax.set_title(f"after a {which} (minimum safe spacing: {found})", fontsize=9)
    axes[0].set_ylabel("% of operations")
    handles = [Patch(color=colours[kind]) for kind in kinds]
    handles += [Line2D([], [], color="k", marker="."), Line2D([], [], color="grey", ls="--", lw=0.8)]
    labels = [*kinds, "operations wrong", f"profile's spacing ({prof.name})"]
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=7, frameon=False,
               title="errors by kind (an operation can be wrong in several ways)", title_fontsize=7)
    fig.suptitle(title, fontsize=10)
    rows_of_legend = -(-len(labels) // 4)
    fig.tight_layout(rect=(0, 0.04 + 0.05 * rows_of_legend, 1, 1))
    return fig
