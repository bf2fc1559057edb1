"""The ``hippocam`` command."""
from __future__ import annotations

import argparse
import sys
import time

from hippocam import backends
from hippocam.errors import HippocamError, InputError

from . import output
from .common import gate_failure

EXPERIMENTS = ("functional", "pyramidal", "stress", "state-map", "images", "capacity", "robustness", "spacing",
               "event-memory")
#: experiments whose size can be set (cues x content bits; rows x columns for state-map)
SIZED = ("pyramidal", "stress", "state-map", "images", "robustness")


def _experiment(name: str):
    import importlib
    # absolute, inside the package: a user's own experiments/ folder on sys.path must not answer
    return importlib.import_module(f"hippocam.experiments.{name.replace('-', '_')}")


def cmd_cam_run(args) -> int:
    from hippocam.cam import Memory, profile, scenario, scheduler, state
    c, k, ops = scenario.load(args.scenario)
    backends.info(args.backend)
    scheduler.place(ops, profile.load(args.profile or backends.info(args.backend).default_profile))  # refuse bad times before building
    if args.out:
        output.check_writable_file(args.out, args.force)
    if args.save:
        output.check_writable_file(args.save, args.force)
    t0 = time.perf_counter()
    if args.load:
        mem = state.load(args.load, backend=args.backend, profile=args.profile, cue_size=c, content_size=k,
                         record="output")
    else:
        mem = Memory(c, k, backend=args.backend, profile=args.profile, record="output")
    results = mem.run(ops)
    wall = time.perf_counter() - t0
    result = scenario.result_dict(mem, results, wall_seconds=round(wall, 3))
    print(scenario.table(results))
    print(f"backend {args.backend}, profile {mem.profile.name}: {mem.now_ms:g} ms simulated in {wall:.1f} s")
    if args.out:
        output.write_json(output.check_writable_file(args.out, args.force), result)
        print(f"result written to {args.out}")
    if args.save:
        state.save(mem, args.save, force=args.force)
        print(f"learned state saved to {args.save}")
    mem.close()
    return _gate(result, args.check)


def _size(text: str) -> tuple[int, int]:
    try:
        a, b = (int(x) for x in text.lower().split("x"))
    except ValueError:
        raise InputError(f"--size {text!r} is not of the form CxK, e.g. 16x16") from None
    from hippocam.cam.operations import check_sizes
    return check_sizes(a, b)


def cmd_cam_map(args) -> int:
    if args.backend != "spinnaker":
        raise InputError(f"mapping reports come from sPyNNaker; use --backend spinnaker, not {args.backend!r}")
    backends.get("spinnaker")  # a clear error when sPyNNaker is missing
    from hippocam.cam.mapping import format_map, map_memory
    from hippocam.cam.operations import check_sizes
    c, k = check_sizes(args.cue_size, args.content_size)
    if args.json:
        output.check_writable_file(args.json, args.force)
    report = map_memory(c, k, profile=args.profile or "spinnaker")
    print(format_map(report))
    if args.json:
        output.write_json(output.check_writable_file(args.json, args.force), report)
        print(f"mapping written to {args.json}")
    return 0


def cmd_run(args) -> int:
    options = {}
    if args.size:
        if args.name not in SIZED:
            raise InputError(f"{args.name} has fixed sizes; --size applies to {', '.join(SIZED)}")
        options["size"] = _size(args.size)
    if args.quick:
        options.update(QUICK.get(args.name, {}))
    for flag in ("samples", "cues"):
        value = getattr(args, flag)
        if value is not None:
            if args.name != "event-memory":
                raise InputError(f"--{flag} applies to event-memory only")
            if value < 1:
                raise InputError(f"--{flag} must be at least 1, got {value}")
            options[flag] = value
    backends.get(args.backend)  # a missing backend is reported before any folder is made
    out = output.result_dir(args.name, args.out, args.force)
    print(f"{args.name} on {args.backend}: writing to {out}/")
    result = _experiment(args.name).run(out, backend=args.backend, seed=args.seed, **options)
    print(f"results: {out}/result.json, figures and summary.md")
    return _gate(result, args.check)


def _gate(result: dict, check: bool) -> int:
    """Exit status of a run: 1 under ``--check`` when any checked operation missed (or none was checked)."""
    if not check:
        return 0
    failure = gate_failure(result)
    if failure is None:
        return 0
    print(f"hippocam: check failed: {failure}", file=sys.stderr)
    return 1


#: --quick: the smallest version of each experiment, for tests and a first look
QUICK = {"stress": {"size": (5, 10), "n_ops": 200, "sweep_ops": 100, "seeds": 1},
         "capacity": {"quick": True, "n_ops": 60},
         "robustness": {"size": (5, 10), "seeds": 1, "levels": (0.0, 0.05, 0.2)},
         "state-map": {"size": (4, 4)}, "images": {"size": (4, 64)}, "pyramidal": {"size": (4, 6)},
         "event-memory": {"samples": 6, "cues": 4, "calibrate": False},
         "spacing": {"learn_spacings": (6, 8), "recall_spacings": (4, 5), "sizes": ((5, 10),), "seeds": (0,),
                     "n_ops": 100}}


def cmd_report(args) -> int:
    from . import report
    path = report.build(args.folder, args.out, args.force)
    print(f"report written to {path}")
    return 0


def cmd_conformance(args) -> int:
    from . import conformance
    out = output.result_dir("conformance", args.out, args.force)
    names = args.backends.split(",") if args.backends else None
    result = conformance.run(out, seed=args.seed, quick=args.quick, backend_names=names)
    print(f"results: {out}/result.json and summary.md")
    return _gate(result, args.check)


def cmd_backends(args) -> int:
    from importlib import metadata
    rows = []
    for name, info in backends.REGISTRY.items():
        try:
            backend = backends.get(name)
        except backends.BackendError:
            rows.append((name, "missing", "-", f"install: {info.install}", info.summary))
            continue
        try:
            version = metadata.version(info.simulator)
        except metadata.PackageNotFoundError:
            version = "-"
        here = "simulates" if getattr(backend, "can_simulate", True) else "maps only (virtual board)"
        rows.append((name, "installed", version, here, info.summary))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    head = ("backend", "status", "version", "here")
    print("  ".join(h.ljust(w) for h, w in zip(head, widths)) + "  about")
    for row in rows:
        print("  ".join(v.ljust(w) for v, w in zip(row[:4], widths)) + "  " + row[4])
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hippocam", description="Spiking content-addressable memory and "
                                "event-driven networks on Brian2, NEST and SpiNNaker.")
    sub = p.add_subparsers(dest="command", required=True)

    cam = sub.add_parser("cam", help="run the content-addressable memory").add_subparsers(
        dest="cam_command", required=True)
    r = cam.add_parser("run", help="run a scenario file and check it against the oracle")
    r.add_argument("scenario", help="scenario JSON: {cue_size, content_size, operations: [...]}")
    r.add_argument("--backend", default=backends.DEFAULT, help="simulator backend (default: %(default)s)")
    r.add_argument("--profile", default=None, help="parameter profile (default: the backend's own)")
    r.add_argument("--out", default=None, help="write the result JSON here")
    r.add_argument("--load", default=None, help="start from a saved memory (from --save), on any backend")
    r.add_argument("--save", default=None, help="save what the memory learned here when the run ends")
    r.add_argument("--force", action="store_true", help="overwrite --out/--save if they exist")
    r.add_argument("--check", action="store_true", help="exit 1 if any operation disagrees with the oracle")
    r.set_defaults(func=cmd_cam_run)

    m = cam.add_parser("map", help="map a memory onto SpiNNaker (a virtual board here) and report cores and chips")
    m.add_argument("--backend", default="spinnaker", help="only spinnaker maps (default: %(default)s)")
    m.add_argument("--cue-size", type=int, required=True)
    m.add_argument("--content-size", type=int, required=True)
    m.add_argument("--profile", default=None, help="parameter profile (default: spinnaker)")
    m.add_argument("--json", default=None, help="also write the mapping report here")
    m.add_argument("--force", action="store_true", help="overwrite --json if it exists")
    m.set_defaults(func=cmd_cam_map)

    e = sub.add_parser("run", help="run an experiment: " + ", ".join(EXPERIMENTS))
    e.add_argument("name", choices=EXPERIMENTS)
    e.add_argument("--backend", default=backends.DEFAULT, help="simulator backend (default: %(default)s)")
    e.add_argument("--out", default=None, help="results folder (default: results/NAME-TIMESTAMP)")
    e.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    e.add_argument("--size", default=None, help="CxK (cues x content bits; rows x columns for state-map)")
    e.add_argument("--samples", type=int, default=None, help="event-memory: gestures in the stream (default 24)")
    e.add_argument("--cues", type=int, default=None,
                   help="event-memory: time slots of the memory; gesture i goes to slot i mod cues (default 16)")
    e.add_argument("--quick", action="store_true", help="a small, fast version (for a first look and tests)")
    e.add_argument("--force", action="store_true", help="write into a non-empty --out folder")
    e.add_argument("--check", action="store_true",
                   help="exit 1 if an operation the experiment expects to be right disagrees with the oracle (at "
                        "the profile's spacing, with no fault) or a size crashes")
    e.set_defaults(func=cmd_run)

    rp = sub.add_parser("report", help="one static HTML page from a results folder")
    rp.add_argument("folder", help="a folder holding experiment results (searched recursively)")
    rp.add_argument("--out", default=None, help="HTML file (default: FOLDER/report.html)")
    rp.add_argument("--force", action="store_true", help="overwrite an existing report")
    rp.set_defaults(func=cmd_report)

    c = sub.add_parser("conformance", help="the same scenarios on every installed backend, as a matrix")
    c.add_argument("--backends", default=None, help="comma-separated (default: every registered backend)")
    c.add_argument("--out", default=None, help="results folder (default: results/conformance-TIMESTAMP)")
    c.add_argument("--seed", type=int, default=0, help="seed of the random workloads (default: %(default)s)")
    c.add_argument("--quick", action="store_true", help="skip the 32x32 workload")
    c.add_argument("--force", action="store_true", help="write into a non-empty --out folder")
    c.add_argument("--check", action="store_true", help="exit 1 if any operation disagrees with the oracle")
    c.set_defaults(func=cmd_conformance)

    from . import event_cli as event_cli  # hippocam event train / evaluate / preview
    event_cli.register(sub)
    from . import nir_cli  # hippocam nir run / info
    nir_cli.register(sub)

    b = sub.add_parser("backends", help="list the backends, whether they are installed, and how to install")
    b.set_defaults(func=cmd_backends)
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except HippocamError as err:  # InputError, BackendError: one line naming the problem and the fix
        print(f"hippocam: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hippocam: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
