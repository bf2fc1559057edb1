"""The event pipeline's numbers say what they are: gesture names instead of class numbers, why the classifier resets
to the value it does, and which of the evaluate table's columns are per-sample means (issue 12, item 5)."""
from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np

from hippocam.cam.oracle import Answer
from hippocam.cam.operations import learn, recall_content, recall_cue
from hippocam.event_models import zoo
from hippocam.event_models.snn import metrics
from hippocam.experiments import event_memory

GESTURE_NAMES = ("right", "left", "up", "down", "rotate_cw", "rotate_ccw", "expand", "contract", "orbit_cw",
                 "orbit_ccw")   # docs/event_models.md: the 10 synthetic DVS gestures, in class order


def fake_net(classes=10, dataset="gestures"):
    return SimpleNamespace(layers=[SimpleNamespace(shape=(classes,))], dataset={"name": dataset})


def test_the_shipped_gesture_model_names_its_classes():
    net, card = zoo.find_model("gesture-frames")
    assert event_memory.class_names(card, net) == GESTURE_NAMES


def test_class_names_fall_back_to_the_gestures_then_to_numbers():
    assert event_memory.class_names({}, fake_net()) == GESTURE_NAMES
    assert event_memory.class_names({}, fake_net(3, "digits")) == ("0", "1", "2")
    # a card whose list does not match the read-out is not trusted
    assert event_memory.class_names({"classes": ["a", "b"]}, fake_net(3, "digits")) == ("0", "1", "2")


def test_the_reset_value_is_explained_whether_chosen_or_not():
    skipped = event_memory.reset_reason(0.5, None)
    assert "0.5 theta" in skipped and "skips choosing" in skipped and "--quick" in skipped
    chosen = event_memory.reset_reason(0.7, {0.5: 0.98828125, 0.6: 0.99609375, 0.7: 1.0, 0.8: 0.9921875})
    assert chosen.startswith("reset to 0.7 theta: the best on 256 training inputs")
    assert "0.5: 98.8 %, 0.6: 99.6 %, 0.7: 100.0 %, 0.8: 99.2 %" in chosen


def test_the_summary_names_misclassified_gestures():
    r = {"backend": "brian2", "samples": 3, "model": "gesture-frames", "steps": 8, "v_reset": 0.5,
         "v_reset_why": "reset to 0.5 theta, because", "cues": 4, "neurons": 10, "synapses": 20, "slot_ms": 87,
         "build_s": 1.0, "run_s": 2.0, "classifier_accuracy": 1 / 3, "reference_accuracy": 1.0,
         "decision_agrees_with_reference": 1.0, "ties": 1, "undecided": 1, "memory_agrees_with_oracle": 5,
         "memory_operations": 5, "queries_right_where_classifier_right": 1, "queries_checked_where_classifier_right": 1,
         "queries_right_on_labels": 1, "queries": 2,
         "gestures": [{"slot": 0, "label": 2, "decision": [2], "label_name": "up", "decision_names": ["up"]},
                      {"slot": 1, "label": 0, "decision": [0, 6], "label_name": "right",
                       "decision_names": ["right", "expand"]},
                      {"slot": 2, "label": 9, "decision": [], "label_name": "orbit_ccw", "decision_names": []}]}
    text = event_memory._summary(r)
    assert "slot 1: right -> right + expand, slot 2: orbit_ccw -> undecided" in text
    assert "Classifier cells: reset to 0.5 theta, because." in text


def test_the_figure_labels_classes_by_gesture_name():
    # two gestures into 2 slots, then "what happened in slot s" and "when did gesture x happen" for 3 classes
    ops = [learn(0, {1}), learn(1, {2}), recall_cue(0), recall_cue(1)] + [recall_content({x}) for x in range(3)]
    answers = [Answer(frozenset({0}), frozenset({1})), Answer(frozenset({1}), frozenset({2})),
               Answer(frozenset({0}), frozenset({1})), Answer(frozenset({1}), frozenset({2})),
               Answer(), Answer(frozenset({0})), Answer(frozenset({1}))]
    r = SimpleNamespace(labels=np.array([1, 2]), decisions=[frozenset({1}), frozenset({2})], ops=ops,
                        answers=answers, on_labels=answers, cues=2, slot_ms=87.0)
    fig = event_memory.figure(r, "title", ("right", "left", "up"))
    top, bottom = fig.axes[:2]
    assert [t.get_text() for t in top.get_yticklabels()] == ["right", "left", "up"]
    assert [t.get_text() for t in bottom.get_yticklabels()] == ["right", "left", "up"]
    assert top.get_ylabel() == "gesture"
    plt.close(fig)


def test_the_evaluate_table_says_its_columns_are_means_per_sample():
    result = {"model": "m", "samples": 7, "levels": 4, "params": 10, "reset": "subtract", "input": "spikes",
              "note": "energy: proxy",
              "source": {"accuracy": 0.5, "macs": 100, "active_macs": 50.0, "energy_uj": 1.0},
              "snn": [{"steps": 8, "accuracy": 0.5, "agreement": 1.0, "input_spikes": 3.0, "spikes": 20.0,
                       "sops": 40.0, "energy_uj": 0.5}]}
    lines = metrics.table(result).splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["T", "SNN"])
    assert "per test sample" in lines[header - 1] and "means over the 7" in lines[header - 1]
    assert lines[header - 2].endswith("per sample")        # the source net's MACs and energy too
