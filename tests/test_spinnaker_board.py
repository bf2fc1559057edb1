"""The board path of a converted network: cells and weights from ``chip.plan``, a batch run of slots read from the
recorded ``v``, time_scale_factor, and the one-line refusals when no board is configured or it does not answer.

sPyNNaker maps on its virtual board here; what only a board does (executing) is exercised with a stand-in for the
board in ``test_run_slots_reads_each_slot_at_its_read_step``.
"""
import contextlib
import re
import time
import types

import numpy as np
import pytest

from hippocam.backends import spinnaker as sp
from hippocam.backends.graph import DeltaCells, Graph, Sources, Synapses
from hippocam.backends.spinnaker.graphs import GraphPath
from hippocam.errors import BackendError
from hippocam.experiments import cli

READOUT_MV = 1e9  # a read-out that integrates and never fires (event_models.pynn.READOUT_THRESHOLD_MV)


@pytest.fixture(autouse=True)
def hermetic(tmp_path_factory, monkeypatch):
    """No board of the developer's own, reports into a temporary folder."""
    for var in (sp.ENV_CFG, sp.ENV_MACHINE, sp.ENV_VERSION, sp.ENV_TIMEOUT, sp.ENV_TIME_SCALE):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv(sp.ENV_REPORTS, str(tmp_path_factory.getbasetemp() / "spinnaker-reports"))


def small_graph():
    rng = np.random.default_rng(0)
    pre, post = np.meshgrid(np.arange(8), np.arange(25), indexing="ij")
    w = rng.normal(0, 1, pre.size)
    return Graph(1.0, (Sources("src", 8), DeltaCells("cells", 25, v_thresh_mV=1.0, v_init_mV=0.5),
                       DeltaCells("out", 3, v_thresh_mV=READOUT_MV, record_spikes=False)),
                 (Synapses("in", "src", "cells", pre.ravel(), post.ravel(), w, 1.0),
                  Synapses("ro", "cells", "out", np.arange(25), np.arange(25) % 3, np.full(25, 0.5), 2.0)))


@contextlib.contextmanager
def stored_weights():
    """What sPyNNaker writes into the synaptic rows, per projection label: (pre, post within its core's slice,
    16-bit weight), taken where sPyNNaker's ``get_synapses`` has scaled the weights (rint, as it stores them)."""
    pytest.importorskip("spynnaker")
    from spynnaker.pyNN.models.neuron import synaptic_matrix_app as sma

    rows, original = [], sma.get_synapses

    def spy(connections, synapse_info, *args, **kwargs):
        out = original(connections, synapse_info, *args, **kwargs)
        stored = np.rint(np.abs(connections["weight"])).astype(np.int64) & 0xFFFF
        rows.append((synapse_info, np.column_stack([connections["source"], connections["target"], stored])))
        return out

    sma.get_synapses = spy
    by_label: dict = {}
    try:
        yield by_label, rows
    finally:
        sma.get_synapses = original


def check_stored_against_plan(backend, rows, by_label, per_core: int):
    label = {id(p._synapse_information): name for name, p in backend.projections.items()}
    for info, block in rows:
        by_label.setdefault(label[id(info)], []).append(block)
    assert set(by_label) == {f"{s.name}.{s.receptor[:3]}" for s in backend.chip.synapses}
    for s in backend.chip.synapses:
        got = np.concatenate(by_label[f"{s.name}.{s.receptor[:3]}"])
        want = np.column_stack([s.pre, s.post % per_core, s.weight_int])
        assert np.array_equal(got[np.lexsort(got.T[::-1])], want[np.lexsort(want.T[::-1])]), s.name


@pytest.mark.spinnaker
def test_cells_weights_and_shifts_are_the_plans(tmp_path):
    g = small_graph()
    plan = sp.plan(g)
    with sp.Backend(virtual=True, reports_dir=tmp_path, neurons_per_core=10) as backend, \
            stored_weights() as (by_label, rows):
        backend.build_graph(g)
        backend.set_membrane("cells", 0.25)
        backend._materialize()
        # the membrane is given in graph mV and sent in chip mV
        assert np.allclose(backend.populations["cells"].initial_values["v"], 0.25 * plan.cell("cells").scale)
        assert np.array_equal(backend.membrane("cells"), np.full(25, 0.25))  # before a run: the initial value
        report = backend.mapping()
        check_stored_against_plan(backend, rows, by_label, per_core=10)
        for c in plan.cells:
            assert report["populations"][c.name]["ring_buffer"]["shifts"] == list(c.shifts)
            pop = backend.populations[c.name]
            for pynn, field in (("tau_m", "tau_m_ms"), ("cm", "cm_nF"), ("v_rest", "v_rest_mV"),
                                ("v_thresh", "v_thresh_mV"), ("v_reset", "v_reset_mV"), ("i_offset", "i_offset_nA")):
                assert np.allclose(np.asarray(pop.get(pynn), float), getattr(c, field)), (c.name, pynn)
        with pytest.raises(BackendError, match="no SpiNNaker board is configured"):
            backend.membrane("cells")  # after the (mapping) run: a virtual board executed nothing
    # the read-out: 0.5 mV each, 9 cells onto out[0], in chip units stored as rint(w * 2**(15 - shift))
    ro = next(s for s in plan.synapses if s.name == "ro")
    out = plan.cell("out")
    assert np.all(ro.weight_int == round(0.5 * out.scale * 2 ** (15 - out.shifts[0])))
    assert out.bound_nA[0] == pytest.approx(4.5 * out.scale)   # the worst case; max_summed_nA only picks the shift
    assert report["projections"]["ro.exc"] == {"pre": "cells", "post": "out", "synapses": 25, "delay_steps": 2,
                                               "connector": sp.graphs.CONNECTOR_WHY}


@pytest.mark.spinnaker
@pytest.mark.slow
def test_digits_cnn_shifts_and_stored_weights_are_the_plans(tmp_path):
    from hippocam.event_models import pynn as pynn_net
    from hippocam.event_models import zoo
    from hippocam.experiments.event_cli import mapping_inputs

    net, _ = zoo.find_model("digits-cnn")
    with sp.Backend(virtual=True, reports_dir=tmp_path) as backend, stored_weights() as (by_label, rows):
        graph, layout = pynn_net.to_graph(net, pynn_net.RunParams(steps=4), backend.graph_timing(1.0))
        plan = sp.plan(graph)
        backend.build_graph(graph)
        for name, trains in mapping_inputs(net, graph, layout, 4).items():
            backend.set_spike_times(name, trains)
        report = backend.mapping()
        check_stored_against_plan(backend, rows, by_label, per_core=256)
    for c in plan.cells:
        assert report["populations"][c.name]["ring_buffer"]["shifts"] == list(c.shifts), c.name


# -- the batch run: every sample a slot, the read-out from the recorded v ----------------------------------------
@pytest.mark.spinnaker
def test_virtual_board_runs_the_path_up_to_the_run_then_says_no_board(tmp_path):
    """Build, inputs, v recording of the read-out and the mapping happen; then one line: no board."""
    g = small_graph()
    plain = sp.map_graph(g, {"src": [[2.0]] * 8}, run_ms=30.0, reports_dir=tmp_path)
    assert plain["populations"]["out"]["sdram_per_step_bytes"] == 0  # out records nothing by itself

    with sp.Backend(reports_dir=tmp_path) as backend:  # nothing configured: a virtual board that may not run
        assert backend.board.virtual and backend.reads_membrane is False
        backend.build_graph(g)
        backend.set_spike_times("src", [[2.0, 12.0, 22.0]] * 8)
        with pytest.raises(BackendError) as info:
            backend.run_slots(10.0, 3, {"cells": 0.5, "out": 0.0}, "out", read_ms=8.0)
        assert str(info.value) == sp.NO_BOARD and "HIPPOCAM_SPINNAKER_MACHINE" in str(info.value)
        assert backend._materialized and not backend.closed and backend.t_ms == 30.0
        report = backend.mapping()  # mapped for the whole batch, with out's v recorded every step
    assert report["populations"]["out"]["sdram_per_step_bytes"] > 0
    assert report["neurons"] == 28


@pytest.mark.spinnaker
@pytest.mark.slow
def test_digits_cnn_streams_up_to_the_run_on_a_virtual_board(tmp_path):
    """What ``event_models.pynn.simulate`` does on a board, on the virtual one: 3 samples' input and bias spikes
    given up front, the windows' membranes, then run_slots maps the batch with L5's v recorded and stops in one
    line."""
    from hippocam.event_models import pynn as pynn_net
    from hippocam.event_models import zoo
    from hippocam.event_models.pynn.stream import stream_samples

    net, _ = zoo.find_model("digits-cnn")
    counts = np.random.default_rng(0).integers(0, net.levels + 1, (3, *net.input_shape))
    params = pynn_net.RunParams(steps=4)
    with sp.Backend(reports_dir=tmp_path) as backend:
        graph, layout = pynn_net.to_graph(net, params, backend.graph_timing(1.0))
        backend.build_graph(graph)
        trains = stream_samples(backend, net, counts, params, graph, layout)
        assert trains.shape == (4, 3, int(np.prod(net.input_shape)))
        readout = f"L{len(net.layers) - 1}"
        with pytest.raises(BackendError) as info:
            backend.run_slots(layout.slot_steps * 1.0, 3, pynn_net.initial_membranes(net, params), readout,
                              read_ms=layout.read_steps * 1.0)
        assert str(info.value) == sp.NO_BOARD
        assert backend.t_ms == 3 * layout.slot_steps  # the whole batch was mapped
        report = backend.mapping()
    # every input spike of the 3 slots reached sPyNNaker; only the read-out records v (its spikes are not recorded)
    assert sum(len(t) for t in backend._source_trains["input"]) == int(trains.sum())
    assert report["populations"][readout]["sdram_per_step_bytes"] > 0
    assert set(backend._record_v) == {readout}


class StandInBoard(GraphPath):
    """``GraphPath.run_slots`` on a stand-in board: the state after step k is k (graph mV), the recording holds
    it in chip units (scale 1/4) at row k + 1 (a sample holds the membrane before its step's update)."""

    def __init__(self):
        self.board = types.SimpleNamespace(virtual=False)
        self.chip = types.SimpleNamespace(cell=lambda name: types.SimpleNamespace(scale=0.25, size=2))
        self._v_init = {"cells": 0.0, "out": 0.0}
        self._record_v, self._materialized, self.closed = {"out"}, True, False
        self.timestep_ms, self.t_ms, self.log = 1.0, 100.0, []
        recorded = np.repeat(np.arange(-1.0, 200.0)[:, None], 2, axis=1) * 0.25   # row k: state after step k - 1
        self.populations = {"out": types.SimpleNamespace(spinnaker_get_data=lambda var, as_matrix: recorded)}

    def _check_open(self):
        pass

    def _sim_call(self, what, fatal=True):
        return contextlib.nullcontext()

    def run_until(self, t_ms):
        if t_ms > self.t_ms:    # as a backend's run_until: nothing to do for a time already reached
            self.log.append(("run", t_ms))
            self.t_ms = t_ms

    def membrane(self, population):
        self.log.append(("live", self.t_ms))
        return np.full(2, self.t_ms - 1.0)   # after run_until(t): the state after step t - 1

    def set_membrane(self, population, v_mV):
        self.log.append(("set", population, self.t_ms, v_mV))


def test_run_slots_reads_each_slot_at_its_read_step():
    board = StandInBoard()
    out = board.run_slots(10.0, 3, {"cells": 0.5}, "out", read_ms=7.0)
    # slot s starts at 100 + 10 s; the read at 7 ms into it is the state after step 100 + 10 s + 6
    assert out.tolist() == [[106.0, 106.0], [116.0, 116.0], [126.0, 126.0]]
    assert board.log == [("run", 110.0), ("set", "cells", 110.0, 0.5), ("run", 120.0), ("set", "cells", 120.0, 0.5),
                         ("run", 130.0), ("set", "cells", 130.0, 0.5)]


def test_run_slots_reads_live_before_a_membrane_is_set_at_the_read_step():
    board = StandInBoard()
    out = board.run_slots(10.0, 2, {"cells": 0.5}, "out", window_resets={"out": (4.0, -3.0)})
    assert out.tolist() == [[109.0, 109.0], [119.0, 119.0]]   # read at the slot's end, before its reset
    assert board.log == [("run", 104.0), ("set", "out", 104.0, -3.0), ("run", 110.0), ("live", 110.0),
                         ("set", "cells", 110.0, 0.5), ("run", 114.0), ("set", "out", 114.0, -3.0),
                         ("run", 120.0), ("live", 120.0), ("set", "cells", 120.0, 0.5)]
    board = StandInBoard()
    assert board.run_slots(10.0, 2, {}, "out").tolist() == [[109.0, 109.0], [119.0, 119.0]]
    assert board.log == [("run", 120.0), ("live", 120.0)]   # no reset: one run; the last state read live


# -- time_scale_factor ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["0", "-2", "1.5", "fast", "10001"])
def test_bad_time_scale_factor_is_one_line(value, monkeypatch):
    with pytest.raises(BackendError, match=re.escape(f"time_scale_factor must be a whole number in 1..10000 (how many "
                                                     f"times slower than real time the board runs), not '{value}'")):
        sp.time_scale_factor(value)
    monkeypatch.setenv(sp.ENV_TIME_SCALE, value)
    with pytest.raises(BackendError, match=f"{sp.ENV_TIME_SCALE} must be a whole number in 1..10000"):
        sp.time_scale_factor()


def test_time_scale_factor_from_the_argument_then_the_environment(monkeypatch):
    assert sp.time_scale_factor() is None
    monkeypatch.setenv(sp.ENV_TIME_SCALE, " 8 ")
    assert sp.time_scale_factor() == 8
    assert sp.time_scale_factor(3) == 3


@pytest.mark.spinnaker
def test_time_scale_factor_reaches_spynnaker_and_the_report(tmp_path, monkeypatch):
    monkeypatch.setenv(sp.ENV_TIME_SCALE, "4")
    report = sp.map_graph(small_graph(), reports_dir=tmp_path)
    assert report["time_scale_factor"] == 4
    assert "time_scale_factor 4" in sp.format_graph_map(report)
    assert sp.map_graph(small_graph(), reports_dir=tmp_path, time_scale_factor=2)["time_scale_factor"] == 2


# -- the command: refused in one line before any long work -------------------------------------------------------
def test_evaluate_on_spinnaker_without_a_board_is_refused_in_one_line(capsys):
    t0 = time.perf_counter()
    assert cli.main(["event", "evaluate", "digits-cnn", "--backend", "spinnaker"]) == 2
    assert time.perf_counter() - t0 < 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "no SpiNNaker board is configured, so 'event evaluate' cannot run here" in err[0]
    assert "HIPPOCAM_SPINNAKER_MACHINE" in err[0] and "hippocam event map" in err[0]
    assert "--backend spinnaker-model" in err[0]


@pytest.mark.spinnaker
def test_evaluate_on_an_unreachable_board_is_one_line(monkeypatch, capsys):
    monkeypatch.setenv(sp.ENV_MACHINE, "192.0.2.1")  # TEST-NET-1: nothing answers there
    monkeypatch.setenv(sp.ENV_TIMEOUT, "1")
    t0 = time.perf_counter()
    assert cli.main(["event", "evaluate", "digits-cnn", "--backend", "spinnaker"]) == 2
    assert time.perf_counter() - t0 < 5
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "192.0.2.1" in err[0], err
    assert "did not answer within 1 s" in err[0] or "cannot be reached" in err[0]


@pytest.mark.spinnaker
def test_a_memory_beside_a_graph_is_refused_on_spinnaker_in_one_line(tmp_path):
    from hippocam.cam import network
    from hippocam.cam.profile import load as load_profile
    spec = network.build_spec(4, 2, load_profile("spinnaker"))
    with sp.Backend(virtual=True, reports_dir=tmp_path) as backend:
        assert backend.links_memory is False
        with pytest.raises(BackendError, match=r"^spinnaker: a memory and a converted network in one sPyNNaker "
                                               r"network is not built yet; run the event-to-memory pipeline on "
                                               r"spinnaker-model") as err:
            backend.build(spec, graph=small_graph())
        assert "\n" not in str(err.value)


def test_event_memory_refuses_a_backend_that_cannot_link_before_any_data(monkeypatch, tmp_path):
    """With a board configured the sPyNNaker backend streams (reads_membrane) but builds no memory beside a graph:
    the experiment says so before loading data or calibrating (a stub stands in for the board)."""
    from hippocam.event_models import pynn as pynn_net
    from hippocam.experiments import event_memory
    from hippocam.errors import InputError
    closed = []
    board = types.SimpleNamespace(links_memory=False, close=lambda: closed.append(True))
    monkeypatch.setattr(pynn_net, "streaming_backend", lambda name: board)
    monkeypatch.setattr(event_memory.datasets, "load_split", lambda *a, **k: pytest.fail("data was loaded"))
    with pytest.raises(InputError, match=r"^backend 'spinnaker' does not build a memory and a converted network"):
        event_memory.run(tmp_path, backend="spinnaker")
    assert closed == [True]
