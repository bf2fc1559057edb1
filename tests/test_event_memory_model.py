"""A memory and a graph linked on the spinnaker-model: the graph's IN cells are the memory's input population."""
import json

import numpy as np
import pytest

from hippocam import backends
from hippocam.backends.graph import DeltaCells, Graph, Sources, Synapses
from hippocam.cam import network, scheduler
from hippocam.cam.operations import learn, recall_content, recall_cue
from hippocam.cam.profile import load as load_profile
from hippocam.errors import BackendError

CUES, CLASSES = 3, 4
RELAY_MV = 2.0        # one query spike fires its IN cell (threshold 1 mV) one step later


def _profile():
    return load_profile(backends.info("spinnaker-model").default_profile)


def _relay_graph(n_in: int, in_cells: str = "IN") -> Graph:
    """Sources "query" -> IN cells one to one, one step: an IN cell fires exactly one step after its source."""
    return Graph(1.0, (Sources("query", n_in), DeltaCells(in_cells, n_in, v_thresh_mV=1.0)),
                 (Synapses("relay", "query", in_cells, np.arange(n_in), np.arange(n_in), np.full(n_in, RELAY_MV),
                           1.0),))


def _ops():
    return [learn(0, {1}), learn(1, {2}), learn(2, {1, 3}), recall_cue(1), recall_content({1}), recall_cue(2)]


def _trains(spikes, n_in: int, shift_ms: float) -> list:
    out = [[] for _ in range(n_in)]
    for neuron, t in spikes:
        out[neuron].append(t + shift_ms)
    return [np.array(sorted(t)) for t in out]


def test_a_graph_in_cell_spike_reaches_the_memory_as_a_source_spike_of_its_step():
    profile = _profile()
    spec = network.build_spec(CUES, CLASSES, profile)
    sched = scheduler.schedule(_ops(), CUES, profile, not_before_ms=5.0)   # room for the relay step
    n_in, end_ms = CUES + CLASSES, sched.end_ms + 20.0
    # the oracle: the memory alone, its IN a spike source fed the schedule's spikes
    alone = backends.get("spinnaker-model")
    alone.build(spec, record="output")
    alone.set_inputs(_trains(sched.spikes, n_in, 0.0))
    alone.run_until(end_ms)
    out_alone, in_alone = alone.spikes("OUT"), alone.spikes("IN")
    alone.close()
    # linked: the same spikes come one step early to the query sources, the IN cells relay them a step later
    sim = backends.get("spinnaker-model")
    sim.build(spec, record="output", graph=_relay_graph(n_in))
    assert sim.delta_to_input_lag_steps == 0
    sim.set_spike_times("query", _trains(sched.spikes, n_in, -1.0))
    sim.run_until(end_ms / 2)            # two runs: the lockstep carries over a run's end
    sim.run_until(end_ms)
    out_linked, in_linked = sim.spikes("OUT"), sim.spikes("IN")
    sim.close()
    n_out = sum(len(t) for t in out_alone)
    assert n_out > 10                    # the recalls answered: there are OUT spikes to compare
    assert sum(len(t) for t in in_linked) == len(sched.spikes)
    for a, b in zip(in_alone, in_linked):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(out_alone, out_linked):
        np.testing.assert_array_equal(a, b)


def test_a_relay_spike_one_step_late_moves_the_memory_one_step_later():
    # the check above could pass if the memory ignored the relay's timing; one step later shifts every OUT spike
    profile = _profile()
    spec = network.build_spec(CUES, CLASSES, profile)
    sched = scheduler.schedule(_ops(), CUES, profile, not_before_ms=5.0)   # room for the relay step
    n_in = CUES + CLASSES
    runs = []
    for shift_ms in (-1.0, 0.0):
        sim = backends.get("spinnaker-model")
        sim.build(spec, record="output", graph=_relay_graph(n_in))
        sim.set_spike_times("query", _trains(sched.spikes, n_in, shift_ms))
        sim.run_until(sched.end_ms + 20.0)
        runs.append(np.sort(np.concatenate(sim.spikes("OUT"))))
        sim.close()
    assert len(runs[0]) > 10
    np.testing.assert_array_equal(runs[1], runs[0] + 1.0)


def test_linked_names_go_to_their_side():
    spec = network.build_spec(CUES, CLASSES, _profile())
    n_in = CUES + CLASSES
    sim = backends.get("spinnaker-model")
    sim.build(spec, record="output", graph=_relay_graph(n_in))
    sim.set_membrane("IN", 0.5)                                   # the graph's cells (graph mV)
    np.testing.assert_allclose(sim.membrane("IN"), 0.5, atol=1e-4)
    v_rest = spec.population("OUT").cell["v_rest"]
    np.testing.assert_allclose(sim.membrane("OUT"), v_rest)      # the memory's cells start at rest
    sim.set_membrane("OUT", v_rest + 1.0)
    np.testing.assert_allclose(sim.membrane("OUT"), v_rest + 1.0)
    with pytest.raises(BackendError, match="graph's IN cells"):
        sim.set_inputs([[] for _ in range(n_in)])
    with pytest.raises(BackendError, match="no population of cells"):
        sim.membrane("nowhere")
    sim.close()


def test_linked_slots_run_step_by_step_and_keep_the_memory_state():
    spec = network.build_spec(CUES, CLASSES, _profile())
    n_in = CUES + CLASSES
    sim = backends.get("spinnaker-model")
    sim.build(spec, record="output", graph=_relay_graph(n_in))
    sim.set_spike_times("query", [np.array([1.0]) if i == 0 else np.zeros(0) for i in range(n_in)])
    v = sim.run_slots(5.0, 2, {"IN": 0.0}, "IN")
    assert v.shape == (2, n_in)
    assert sim.graph.slots_run == {"batch": 0, "step by step": 2}
    assert sim.spikes("IN")[0].tolist() == [2.0]                  # fired in step 2, seen by the memory then
    sim.close()


def test_a_graph_without_in_cells_of_the_memory_size_is_refused():
    spec = network.build_spec(CUES, CLASSES, _profile())
    sim = backends.get("spinnaker-model")
    with pytest.raises(BackendError, match="cell population 'IN' of the memory's 7 inputs; the graph has 5"):
        sim.build(spec, record="output", graph=_relay_graph(5))
    with pytest.raises(BackendError, match="the graph has none"):
        sim.build(spec, record="output", graph=_relay_graph(7, in_cells="relay_cells"))


@pytest.mark.slow
def test_quick_event_memory_on_the_model_passes_its_gate(tmp_path):
    from hippocam.experiments import cli
    out = tmp_path / "em"
    assert cli.main(["run", "event-memory", "--backend", "spinnaker-model", "--quick", "--check",
                     "--out", str(out)]) == 0
    r = json.loads((out / "result.json").read_text())
    assert r["backend"] == "spinnaker-model"
    assert r["memory_agrees_with_oracle"] == r["memory_operations"] == 20      # 6 learns, 4 cues, 10 classes
    assert r["queries_right_where_classifier_right"] == r["queries_checked_where_classifier_right"] > 0
    assert r["single_decisions"] == 6


def test_the_in_cells_leak_on_a_core_keeps_one_input_per_step_below_threshold_and_fires_two():
    from hippocam.backends.spinnaker import chip, fixed
    from hippocam.experiments.event_memory_net import HALF_MV, IN_TAU_STEPS
    tau, cm = chip.leaky_constants(IN_TAU_STEPS * 1.0, 1.0)
    cells = chip.ChipCells("IN", 1, 1.0, tau, cm, 0.0, 1.0, 0.0, 0.0, (1.0, 1.0), (0, 0), leaky=True)
    k = chip.constants(cells, 1.0)
    decay, jump = int(k.exp_tc) / fixed.ONE, int(k.r) / fixed.ONE * (1 - int(k.exp_tc) / fixed.ONE)
    # by hand: exp(-1 / 0.35) = 0.0574; one HALF_MV every step settles at 0.6 * jump / (1 - decay) = 0.637 mV
    assert decay == pytest.approx(0.0574, abs=1e-4)
    assert HALF_MV * jump / (1 - decay) < 1.0 <= 2 * HALF_MV * jump
