"""The event-to-memory pipeline: the gesture classifier driving the CA3 memory in one spiking network."""
import json

import numpy as np
import pytest

from hippocam.errors import InputError
from hippocam.cam.operations import learn, recall_content, recall_cue
from hippocam.cam.oracle import expected_answers
from hippocam.event_models.data import datasets
from hippocam.experiments import event_memory_net as to_memory
from hippocam.event_models import zoo
from hippocam.experiments.event_memory_net import Ramp, link_layout, ramp_for


@pytest.mark.parametrize("hop,lag,grid,hold", [(1, 1, 0.0, 3), (1, 0, 1.0, 6), (2, 1, 0.0, 3), (1, 0, 0.0, 5)])
def test_link_layout_orders_race_latch_learn_and_clear(hop, lag, grid, hold):
    dt = 0.5 if grid else 1.0
    settled, ramp_steps = 17, 10
    lay = link_layout(settled, hop, ramp_steps, hold, dt, lag, grid)
    assert lay.ramp_first >= settled                         # the read-out has had all its input
    last_winner = lay.ramp_first + ramp_steps - 1
    assert lay.relay_first - hop >= last_winner + hop                # the latch is on before the first relay step
    assert lay.relay_last == lay.relay_first + hold - 1
    assert lay.learn_offset_ms == pytest.approx((lay.relay_first + lag) * dt)
    if grid:
        assert lay.learn_offset_ms % grid == pytest.approx(0.0)
        assert (lay.slot_steps * dt) % grid == pytest.approx(0.0)
    assert lay.relay_last - hop + 1 + hop < lay.slot_steps           # the clear lands inside the slot


def test_ramp_reaches_every_winner_and_starts_above_them():
    logits = np.array([[1.0, 5.0, 2.0], [30.0, -4.0, 0.0], [12.0, 11.0, 3.0]])
    ramp = ramp_for(logits, steps=32)
    top = logits.max(axis=1)
    assert ramp.threshold_mV > top.max()
    assert ramp.reach_mV < top.min()
    # the race orders two read-outs one step apart or more: the first to cross is the larger
    a, b = 12.0, 12.0 - 1.01 * ramp.step_mV
    first = lambda v: np.ceil((ramp.threshold_mV - v) / ramp.step_mV)  # noqa: E731
    assert first(a) < first(b)
    with pytest.raises(InputError, match="ramp steps"):
        ramp_for(logits, steps=2)


@pytest.fixture(scope="module")
def gestures():
    net, _ = zoo.find_model("gesture-frames")
    x, y = datasets.load_split(net.dataset, "test", limit=40)
    xt, _ = datasets.load_split(net.dataset, "train", limit=64)
    return net, x, y, xt


def _check_against_oracles(r):
    """Recompute both oracles here from the decisions the network made and from the labels."""
    n = len(r.labels)
    learns = [learn(i % r.cues, sorted(d)) for i, d in enumerate(r.decisions)]
    questions = list(r.ops[n:])
    assert [op.op for op in questions] == ["recall_cue"] * min(n, r.cues) + ["recall_content"] * 10
    on_decisions = expected_answers(learns + questions)
    assert r.answers == on_decisions                                  # the memory: every operation
    truth = expected_answers([learn(i % r.cues, [int(y)]) for i, y in enumerate(r.labels)] + questions)
    held = {i % r.cues: i for i in range(n)}
    right = {q for q, i in held.items() if r.decisions[i] == {int(r.labels[i])}}
    assert right, "no slot was classified right: the check below would be empty"
    for op, a, t in zip(questions, r.answers[n:], truth[n:]):
        if op.op == "recall_cue" and op.cue in right:
            assert a == t                                             # "what happened in slot q"
        if op.op == "recall_content":
            assert a.cues & right == t.cues & right                   # "when did gesture X happen"
    return right


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["brian2", "nest"])
def test_pipeline_stores_the_decisions_and_answers_like_the_oracle(gestures, backend):
    net, x, y, xt = gestures
    pick = [0, 11, 22, 33, 4, 15]        # six gestures into four slots: the last two overwrite slots 0 and 1
    r = to_memory.run(net, x[pick], y[pick], backend, cues=4, train_counts=xt)
    _check_against_oracles(r)
    single = [i for i, d in enumerate(r.decisions) if len(d) == 1]
    assert single and all(r.decisions[i] == {int(r.reference[i])} for i in single)   # the race is the argmax
    s = to_memory.score(r)
    assert s["memory_agrees_with_oracle"] == s["memory_operations"] == 6 + 4 + 10
    assert s["queries_right_where_classifier_right"] == s["queries_checked_where_classifier_right"]


@pytest.mark.slow
def test_a_coarse_ramp_ties_and_the_memory_stores_every_tied_class(gestures):
    net, x, y, xt = gestures
    # one huge step: every read-out above -1000 mV crosses in the race's first step, together
    coarse = Ramp(threshold_mV=1000.0, step_mV=2000.0, steps=4)
    r = to_memory.run(net, x[:3], y[:3], "brian2", cues=3, ramp=coarse)
    assert all(len(d) > 1 for d in r.decisions)
    assert r.answers == expected_answers([learn(i, sorted(d)) for i, d in enumerate(r.decisions)] + list(r.ops[3:]))
    assert to_memory.score(r)["ties"] == 3


@pytest.mark.spinnaker
def test_pipeline_refuses_bad_input_clearly(gestures):
    net, x, y, xt = gestures
    with pytest.raises(InputError, match="one label per sample"):
        to_memory.run(net, x[:3], y[:2], "brian2", train_counts=xt)
    with pytest.raises(InputError, match="labels must be class numbers 0..9"):
        to_memory.run(net, x[:3], np.array([0, 3, 10]), "brian2", train_counts=xt)
    with pytest.raises(InputError, match="cues"):
        to_memory.run(net, x[:3], y[:3], "brian2", cues=0, train_counts=xt)
    with pytest.raises(InputError, match="ramp or training inputs"):
        to_memory.run(net, x[:3], y[:3], "brian2")
    with pytest.raises(InputError, match="cannot stream"):
        to_memory.run(net, x[:3], y[:3], "spinnaker", train_counts=xt)


@pytest.mark.slow
def test_hippocam_run_event_memory_quick_writes_results(tmp_path):
    from hippocam.experiments.cli import main
    out = tmp_path / "em"
    assert main(["run", "event-memory", "--quick", "--out", str(out), "--check"]) == 0
    result = json.loads((out / "result.json").read_text())
    assert (out / "event_memory.png").stat().st_size > 10_000
    assert "Event-to-memory pipeline" in (out / "summary.md").read_text()
    cues = result["cues"]
    learns = [learn(g["slot"], g["decision"]) for g in result["gestures"]]
    questions = [recall_cue(e["cue"]) if e["op"] == "recall_cue" else recall_content(e["content"])
                 for e in result["log"][len(learns):]]
    expected = expected_answers(learns + questions)
    got = [(sorted(e["answer"]["cues"]), sorted(e["answer"]["content"])) for e in result["log"]]
    assert got == [(sorted(a.cues), sorted(a.content)) for a in expected]
    assert result["agreed"] == result["total"] == len(learns) + len(questions)
    assert len(learns) > cues                                          # --quick also overwrites slots
