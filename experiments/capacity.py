"""Capacity and scaling: neurons, synapses, build time, speed, memory and accuracy against size.

Each size runs in its own process, so memory use and the simulator's global state do not leak from
one size to the next.
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from hippocam.backends import mpi  # noqa: E402
from .common import md_table  # noqa: E402
from .output import write_json  # noqa: E402
from .plots import axis_scale  # noqa: E402

NAME = "capacity"
SIZES = {"brian2": ((5, 10), (16, 16), (32, 32), (64, 64), (128, 128), (256, 256)),
         "nest": ((5, 10), (16, 16), (32, 32), (64, 64), (128, 128), (256, 256), (512, 512), (1024, 1024))}
QUICK = ((5, 10), (16, 16))
SPINNAKER_OPS_PER_S = 1000 / 6.5  # the original's rate: 6.5 ms per operation in an even mix, in real time
WARM_UP = 10  # operations before the timed ones (all are checked against the oracle)


def measure(backend: str, c: int, k: int, n_ops: int, seed: int) -> dict:
    """Build a c x k memory, run ``n_ops`` random operations after ``WARM_UP`` ones, report figures."""
    from hippocam import backends
    from hippocam.cam import Memory, workloads
    from hippocam.cam.operations import check_sizes
    c, k = check_sizes(c, k)
    backends.get(backend)  # the simulator's own import is not the memory's size
    base_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ops = workloads.random_workload(c, k, n_ops + WARM_UP, seed)
    mem = Memory(c, k, backend=backend, record="output")
    results = mem.run(ops[:WARM_UP])
    start_ms, t0 = mem.now_ms, time.perf_counter()
    results += mem.run(ops[WARM_UP:])
    wall = time.perf_counter() - t0
    spec = mem.spec
    out = {"backend": backend, "cue_size": c, "content_size": k, "neurons": spec.n_neurons,
           "synapses": spec.n_synapses, "plastic_synapses": spec.n_plastic,
           "static_synapses": spec.n_synapses - spec.n_plastic, "build_s": round(mem.build_seconds, 3),
           "rtf": round(wall / ((mem.now_ms - start_ms) / 1000), 3), "ops_per_s": round(n_ops / wall, 1),
           "operations": len(results), "agreed": sum(r.agrees for r in results),
           "memory_mb": round((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base_kb) / 1024, 1)}
    mem.close()
    return out


def child_command(backend: str, c: int, k: int, n_ops: int, seed: int) -> tuple[list[str], dict]:
    """(argv, environment) of the process that measures one size: it imports the same hippocam as this one
    (``-P``: the working directory, which may hold a user's folders of any name, is not on its path)."""
    import hippocam
    root = os.path.dirname(os.path.dirname(os.path.abspath(hippocam.__file__)))  # not resolved: it may be a link
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p))
    return [sys.executable, "-P", "-m", "hippocam.experiments.capacity", backend, str(c), str(k), str(n_ops),
            str(seed)], env


def _measure_here(backend: str, c: int, k: int, n_ops: int, seed: int) -> subprocess.CompletedProcess:
    """``measure`` in this process, answered as its child would answer. Under mpirun a rank's child would inherit
    the launcher's variables and take the rank's place; memory_mb is then the rise of this process's peak."""
    from hippocam.errors import HippocamError
    try:
        return subprocess.CompletedProcess([], 0, json.dumps(measure(backend, c, k, n_ops, seed)), "")
    except HippocamError as err:
        return subprocess.CompletedProcess([], 1, "", str(err))


def run(out_dir, backend: str = "brian2", seed: int | None = 0, log=print, sizes=None, n_ops: int = 200,
        quick: bool = False) -> dict:
    """One row per size; a size whose process fails is a row with ``failed`` and counts as that many
    operations missed, so ``--check`` fails on a crash."""
    sizes = sizes or (QUICK if quick else SIZES.get(backend, SIZES["brian2"]))
    rows = []
    for c, k in sizes:
        t0 = time.perf_counter()
        if mpi.size() > 1:
            proc = _measure_here(backend, c, k, n_ops, seed or 0)
        else:
            argv, env = child_command(backend, c, k, n_ops, seed or 0)
            proc = subprocess.run(argv, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
            rows.append({"backend": backend, "cue_size": c, "content_size": k, "failed": tail,
                         "operations": n_ops + WARM_UP, "agreed": 0})
            log(f"  {c}x{k}: FAILED ({tail})")
            continue
        row = json.loads(proc.stdout.strip().splitlines()[-1])
        rows.append(row)
        log(f"  {c}x{k}: {row['neurons']} neurons, {row['synapses']} synapses, build {row['build_s']:.1f} s, "
            f"RTF {row['rtf']:.2f}, {row['ops_per_s']:.0f} ops/s, {row['agreed']}/{row['operations']} agree, "
            f"+{row['memory_mb']:.0f} MB ({time.perf_counter() - t0:.0f} s)")
    ok = [r for r in rows if "failed" not in r]
    result = {"experiment": NAME, "backend": backend, "seed": seed, "rows": rows,
              "agreed": sum(r["agreed"] for r in rows), "total": sum(r["operations"] for r in rows),
              "crashed": [f"{r['cue_size']}x{r['content_size']}" for r in rows if "failed" in r],
              "largest_exact": max((f"{r['cue_size']}x{r['content_size']}" for r in ok
                                    if r["agreed"] == r["operations"]), default=None,
                                   key=lambda s: int(s.split("x")[0]) * int(s.split("x")[1]))}
    write_json(out_dir / "result.json", result)
    if ok:
        _figure(ok, out_dir / "capacity.png", backend)
    table = md_table(["size", "neurons", "synapses (plastic)", "build (s)", "RTF", "ops/s", "memory (MB)", "agree"],
                     [[f"{r['cue_size']}x{r['content_size']}", r.get("neurons", "-"),
                       f"{r['synapses']} ({r['plastic_synapses']})" if "synapses" in r else "-",
                       r.get("build_s", "-"), r.get("rtf", "-"), r.get("ops_per_s", "-"), r.get("memory_mb", "-"),
                       f"FAILED: {r['failed']}" if "failed" in r else f"{r['agreed']}/{r['operations']}"]
                      for r in rows])
    (out_dir / "summary.md").write_text(
        f"# Capacity on {backend}\n\n{n_ops} random operations per size after {WARM_UP} warm-up ones; RTF is wall "
        f"time / simulated time (SpiNNaker: 1.0). Memory is the peak resident growth of the measuring process after "
        f"the simulator is imported.\n\n"
        f"{table}\n")
    return result


def _figure(rows, path, backend):
    fig = figure(rows, backend)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def figure(rows, backend):
    """Four panels against size; each axis is logarithmic only where its data span a decade or more."""
    x = [r["cue_size"] * r["content_size"] for r in rows]
    fig, axes = plt.subplots(1, 4, figsize=(13, 3))
    for ax, key, label in zip(axes, ("synapses", "build_s", "ops_per_s", "memory_mb"),
                              ("synapses", "build time (s)", "operations per wall-second", "memory (MB)")):
        y = [max(r[key], 1e-3) for r in rows]
        ax.plot(x, y, "o-")
        if key == "ops_per_s":
            ax.axhline(SPINNAKER_OPS_PER_S, color="grey", ls="--", lw=0.8, label="SpiNNaker real time")
            ax.legend(fontsize=7)
            y = [*y, SPINNAKER_OPS_PER_S]    # the reference line is on the axis too
        ax.set_xscale(axis_scale(x))
        ax.set_yscale(axis_scale(y))
        ax.set_xlabel("cues x content bits")
        ax.set_title(label, fontsize=9)
    fig.suptitle(f"Capacity and scaling on {backend}", fontsize=10)
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    import warnings
    warnings.filterwarnings("ignore")
    os.environ.setdefault("PYNEST_QUIET", "1")
    from hippocam.errors import HippocamError
    b, c_, k_, n_, s_ = sys.argv[1:6]
    try:
        print(json.dumps(measure(b, int(c_), int(k_), int(n_), int(s_))))
    except HippocamError as err:  # the parent reports the last line of stderr as the size's failure
        print(f"hippocam: error: {err}", file=sys.stderr)
        sys.exit(2)
