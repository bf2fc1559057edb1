"""What a network description may ask of a simulator beyond its cells and synapses, as one typed value.

A CAM profile's ``[backend]`` table (``cam.profile``) becomes a ``RunHints``; a backend reads only these fields,
so an unknown or misspelt key is refused when the profile loads instead of being ignored by the backend.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from hippocam.errors import InputError


@dataclass(frozen=True)
class RunHints:
    #: operations start on a grid of this many ms (0: no grid); NEST rounds its earliest input after a run to it,
    #: so that every operation's spikes share one grid of min_delay steps
    operation_grid_ms: float = 0.0
    #: sPyNNaker's slow-down of real time (an integer >= 1); None: sPyNNaker's default
    time_scale_factor: int | None = None

    @classmethod
    def from_table(cls, table: dict, where: str) -> "RunHints":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(table) - known)
        if unknown:
            raise InputError(f"{where}: unknown [backend] keys {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        grid = float(table.get("operation_grid_ms", 0.0))
        tsf = table.get("time_scale_factor")
        if grid < 0:
            raise InputError(f"{where}: [backend] operation_grid_ms must be >= 0, got {grid}")
        if tsf is not None and (not isinstance(tsf, int) or tsf < 1):
            raise InputError(f"{where}: [backend] time_scale_factor must be an integer >= 1, got {tsf!r}")
        return cls(operation_grid_ms=grid, time_scale_factor=tsf)
