"""Map a network on a virtual board and read where it was placed, without running it on hardware."""
from __future__ import annotations

import time

from .backend import Backend


def _timed_mapping(backend: Backend, build, run_ms: float | None) -> dict:
    try:
        t0 = time.perf_counter()
        build()
        report = backend.mapping(run_ms)
        report["seconds"] = round(time.perf_counter() - t0, 2)
    finally:
        backend.close()
    return report


def map_spec(spec, run_ms: float | None = None, record: str = "all", **options) -> dict:
    """Map a network spec (populations with cell parameters, projections as index pairs: what ``build`` takes).

    ``options`` go to ``Backend`` (``reports_dir``, ``board_version``, ...). Returns ``parse_reports``' dict plus
    ``neurons`` (spike sources excluded), ``synapses``, ``plastic_synapses``, ``board`` and ``seconds`` (wall
    time of build + mapping run, s; sPyNNaker's import excluded).
    """
    backend = Backend(**{"virtual": True, **options})
    return _timed_mapping(backend, lambda: backend.build(spec, record=record), run_ms)


def map_graph(graph, spike_times: dict | None = None, run_ms: float | None = None, **options) -> dict:
    """Map a ``backends.graph.Graph`` on a virtual board and read the reports.

    ``spike_times``: {source population: spike trains (ms)} (the SDRAM of the sources depends on them);
    ``run_ms``: the length of the mapping run (recording SDRAM; default one timestep); ``options`` go to
    ``Backend`` (``reports_dir``, ``neurons_per_core``, ...). Returns ``parse_reports``' dict plus
    ``neurons`` (cells), ``sources``, ``synapses``, ``board``, per cell population ``ring_buffer`` and
    ``seconds`` (wall time of build + mapping run, s; sPyNNaker's import excluded).
    """
    backend = Backend(**{"virtual": True, **options})

    def build():
        backend.build_graph(graph)
        for name, trains in (spike_times or {}).items():
            backend.set_spike_times(name, trains)

    return _timed_mapping(backend, build, run_ms)
