"""A CAM mapped on SpiNNaker: build the network of a cue_size x content_size memory, place it on a virtual
board (``hippocam cam map``) and render where it went. Nothing is executed."""
from __future__ import annotations

from hippocam.backends import spinnaker
from . import network
from .operations import check_sizes
from .profile import Profile, load


def map_memory(cue_size: int, content_size: int, profile="spinnaker", run_ms: float = 1.0, **options) -> dict:
    """Build a ``cue_size`` x ``content_size`` CAM on a virtual board, map it and read the reports.

    ``profile``: a name, path or ``cam.profile.Profile``; ``options`` go to the SpiNNaker ``Backend`` (e.g.
    ``reports_dir``, ``board_version``). Returns ``backends.spinnaker.map_spec``'s dict (cores, chips, SDRAM per
    population, ``neurons`` with IN excluded, ``synapses``, ``plastic_synapses``, ``board``, ``seconds``) plus
    ``cue_size``, ``content_size`` and ``profile``.
    """
    check_sizes(cue_size, content_size)
    prof = profile if isinstance(profile, Profile) else load(profile)
    spec = network.build_spec(cue_size, content_size, prof)
    report = spinnaker.map_spec(spec, run_ms, record="all", **options)
    report.update(cue_size=cue_size, content_size=content_size, profile=prof.name)
    return report


def format_map(report: dict) -> str:
    """A text table of ``map_memory``'s result: per population neurons, cores, chips, SDRAM (KiB)."""
    kib = spinnaker.kib
    head = (f"CAM {report['cue_size']} x {report['content_size']} (profile {report.get('profile', '?')}) "
            f"on SpiNNaker, {report.get('board', '')}: {report['neurons']} neurons "
            f"(+ {report['populations'].get('IN', {}).get('neurons', 0)} input sources), "
            f"{report['synapses']} synapses ({report['plastic_synapses']} plastic)")
    rows = [("population", "neurons", "cores", "chips", "SDRAM KiB", "rec B/step")]
    for name, p in report["populations"].items():
        rows.append((name, p["neurons"], p["cores"], p["chips"], kib(p["sdram_bytes"]),
                     "?" if p["sdram_per_step_bytes"] is None else f"{p['sdram_per_step_bytes']:g}"))
    total_n = sum(p["neurons"] for p in report["populations"].values())
    rows.append(("total", total_n, report["cores"], report["chips"], kib(report["sdram_bytes"]), ""))
    return spinnaker.mapping_table(head, rows, report)
