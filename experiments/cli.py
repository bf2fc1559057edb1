"""The ``hippocam`` command."""
from __future__ import annotations

import argparse
import sys
import time

from hippocam import backends
from hippocam.errors import HippocamError, InputError

from . import output
from .common import gate_failure, runnable

EXPERIMENTS = ("functional", "pyramidal", "stress", "state-map", "images", "capacity", "robustness", "spacing",
               "event-memory")
#: experiments whose size can be set (cues x content bits; rows x columns for state-map), with their default
SIZED = {"pyramidal": (5, 10), "stress": (16, 16), "state-map": (8, 8), "images": (10, 64), "robustness": (16, 16)}


def _experiment(name: str):
    import importlib
    # absolute, inside the package: a user's own experiments/ folder on sys.path must not answer
    return importlib.import_module(f"hippocam.experiments.{name.replace('-', '_')}")


def cmd_cam_run(args) -> int:
    from hippocam.cam import Memory, profile, scenario, scheduler, state
    c, k, ops = scenario.load(args.scenario)
    runnable(args.backend)
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


def cmd_cam_map(args) -> int:  # --backend: argparse takes spinnaker only (mapping reports come from sPyNNaker)
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
    runnable(args.backend)  # before any folder is made
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


#: --quick: the smallest version of each experiment, for tests and a first look (functional is small already)
QUICK = {"stress": {"size": (5, 10), "n_ops": 200, "sweep_ops": 100, "seeds": 1},
         "capacity": {"quick": True, "n_ops": 60},
         "robustness": {"size": (5, 10), "seeds": 1, "levels": (0.0, 0.05, 0.2)},
         "state-map": {"size": (4, 4)}, "images": {"size": (4, 64)}, "pyramidal": {"size": (4, 6)},
         "event-memory": {"samples": 6, "cues": 4, "calibrate": False},
         "spacing": {"learn_spacings": (6, 8), "recall_spacings": (4, 5), "sizes": ((5, 10),), "seeds": (0,),
                     "n_ops": 100}}

#: what --quick does, per experiment, for ``run --help``
QUICK_TEXT = {"functional": "no change (9 operations on 5x10 already)",
              "pyramidal": "4x6", "stress": "5x10, 200 operations, 1 seed", "state-map": "4x4", "images": "4x64",
              "capacity": "the smallest sizes, 60 operations each", "robustness": "5x10, 1 seed, 3 fault levels",
              "spacing": "5x10, 2 learn x 2 recall spacings, 1 seed, 100 operations",
              "event-memory": "6 gestures, 4 cues, no bias calibration"}


def run_epilog() -> str:
    """Which options each experiment takes, for ``run --help``."""
    rows = [("experiment", "--size (default)", "--quick")]
    for name in EXPERIMENTS:
        size = "CxK ({}x{})".format(*SIZED[name]) if name in SIZED else "-"
        rows.append((name, size, QUICK_TEXT[name]))
    w0, w1 = (max(len(r[i]) for r in rows) for i in range(2))
    lines = [f"  {a:<{w0}}  {b:<{w1}}  {c}" for a, b, c in rows]
    return ("options per experiment:\n" + "\n".join(lines) +
            "\n\n--samples and --cues apply to event-memory only; --backend, --seed, --out, --force and\n"
            "--check apply to every experiment.")


def cmd_report(args) -> int:
    from . import report
    path = report.build(args.folder, args.out, args.force)
    print(f"report written to {path}")
    return 0


def conformance_backends(text: str | None) -> list[str] | None:
    """The backends ``--backends`` names (None: every registered one, the missing ones shown as not installed).

    Named backends must be installed; SpiNNaker without a board stays in the matrix as "map only" when another
    named backend runs, and is refused (as for every run) when nothing named would run."""
    if not text:
        return None
    names = list(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    if not names:
        raise InputError(f"--backends {text!r} names no backend; choose from {', '.join(backends.names())}")
    for name in names:
        if name not in backends.REGISTRY:
            raise InputError(f"--backends: unknown backend {name!r}; choose from {', '.join(backends.names())}")
        backends.require(name)
    problems = [backends.no_board(n) for n in names]
    if all(problems):
        raise backends.BackendError(problems[0])
    return names


def cmd_conformance(args) -> int:
    names = conformance_backends(args.backends)
    out = output.result_dir("conformance", args.out, args.force)
    from . import conformance
    result = conformance.run(out, seed=args.seed, quick=args.quick, backend_names=names)
    print(f"results: {out}/result.json and summary.md")
    return _gate(result, args.check)


def cmd_backends(args) -> int:
    rows = []
    for name, info in backends.REGISTRY.items():
        if backends.missing(name):
            rows.append((name, "not installed", "-", f"install: {info.install}", info.summary))
            continue
        here = "maps only (no board configured)" if backends.no_board(name) else "simulates"
        more = backends.run_facts(name)
        rows.append((name, "installed", backends.version(name), f"{here}; {more}" if more else here, info.summary))
    head = ("backend", "status", "version", "here")
    widths = [max(len(r[i]) for r in (head, *rows)) for i in range(4)]
    print("  ".join(h.ljust(w) for h, w in zip(head, widths)) + "  about")
    for row in rows:
        print("  ".join(v.ljust(w) for v, w in zip(row[:4], widths)) + "  " + row[4])
    return 0


class Parser(argparse.ArgumentParser):
    """Usage errors in one line, like every other error of the command (exit 2); the subcommands' parsers are of
    this class too (argparse makes them of their parent's)."""

    def error(self, message):
        self.exit(2, f"hippocam: error: {message} (see '{self.prog} --help')\n")


def parser() -> argparse.ArgumentParser:
    p = Parser(prog="hippocam", description="Spiking content-addressable memory and "
                                "event-driven networks on Brian2, NEST and SpiNNaker.")
    sub = p.add_subparsers(dest="command", required=True)

    cam = sub.add_parser("cam", help="run the content-addressable memory").add_subparsers(
        dest="cam_command", required=True)
    r = cam.add_parser("run", help="run a scenario file and check it against the oracle")
    r.add_argument("scenario", help="scenario JSON: {cue_size, content_size, operations: [...]}")
    r.add_argument("--backend", default=backends.DEFAULT, choices=backends.names(),
                   help="simulator backend: %(choices)s (default: %(default)s)")
    r.add_argument("--profile", default=None, help="parameter profile (default: the backend's own)")
    r.add_argument("--out", default=None, help="write the result JSON here")
    r.add_argument("--load", default=None, help="start from a saved memory (from --save), on any backend")
    r.add_argument("--save", default=None, help="save what the memory learned here when the run ends")
    r.add_argument("--force", action="store_true", help="overwrite --out/--save if they exist")
    r.add_argument("--check", action="store_true", help="exit 1 if any operation disagrees with the oracle")
    r.set_defaults(func=cmd_cam_run)

    m = cam.add_parser("map", help="map a memory onto SpiNNaker (a virtual board here) and report cores and chips")
    m.add_argument("--backend", default="spinnaker", choices=("spinnaker",),
                   help="only spinnaker maps (default: %(default)s)")
    m.add_argument("--cue-size", type=int, required=True, help="cues of the memory (C, the cue neurons)")
    m.add_argument("--content-size", type=int, required=True,
                   help="content bits of the memory (K, the content neurons)")
    m.add_argument("--profile", default=None, help="parameter profile (default: spinnaker)")
    m.add_argument("--json", default=None, help="also write the mapping report here")
    m.add_argument("--force", action="store_true", help="overwrite --json if it exists")
    m.set_defaults(func=cmd_cam_map)

    e = sub.add_parser("run", help="run an experiment: " + ", ".join(EXPERIMENTS), epilog=run_epilog(),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    e.add_argument("name", choices=EXPERIMENTS, metavar="EXPERIMENT", help="%(choices)s")
    e.add_argument("--backend", default=backends.DEFAULT, choices=backends.names(),
                   help="simulator backend: %(choices)s (default: %(default)s)")
    e.add_argument("--out", default=None, help="results folder (default: results/NAME-TIMESTAMP)")
    e.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    e.add_argument("--size", default=None, help="CxK (cues x content bits; rows x columns for state-map); "
                   f"{', '.join(SIZED)} only")
    e.add_argument("--samples", type=int, default=None, help="event-memory: gestures in the stream (default 24)")
    e.add_argument("--cues", type=int, default=None,
                   help="event-memory: time slots of the memory; gesture i goes to slot i mod cues (default 16)")
    e.add_argument("--quick", action="store_true",
                   help="a small, fast version (for a first look and tests); what it changes is listed below")
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
    c.add_argument("--backends", default=None,
                   help=f"comma-separated, from {', '.join(backends.names())} (default: all; those not installed "
                        "are shown as such)")
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
    output.quiet_other_ranks()  # under mpirun only rank 0 prints and writes
    output.plain_warnings()
    try:
        args = parser().parse_args(argv)
    except SystemExit as done:  # --help (0) or a usage error (2): a status, also when called in-process
        return done.code if isinstance(done.code, int) else 2
    output.other_ranks_aside(args)
    try:
        return args.func(args)
    except HippocamError as err:  # InputError, BackendError: one line naming the problem and the fix
        print(f"hippocam: error: {err}", file=sys.stderr)
        backends.mpi.wait_for_others()
        return 2
    except KeyboardInterrupt:
        print("hippocam: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
