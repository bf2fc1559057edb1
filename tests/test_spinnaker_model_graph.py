"""Graphs on the spinnaker-model (backends/spinnaker_model/graph.py): hops, spikes and membranes worked by hand, a
converted net against the reference SNN where the chip's weights are exact, the batch against the step-by-step
run, the saturation counter, and the real-time figures."""
import dataclasses

import numpy as np
import pytest

from hippocam import backends
from hippocam.backends import spinnaker_model
from hippocam.backends.graph import DeltaCells, Graph, Sources, Synapses, probe
from hippocam.backends.spinnaker import chip
from hippocam.backends.spinnaker_model import realtime
from hippocam.event_models import pynn as pynn_net
from hippocam.event_models.snn import refsim
from hippocam.event_models.snn.net import Layer, Net
from hippocam.event_models.snn.ops import Dense


def _held(weight_mV: float, cells: chip.ChipCells, receptor: int) -> float:
    """The graph mV a core adds for a weight of ``weight_mV``: a 16-bit integer of step 2**(shift - 15) chip nA."""
    step = 2.0 ** (cells.shifts[receptor] - 15)
    return round(abs(weight_mV) * cells.scale / step) * step / cells.scale


def test_a_hop_costs_its_delay_and_an_inhibitory_jump_is_the_16_bit_weight():
    b = backends.get("spinnaker-model")
    assert (b.min_delay_steps, b.delta_extra_latency_steps, b.reads_membrane) == (1, 0, True)
    result = probe(b, delay_steps=3)
    cells = b.graph.plan.cell("cells")
    assert result["spikes"] == [1, 0]
    assert result["latency_ms"] == result["expected_latency_ms"] == 3.0
    assert result["jump_mV"] == -_held(0.3, cells, 1)
    assert abs(result["jump_mV"] + 0.3) <= 2.0 ** (cells.shifts[1] - 16) / cells.scale


def _tiny() -> Graph:
    """src fires at 2, 3, 4 ms. a (threshold 1, from 0) gets +0.5 one step later: 0.5, 1.0 (fires at 4 ms, back
    to 0), 0.5. b (threshold 1, from 0.75) gets -0.25 two steps later (steps 4, 5, 6) and a's spike (+1.0) two
    steps later (step 6): 0.5, 0.25, then 0.25 + 1.0 - 0.25 = 1.0 fires at 6 ms, back to 0."""
    return Graph(1.0, (Sources("src", 1), DeltaCells("a", 1, v_thresh_mV=1.0),
                       DeltaCells("b", 1, v_thresh_mV=1.0, v_init_mV=0.75)),
                 (Synapses("src.a", "src", "a", np.array([0]), np.array([0]), np.array([0.5]), 1.0),
                  Synapses("src.b", "src", "b", np.array([0]), np.array([0]), np.array([-0.25]), 2.0),
                  Synapses("a.b", "a", "b", np.array([0]), np.array([0]), np.array([1.0]), 2.0)))


def test_spikes_and_membranes_of_a_tiny_graph_by_hand():
    with backends.get("spinnaker-model") as b:
        b.build_graph(_tiny())
        b.set_spike_times("src", [np.array([2.0, 3.0, 4.0])])
        b.run_until(5.0)                                    # steps 0..4: b got -0.25 in step 4
        np.testing.assert_array_equal(b.membrane("a"), [0.0])
        np.testing.assert_array_equal(b.membrane("b"), [0.5])
        b.run_until(10.0)
        assert [list(s) for s in b.spikes("a")] == [[4.0]]
        assert [list(s) for s in b.spikes("b")] == [[6.0]]
        np.testing.assert_array_equal(b.membrane("a"), [0.5])
        np.testing.assert_array_equal(b.membrane("b"), [0.0])


def test_a_spike_time_off_the_grid_a_zero_delay_and_values_beyond_s16_15_are_refused():
    from hippocam.errors import BackendError, InputError
    with backends.get("spinnaker-model") as b:
        b.build_graph(_tiny())
        with pytest.raises(BackendError, match="off the 1 ms grid"):
            b.set_spike_times("src", [np.array([2.5])])
        with pytest.raises(BackendError, match="outside what a core holds") as err:
            b.set_membrane("a", -1e7)
        assert "\n" not in str(err.value)
    g = _tiny()
    zero = Graph(1.0, g.populations, g.projections[:1] + (dataclasses.replace(g.projections[1], latency_ms=0.0),))
    with pytest.raises(BackendError, match="delay of 0 steps"):
        backends.get("spinnaker-model").build_graph(zero)
    deep = Graph(1.0, (g.populations[0], dataclasses.replace(g.populations[1], v_init_mV=-1e7)) + g.populations[2:],
                 g.projections)
    with pytest.raises(InputError, match="coarser than threshold / 256"):     # the plan cannot scale it in
        backends.get("spinnaker-model").build_graph(deep)


def _net() -> Net:
    """input 6 -> 8 IF cells -> 5 IF cells (and a shortcut from the input, which the layout delays by a hop) ->
    3 read-out cells; every weight and bias a multiple of 1/64 mV, which the chip holds exactly at the plan's
    weight steps."""
    rng = np.random.default_rng(7)

    def w(*shape):
        return rng.integers(-40, 64, shape) / 64.0

    return Net("toy", (6,), 2, (
        Layer("h1", ((-1, (Dense(w(8, 6)),)),), rng.integers(-4, 8, 8) / 64.0, 1.0, (8,)),
        Layer("h2", ((0, (Dense(w(5, 8)),)), (-1, (Dense(w(5, 6)),))), np.zeros(5), 1.0, (5,)),
        Layer("out", ((1, (Dense(w(3, 5)),)),), np.zeros(3), 1.0, (3,), spiking=False)))


def test_a_converted_net_with_exact_weights_is_the_reference_snn_spike_for_spike():
    net = _net()
    counts = np.random.default_rng(3).integers(0, 3, (12, 6))
    params = pynn_net.RunParams(steps=6)
    graph, layout = pynn_net.to_graph(net, params, backends.get("spinnaker-model").graph_timing(1.0))
    assert {p.latency_ms for p in graph.projections} == {1.0, 2.0}
    got = pynn_net.simulate(net, counts, "spinnaker-model", params)
    ref = refsim.simulate(net, counts, refsim.SimParams(steps=6, reset="value", v_reset=0.5, v_init=0.5))
    assert sum(c.sum() for c in ref.counts[:2]) > 50       # the hidden layers do fire
    for mine, theirs in zip(got.counts[:2], ref.counts[:2]):
        np.testing.assert_array_equal(mine, theirs)
    report = spinnaker_model.LAST_REPORT["quantisation"]
    assert all(q["weights_lost"] == q["weights_clipped"] == q["ring_saturations"] == 0 for q in report.values())
    assert all(q["max_weight_error_mV"] == 0.0 for q in report.values())
    # the read-out integrates over the whole window, in the plan's band without leak, [v_rest, v_rest + BAND_MV)
    # chip mV, only near its start: elsewhere a core's update V' = V + I + ceil((v_rest - V) / 2**14) (bits) leaks
    # floor(d / 2**14) or so bits per step at a distance of d bits from v_rest, so after the read step (steps from
    # the slot's start) its membrane is off by at most read_steps * (largest d / 2**14 + 1) bits
    out = chip.plan(graph).cell("L2")
    far = max(abs(out.v_rest_mV - out.scale * v) for v in (ref.logits.min(), ref.logits.max(), 0.0)) * 2 ** 15
    bound_mV = layout.read_steps * (far / 2 ** 14 + 1) * 2.0 ** -15 / out.scale
    assert np.abs(got.logits - ref.logits).max() <= bound_mV
    assert np.array_equal(got.predictions, ref.predictions)


def _slots(graph: Graph, plan, batch: bool, n_slots: int = 6, slot: int = 9, reset=None):
    """``n_slots`` slots of random source spikes (in each slot's first 5 steps) through ``graph``: the read-outs,
    the spikes of a and b, the run's counters, how the slots ran."""
    rng = np.random.default_rng(5)
    steps = np.arange(n_slots * slot)
    trains = [np.sort(rng.choice(steps[steps % slot < 5], 8, replace=False)).astype(float) for _ in range(4)]
    with spinnaker_model.Backend() as b:
        b.build_graph(graph, plan)
        b.set_spike_times("src", trains)
        out = b.run_slots(slot * 1.0, n_slots, {"a": 0.0, "b": 0.25} if reset is None else reset, "b",
                          read_ms=7.0 if slot > 7 else 3.0, batch=batch)
        return out, [b.spikes(p) for p in ("a", "b")], b.graph.stats, b.graph.slots_run


def _same(one, other) -> None:
    np.testing.assert_array_equal(one[0], other[0])
    for mine, theirs in zip(one[1], other[1]):
        for m, t in zip(mine, theirs):
            np.testing.assert_array_equal(m, t)


def _saturating() -> tuple[Graph, chip.ChipGraph]:
    """4 sources; a: 3 cells, b: 2 cells, with delays 1 and 3 and inhibition; the plan's 16-bit weights of src.b
    raised to 30000 each, so that 2 or more of them arriving together exceed 0xFFFF (a plan sized from the summed
    weights never lets that happen; a hand-made one can)."""
    graph = Graph(1.0, (Sources("src", 4), DeltaCells("a", 3, v_thresh_mV=1.0),
                        DeltaCells("b", 2, v_thresh_mV=100.0, v_init_mV=0.25)),
                  (Synapses("src.a", "src", "a", np.array([0, 1, 2, 3, 1]), np.array([0, 1, 2, 0, 2]),
                            np.array([0.5, 0.75, -0.25, 0.5, 0.5]), 1.0),
                   Synapses("src.b", "src", "b", np.array([0, 1, 2, 3]), np.array([0, 0, 0, 0]),
                            np.array([0.75, 0.75, 0.75, 0.75]), 3.0),
                   Synapses("a.b", "a", "b", np.array([0, 1, 2, 0]), np.array([1, 1, 1, 0]),
                            np.array([1.0, 1.5, -0.5, -0.25]), 1.0)))
    plan = chip.plan(graph)
    shift = plan.cell("b").shifts[0]
    syns = tuple(dataclasses.replace(s, weight_int=np.full(4, 30000), weight_nA=np.full(4, 30000 * 2.0 ** (shift - 15)))
                 if s.name == "src.b" else s for s in plan.synapses)
    return graph, dataclasses.replace(plan, synapses=syns)


def test_the_batch_gives_the_step_by_step_spikes_and_read_outs_with_delays_inhibition_and_saturation():
    graph, plan = _saturating()
    fast, slow = _slots(graph, plan, batch=True), _slots(graph, plan, batch=False)
    assert fast[3] == {"batch": 6, "step by step": 0} and slow[3] == {"batch": 0, "step by step": 6}
    assert fast[2].saturations["b"] > 0 and fast[2].saturations == slow[2].saturations
    assert sum(len(t) for t in fast[1][0]) > 3 and sum(len(t) for t in fast[1][1]) > 0
    _same(fast, slow)
    assert fast[2].events_max == slow[2].events_max and fast[2].events_sum == slow[2].events_sum


@pytest.mark.parametrize("why", ["a population is not reset", "a spike is in flight at a slot's end"])
def test_slots_that_are_not_independent_run_step_by_step(why):
    graph, plan = _saturating()
    # src.b's delay of 3 steps carries a spike of step 4 past the end of a 6-step slot
    kw = {"reset": {"b": 0.25}} if why == "a population is not reset" else {"slot": 6}
    fast, slow = _slots(graph, plan, batch=True, **kw), _slots(graph, plan, batch=False, **kw)
    assert fast[3] == slow[3] == {"batch": 0, "step by step": 6}
    _same(fast, slow)


def test_a_saturated_ring_buffer_entry_adds_what_one_weight_of_0xffff_adds():
    graph, plan = _saturating()
    one = dataclasses.replace(plan, synapses=tuple(
        dataclasses.replace(s, pre=s.pre[:1], post=s.post[:1], weight_nA=s.weight_nA[:1],
                            weight_int=np.array([0xFFFF])) if s.name == "src.b" else s for s in plan.synapses))
    v = {}
    for name, p in (("four", plan), ("one", one)):
        with spinnaker_model.Backend() as b:
            b.build_graph(graph, p)
            b.set_spike_times("src", [np.array([1.0])] * 4)
            b.run_until(5.0)                                  # src.b arrives in step 4: four 0.75 mV weights
            v[name] = b.membrane("b")[0]
            stats = b.graph.stats
        if name == "four":
            assert stats.saturations["b"] == 1 and stats.largest_sum["b"][0] == 4 * 30000
    assert v["four"] == v["one"] != 0.25


def test_synaptic_events_per_core_and_the_time_scale_factor_by_hand():
    """300 cells are two cores (256 + 44); a source with a synapse to each, firing in two steps, costs the first
    core 256 events in each of those steps and the second 44."""
    graph = Graph(1.0, (Sources("src", 2), DeltaCells("c", 300, v_thresh_mV=100.0)),
                  (Synapses("s", "src", "c", np.zeros(300, int), np.arange(300), np.full(300, 0.5), 1.0),))
    with spinnaker_model.Backend() as b:
        b.build_graph(graph)
        b.set_spike_times("src", [np.array([1.0, 4.0]), np.array([])])
        b.run_until(10.0)
        load = realtime.load(b.graph)
    assert load["populations"]["c"]["cores"] == 2
    assert load["max_events_per_core_step"] == load["populations"]["c"]["max_events_per_core_step"] == 256
    assert load["populations"]["c"]["mean_events_per_core_step"] == 2 * 300 / (10 * 2)
    assert load["mean_busiest_core_events_per_step"] == 2 * 256 / 10 and load["steps"] == 10
    assert load["time_scale_factor"] == 1
    assert realtime.time_scale_factor(12000, 1.0) == 3 and realtime.time_scale_factor(12000, 0.5) == 5
    assert realtime.time_scale_factor(5000, 1.0) == 1


@pytest.mark.slow      # Brian2's import
def test_a_graph_is_laid_out_on_the_model_exactly_as_on_brian2():
    model, brian2 = backends.get("spinnaker-model").graph_timing(1.0), backends.get("brian2").graph_timing(1.0)
    layout = ("hop_ms", "read_lag_steps", "resets_currents", "lead_steps", "min_sources")
    assert [getattr(model, f) for f in layout] == [getattr(brian2, f) for f in layout]
    # what only Brian2 can: a hop within the step (CubaLIF recurrence) and reset by subtraction
    assert (model.same_step_current_hop, model.resets) == (False, ("value",))
    assert brian2.same_step_current_hop and "subtract" in brian2.resets


@pytest.mark.slow
def test_evaluate_on_the_model_reports_the_arithmetic_per_layer_and_the_load(tmp_path, monkeypatch, capsys):
    import json
    import math
    from hippocam.experiments import cli
    monkeypatch.setenv("HIPPOCAM_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "r.json"
    assert cli.main(["event", "evaluate", "digits-cnn", "--backend", "spinnaker-model", "--timesteps", "8",
                     "--samples", "10", "--json", str(out)]) == 0
    assert "time_scale_factor" in capsys.readouterr().out
    r = json.loads(out.read_text())
    facts = r["spinnaker_model"]
    assert set(facts["quantisation"]) == {f"L{i}" for i in range(6)}
    for q in facts["quantisation"].values():
        assert q["weight_step_mV"] == [2.0 ** (s - 15) / q["scale"] for s in q["shifts"]]
    load = facts["realtime"]
    assert load["steps"] == 10 * 16 and facts["slots_run"] == {"batch": 10, "step by step": 0}
    assert load["time_scale_factor"] == math.ceil(load["max_events_per_core_step"] / 5000) > 1
