"""Converted networks as backend-neutral graphs for the PyNN backends, in four steps: ``convert`` (a ``Net`` as a
graph and its layout in time), ``stream`` (samples through it on a backend), ``reset`` (biases and reset value for
PyNN's reset to a value) and ``compare`` (against the reference SNN). Simulator quirks stay in the backends: a
layout asks the backend's ``graph_timing``."""
from .compare import compare, table
from .convert import READOUT_THRESHOLD_MV, Layout, RunParams, layer_cells, to_graph, tuned_params
from .reset import CALIBRATION_SAMPLES, V_RESET_CANDIDATES, calibrated_for_reset_to_value, choose_v_reset
from .stream import (PyNNResult, initial_membranes, run_stream, simulate, spike_counts, stream_samples,
                     streaming_backend)

__all__ = ["CALIBRATION_SAMPLES", "READOUT_THRESHOLD_MV", "V_RESET_CANDIDATES", "Layout", "PyNNResult",
           "RunParams", "calibrated_for_reset_to_value", "choose_v_reset", "compare", "initial_membranes",
           "layer_cells", "run_stream", "simulate", "spike_counts", "stream_samples", "streaming_backend", "table",
           "to_graph", "tuned_params"]
