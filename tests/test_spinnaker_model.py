"""The step-exact SpiNNaker model (backends/spinnaker_model/), the hardware replays (cam/hardware.py), the profile.

The model must reproduce every spike of the original authors' hardware recordings with the reference
profile; the spinnaker profile must agree with the oracle on every operation; the reference profile
must show the weaknesses docs/cam_spec.md names.
"""
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

from hippocam.backends import spinnaker_model
from hippocam.cam import Memory, hardware, learn, recall_content, recall_cue, workloads
from hippocam.cam import network, state
from hippocam.cam.network import NetworkSpec, PopulationSpec, ProjectionSpec
from hippocam.cam.operations import Operation
from hippocam.cam.profile import STDP, load
from hippocam.errors import InputError

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HIPPOCAM_SHARED", REPO.parent / "shared"))
RECORDINGS = SHARED / "cam" / "hardware_recordings"


def recording(name: str) -> Path:
    path = RECORDINGS / f"{name}.json"
    if not path.exists():
        pytest.skip(f"hardware recording {path} not found: set HIPPOCAM_SHARED to the folder holding "
                    "cam/hardware_recordings/")
    return path


# -- the recordings ------------------------------------------------------------------------------
@pytest.mark.parametrize("name, n_spikes", [("functional_exp1", 262), ("tb2_pyramidal_content", 1567)])
def test_reference_profile_reproduces_every_recorded_spike(name, n_spikes):
    report = hardware.replay_recording(recording(name), "reference")
    assert set(report) == {"IN", "CueCue", "CueCont", "ContCue", "ContCont", "ContCond", "ContCondInt",
                           "MergeCue", "MergeCont", "OUT"}
    for pop, counts in report.items():
        assert counts["matched"] == counts["total"] > 0, (pop, counts)
        assert counts["extra"] == 0, (pop, counts)
    assert sum(c["total"] for p, c in report.items() if p != "IN") == n_spikes  # all recorded, inputs aside


def test_recording_labels_land_in_the_spec_populations(tmp_path):
    """Content labels start after the cues; every population of the built spec gets its own size."""
    path = tmp_path / "rec.json"
    path.write_text(json.dumps({"cue_size": 2, "content_size": 3, "sim_time_ms": 20.0, "populations": {
        "INcue": {"1": [4.0]}, "INcont": {"0": [5.0, 6.0]}, "OUTcont": {"2": [9.0]}, "CA3contCondInt": {"0": [8]}}}))
    rec = hardware.load_recording(path)
    assert (rec.cue_size, rec.content_size, rec.sim_time_ms) == (2, 3, 20.0)
    assert {n: len(t) for n, t in rec.trains.items()} == {
        "IN": 5, "CueCue": 2, "CueCont": 2, "ContCue": 3, "ContCont": 3, "ContCond": 3, "ContCondInt": 1,
        "MergeCue": 2, "MergeCont": 3, "OUT": 5}
    assert rec.trains["IN"] == [set(), {4.0}, {5.0, 6.0}, set(), set()]
    assert rec.trains["OUT"][4] == {9.0} and rec.trains["ContCondInt"] == [{8.0}]
    path.write_text(json.dumps({"cue_size": 2, "content_size": 3, "sim_time_ms": 20.0,
                                "populations": {"CA3extra": {"0": [1.0]}}}))
    with pytest.raises(InputError, match="unknown population label 'CA3extra'"):
        hardware.load_recording(path)


# -- the model's semantics (docs/spinnaker_arithmetic.md) on tiny networks ------------------------
def _cell(**kw):
    cell = dict(cm=0.27, tau_m=3.0, tau_refrac=1.0, tau_syn_E=0.3, tau_syn_I=0.3, v_rest=-60.0,
                v_reset=-60.0, v_thresh=-57.0, i_offset=0.0)
    cell.update(kw)
    return cell


def _tiny(projections, cells, n_in=2):
    pops = (PopulationSpec("IN", n_in, None),) + tuple(PopulationSpec(n, 1, c) for n, c in cells.items())
    projs = tuple(ProjectionSpec(name, pre, post, np.array([[i, 0]]), w, lat, rec, stdp)
                  for name, (pre, i, post, w, lat, rec, stdp) in projections.items())
    model = spinnaker_model.Backend()
    model.build(NetworkSpec(1, 1, load("reference"), pops, projs))
    return model


def test_hop_latency_and_psp_per_nA():
    model = _tiny({"a": ("IN", 0, "S", 1.0, 2.0, "excitatory", None),
                   "b": ("IN", 0, "F", 1.0, 2.0, "excitatory", None),
                   "c": ("IN", 1, "F", 1.0, 2.0, "inhibitory", None)},
                  {"S": _cell(), "F": _cell(cm=0.14, tau_m=0.5)})
    model.set_inputs([np.array([0.0]), np.array([5.0])])
    model.run_until(2.0)  # steps 0, 1: nothing has arrived
    assert model.v[-2:].tolist() == [-60.0, -60.0]
    model.run_until(3.0)  # integrated in step 2 = 0 + latency
    assert model.v[-2] - -60.0 == pytest.approx(0.911, abs=5e-4)  # slow cell
    assert model.v[-1] - -60.0 == pytest.approx(0.893, abs=5e-4)  # fast cell
    model.run_until(8.0)
    assert model.v[-1] < -60.7  # inhibition pulls the fast cell below rest in step 7


def test_refractory_step_loses_its_input():
    model = _tiny({"a": ("IN", 0, "R", 6.0, 1.0, "excitatory", None),
                   "b": ("IN", 0, "N", 6.0, 1.0, "excitatory", None)},
                  {"R": _cell(), "N": _cell(cm=0.0112, tau_m=0.1, tau_syn_E=0.1, tau_refrac=0.0)})
    model.set_inputs([np.array([0.0, 1.0, 2.0]), np.array([])])
    model.run_until(10.0)
    assert model.spikes("R")[0].tolist() == [1.0, 3.0]  # as CueCue in the recordings
    assert model.spikes("N")[0].tolist() == [1.0, 2.0, 3.0]  # tau_refrac 0: no lost step


def test_stdp_is_dendritic_deferred_and_depresses_fully_at_zero_lag():
    rule = STDP(tau_plus_ms=3.0, tau_minus_ms=3.0, w_max_nA=3.0, step_plus_nA=3.0, step_minus_nA=3.0)
    model = _tiny({"to_p": ("IN", 0, "P", 6.0, 1.0, "excitatory", None),
                   "to_q": ("IN", 1, "Q", 6.0, 1.0, "excitatory", None),
                   "plastic": ("P", 0, "Q", 0.0, 1.0, "excitatory", rule)},  # 3 nA max: Q never fires from P
                  {"P": _cell(), "Q": _cell()})
    # P and Q fire together at 1 (lag +1 with the post shifted by the 1 ms delay); P again at 11;
    # Q at 20 and P at 21 (post one step before pre: lag 0)
    model.set_inputs([np.array([0.0, 10.0, 20.0]), np.array([0.0, 19.0])])
    model.run_until(10.0)
    assert model.weights("plastic")[0, 0] == 0.0  # deferred: waits for P's next spike
    model.run_until(12.0)
    w = min(3.0 * math.exp(-1 / 3), 3.0) - 3.0 * math.exp(-(11 - 2) / 3)
    assert model.weights("plastic")[0, 0] == pytest.approx(w)
    model.run_until(22.0)
    assert model.spikes("Q")[0].tolist() == [1.0, 20.0]
    assert model.weights("plastic")[0, 0] == 0.0  # full depression, clipped at w_min


# -- the spinnaker profile against the oracle -------------------------------------------------
def test_spinnaker_profile_keeps_the_architecture():
    ref, spin = (network.build_spec(5, 10, load(p)) for p in ("reference", "spinnaker"))
    assert [(p.name, p.size) for p in ref.populations] == [(p.name, p.size) for p in spin.populations]
    assert len(ref.projections) == len(spin.projections) == 18
    for a, b in zip(ref.projections, spin.projections):
        shape = (a.name, a.pre, a.post, a.receptor, a.stdp is None)
        assert shape == (b.name, b.pre, b.post, b.receptor, b.stdp is None)
        assert np.array_equal(a.pairs, b.pairs)
    assert (spin.n_neurons, spin.n_synapses, spin.n_plastic) == (ref.n_neurons, ref.n_synapses, ref.n_plastic)
    # sPyNNaker writes A_plus as an S1615 number
    assert all(s.step_plus_nA < 65536 for s in spin.profile.stdp.values())


@pytest.fixture(scope="module")
def functional_run():
    mem = Memory(5, 10, backend="spinnaker-model", profile="spinnaker")
    results = mem.run(workloads.functional())
    yield mem, results
    mem.close()


def test_functional_experiment_agrees_at_the_minimum_spacing(functional_run):
    mem, results = functional_run
    assert [r.agrees for r in results] == [True] * 9
    assert results[5].answer.cues == {0, 3} and results[8].answer.cues == {4}
    gaps = [b.at_ms - a.at_ms for a, b in zip(results, results[1:])]
    assert gaps == [mem.profile.spacing_after(r.op.op) for r in results[:-1]]


def test_output_timeline_is_spinnakers(functional_run):
    mem, results = functional_run
    out, c = mem.spikes("OUT"), 5

    def firing(t):
        return {i for i, train in enumerate(out) if np.any(train == t)}

    T = results[6].at_ms  # learn(3, {1,3,4,8}) over {4,5,6}: old bits {5,6}
    assert firing(T + 5) == firing(T + 7) == {3} | {c + b for b in (1, 3, 4, 8)}
    assert firing(T + 6) == {c + 5, c + 6}  # the old-bit echo, alone
    T = results[3].at_ms  # recall_cue(0)
    assert firing(T + 5) == {0} and firing(T + 6) == {c + b for b in (0, 1, 8, 9)}


@pytest.mark.parametrize("cue_size, content_size", [(5, 10), (16, 6), (32, 32)])
def test_random_workload_agrees_on_every_operation(cue_size, content_size):
    ops = workloads.random_workload(cue_size, content_size, 300, 0)
    assert any(o.op == "learn" and not o.content for o in ops)
    with Memory(cue_size, content_size, backend="spinnaker-model", profile="spinnaker", record="output") as mem:
        results = mem.run(ops)
    wrong = [(i, r.op.describe(), r.answer, r.expected) for i, r in enumerate(results) if not r.agrees]
    assert wrong == []
    gaps = {(a.op.op, b.at_ms - a.at_ms) for a, b in zip(results, results[1:])}
    after_learn, after_recall = mem.profile.spacing_after_learn_ms, mem.profile.spacing_after_recall_ms
    assert gaps == {("learn", after_learn), ("recall_cue", after_recall), ("recall_content", after_recall)}


def test_empty_learn_forgets_both_matrices():
    with Memory(3, 4, backend="spinnaker-model", profile="spinnaker") as mem:
        mem.learn(1, {0, 2})
        assert mem.learn(1, set()).content == set()
        assert mem.recall_content({0}).cues == set()
        assert mem.recall_cue(1).content == set()
        assert all(r.agrees for r in mem.history)


def test_incremental_operations_answer_one_at_a_time():
    with Memory(4, 6, backend="spinnaker-model", profile="spinnaker") as mem:
        assert mem.learn(2, {1, 4}).content == {1, 4}
        assert mem.recall_cue(2).content == {1, 4}
        assert mem.recall_content({4}).cues == {2}
        assert mem.learn(0, {4, 5}).cues == {0}
        assert mem.recall_content({4}).cues == {0, 2}
        assert mem.learn(2, {3}).content == {3}  # overwrite: 1 and 4 forgotten
        assert mem.recall_content({1, 4}).cues == {0}
        t = mem.now_ms
        assert mem.recall_cue(2, at_ms=t + 3).content == {3}  # an explicit time after what has run
        assert all(r.agrees for r in mem.history) and len(mem.history) == 8
        assoc, mismatched = state.stored_associations(mem)  # weights as the board holds them
        assert assoc == {0: {4, 5}, 2: {3}} and mismatched == []


# -- the reference profile's weaknesses (docs/cam_spec.md) -----------------------------------
def test_reference_profile_answers_the_paper_run():
    ops = [Operation(o.op, o.cue, o.content, 10.0 * i) for i, o in enumerate(workloads.functional())]
    with Memory(5, 10, backend="spinnaker-model", profile="reference") as mem:
        assert all(r.agrees for r in mem.run(ops))


def test_reference_profile_fails_random_workloads():
    ops = workloads.random_workload(5, 10, 300, 0)
    with Memory(5, 10, backend="spinnaker-model", profile="reference", record="output") as mem:
        results = mem.run(ops)
    wrong = [r for r in results if not r.agrees]
    assert len(wrong) > 30  # 96 of 300 in this model
    assert all(r.op.op != "learn" for r in wrong)
    assert any(r.answer.cues > r.expected.cues for r in wrong if r.op.op == "recall_content")  # false positives


def test_reference_profile_keeps_content_to_cue_after_an_empty_learn():
    with Memory(3, 4, backend="spinnaker-model", profile="reference") as mem:
        ops = [learn(1, {0, 2}, 0.0), learn(1, set(), 10.0), recall_content({0}, 20.0), recall_cue(1, 30.0)]
        results = mem.run(ops)
    assert results[2].answer.cues == {1} != results[2].expected.cues  # still answers for a forgotten bit
    assert results[3].agrees  # cue->content was erased
