"""SpiNNaker through sPyNNaker 1!7.4.1 (``pyNN.spiNNaker``): a virtual board here, a real one when configured.

``Backend`` (``backend``) runs a CAM network spec or, through ``build_graph`` (``graphs``), a converted event
network. On a virtual board (the default) the network is mapped, not executed: ``can_simulate`` is False and
``spikes()`` returns empty trains. The modules:

- ``config``: which board (``HIPPOCAM_SPINNAKER_*`` variables or ``Backend`` arguments) and the sPyNNaker
  configuration file, written to a temporary folder, never into ``~``;
- ``probe``: does the configured board answer (before sPyNNaker retries for minutes)?
- ``patches``: the changes made to sPyNNaker's own code, only on the version they were written for;
- ``fixed`` / ``chip`` / ``limits``: s16.15 arithmetic, a graph planned in chip units (``plan``: every cell and
  weight a board or the spinnaker-model gets), sPyNNaker's per-core limits;
- ``reports`` / ``mapping``: map on a virtual board, read sPyNNaker's placement reports, render them.

``import hippocam.backends.spinnaker`` does not import sPyNNaker; creating a ``Backend`` does.
"""
from .backend import Backend, spynnaker_errors
from .config import (ENV_CFG, ENV_MACHINE, ENV_REPORTS, ENV_TIME_SCALE, ENV_TIMEOUT, ENV_VERBOSE, ENV_VERSION,
                     NO_BOARD, BoardConfig, board_config, default_reports_dir, time_scale_factor)
from .chip import ChipCells, ChipGraph, ChipSynapses, plan
from .limits import summed_weight_bounds
from .mapping import map_graph, map_spec
from .patches import rows_by_index
from .probe import SCAMP_PORT, SPALLOC_PORT, probe_board
from .reports import check_placed, format_graph_map, kib, mapping_table, parse_reports

__all__ = ["Backend", "spynnaker_errors", "ENV_CFG", "ENV_MACHINE", "ENV_REPORTS", "ENV_TIME_SCALE", "ENV_TIMEOUT",
           "ENV_VERBOSE", "ENV_VERSION", "NO_BOARD", "BoardConfig", "board_config", "default_reports_dir",
           "time_scale_factor", "ChipCells", "ChipGraph", "ChipSynapses", "plan", "summed_weight_bounds", "map_graph",
           "map_spec", "rows_by_index", "SCAMP_PORT", "SPALLOC_PORT", "probe_board", "check_placed",
           "format_graph_map", "kib", "mapping_table", "parse_reports"]
