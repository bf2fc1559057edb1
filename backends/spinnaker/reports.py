"""sPyNNaker's mapping reports read back: where each population was placed, its cores, chips and SDRAM.

sPyNNaker writes them with ``[Mode] mode = Info`` (hippocam's virtual-board configuration sets it) into one
folder per run; ``parse_reports`` reads one folder, ``check_placed`` checks the result against the network
that was built, ``mapping_table`` renders it.
"""
from __future__ import annotations

import math
import os
import re
from pathlib import Path

from hippocam.errors import BackendError

_VERTEX = re.compile(r"^\*\*\*\* Vertex: '(?P<name>[^']*)'")
_POP_SIZE = re.compile(r"^Pop size: (?P<n>\d+)")
_SLICE = re.compile(r"Slice \((?P<lo>\d+):(?P<hi>\d+)\) on core \((?P<x>\d+), (?P<y>\d+), (?P<p>\d+)\)")
_SDRAM_CORE = re.compile(r"^ core \((?P<x>\d+),(?P<y>\d+),(?P<p>\d+)\) (?:Fixed|Constant) (?P<fixed>\d+) bytes"
                         r"(?: Per_timestep (?P<step>[\d.]+) bytes)?")
_SYSTEM_CORE = re.compile(r"Processor (?P<p>\d+): System Vertex: '(?P<name>[^']*)'")
_CHIP = re.compile(r"^\*\*\*\* Chip: \((?P<x>\d+), (?P<y>\d+)\)")


def parse_reports(run_dir: str | os.PathLike | None) -> dict:
    """Read sPyNNaker's placement and SDRAM reports of one run (``[Mode] mode = Info``).

    Returns ``cores``/``chips`` used by the network's populations, ``system_cores`` (sPyNNaker's
    monitors and gatherers on those chips), ``sdram_bytes`` (fixed SDRAM of the population cores) and
    per population ``neurons``, ``cores``, ``chips``, ``sdram_bytes``, ``sdram_per_step_bytes``
    (recording) and ``placements`` [(x, y, p)]. Raises BackendError if the placement report is missing.
    """
    if run_dir is None:
        raise BackendError("spinnaker: no report folder: the network has not been mapped")
    run = Path(run_dir)
    placement = run / "placement_by_vertex_using_graph.rpt"
    if not placement.exists():
        raise BackendError(f"spinnaker: {placement} is missing; sPyNNaker writes it with [Mode] mode = Info "
                           "(or [Reports] write_application_graph_placer_report = True)")
    pops: dict[str, dict] = {}
    current = None
    for line in placement.read_text().splitlines():
        if m := _VERTEX.match(line):
            current = pops.setdefault(m["name"], {"neurons": 0, "placements": []})
        elif current is not None and (m := _POP_SIZE.match(line)):
            current["neurons"] = int(m["n"])
        elif current is not None and (m := _SLICE.search(line)):
            current["placements"].append((int(m["x"]), int(m["y"]), int(m["p"])))
    sdram: dict[tuple, tuple[int, float]] = {}
    sdram_report = run / "chip_sdram_usage_by_core.rpt"
    if sdram_report.exists():
        for line in sdram_report.read_text().splitlines():
            if m := _SDRAM_CORE.match(line):
                sdram[(int(m["x"]), int(m["y"]), int(m["p"]))] = (int(m["fixed"]), float(m["step"] or 0))
    for pop in pops.values():
        cores = pop["placements"]
        pop["cores"] = len(cores)
        pop["chips"] = len({(x, y) for x, y, _ in cores})
        known = [sdram[c] for c in cores if c in sdram]
        pop["sdram_bytes"] = sum(f for f, _ in known) if len(known) == len(cores) else None
        pop["sdram_per_step_bytes"] = sum(s for _, s in known) if len(known) == len(cores) else None
    used_chips = {(x, y) for pop in pops.values() for x, y, _ in pop["placements"]}
    known_sdram = [p["sdram_bytes"] for p in pops.values()]
    return {
        "cores": sum(p["cores"] for p in pops.values()),
        "chips": len(used_chips),
        "system_cores": _system_cores(run / "placement_by_core_using_graph.rpt", used_chips),
        "sdram_bytes": sum(known_sdram) if None not in known_sdram else None,
        "populations": pops,
        "report_dir": str(run),
    }


def _system_cores(by_core: Path, chips: set) -> int:
    """sPyNNaker's own cores (monitors, gatherers) on ``chips``; 0 if the report is absent."""
    if not by_core.exists():
        return 0
    system, chip = 0, None
    for line in by_core.read_text().splitlines():
        if m := _CHIP.match(line):
            chip = (int(m["x"]), int(m["y"]))
        elif chip in chips and _SYSTEM_CORE.search(line):
            system += 1
    return system


def check_placed(report: dict, populations) -> None:
    """Every population (anything with ``name`` and ``size``) placed with its own size: else the report was
    misread, and a BackendError says which population."""
    for p in populations:
        got = report["populations"].get(p.name)
        if got is None or got["cores"] == 0 or got["neurons"] != p.size:
            raise BackendError(f"spinnaker: population {p.name} ({p.size} neurons) is not placed as expected "
                               f"in {report['report_dir']}: {got}")


def kib(n_bytes: int | None) -> str:
    return "?" if n_bytes is None else f"{n_bytes / 1024:.1f}"


def mapping_table(head: str, rows: list, report: dict) -> str:
    """``head``, the rows as an aligned table (header and total ruled off), the system cores and the reports.

    ``rows``: a header row, one row per population and a total row, first column left-aligned."""
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    lines = [head, ""]
    for i, r in enumerate(rows):
        cells = [str(r[0]).ljust(widths[0])] + [str(v).rjust(w) for v, w in zip(r[1:], widths[1:])]
        lines.append("  ".join(cells).rstrip())
        if i == 0 or i == len(rows) - 2:
            lines.append("  ".join("-" * w for w in widths))
    tail = f"plus {report['system_cores']} sPyNNaker system cores on those chips"
    if "seconds" in report:
        tail += f"; mapped in {report['seconds']} s"
    lines += ["", tail, f"reports: {report['report_dir']}"]
    return "\n".join(lines)


def format_graph_map(report: dict, title: str = "graph") -> str:
    """A text table of ``map_graph``'s result: per population neurons, cores, chips, SDRAM (KiB), weight step
    (graph mV); the time_scale_factor; per projection its connector."""
    head = (f"{title} on SpiNNaker, {report.get('board', '')}: {report['neurons']:,} neurons "
            f"(+ {report['sources']:,} spike sources), {report['synapses']:,} synapses")
    rows = [("population", "neurons", "cores", "chips", "n/core", "SDRAM KiB", "w step mV (exc/inh)")]
    for name, p in report["populations"].items():
        rb = p.get("ring_buffer")
        step = "" if not rb else "/".join(f"{s:.2g}" for s in rb["weight_step_mV"])
        rows.append((name, p["neurons"], p["cores"], p["chips"], math.ceil(p["neurons"] / max(p["cores"], 1)),
                     kib(p["sdram_bytes"]), step))
    total_n = sum(p["neurons"] for p in report["populations"].values())
    rows.append(("total", total_n, report["cores"], report["chips"], "", kib(report["sdram_bytes"]), ""))
    text = mapping_table(head, rows, report)
    if report.get("time_scale_factor") is not None:
        text += (f"\ntime_scale_factor {report['time_scale_factor']:g} (a board runs this many times slower than "
                 "real time)")
    return text + projection_table(report.get("projections", {}))


def projection_table(projections: dict) -> str:
    """Per projection (and receptor): synapses, delay and the connector it is built with, and why."""
    if not projections:
        return ""
    rows = [("projection", "synapses", "delay steps", "connector")]
    rows += [(name, f"{p['synapses']:,}", p["delay_steps"], p["connector"]) for name, p in projections.items()]
    widths = [max(len(str(r[i])) for r in rows) for i in range(3)]
    lines = ["", ""]
    for i, r in enumerate(rows):
        lines.append("  ".join([str(r[0]).ljust(widths[0]), str(r[1]).rjust(widths[1]), str(r[2]).rjust(widths[2]),
                                str(r[3])]))
        if i == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * len(r[3]))
    return "\n".join(lines)
