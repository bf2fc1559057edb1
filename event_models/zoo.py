"""The model families, their training recipes, the training run that writes a model and its card, and the
shipped models (``event_models/models/NAME.npz`` + ``NAME.json``), and the weights fine-tuned for PyNN's reset to
a value that some of them ship with (``models/value-reset/NAME.npz`` + card; ``finetune.py``).

Families (``hippocam event train FAMILY`` trains every model of one):

* ``cnn`` (A, spike-driven conv net after Meta-SpikeFormer's conv stages): ``digits-cnn``, ``saccade-cnn`` and the
  4-bit-weight variant ``digits-cnn-w4`` (QSD-style LSQ weights);
* ``gesture`` (B, event-camera classifier): ``gesture-frames`` (frame-based, family A's net on time-binned
  frames) and ``gesture-points`` (SpikePoint-lite on the grouped event cloud);
* ``voxel`` (C, E-3DSNN-lite): ``modelnet-voxel`` (3-D conv net on Spike Voxel Coding) and the point-MLP baseline
  ``modelnet-pointmlp``.
"""
from __future__ import annotations

import datetime
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from hippocam.errors import InputError

from .data import datasets
from .snn import metrics, net as netmod, refsim
from .snn.calibrate import calibrate
from .data.encodings import EVENT_CLOUD_CHANNELS
from .training.train import ConvSpec, DenseSpec, FlattenSpec, PoolSpec, Recipe, Unit

MODELS_DIR = Path(__file__).parent / "models"
#: fine-tuned weights for PyNN's reset to a value, by shipped model name (``tune_model``)
VALUE_RESET_DIR = MODELS_DIR / "value-reset"
#: training inputs used to calibrate the SNN biases (see calibrate.py)
CALIBRATION_SAMPLES = 256


def _sep_cnn(cin: int, size: int, width: int = 16, classes: int = 10) -> tuple:
    """Stem conv, a spike-driven separable-conv block (pointwise, 3x3 depthwise, pointwise, shortcut from the
    stem's spikes), a pooled 3x3 conv, and a pooled dense read-out. ``size``: input side (pixels)."""
    w2 = 2 * width
    side = size // 4
    return (
        Unit("stem", -1, (ConvSpec(cin, width, 3, pad=1),)),
        Unit("pw1", 0, (ConvSpec(width, w2, 1),)),
        Unit("dw", 1, (ConvSpec(w2, w2, 3, pad=1, groups=w2),)),
        Unit("pw2", 2, (ConvSpec(w2, width, 1),), add=0),
        Unit("conv2", 3, (PoolSpec((2, 2)), ConvSpec(width, w2, 3, pad=1))),
        Unit("out", 4, (PoolSpec((2, 2)), FlattenSpec(), DenseSpec(w2 * side * side, classes)), spiking=False),
    )


def _point_net(cin: int, groups: int, k: int, width: int = 24, classes: int = 10) -> tuple:
    """SpikePoint-lite: a shared MLP per event (1x1 convs) with an identity-mapping residual block, average
    pooling over each group's neighbours, a per-group MLP, global average pooling, and a dense read-out."""
    w2, w4 = 2 * width, 4 * width
    return (
        Unit("mlp1", -1, (ConvSpec(cin, width, 1),)),
        Unit("mlp2", 0, (ConvSpec(width, w2, 1),)),
        Unit("res", 1, (ConvSpec(w2, w2, 1),), add=1),
        Unit("group", 2, (PoolSpec((1, k)), ConvSpec(w2, w4, 1))),
        Unit("out", 3, (PoolSpec((groups, 1)), FlattenSpec(), DenseSpec(w4, classes)), spiking=False),
    )


def _point_mlp(cin: int, n: int, width: int = 32, classes: int = 10) -> tuple:
    """PointNet-lite baseline: a shared per-point MLP, global average pooling, a dense read-out."""
    return (
        Unit("mlp1", -1, (ConvSpec(cin, width, 1),)),
        Unit("mlp2", 0, (ConvSpec(width, 2 * width, 1),)),
        Unit("mlp3", 1, (ConvSpec(2 * width, 4 * width, 1),)),
        Unit("out", 2, (PoolSpec((n, 1)), FlattenSpec(), DenseSpec(4 * width, classes)), spiking=False),
    )


def _voxel_net(cin: int, grid: int, width: int = 8, classes: int = 10) -> tuple:
    """E-3DSNN-lite: 3x3x3 convs on the voxel grid with a residual block, average pooling, a dense read-out."""
    g4 = grid // 4
    w2, w4 = 2 * width, 4 * width
    return (
        Unit("conv1", -1, (ConvSpec(cin, width, 3, pad=1, nd=3),)),
        Unit("conv2", 0, (PoolSpec((2, 2, 2)), ConvSpec(width, w2, 3, pad=1, nd=3))),
        Unit("res", 1, (ConvSpec(w2, w2, 3, pad=1, nd=3),), add=1),
        Unit("conv3", 2, (PoolSpec((2, 2, 2)), ConvSpec(w2, w4, 3, pad=1, nd=3))),
        Unit("out", 3, (PoolSpec((g4, g4, g4)), FlattenSpec(), DenseSpec(w4, classes)), spiking=False),
    )


def recipes(seed: int = 0) -> dict[str, Recipe]:
    """Every shipped model's recipe (``seed`` seeds both the data and the training)."""
    d4 = dict(seed=seed, levels=4)
    d8 = dict(seed=seed, levels=8)
    cloud = (len(EVENT_CLOUD_CHANNELS), datasets.CLOUD_GROUPS, datasets.CLOUD_K)
    g = datasets.VOXEL_GRID
    return {r.name: r for r in [
        Recipe("digits-cnn", "cnn", {"name": "digits", "view": "image", **d4}, _sep_cnn(1, 8, 24), (1, 8, 8),
               epochs=80, shift_augment=1, steps=(1, 2, 4, 8, 16, 32), stated=8),
        Recipe("digits-cnn-w4", "cnn", {"name": "digits", "view": "image", **d4}, _sep_cnn(1, 8, 24), (1, 8, 8),
               epochs=80, shift_augment=1, w4=True, steps=(1, 2, 4, 8, 16, 32), stated=8,
               notes="4-bit LSQ weights per output channel (QSD-style)"),
        Recipe("saccade-cnn", "cnn", {"name": "saccade", "view": "frames", **d4}, _sep_cnn(6, 16), (6, 16, 16),
               epochs=40, steps=(1, 2, 4, 8, 16, 32), stated=8),
        Recipe("gesture-frames", "gesture", {"name": "gestures", "view": "frames", **d4}, _sep_cnn(8, 16),
               (8, 16, 16), epochs=40, steps=(1, 2, 4, 8, 16, 32), stated=8),
        Recipe("gesture-points", "gesture", {"name": "gestures", "view": "cloud", **d8}, _point_net(*cloud, 32),
               cloud, epochs=30, steps=(4, 8, 16, 32, 64), stated=32),
        Recipe("modelnet-voxel", "voxel", {"name": "pointclouds", "view": "voxels", **d4}, _voxel_net(7, g),
               (7, g, g, g), epochs=15, steps=(2, 4, 8, 16), stated=8),
        Recipe("modelnet-pointmlp", "voxel", {"name": "pointclouds", "view": "points", **d8},
               _point_mlp(9, datasets.MLP_POINTS), (9, datasets.MLP_POINTS, 1), epochs=30,
               steps=(2, 4, 8, 16, 32), stated=8),
    ]}


FAMILIES = {"cnn": ("digits-cnn", "saccade-cnn", "digits-cnn-w4"), "gesture": ("gesture-frames", "gesture-points"),
            "voxel": ("modelnet-voxel", "modelnet-pointmlp")}


def resolve_family(name: str) -> tuple[str, ...]:
    """Model names for a family name, or a single model name."""
    if name in FAMILIES:
        return FAMILIES[name]
    if name in recipes():
        return (name,)
    raise InputError(f"unknown family or model {name!r}; use a family ({', '.join(FAMILIES)}) or a model "
                     f"({', '.join(recipes())})")


def _load() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def train_model(name: str, seed: int, out: Path, data_dir=None, threads: int = 1, optimizer: str | None = None,
                epochs: int | None = None, log=print, command: str = "") -> dict:
    """Train one model, export it (``out/NAME.npz``, ``NAME.nir``), evaluate it on its test set with the numpy
    code and write its card ``out/NAME.json``. Returns the card."""
    from .training import train as tr
    tr.require_torch()
    recipe = recipes(seed)[name]
    changes = {}
    if optimizer:
        changes["optimizer"] = optimizer
    if epochs:
        changes["epochs"] = epochs
    if changes:
        import dataclasses
        recipe = dataclasses.replace(recipe, **changes)
    t0 = time.perf_counter()
    load0 = _load()
    log(f"{name}: building data ({recipe.dataset['name']}, seed {seed}) ...")
    x_train, y_train = datasets.load_split(recipe.dataset, "train", folder=data_dir, progress=log)
    x_test, y_test = datasets.load_split(recipe.dataset, "test", folder=data_dir, progress=log)
    t_data = time.perf_counter() - t0
    log(f"{name}: {len(x_train)} train / {len(x_test)} test samples of shape {x_train.shape[1:]} "
        f"({t_data:.0f} s); training {recipe.epochs} epochs on {threads} thread(s) ...")
    model = tr.fit(recipe, x_train, y_train, seed, log=log, threads=threads)
    t_train = time.perf_counter() - t0 - t_data
    trained = tr.export(model, recipe, datasets.classes(recipe.dataset["name"]))
    torch_pred = np.argmax(tr.torch_logits(model, x_test, trained.levels), 1)
    before = {"source_accuracy": float(np.mean(netmod.predict(trained, x_test) == y_test)),
              "torch_numpy_agreement": float(np.mean(torch_pred == netmod.predict(trained, x_test))),
              f"snn_accuracy_T{recipe.stated}": float(np.mean(refsim.simulate(
                  trained, x_test, refsim.SimParams(steps=recipe.stated)).predictions == y_test))}
    net, calib = trained, None
    if recipe.calibrate:
        t1 = time.perf_counter()
        pick = np.random.default_rng([seed, 5]).choice(len(x_train), min(CALIBRATION_SAMPLES, len(x_train)),
                                                        replace=False)
        net, _ = calibrate(trained, x_train[pick], recipe.stated)
        calib = {"samples": int(len(pick)), "steps": recipe.stated, "rounds": 1,
                 "seconds": round(time.perf_counter() - t1, 1)}
        log(f"  calibrated the biases for T={recipe.stated} on {len(pick)} training samples "
            f"({calib['seconds']:.0f} s)")
    out.mkdir(parents=True, exist_ok=True)
    path = netmod.save(net, out / f"{name}.npz")
    net = netmod.load(path)                      # evaluate exactly what was written
    result = metrics.evaluate(net, x_test, y_test, recipe.steps)
    card = {
        "model": name, "family": recipe.family, "command": command or f"hippocam event train {name} --seed {seed}",
        "seed": seed, "date": datetime.date.today().isoformat(), "dataset": recipe.dataset,
        "classes": list(net.classes), "input_shape": list(net.input_shape), "levels": net.levels,
        "params": net.n_params, "w4": recipe.w4, "optimizer": recipe.optimizer, "epochs": recipe.epochs,
        "stated_steps": recipe.stated, "eval_steps": list(recipe.steps), "notes": recipe.notes,
        "train_samples": int(len(x_train)), "test_samples": int(len(x_test)),
        "seconds": {"data": round(t_data, 1), "train": round(t_train, 1),
                    "total": round(time.perf_counter() - t0, 1)},
        "machine": {"threads": threads, "cpus": os.cpu_count(), "load_before": load0, "load_after": _load(),
                    "python": platform.python_version(), "torch": tr.torch.__version__},
        "before_calibration": before, "calibration": calib,
        "results": result,
    }
    try:
        from .nir import export as nir_export
        nir_export.write(net, out / f"{name}.nir", steps=recipe.stated)
        card["nir"] = f"{name}.nir"
    except ImportError:
        log("  (nir is not installed: no .nir file written)")
    (out / f"{name}.json").write_text(json.dumps(card, indent=1) + "\n")
    stated = next(r for r in result["snn"] if r["steps"] == recipe.stated)
    log(f"{name}: source {100 * result['source']['accuracy']:.2f}%, SNN at T={recipe.stated} "
        f"{100 * stated['accuracy']:.2f}% (agreement {100 * stated['agreement']:.1f}%), "
        f"{card['seconds']['total']:.0f} s")
    return card


# --------------------------------------------------------------------------------------------- shipped
def shipped() -> list[str]:
    return sorted(p.stem for p in MODELS_DIR.glob("*.npz"))


def find_model(name_or_path: str) -> tuple[netmod.Net, dict]:
    """A shipped model by name, or a model file (.npz, with its .json card beside it if there is one)."""
    p = Path(name_or_path)
    if p.suffix == ".npz" or p.is_file():
        path = p
    else:
        path = MODELS_DIR / f"{name_or_path}.npz"
        if not path.exists():
            raise InputError(f"unknown model {name_or_path!r}; use a shipped model ({', '.join(shipped())}) or "
                             "the path of a .npz written by 'hippocam event train'")
    net = netmod.load(path)
    card_path = path.with_suffix(".json")
    card = json.loads(card_path.read_text()) if card_path.exists() else {}
    return net, card


def value_reset_weights(name: str) -> tuple[netmod.Net, dict] | None:
    """The weights shipped fine-tuned for PyNN's reset to a value for shipped model ``name`` (with their card),
    or None where the model has none (its recalibrated biases keep its accuracy; ``pynn.convert.compare``)."""
    path = VALUE_RESET_DIR / f"{name}.npz"
    return find_model(str(path)) if path.exists() else None


def tune_model(name_or_path: str, out: Path, params, data_dir=None, threads: int = 1, seed: int = 0, log=print,
               command: str = "") -> dict:
    """Fine-tune a model for PyNN's reset to ``params.v_reset`` theta (``finetune.fine_tune``) on its whole
    training split, starting from its biases recalibrated for that reset; write ``out/NAME.npz`` and its card
    ``out/NAME.json`` with the reference SNN's test accuracy before and after. Returns the card."""
    from .training import finetune
    from . import pynn as pynn_net
    finetune.require_torch()
    net, card = find_model(name_or_path)
    if net.snn:
        raise InputError(f"{name_or_path} is already fine-tuned (for {net.snn}); tune the model it came from")
    finetune.check_tunable(net)
    if not net.dataset:
        raise InputError(f"{name_or_path}: the model does not say which data it was trained on")
    t0, load0 = time.perf_counter(), _load()
    x_train, y_train = datasets.load_split(net.dataset, "train", folder=data_dir, progress=log)
    x_test, y_test = datasets.load_split(net.dataset, "test", folder=data_dir, progress=log)
    start = pynn_net.calibrated_for_reset_to_value(
        net, pynn_net.RunParams(steps=params.steps, v_reset=params.v_reset, v_init=params.v_init), data_dir)
    log(f"{net.name}: fine-tuning {params.epochs} epochs as its SNN (T={params.steps}, reset to "
        f"{params.v_reset:g} theta) on {len(x_train)} training samples, {threads} thread(s) ...")
    t1 = time.perf_counter()
    tuned = finetune.fine_tune(start, x_train, y_train, params, seed=seed, log=log, threads=threads)
    t_tune = time.perf_counter() - t1
    out.mkdir(parents=True, exist_ok=True)
    path = netmod.save(tuned, out / f"{net.name}.npz")
    tuned = netmod.load(path)                    # evaluate exactly what was written
    value = refsim.SimParams(steps=params.steps, reset="value", v_reset=params.v_reset, v_init=params.v_init)
    subtract = refsim.simulate(net, x_test, refsim.SimParams(steps=params.steps, v_init=params.v_init)).predictions
    before = refsim.simulate(start, x_test, value).predictions
    after = refsim.simulate(tuned, x_test, value).predictions
    tuned_card = {
        "model": net.name, "tuned_from": card.get("command", name_or_path), "command": command,
        "seed": seed, "date": datetime.date.today().isoformat(), "dataset": net.dataset,
        "snn": tuned.snn, "epochs": params.epochs, "batch": params.batch, "lr": params.lr,
        "surrogate_width": finetune.SURROGATE_WIDTH, "train_samples": int(len(x_train)),
        "test_samples": int(len(x_test)), "stated_steps": params.steps,
        "test_accuracy": {"shipped_snn_reset_by_subtraction": float(np.mean(subtract == y_test)),
                          "recalibrated_reset_to_value": float(np.mean(before == y_test)),
                          "fine_tuned_reset_to_value": float(np.mean(after == y_test))},
        "agreement_with_shipped_snn": float(np.mean(after == subtract)),
        "seconds": {"tune": round(t_tune, 1), "total": round(time.perf_counter() - t0, 1)},
        "machine": {"threads": threads, "cpus": os.cpu_count(), "load_before": load0, "load_after": _load(),
                    "python": platform.python_version(), "torch": finetune.torch.__version__},
    }
    (out / f"{net.name}.json").write_text(json.dumps(tuned_card, indent=1) + "\n")
    acc = tuned_card["test_accuracy"]
    log(f"{net.name}: reference SNN on {len(x_test)} test samples: shipped (reset by subtraction) "
        f"{100 * acc['shipped_snn_reset_by_subtraction']:.1f}%, reset to a value recalibrated "
        f"{100 * acc['recalibrated_reset_to_value']:.1f}%, fine-tuned {100 * acc['fine_tuned_reset_to_value']:.1f}%")
    return tuned_card
