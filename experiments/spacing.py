"""Measure the minimum safe spacing between operations on a backend.

For each spacing after a learn (with recalls at the profile's spacing) and each spacing after a
recall (with learns at the profile's spacing), seeded random workloads run at that spacing and
every operation is checked against the oracle. The minimum safe spacing is the smallest one with
no error at that spacing and at every larger one tried.

What ``--check`` gates: the operations run at the profile's own spacing or a larger one, which the
profile promises are right (``agreed`` / ``total``); errors below it are the measurement, not a failure.
"""
from __future__ import annotations

import dataclasses
import time
from collections import Counter

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from hippocam import backends  # noqa: E402
from hippocam.cam import Memory, profile as profiles, workloads  # noqa: E402

from .common import error_kinds  # noqa: E402
from .output import write_json  # noqa: E402

NAME = "spacing"
SIZES = ((5, 10), (16, 6), (32, 32), (64, 64), (128, 128))


def errors_at(backend: str, prof, cue_size: int, content_size: int, n_ops: int, seed: int):
    ops = workloads.random_workload(cue_size, content_size, n_ops, seed)
    with Memory(cue_size, content_size, backend=backend, profile=prof, record="output") as mem:
        return mem.run(ops)


def sweep(backend: str, which: str, spacings, sizes=SIZES, seeds=(0, 1), n_ops: int = 300, log=print,
          kinds: bool = False) -> list[dict]:
    """One row per spacing: operations wrong / total (and, with ``kinds``, how they were wrong)."""
    base = profiles.load(backends.info(backend).default_profile)
    field = "spacing_after_learn_ms" if which == "learn" else "spacing_after_recall_ms"
    rows = []
    for s in spacings:
        prof = dataclasses.replace(base, **{field: float(s)})
        wrong = total = 0
        how: Counter = Counter()
        t0 = time.perf_counter()
        for c, k in sizes:
            for seed in seeds:
                results = errors_at(backend, prof, c, k, n_ops, seed)
                wrong, total = wrong + sum(not r.agrees for r in results), total + len(results)
                how += error_kinds(results)
        row = {"after": which, "spacing_ms": s, "wrong": wrong, "total": total}
        if kinds:
            row["kinds"] = dict(how)
        rows.append(row)
        log(f"  {backend}: {s:g} ms after a {which}: {wrong}/{total} operations wrong "
            f"({time.perf_counter() - t0:.0f} s)")
    return rows


def minimum_safe(rows: list[dict]) -> float | None:
    safe = None
    for row in sorted(rows, key=lambda r: -r["spacing_ms"]):
        if row["wrong"]:
            break
        safe = row["spacing_ms"]
    return safe


def checked(rows: list[dict], profile_ms: float) -> tuple[int, int]:
    """(agreed, total) over the rows at ``profile_ms`` or more: the spacings that must give no error."""
    kept = [r for r in rows if r["spacing_ms"] >= profile_ms]
    total = sum(r["total"] for r in kept)
    return total - sum(r["wrong"] for r in kept), total


def run(out_dir, backend: str = "brian2", seed: int | None = 0, log=print,
        learn_spacings=(5, 6, 7, 8, 9, 10), recall_spacings=(3, 4, 5, 6, 7), sizes=SIZES,
        seeds=None, n_ops: int = 300) -> dict:
    seeds = seeds or (seed or 0, (seed or 0) + 1)
    log(f"spacing sweep on {backend}: sizes {sizes}, seeds {seeds}, {n_ops} operations each")
    learn_rows = sweep(backend, "learn", learn_spacings, sizes, seeds, n_ops, log)
    recall_rows = sweep(backend, "recall", recall_spacings, sizes, seeds, n_ops, log)
    prof = profiles.load(backends.info(backend).default_profile)
    learn_ok, learn_n = checked(learn_rows, prof.spacing_after_learn_ms)
    recall_ok, recall_n = checked(recall_rows, prof.spacing_after_recall_ms)
    result = {"experiment": NAME, "backend": backend, "profile": prof.name, "sizes": [list(s) for s in sizes],
              "seeds": list(seeds), "operations_per_run": n_ops, "rows": learn_rows + recall_rows,
              "minimum_after_learn_ms": minimum_safe(learn_rows),
              "minimum_after_recall_ms": minimum_safe(recall_rows),
              "profile_after_learn_ms": prof.spacing_after_learn_ms,
              "profile_after_recall_ms": prof.spacing_after_recall_ms,
              "agreed": learn_ok + recall_ok, "total": learn_n + recall_n}
    write_json(out_dir / "result.json", result)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for rows, label in ((learn_rows, "after a learn"), (recall_rows, "after a recall")):
        ax.plot([r["spacing_ms"] for r in rows], [100 * r["wrong"] / r["total"] for r in rows], "o-", label=label)
    ax.set_xlabel("spacing (ms)")
    ax.set_ylabel("operations wrong (%)")
    ax.set_title(f"Error rate against spacing on {backend}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_dir / "spacing.png", dpi=120)
    plt.close(fig)
    (out_dir / "summary.md").write_text(
        f"# Minimum spacing on {backend}\n\nMinimum safe spacing: {result['minimum_after_learn_ms']} ms after a "
        f"learn, {result['minimum_after_recall_ms']} ms after a recall (profile: "
        f"{prof.spacing_after_learn_ms:g} / {prof.spacing_after_recall_ms:g} ms). At the profile's spacings and "
        f"above, {result['agreed']}/{result['total']} operations agree with the oracle.\n\n"
        "| after | spacing (ms) | wrong / total |\n|---|---|---|\n"
        + "".join(f"| {r['after']} | {r['spacing_ms']} | {r['wrong']}/{r['total']} |\n" for r in result["rows"]))
    return result
