"""A step-exact numpy model of what SpiNNaker computes (docs/spinnaker_arithmetic.md, docs/spinnaker_model.md).

Two networks run on it: a CAM (``cam.network.NetworkSpec``; ``cam.CamModel``, checked against the original
authors' hardware recordings by ``cam.hardware.replay_recording``) and a converted event network
(``backends.graph.Graph``; ``graph.GraphModel``: SpiNNaker's s16.15 arithmetic through ``spinnaker.chip``).
``Backend`` offers both behind the backend interface (``interface.GraphBackend``); ``realtime`` turns a graph
run's synaptic events per core into the slow-down a board run needs.
"""
from __future__ import annotations

import numpy as np

from hippocam.backends.pynn_common import slot_events
from hippocam.errors import BackendError

from . import graph as _graph
from .cam import CamModel


class Backend(CamModel):
    """The model behind ``backends.get("spinnaker-model")``: a CAM (``build``) or a graph (``build_graph``)."""

    reads_membrane = True
    #: a hop costs its delay, as on the sPyNNaker backend: the shortest delay is one step
    min_delay_steps = 1
    delta_extra_latency_steps = 0
    #: a graph cell's spike acts like a spike source's of the same step (the model has one update order)
    delta_to_input_lag_steps = 0
    #: the PyNN backends' first input step of a slot, so that a graph is laid out exactly as on Brian2
    graph_lead_steps = 2
    min_sources = 1

    def __init__(self, timestep_ms: float | None = None):
        super().__init__(timestep_ms)
        self.graph: _graph.GraphModel | None = None

    def build(self, spec, record: str = "all", graph=None) -> None:
        if graph is not None:
            raise BackendError("spinnaker-model: a memory and a graph in one network is not modelled; build the "
                               "graph alone (build_graph)")
        self.graph = None
        super().build(spec, record)

    def build_graph(self, graph, plan=None) -> None:
        """As ``interface.GraphBackend.build_graph``; ``plan``: the chip's values (default ``chip.plan(graph)``)."""
        self.graph = _graph.GraphModel(graph, plan)
        self.timestep_ms, self.t_ms, self.closed, self.spec = graph.timestep_ms, 0.0, False, None

    def graph_timing(self, timestep_ms: float):
        return _graph.timing(timestep_ms, self.graph_lead_steps, self.min_sources)

    def _graph(self) -> _graph.GraphModel:
        self._check_open()
        if self.graph is None:
            raise BackendError("spinnaker-model: no graph is built (build_graph first)")
        return self.graph

    def set_spike_times(self, population: str, trains: list) -> None:
        self._graph().set_spike_times(population, trains)

    def membrane(self, population: str) -> np.ndarray:
        return self._graph().membrane(population)

    def set_membrane(self, population: str, v_mV) -> None:
        self._graph().set_membrane(population, v_mV)

    def reset_cells(self, population: str, v_mV) -> None:
        self._graph().set_membrane(population, v_mV)

    def run_until(self, t_ms: float) -> None:
        if self.graph is None:
            return super().run_until(t_ms)
        self._graph().run_until(_graph.steps_of(t_ms, self.timestep_ms))
        self.t_ms = max(self.t_ms, t_ms)

    def spikes(self, population: str) -> list[np.ndarray]:
        if self.graph is None:
            return super().spikes(population)
        return self._graph().spikes(population)

    def run_slots(self, slot_ms: float, n_slots: int, reset: dict, read: str, progress=None,
                  read_ms: float | None = None, window_resets: dict | None = None, batch: bool = True) -> np.ndarray:
        """As ``interface.GraphBackend.run_slots``. With ``batch`` the slots run at once when they are independent
        (``GraphModel.batchable``; else, or when a spike turns out to be in flight at a slot's end, one by one)."""
        g, dt = self._graph(), self.timestep_ms
        events = slot_events(slot_ms, read_ms, window_resets)       # checks the window resets lie in the slot
        slot_steps = int(round(slot_ms / dt))
        if abs(slot_steps * dt - slot_ms) > 1e-9 or abs(g.step * dt - self.t_ms) > 1e-9:
            raise BackendError(f"spinnaker-model: slots of {slot_ms:g} ms from {self.t_ms:g} ms are off the "
                               f"{dt:g} ms grid")
        if batch and g.batchable(reset) is None:
            read_step = int(round((slot_ms if read_ms is None else read_ms) / dt))
            window = {name: (int(round(t / dt)), v) for t, name, v in events if name is not None}
            out = g.run_batch(slot_steps, n_slots, reset, read, read_step, window, progress)
            if out is not None:
                self.t_ms += n_slots * slot_ms
                return out
        g.slots_run["step by step"] += n_slots
        start, out = self.t_ms, []
        for s in range(n_slots):
            for t, name, v in events:
                self.run_until(start + s * slot_ms + t)
                if name is None:
                    out.append(self.membrane(read).copy())
                else:
                    self.set_membrane(name, v)
            self.run_until(start + (s + 1) * slot_ms)
            for name, v in reset.items():
                self.reset_cells(name, v)
            if progress is not None:
                progress(s + 1, n_slots)
        return np.array(out)

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def run_report(self) -> dict:
        """The quantisation and real-time facts of the graph run so far (``realtime.report``)."""
        from . import realtime
        return realtime.report(self._graph())

    def close(self) -> None:
        if self.graph is not None and not self.closed:
            global LAST_REPORT
            from . import realtime
            LAST_REPORT = realtime.report(self.graph)
        super().close()


#: the report (``Backend.run_report``) of the last graph network closed in this process: what ``hippocam event
#: evaluate`` shows after a run, whose backend the streaming code opens and closes itself
LAST_REPORT: dict | None = None
