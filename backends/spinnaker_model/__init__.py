"""A step-exact numpy model of what SpiNNaker computes (docs/spinnaker_arithmetic.md, docs/spinnaker_model.md).

Two networks run on it: a CAM (``cam.network.NetworkSpec``; ``cam.CamModel``, checked against the original
authors' hardware recordings by ``cam.hardware.replay_recording``) and a converted event network
(``backends.graph.Graph``; ``graph.GraphModel``: SpiNNaker's s16.15 arithmetic through ``spinnaker.chip``).
``Backend`` offers both behind the backend interface (``interface.GraphBackend``), alone or linked in one network
(``build(spec, graph=graph)``: the graph's cell population "IN" is the memory's input population, see ``Backend``);
``realtime`` turns a graph run's synaptic events per core into the slow-down a board run needs.
"""
from __future__ import annotations

import numpy as np

from hippocam.backends.pynn_common import run_slots_stepwise, slot_events
from hippocam.backends.spinnaker import chip
from hippocam.errors import BackendError

from . import graph as _graph
from .cam import CamModel


class Backend(CamModel):
    """The model behind ``backends.get("spinnaker-model")``: a CAM (``build``), a graph (``build_graph``), or both
    linked (``build(spec, graph=graph)``).

    Linked, they run in lockstep: in step n the graph steps first (chip arithmetic, ``GraphModel``), the spikes of
    its "IN" cells in step n become the memory's IN spikes of step n + ``delta_to_input_lag_steps``, exactly as a
    spike source's of that step would, then the memory steps (``CamModel``). A population name belongs to the graph
    or the memory; "IN" is one population seen from both sides (its spikes are the ones the memory received).
    """

    reads_membrane = True
    links_memory = True
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
        #: what the chip plan of a linked graph loses (``chip.out_of_range``'s lines; empty for a graph alone)
        self.lossy: list[str] = []

    def build(self, spec, record: str = "all", graph=None) -> None:
        """As ``interface.GraphBackend.build``; with ``graph`` its cell population "IN" feeds the memory's IN."""
        self.graph, self.lossy = None, []
        super().build(spec, record)
        if graph is None:
            return
        if abs(graph.timestep_ms - self.timestep_ms) > 1e-9:
            raise BackendError(f"spinnaker-model: the graph runs at dt {graph.timestep_ms:g} ms and the memory at "
                               f"{self.timestep_ms:g} ms; build the graph at the memory's timestep")
        cells = {p.name: p for p in graph.populations if not isinstance(p, _graph.Sources)}
        if "IN" not in cells or cells["IN"].size != self.size["IN"]:
            raise BackendError(f"spinnaker-model: a graph beside a memory needs a cell population 'IN' of the "
                               f"memory's {self.size['IN']} inputs; the graph has "
                               f"{cells['IN'].size if 'IN' in cells else 'none'}")
        clash = sorted(set(cells) & set(self.offset) - {"IN"})
        if clash:
            raise BackendError(f"spinnaker-model: population {clash[0]!r} is in both the graph and the memory")
        # A race read-out spikes at a threshold far above its weights: on a core its weight step is coarse and some
        # small weights round to 0. A core runs that all the same, so the linked network does too, and says what it
        # lost (``lossy``, in ``run_report``) instead of refusing as a graph alone does.
        plan = chip.plan(graph)
        self.lossy = chip.out_of_range(plan)
        self.graph = _graph.GraphModel(graph, plan)

    @property
    def linked(self) -> bool:
        """Whether a memory and a graph run here as one network."""
        return self.graph is not None and self.spec is not None

    def _in_graph(self, population: str) -> bool:
        return self.graph is not None and (self.spec is None or population in self.graph.sizes)

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

    def set_inputs(self, trains) -> None:
        if self.linked:
            raise BackendError("spinnaker-model: the memory's IN is the graph's IN cells here; give spike times to "
                               "the graph's sources (set_spike_times)")
        super().set_inputs(trains)

    def _memory_cells(self, population: str) -> slice:
        self._check_open()
        if population not in self.offset or self.spec.population(population).cell is None:
            raise BackendError(f"spinnaker-model: {population!r} is no population of cells of this network")
        return slice(self.offset[population], self.offset[population] + self.size[population])

    def membrane(self, population: str) -> np.ndarray:
        if self._in_graph(population) or self.graph is None:
            return self._graph().membrane(population)
        return self.v[self._memory_cells(population)].copy()

    def set_membrane(self, population: str, v_mV) -> None:
        if self._in_graph(population) or self.graph is None:
            return self._graph().set_membrane(population, v_mV)
        self.v[self._memory_cells(population)] = v_mV

    def reset_cells(self, population: str, v_mV) -> None:
        """As ``set_membrane``; a memory population's synaptic currents also start at 0 (it has some)."""
        self.set_membrane(population, v_mV)
        if not self._in_graph(population):
            cells = self._memory_cells(population)
            self.i_e[cells], self.i_i[cells] = 0.0, 0.0

    def run_until(self, t_ms: float) -> None:
        if self.graph is None:
            return super().run_until(t_ms)
        if self.linked:
            return self._run_linked(t_ms)
        self._graph().run_until(_graph.steps_of(t_ms, self.timestep_ms))
        self.t_ms = max(self.t_ms, t_ms)

    def _run_linked(self, t_ms: float) -> None:
        """Graph and memory in lockstep up to ``t_ms`` (see the class)."""
        g, dt, first_in = self._graph(), self.timestep_ms, self.offset["IN"]
        end = _graph.steps_of(t_ms, dt)
        while g.step < end:
            n = g.step
            fired = np.flatnonzero(g.step_once()["IN"][0])
            if len(fired):
                at = n + self.delta_to_input_lag_steps
                self.inputs[at] = np.union1d(self.inputs.get(at, np.zeros(0, np.int64)), fired + first_in)
            super().run_until((n + 1) * dt)
        self.t_ms = max(self.t_ms, t_ms)

    def spikes(self, population: str) -> list[np.ndarray]:
        """Spike times (ms); linked, "IN" gives the spikes of the graph's IN cells as the memory received them."""
        if self.graph is None or (self.linked and (population not in self.graph.sizes or population == "IN")):
            return super().spikes(population)
        return self._graph().spikes(population)

    def run_slots(self, slot_ms: float, n_slots: int, reset: dict, read: str, progress=None,
                  read_ms: float | None = None, window_resets: dict | None = None, batch: bool = True) -> np.ndarray:
        """As ``interface.GraphBackend.run_slots``. With ``batch`` the slots run at once when they are independent
        (``GraphModel.batchable``; else, or when a spike turns out to be in flight at a slot's end, one by one)."""
        g, dt = self._graph(), self.timestep_ms
        batch = batch and not self.linked                   # the memory carries its state across the slots
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
        return run_slots_stepwise(self, slot_ms, n_slots, events, reset, read, progress)

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def run_report(self) -> dict:
        """The quantisation and real-time facts of the graph run so far (``realtime.report``)."""
        from . import realtime
        return dict(realtime.report(self._graph()), lossy=list(self.lossy))

    def close(self) -> None:
        if self.graph is not None and not self.closed:
            global LAST_REPORT
            from . import realtime
            LAST_REPORT = dict(realtime.report(self.graph), lossy=list(self.lossy))
        super().close()


#: the report (``Backend.run_report``) of the last graph network closed in this process: what ``hippocam event
#: evaluate`` shows after a run, whose backend the streaming code opens and closes itself
LAST_REPORT: dict | None = None
