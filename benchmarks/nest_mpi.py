"""NEST on 1 and on 2 MPI ranks, side by side: the same CAM workload and the same event evaluation, with build
time, operations (or samples) per second and the peak memory of each rank.

    python benchmarks/nest_mpi.py [--sizes 64x64,256x256] [--ops 300] [--samples 100] [--large 2048x2048]
                                  [--large-ops 50] [--ranks 1,2] [--json FILE]
    python benchmarks/nest_mpi.py --exchange     # what one spike exchange between ranks costs here

Needs NEST built with MPI, mpi4py and mpirun (README, Scale-out). Each case runs in new processes
(``mpirun -np N python benchmarks/nest_mpi.py --worker ...``); every rank reports its own peak memory.
``--large`` runs one size on the largest rank count only (1 process too with ``--large-on-one``).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB


def worker_cam(size: str, n_ops: int) -> dict:
    from hippocam.cam import Memory, workloads
    c, k = (int(x) for x in size.split("x"))
    ops = workloads.random_workload(c, k, n_ops, 0)
    from hippocam import backends
    backends.get("nest")   # pyNN.nest imported before the clock starts: build time is the network's
    t0 = time.perf_counter()
    mem = Memory(c, k, backend="nest", record="output")
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    results = mem.run(ops)
    run = time.perf_counter() - t0
    mem.close()
    return {"build_s": build, "rate": n_ops / run, "unit": "ops/s",
            "right": sum(r.agrees for r in results), "total": len(results)}


def worker_exchange(drive_hz: float) -> dict:
    """A bare NEST network of 200 cells at dt 0.5 ms with min_delay one step (as the CAM's and the converted
    networks'), driven at ``drive_hz`` per cell (0: no spikes): 2,000 steps, so 2,000 exchanges on several ranks."""
    import nest
    nest.set_verbosity("M_ERROR")
    nest.SetKernelStatus({"resolution": 0.5})
    cells = nest.Create("iaf_psc_exp", 200)
    nest.Connect(cells, cells, {"rule": "fixed_indegree", "indegree": 10}, {"delay": 0.5, "weight": 1.0})
    if drive_hz:
        drive = nest.Create("poisson_generator", params={"rate": drive_hz})
        nest.Connect(drive, cells, syn_spec={"weight": 1000.0, "delay": 0.5})
    nest.Simulate(10.0)
    t0 = time.perf_counter()
    nest.Simulate(1000.0)
    return {"build_s": 0.0, "rate": 2000 / (time.perf_counter() - t0), "unit": "steps/s", "right": 0, "total": 0}


def worker_event(samples: int, folder: str) -> dict:
    from hippocam.backends import mpi
    from hippocam.experiments.cli import main
    path = Path(folder) / "event.json"
    status = main(["event", "evaluate", "digits-cnn", "--backend", "nest", "--timesteps", "8", "--samples",
                   str(samples), "--json", str(path), "--force"])
    if status != 0:
        raise SystemExit(status)
    result = mpi.broadcast(json.loads(path.read_text()) if mpi.is_root() else None)
    return {"build_s": result["build_s"], "rate": result["samples_per_s"], "unit": "samples/s",
            "right": round(result["agreement"] * result["samples"]), "total": result["samples"]}


def run_case(ranks: int, case: list[str]) -> list[dict]:
    """One case on ``ranks`` ranks: each rank's report (build, rate, peak MB)."""
    with tempfile.TemporaryDirectory() as folder:
        launcher = [] if ranks == 1 else ["mpirun", "--allow-run-as-root", "--oversubscribe", "-q", "-np",
                                          str(ranks)]
        subprocess.run([*launcher, sys.executable, __file__, "--worker", *case, "--report", folder],
                       check=True, stdout=subprocess.DEVNULL, env={**os.environ, "PYNEST_QUIET": "1"})
        return [json.loads(p.read_text()) for p in sorted(Path(folder).glob("rank*.json"))]


def table(rows: list[dict]) -> str:
    lines = ["| workload | ranks | build (s) | rate | peak MB per rank | right / total |", "|---|---|---|---|---|---|"]
    for r in rows:
        ranks = r["reports"]
        first = ranks[0]
        peaks = " / ".join(f"{x['peak_mb']:,.0f}" for x in ranks)
        lines.append(f"| {r['workload']} | {len(ranks)} | {max(x['build_s'] for x in ranks):.2f} | "
                     f"{first['rate']:,.1f} {first['unit']} | {peaks} | {first['right']}/{first['total']} |")
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="64x64,256x256")
    p.add_argument("--ops", type=int, default=300)
    p.add_argument("--samples", type=int, default=100)
    p.add_argument("--large", default="", help="a CAM size run on the largest rank count, e.g. 2048x2048")
    p.add_argument("--large-ops", type=int, default=50)
    p.add_argument("--large-on-one", action="store_true", help="also run --large in one process")
    p.add_argument("--ranks", default="1,2")
    p.add_argument("--json", default=None)
    p.add_argument("--exchange", action="store_true", help="only the cost of a step with and without spikes")
    p.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    p.add_argument("--report", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        from hippocam.backends import mpi
        kind, *rest = args.worker
        if kind == "exchange":
            report = worker_exchange(float(rest[0]))
        else:
            report = worker_cam(rest[0], int(rest[1])) if kind == "cam" else worker_event(int(rest[0]), args.report)
        report.update(rank=mpi.rank(), peak_mb=_peak_mb())
        Path(args.report, f"rank{mpi.rank()}.json").write_text(json.dumps(report))
        return 0
    ranks = [int(r) for r in args.ranks.split(",")]
    if args.exchange:
        for drive in ("0", "200"):
            for n in ranks:
                print(f"200 cells, {'no spikes' if drive == '0' else 'driven at 200 Hz'}, {n} rank(s): "
                      f"{run_case(n, ['exchange', drive])[0]['rate']:,.0f} steps/s")
        return 0
    cases = [(f"CAM {s}, {args.ops} random operations", ["cam", s, str(args.ops)]) for s in args.sizes.split(",") if s]
    cases.append((f"digits-cnn, {args.samples} samples, T=8", ["event", str(args.samples)]))
    rows = []
    for name, case in cases:
        for n in ranks:
            rows.append({"workload": name, "reports": run_case(n, case)})
            print(table(rows[-1:]).splitlines()[-1], flush=True)
    if args.large:
        for n in ([1] if args.large_on_one else []) + [max(ranks)]:
            rows.append({"workload": f"CAM {args.large}, {args.large_ops} random operations",
                         "reports": run_case(n, ["cam", args.large, str(args.large_ops)])})
            print(table(rows[-1:]).splitlines()[-1], flush=True)
    print()
    print(table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
