"""NEST 3.10 through pyNN.nest, one thread, on-grid spikes (profile ``cam/profiles/nest.toml``).

Conventions absorbed here (TOOLCHAIN.md, SPEC.md 7; each checked on NEST itself):
- a hop costs delay + 1 step (input is added after the voltage update) and the shortest delay is
  one step, so a latency L is sent as a delay of L - dt; the profile runs at dt 0.5 ms so that the
  1 ms latencies of the timeline stay reachable;
- spikes on the timestep grid (``spike_precision="on_grid"``), one thread, no banner
  (``PYNEST_QUIET``), pyNN's "cannot set an initial value for I_syn" warnings filtered;
- STDP delays are dendritic (``dendritic_delay_fraction=1``); additive A_plus is scaled by w_max
  (the common layer divides the profile's absolute steps by w_max); inhibitory weights are negative;
- input spikes must come later than min_delay, and after a run NEST drops, silently, every new input
  spike within 2 min_delay of the time it has reached (pyNN.nest feeds inputs through parrot neurons
  one min_delay early and simulates one min_delay ahead): ``next_input_ms`` never offers those times.
"""
from __future__ import annotations

import functools
import logging
import math
import os

import numpy as np

from . import BackendError
from .pynn_common import PyNNBackend


class _QuietPyNNNest(logging.Filter):
    """Drops two pyNN.nest warnings that say nothing to our users: NEST cannot set I_syn's initial
    value (it is 0 anyway), and which of one possible STDP models it picked (stdp_synapse)."""

    noisy = ("_set_initial_value_array", "_get_nest_synapse_model")

    def filter(self, record: logging.LogRecord) -> bool:
        return record.funcName not in self.noisy


class Backend(PyNNBackend):
    name = "nest"
    extra_latency_steps = 1
    dendritic_delay_fraction = 1.0

    def __init__(self, timestep_ms: float | None = None):
        super().__init__(timestep_ms)
        self.operation_grid_ms = 0.0

    def import_simulator(self):
        os.environ.setdefault("PYNEST_QUIET", "1")  # read when nest is first imported
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Cannot find nest-config": only NESTML extensions are lost
            import pyNN.nest as sim
        # pyNN 0.13 still calls nest.GetStatus/SetStatus, which NEST 3.10 flags as deprecated
        warnings.filterwarnings("ignore", message=r"(?s).*(Get|Set)Status\(\) is deprecated", category=UserWarning)
        logger = logging.getLogger("PyNN")
        if not any(isinstance(f, _QuietPyNNNest) for f in logger.filters):
            logger.addFilter(_QuietPyNNNest())
        return sim

    def setup_options(self) -> dict:
        return {"spike_precision": "on_grid", "threads": 1, "verbosity": "error"}

    def delay(self, latency_ms: float) -> float:
        d = super().delay(latency_ms)
        if d < self.timestep_ms - 1e-9:
            raise BackendError(
                f"nest: a latency of {latency_ms:g} ms needs a delay of {d:g} ms, below NEST's minimum of one "
                f"step ({self.timestep_ms:g} ms): at dt {self.timestep_ms:g} ms no hop is shorter than "
                f"{2 * self.timestep_ms:g} ms; use a profile with a finer timestep (profile \"nest\" runs at 0.5 ms)")
        return d

    def build(self, spec, record: str = "all") -> None:
        """As the common layer; also records IN (the parrots) with ``record="all"``."""
        self.operation_grid_ms = float(spec.profile.extra.get("operation_grid_ms", 0.0))
        super().build(spec, record)
        if record == "all":
            self.populations["IN"].record("spikes")

    def connector(self, pairs: np.ndarray, delay_ms: float):
        return _bulk_connector_class()(pairs)

    def input_times(self, times) -> list[float]:
        # spikes already delivered stay out: the generators need not carry the whole history. Times
        # at or before min_delay (only injected jitter makes them) are left out too, as NEST leaves out
        # late ones: pyNN.nest would hand their generator a time <= 0, which NEST refuses.
        first = self.sim.get_min_delay() + 1e-9
        return [float(t) for t in times if t > self.t_ms + 1e-9 and t > first]

    def next_input_ms(self) -> float:
        """Earliest input time (ms) NEST still delivers, rounded up to the profile's operation grid.

        Before the first run: min_delay + dt (a parrot's generator needs a time > 0). After a run to t:
        t + 2 min_delay + dt (t + 2 min_delay itself is dropped; measured at dt 0.25, 0.5 and 1 ms).
        """
        dt = self.timestep_ms or 0.0
        min_delay = dt if self.closed else self.sim.get_min_delay()  # the common layer sets it to dt
        t = (self.t_ms + 2 * min_delay + dt) if self.t_ms > 0 else (min_delay + dt)
        grid = self.operation_grid_ms
        if grid > 0:
            t = math.ceil(t / grid - 1e-9) * grid
        return t


@functools.cache
def _bulk_connector_class():
    """FromListConnector that connects a whole projection with one ``nest.Connect`` call.

    pyNN.nest's FromListConnector calls nest.Connect once per postsynaptic cell; every projection of
    the CAM has one weight and one delay, so one call with ``one_to_one`` over paired node arrays is
    enough (about 10x faster from 64 x 64 up).
    """
    import nest
    from pyNN.connectors import FromListConnector

    class BulkConnector(FromListConnector):
        def __init__(self, pairs):
            super().__init__(np.asarray(pairs, dtype=float))

        def connect(self, projection):
            if self.conn_list.size == 0:
                return
            pre = self.conn_list[:, 0].astype(int)
            post = self.conn_list[:, 1].astype(int)
            params = projection.synapse_type.native_parameters
            params.shape = (1,)
            params.evaluate(simplify=True)
            native = {k: (v.item() if isinstance(v, np.ndarray) else v) for k, v in params.items()}
            weight, delay = float(native.pop("weight")), float(native.pop("delay"))
            for unused in ("tau_minus", "dendritic_delay_fraction", "w_min_always_zero_in_NEST"):
                native.pop(unused, None)
            pre_ids = np.asarray(projection.pre.node_collection.tolist())[pre]
            post_ids = np.asarray(projection.post.node_collection.tolist())[post]
            # plasticity parameters (tau_plus, lambda, alpha, Wmax, mu_plus, mu_minus) are
            # per-connection properties of stdp_synapse: pass them with the connections
            syn = {k: float(v) for k, v in native.items()}
            syn.update({"synapse_model": projection.nest_synapse_model,
                        "synapse_label": projection.nest_synapse_label,
                        "weight": np.full(len(pre), weight), "delay": np.full(len(pre), delay)})
            cell = projection.post.celltype
            if not cell.standard_receptor_type:
                syn["receptor_type"] = cell.get_receptor_type(projection.receptor_type)
            nest.Connect(pre_ids, post_ids, {"rule": "one_to_one"}, syn)
            projection._sources.update(pre_ids.tolist())
            projection._simulator.state.stale_connection_cache = True

    return BulkConnector
