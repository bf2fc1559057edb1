"""Recall accuracy against faults: synapses removed, neurons silenced, input spikes dropped or jittered.

What ``--check`` gates: every operation of the runs with no fault (level 0), which must all agree with the
oracle (``agreed`` / ``total``); the faulted runs are the measurement, not a failure.
"""
from __future__ import annotations

import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from hippocam.cam import Memory, learn, recall_content, recall_cue  # noqa: E402
from hippocam.cam.faults import Faults  # noqa: E402

from .common import md_table  # noqa: E402
from .output import write_json  # noqa: E402

NAME = "robustness"
FAULTS = ("synapses_removed", "neurons_silenced", "inputs_dropped", "inputs_jittered")
LEVELS = (0.0, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2)


def workload(c: int, k: int, seed: int):
    """Learn every cue a random content (a quarter of the bits), then recall each by cue and by one bit."""
    rng = np.random.default_rng(seed)
    contents = [set(rng.choice(k, size=max(1, k // 4), replace=False).tolist()) for _ in range(c)]
    ops = [learn(q, s) for q, s in enumerate(contents)]
    ops += [recall_cue(q) for q in range(c)]
    ops += [recall_content({int(rng.choice(sorted(s)))}) for s in contents]
    return ops, c  # recalls start at index c


def run(out_dir, backend: str = "brian2", seed: int | None = 0, log=print, size=(16, 16), seeds: int = 3,
        levels=None) -> dict:
    c, k = size
    levels = levels or LEVELS
    curves = {}
    for fault, values in ((f, levels) for f in FAULTS):
        curves[fault] = []
        for level in values:
            t0 = time.perf_counter()
            accs, agreed, total = [], 0, 0
            for s in range((seed or 0), (seed or 0) + seeds):
                ops, first_recall = workload(c, k, s)
                faults = Faults(**{fault: level}, seed=s)
                with Memory(c, k, backend=backend, record="output", faults=faults) as mem:
                    results = mem.run(ops)
                recalls = results[first_recall:]
                accs.append(sum(r.agrees for r in recalls) / len(recalls))
                agreed, total = agreed + sum(r.agrees for r in results), total + len(results)
            curves[fault].append({"level": level, "accuracy": float(np.mean(accs)), "per_seed": accs,
                                  "agreed": agreed, "total": total})
            log(f"  {fault} {level:.3f}: recall accuracy {100 * np.mean(accs):.1f}% "
                f"({time.perf_counter() - t0:.0f} s)")
    below = {f: next((p["level"] for p in pts if p["accuracy"] < 0.99), None) for f, pts in curves.items()}
    fault_free = [p for pts in curves.values() for p in pts if p["level"] == 0]
    result = {"experiment": NAME, "backend": backend, "size": [c, k], "seeds": seeds, "curves": curves,
              "first_level_below_99": below,
              "agreed": sum(p["agreed"] for p in fault_free), "total": sum(p["total"] for p in fault_free)}
    write_json(out_dir / "result.json", result)
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for fault, pts in curves.items():
        ax.plot([100 * p["level"] for p in pts], [100 * p["accuracy"] for p in pts], "o-", label=fault.replace("_", " "))
    ax.axhline(99, color="grey", ls="--", lw=0.8)
    ax.set_xlabel("fault level (% of synapses / neurons / input spikes)")
    ax.set_ylabel("recall accuracy (%)")
    ax.set_title(f"Robustness of a {c}x{k} memory on {backend} ({seeds} seeds per point)", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out_dir / "robustness.png", dpi=120)
    plt.close(fig)
    table = md_table(["fault", *[f"{100 * v:g}%" for v in levels], "first level below 99%"],
                     [[f.replace("_", " "), *[f"{100 * p['accuracy']:.1f}" for p in pts],
                       "-" if below[f] is None else f"{100 * below[f]:g}%"] for f, pts in curves.items()])
    (out_dir / "summary.md").write_text(
        f"# Robustness ({backend}, {c}x{k})\n\nRecall accuracy (% of recall-by-cue and recall-by-content operations "
        f"that agree with the oracle) after learning every cue, with faults injected into the network "
        f"(synapses removed, internal neurons silenced) or its input (spikes dropped, or moved by one step). "
        f"With no fault, {result['agreed']}/{result['total']} operations (learns included) agree.\n\n"
        f"{table}\n")
    return result
