"""The event-to-memory pipeline: a stream of gestures classified and remembered by one spiking network.

A random sequence of test gestures runs through the converted gesture classifier; each decision is learned by the
CA3 memory under the cue of its time slot (slot i mod cues: later gestures overwrite, i.e. forget, older ones).
Then the memory is asked what happened in every slot (recall by cue) and when every gesture happened (recall by
content), and each answer is checked against the oracle on the classifier's decisions and on the true labels.
"""
from __future__ import annotations

import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from hippocam.errors import InputError  # noqa: E402
from hippocam.event_models.data import datasets  # noqa: E402
from hippocam.event_models import pynn as pynn_net  # noqa: E402
from hippocam.event_models.data.events import GESTURES  # noqa: E402
from . import event_memory_net as to_memory
from hippocam.event_models import zoo

from .common import md_table, progress  # noqa: E402
from .output import write_json  # noqa: E402

NAME = "event-memory"
MODEL = "gesture-frames"
POOL = 200            # the stream is drawn from the first POOL test samples
RAMP_SAMPLES = 256    # training samples that set the decision ramp


def run(out_dir, backend: str = "brian2", seed: int | None = 0, log=print, model: str = MODEL, samples: int = 24,
        cues: int = 16, steps: int | None = None, ramp_steps: int = 64, calibrate: bool = True,
        data_dir=None) -> dict:
    to_memory.check_cues(cues)
    sim = pynn_net.streaming_backend(backend)          # refused here, before minutes of calibration
    links = sim.links_memory
    sim.close()
    if not links:
        raise InputError(f"backend {backend!r} does not build a memory and a converted network as one network yet; "
                         "run event-memory on spinnaker-model (SpiNNaker's arithmetic), brian2 or nest")
    net, card = zoo.find_model(model)
    steps = steps or int(card.get("stated_steps", 8))
    if not net.dataset:
        raise InputError(f"{model}: the model does not say which data it was trained on")
    if not 1 <= samples <= POOL:
        raise InputError(f"samples must be in 1..{POOL}, got {samples}")
    log(f"event-memory on {backend}: {model} (T={steps}) into a memory of {cues} slots x "
        f"{int(np.prod(net.layers[-1].shape))} classes, {samples} gestures (seed {seed or 0})")
    x_pool, y_pool = datasets.load_split(net.dataset, "test", limit=POOL, folder=data_dir)
    pick = np.random.default_rng(seed or 0).permutation(len(x_pool))[:samples]
    x, y = x_pool[pick], y_pool[pick]
    x_train, _ = datasets.load_split(net.dataset, "train", limit=RAMP_SAMPLES, folder=data_dir)
    names = class_names(card, net)
    v_reset, scores = pynn_net.RunParams().v_reset, None
    if calibrate:
        v_reset, scores = pynn_net.choose_v_reset(net, steps, folder=data_dir)
        net = pynn_net.calibrated_for_reset_to_value(net, pynn_net.RunParams(steps=steps, v_reset=v_reset),
                                                     data_dir)
    why = reset_reason(v_reset, scores)
    log(f"  {why}")
    t0 = time.perf_counter()
    r = to_memory.run(net, x, y, backend, cues=cues, steps=steps, v_reset=v_reset, ramp_steps=ramp_steps,
                      train_counts=x_train, progress=progress(log, f"{model} -> memory on {backend}", "gestures"))
    wall = time.perf_counter() - t0
    s = to_memory.score(r)
    result = {"experiment": NAME, "backend": backend, "model": model, "steps": steps, "v_reset": v_reset,
              "v_reset_why": why, "v_reset_training_accuracy": scores, "classes": list(names),
              "calibrated_for_reset_to_value": calibrate, "seed": seed or 0, "test_indices": pick.tolist(),
              **s, "agreed": s["memory_agrees_with_oracle"], "total": s["memory_operations"],
              "slot_ms": r.slot_ms, "neurons": r.n_neurons, "synapses": r.n_synapses,
              "build_s": round(r.build_s, 2), "run_s": round(r.run_s, 2), "wall_s": round(wall, 2),
              "gestures": [{"slot": i % cues, "label": int(y[i]), "decision": sorted(d),
                            "reference": int(r.reference[i]), "label_name": names[int(y[i])],
                            "decision_names": [names[c] for c in sorted(d)]} for i, d in enumerate(r.decisions)],
              "log": [{"op": op.op, "at_ms": t, **({"cue": op.cue} if op.cue is not None else {}),
                       "content": sorted(op.content), "answer": a.to_dict(), "oracle": e.to_dict(),
                       "truth": tr.to_dict(), "agrees": a == e}
                      for op, t, a, e, tr in zip(r.ops, r.times_ms, r.answers, r.on_decisions, r.on_labels)]}
    if backend == "spinnaker-model":     # what SpiNNaker's arithmetic lost on the way (docs/event_memory.md)
        from hippocam.backends import spinnaker_model
        result["spinnaker_arithmetic"] = spinnaker_model.LAST_REPORT
        for line in (spinnaker_model.LAST_REPORT or {}).get("lossy", []):
            log(f"  on a core: {line}")
    write_json(out_dir / "result.json", result)
    _plot(r, out_dir / "event_memory.png", f"{model} -> CA3 memory on {backend}", names)
    (out_dir / "summary.md").write_text(_summary(result))
    log(f"  classifier {100 * s['classifier_accuracy']:.1f}% right ({s['ties']} ties, {s['undecided']} undecided); "
        f"memory agrees with the oracle on {s['memory_agrees_with_oracle']}/{s['memory_operations']} operations; "
        f"queries right where the classifier was right {s['queries_right_where_classifier_right']}/"
        f"{s['queries_checked_where_classifier_right']} ({wall:.0f} s)")
    return result


def class_names(card: dict, net) -> tuple[str, ...]:
    """The name of each class of the read-out: the model card's, else the gestures' for the gesture data set,
    else the class numbers."""
    n = int(np.prod(net.layers[-1].shape))
    named = card.get("classes") or (GESTURES if (net.dataset or {}).get("name") == "gestures" else ())
    return tuple(str(x) for x in named) if len(named) == n else tuple(str(i) for i in range(n))


def reset_reason(v_reset: float, scores: dict | None) -> str:
    """Why the classifier's cells reset to ``v_reset`` theta. PyNN cells reset to a value, not by subtraction as the
    nets were trained; ``scores`` (value -> training accuracy) are those of ``choose_v_reset``, None when skipped."""
    if scores is None:
        return (f"reset to {v_reset:g} theta, the converter's default, with the biases as shipped: this run skips "
                "choosing the reset value and recalibrating the biases for it (--quick does, to stay fast; the "
                "default run chooses, e.g. 0.7 theta for gesture-frames at T=8)")
    tried = ", ".join(f"{v:g}: {100 * a:.1f} %" for v, a in sorted(scores.items()))
    return (f"reset to {v_reset:g} theta: the best on {pynn_net.CALIBRATION_SAMPLES} training inputs of the values "
            f"tried, each with biases recalibrated for it (training accuracy {tried})")


def _plot(r, path, title: str, names) -> None:
    fig = figure(r, title, names)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def figure(r, title: str, names):
    """Top: the stream, true gesture and decision per slot. Bottom: "when did gesture X happen", as answered.
    Classes are shown by ``names`` (gesture names)."""
    n = len(r.labels)
    classes = max(max(op.content) for op in r.ops[n:] if op.op == "recall_content") + 1
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(min(16, max(7, 0.3 * n + 2)), 7), height_ratios=(1, 1.2))
    t = np.arange(n)
    right = np.array([d == frozenset({int(y)}) for d, y in zip(r.decisions, r.labels)])
    top.scatter(t, r.labels, s=80, facecolors="none", edgecolors="k", label="true gesture")
    for i, d in enumerate(r.decisions):
        for c in sorted(d):
            top.scatter(i, c, marker="x", color="tab:green" if right[i] else "tab:red", s=50)
    top.scatter([], [], marker="x", color="tab:green", label="decision (right)")
    top.scatter([], [], marker="x", color="tab:red", label="decision (wrong)")
    top.set_xlabel(f"gesture in the stream (slot = index mod {r.cues}; {r.slot_ms:g} ms each)")
    top.set_ylabel("gesture")
    top.set_yticks(range(classes), names[:classes], fontsize=8)
    forgotten = t < n - r.cues
    if forgotten.any():
        top.axvspan(-0.5, n - r.cues - 0.5, color="0.9", zorder=0, label="overwritten later (forgotten)")
    wide = n >= 16    # a narrow figure has the legend in two rows, above the classes
    top.set_ylim(-0.7, classes + (1.3 if wide else 2.3))
    top.legend(loc="upper left", fontsize=8, ncol=4 if wide else 2)
    top.set_title(title)
    answered = np.zeros((classes, r.cues))
    truth = np.zeros((classes, r.cues))
    for op, a, tr in zip(r.ops[n:], r.answers[n:], r.on_labels[n:]):
        if op.op == "recall_content":
            x = next(iter(op.content))
            answered[x, sorted(a.cues)] = 1
            truth[x, sorted(tr.cues)] = 1
    bottom.imshow(answered, aspect="auto", cmap="Blues", vmin=0, vmax=1.5, origin="lower")
    ys, xs = np.nonzero(truth)
    bottom.scatter(xs, ys, s=60, facecolors="none", edgecolors="k", label="true (labels)")
    ys, xs = np.nonzero(answered != truth)
    bottom.scatter(xs, ys, marker="x", color="tab:red", s=40, label="answer differs from the labels")
    bottom.set_xlabel("slot (cue)")
    bottom.set_xticks(range(r.cues))
    bottom.set_ylabel("gesture asked for")
    bottom.set_yticks(range(classes), names[:classes], fontsize=8)
    bottom.set_title('"When did gesture X happen?" Blue: the slots the memory answered (recall by content)',
                     fontsize=10)
    bottom.set_ylim(-0.5, classes + 0.8)
    bottom.legend(loc="upper left", fontsize=8, ncol=2)
    fig.tight_layout()
    return fig


def _summary(r: dict) -> str:
    rows = [["classifier accuracy (spiking decisions)", f"{100 * r['classifier_accuracy']:.1f}%"],
            ["reference SNN accuracy (same reset)", f"{100 * r['reference_accuracy']:.1f}%"],
            ["decisions equal to the reference SNN's argmax", f"{100 * r['decision_agrees_with_reference']:.1f}%"],
            ["ties / undecided", f"{r['ties']} / {r['undecided']}"],
            ["memory operations agreeing with the oracle on the decisions",
             f"{r['memory_agrees_with_oracle']}/{r['memory_operations']}"],
            ["queries right where the classifier was right",
             f"{r['queries_right_where_classifier_right']}/{r['queries_checked_where_classifier_right']}"],
            ["queries right on the true labels (end to end)", f"{r['queries_right_on_labels']}/{r['queries']}"]]
    wrong = [g for g in r["gestures"] if g["decision"] != [g["label"]]]
    return (f"# Event-to-memory pipeline on {r['backend']}\n\n"
            f"{r['samples']} gestures from {r['model']} (T={r['steps']}, reset to {r['v_reset']:g} theta) stored "
            f"in a {r['cues']}-slot memory in one spiking network of {r['neurons']:,} neurons and "
            f"{r['synapses']:,} synapses; {r['slot_ms']:g} ms per gesture; built in {r['build_s']:.1f} s, "
            f"simulated in {r['run_s']:.1f} s.\n\nClassifier cells: {r['v_reset_why']}.\n\n"
            + md_table(["", "result"], rows) +
            "\n\nMisclassified gestures (their slots' answers follow the decision, not the label): "
            + (", ".join(f"slot {g['slot']}: {g['label_name']} -> {' + '.join(g['decision_names']) or 'undecided'}"
                         for g in wrong) or "none") + "\n")
