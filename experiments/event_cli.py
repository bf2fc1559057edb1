"""``hippocam event train|evaluate|finetune|preview|map``: ``register(subparsers)`` adds the group to the hippocam
parser.

Handlers return an exit code; bad input raises ``hippocam.errors.InputError`` (problem + fix), which the main
command prints as one line with exit status 2.
"""
from __future__ import annotations

import contextlib
import datetime
import shlex
import sys
from pathlib import Path

from hippocam import backends
from hippocam.errors import InputError

from . import output
from .common import runnable

#: the files ``event train`` writes per model, and ``event finetune`` (no NIR graph)
TRAIN_FILES = (".npz", ".json", ".nir")
TUNE_FILES = (".npz", ".json")


def shipped_models() -> list[str]:
    """The shipped model names, for ``--help``: read from the models folder, as ``zoo.shipped`` does, without
    importing the zoo (it imports torch when it is installed, seconds before any help is printed)."""
    import hippocam.event_models as event_models
    return sorted(p.stem for p in (Path(event_models.__file__).parent / "models").glob("*.npz"))


def _clash(out: Path, names, suffixes) -> list[str]:
    return [f"{n}{s}" for n in names for s in suffixes if (out / f"{n}{s}").exists()]


@contextlib.contextmanager
def _blas_threads(n: int):
    """Limit BLAS threads: on a shared 2-core machine, more threads than free cores makes numpy slower."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(n):
        yield


def _int(text: str, what: str, lo: int = 1, hi: int = 10**6) -> int:
    try:
        v = int(text)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be an integer, got {text!r}") from None
    if not lo <= v <= hi:
        raise InputError(f"{what} must be in {lo}..{hi}, got {v}")
    return v


def parse_steps(text: str) -> tuple[int, ...]:
    """'8' or '1,2,4,8' -> a tuple of time-step counts."""
    parts = [p for p in str(text).replace(" ", "").split(",") if p]
    if not parts:
        raise InputError("--timesteps needs a number of steps, e.g. 8 or 1,2,4,8")
    return tuple(_int(p, "--timesteps", 1, 4096) for p in parts)


def cmd_train(args) -> int:
    from hippocam.event_models import zoo
    names = zoo.resolve_family(args.family)
    seed = _int(args.seed, "--seed", 0, 2**31 - 1)
    threads = _int(args.threads, "--threads", 1, 64)
    epochs = _int(args.epochs, "--epochs", 1, 10000) if args.epochs is not None else None
    if args.optimizer not in ("adam", "spam"):
        raise InputError(f"unknown --optimizer {args.optimizer!r}; use adam or spam")
    from hippocam.event_models.training import train
    train.require_torch()
    out = Path(args.out) if args.out else Path("results") / \
        f"event-{args.family}-{datetime.datetime.now():%Y%m%d-%H%M%S}"
    clash = _clash(out, names, TRAIN_FILES)
    if clash and not args.force:
        raise InputError(f"{out} already holds {', '.join(clash)}; choose another --out or pass --force to "
                         "overwrite")
    output.make_folder(out)  # refused now, not after hours of training
    command = "hippocam event train " + " ".join(shlex.quote(a) for a in sys.argv[3:]) \
        if sys.argv[1:3] == ["event", "train"] else f"hippocam event train {args.family} --seed {seed}"
    print(f"training {', '.join(names)} (seed {seed}) into {out}/")
    with _blas_threads(threads):
        for name in names:
            zoo.train_model(name, seed, out, data_dir=args.data_dir, threads=threads,
                            optimizer=args.optimizer if args.optimizer != "adam" else None, epochs=epochs,
                            command=command)
    print(f"models, NIR graphs and cards written to {out}/")
    return 0


def cmd_evaluate(args) -> int:
    from hippocam.event_models.data import datasets
    from hippocam.event_models.snn import metrics
    if args.backend == "spinnaker":  # a board is needed and must answer, before the data and the calibration
        from hippocam.backends.spinnaker.probe import require_board
        require_board("'event evaluate'")
    if args.backend is not None:
        runnable(args.backend)  # before the zoo's imports, the data and any simulation
        if args.v_reset != "auto":
            _fraction(args.v_reset, "--v-reset")
    if args.json:
        output.check_writable_file(args.json, args.force)
    from hippocam.event_models import zoo
    net, card = zoo.find_model(args.model)
    if args.backend is not None:
        steps = _backend_steps(args.timesteps, card, args.model)
    else:
        steps = parse_steps(args.timesteps) if args.timesteps else tuple(card.get("eval_steps", (1, 2, 4, 8, 16)))
    reset = args.reset or net.snn.get("reset", "subtract")      # a fine-tuned net runs as it was tuned
    if reset not in ("subtract", "value"):
        raise InputError(f"unknown --reset {args.reset!r}; use subtract or value")
    if args.input not in ("spikes", "current"):
        raise InputError(f"unknown --input {args.input!r}; use spikes or current")
    limit = _int(args.samples, "--samples") if args.samples is not None else None
    if not net.dataset:
        raise InputError(f"{args.model}: the model does not say which data it was trained on; "
                         "evaluate it from Python with metrics.evaluate")
    if args.backend is not None and limit is None:
        limit = 200
    print(f"{net.name}: building the test set ({net.dataset['name']}, seed {net.dataset.get('seed', 0)}) ...",
          flush=True)
    x, y = datasets.load_split(net.dataset, "test", limit=limit, folder=args.data_dir)
    if args.backend is not None:
        return _evaluate_on_backend(net, x, y, args, steps[0])
    with _blas_threads(1):
        result = metrics.evaluate(net, x, y, steps, reset=reset, input_mode=args.input,
                                  v_reset=float(net.snn.get("v_reset", 0.0)),
                                  v_init=float(net.snn.get("v_init", 0.5)))
    print(metrics.table(result))
    if card:
        print(f"card: trained by '{card.get('command')}' on {card.get('date')}, seed {card.get('seed')}")
    if args.json:
        output.write_json(Path(args.json), result)
        print(f"result written to {args.json}")
    return 0


def _backend_steps(text, card: dict, model: str) -> tuple[int]:
    """The one T a run on a backend takes: ``--timesteps``, else the T the model card states."""
    if text:
        steps = parse_steps(text)
        if len(steps) != 1:
            raise InputError("--backend runs one T: give --timesteps a single value, e.g. 8")
        return steps
    if not card.get("stated_steps"):
        raise InputError(f"{model}: no model card beside it states T; give --timesteps, e.g. 8")
    return (_int(card["stated_steps"], "the card's stated_steps", 1, 4096),)


def _fraction(text, what: str) -> float:
    try:
        v = float(text)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a number (a fraction of the threshold), got {text!r}") from None
    if not 0.0 <= v < 1.0:
        raise InputError(f"{what} must be in [0, 1) (a fraction of the threshold), got {v:g}")
    return v


def _evaluate_on_backend(net, x, y, args, steps: int) -> int:
    from .common import progress
    from hippocam.event_models import pynn as pynn_net
    print(f"{net.name}: building the network on {args.backend} and streaming {len(x)} samples (T={steps}) ...",
          flush=True)
    shipped = net
    net, tuned_card = _pynn_weights(args.model, net, args.weights)
    if net.snn:
        v_reset = float(net.snn["v_reset"])
        if args.v_reset != "auto" and _fraction(args.v_reset, "--v-reset") != v_reset:
            raise InputError(f"these weights were fine-tuned for a reset to {v_reset:g} theta; drop --v-reset, or "
                             "give --weights shipped to run the shipped weights with another reset value")
        print(f"weights fine-tuned for PyNN's reset to {v_reset:g} theta at T={net.snn.get('steps')}" +
              (f" ('{tuned_card['command']}', {tuned_card.get('date')})" if tuned_card.get("command") else ""),
              flush=True)
    elif args.v_reset == "auto":
        v_reset, scores = pynn_net.choose_v_reset(net, steps, folder=args.data_dir)
        print("reset value chosen on training inputs: " + ", ".join(
            f"{c:g} theta {100 * a:.1f}%" for c, a in scores.items()) + f" -> {v_reset:g} theta", flush=True)
    else:
        v_reset = _fraction(args.v_reset, "--v-reset")
    result = pynn_net.compare(net, x, y, args.backend, pynn_net.RunParams(steps=steps, v_reset=v_reset),
                              progress=progress(lambda line: print(line, flush=True),
                                                f"{net.name} on {args.backend}", "samples"),
                              calibrate=not args.no_calibration, folder=args.data_dir, shipped=shipped)
    print(pynn_net.table(result))
    if args.backend == "spinnaker-model":     # what SpiNNaker's arithmetic did per layer, and the load per core
        from hippocam.backends import spinnaker_model
        from hippocam.backends.spinnaker_model import realtime
        result["spinnaker_model"] = spinnaker_model.LAST_REPORT
        print(realtime.summary(spinnaker_model.LAST_REPORT))
    if args.json:
        output.write_json(Path(args.json), result)
        print(f"result written to {args.json}")
    return 0


WEIGHTS = ("auto", "shipped", "tuned")


def _pynn_weights(model: str, net, choice: str):
    """(the net to build on a PyNN backend, its fine-tuning card or {}) for ``--weights``: ``auto`` takes the
    weights a shipped model ships fine-tuned for the reset to a value where it has them."""
    from hippocam.event_models import zoo
    if choice not in WEIGHTS:
        raise InputError(f"unknown --weights {choice!r}; use one of {', '.join(WEIGHTS)}")
    if net.snn or choice == "shipped":
        return net, {}
    found = zoo.value_reset_weights(model) if model in zoo.shipped() else None
    if found is None:
        if choice == "tuned":
            raise InputError(f"{model} ships no weights fine-tuned for PyNN's reset to a value; make them with "
                             f"'hippocam event finetune {model} --out DIR' and evaluate DIR/{net.name}.npz")
        return net, {}
    return found


def cmd_finetune(args) -> int:
    from hippocam.event_models.training import finetune
    from hippocam.event_models import zoo
    finetune.require_torch()
    net, card = zoo.find_model(args.model)
    steps = _int(args.timesteps, "--timesteps", 1, 4096) if args.timesteps is not None else \
        int(card.get("stated_steps") or 8)
    params = finetune.TuneParams(steps=steps, v_reset=_fraction(args.v_reset, "--v-reset"),
                                 epochs=_int(args.epochs, "--epochs", 1, 1000), lr=_positive(args.lr, "--lr"))
    out = Path(args.out)
    clash = _clash(out, [net.name], TUNE_FILES)
    if clash and not args.force:
        raise InputError(f"{out} already holds {', '.join(clash)}; choose another --out or pass --force to "
                         "overwrite")
    output.make_folder(out)  # refused now, not after the fine-tuning
    command = "hippocam event finetune " + " ".join(shlex.quote(a) for a in sys.argv[3:]) \
        if sys.argv[1:3] == ["event", "finetune"] else f"hippocam event finetune {args.model}"
    threads = _int(args.threads, "--threads", 1, 64)
    with _blas_threads(threads):
        zoo.tune_model(args.model, out, params, data_dir=args.data_dir, threads=threads,
                       seed=_int(args.seed, "--seed", 0, 2**31 - 1), command=command)
    print(f"fine-tuned model and card written to {out}/ (evaluate it: hippocam event evaluate "
          f"{out / (net.name + '.npz')} --backend brian2)")
    return 0


def _positive(text, what: str) -> float:
    try:
        v = float(text)
    except (TypeError, ValueError):
        v = float("nan")
    if not v > 0:
        raise InputError(f"{what} must be a positive number, got {text!r}")
    return v


def cmd_preview(args) -> int:
    from hippocam.event_models.data import preview
    if args.kind not in preview.KINDS:  # before the --out check, which looks at the default KIND.png
        raise InputError(f"unknown preview {args.kind!r}; use one of {', '.join(preview.KINDS)}")
    out = output.check_writable_file(args.out or f"{args.kind}.png", args.force)  # as every other written file
    path = preview.make(args.kind, out, index=_int(args.index, "--index", 0), seed=_int(args.seed, "--seed", 0),
                        split=args.split, file=args.file)
    print(f"preview written to {path}")
    return 0


def mapping_inputs(net, graph, layout, steps: int) -> dict:
    """Spike times of one sample slot for a mapping run: every input fires in every one of the ``steps`` input
    steps (the most a sample can send, which sizes the sources' SDRAM), each bias source in its layer's window
    as ``pynn_net.simulate`` gives it."""
    import numpy as np

    dt = graph.timestep_ms
    window = [float((layout.lead_steps + t) * dt) for t in range(steps)]
    n_inputs = next(p.size for p in graph.populations if p.name == "input")
    n_bias = next(p.size for p in graph.populations if p.name == "bias")
    bias = []
    for i in range(n_bias):
        if i < len(net.layers):
            first = layout.bias_first_step(i)
            bias.append([float((first + t) * dt) for t in np.arange(steps)])
        else:
            bias.append([])
    return {"input": [list(window) for _ in range(n_inputs)], "bias": bias}


def _model_load(net, params, samples: int) -> dict:
    """The synaptic load (``spinnaker_model.realtime.load``) of ``samples`` test samples on the spinnaker-model: a
    virtual board runs nothing, the model counts each core's synaptic events per step."""
    from hippocam.backends import spinnaker_model
    from hippocam.event_models import pynn as pynn_net
    from hippocam.event_models.data import datasets
    x, _ = datasets.load_split(net.dataset, "test", limit=samples)
    pynn_net.simulate(net, x, "spinnaker-model", params)
    return spinnaker_model.LAST_REPORT["realtime"]


def _load_line(load: dict, samples: int, configured) -> str:
    from hippocam.backends.spinnaker_model.graph import CELLS_PER_CORE
    need = load["time_scale_factor"]
    line = (f"real time (spinnaker-model, {samples} test samples, {CELLS_PER_CORE} cells per core): the busiest core "
            f"gets {load['max_events_per_core_step']:,} synaptic events in a step (mean over steps "
            f"{load['mean_busiest_core_events_per_step']:,.0f}); at {load['budget_events_per_ms_per_core']:,} events "
            f"per ms per core a board run needs time_scale_factor {need}")
    if configured is not None and configured < need:
        line += (f"; the configured {configured:g} would lose spikes: set HIPPOCAM_SPINNAKER_TIME_SCALE={need}")
    return line


def cmd_map(args) -> int:  # --backend: argparse takes spinnaker only (mapping reports come from sPyNNaker)
    from hippocam.event_models import pynn as pynn_net
    from hippocam.event_models import zoo
    net, card = zoo.find_model(args.model)
    steps = _int(args.timesteps, "--timesteps", 1, 4096) if args.timesteps is not None else 8
    per_core = _int(args.neurons_per_core, "--neurons-per-core", 1, 256) if args.neurons_per_core else None
    load_samples = _int(args.load_samples, "--load-samples", 0, 10000)
    json_path = None
    if args.json:
        json_path = output.check_writable_file(args.json, args.force)
    backend = backends.get("spinnaker", virtual=True)  # a clear error when sPyNNaker is missing
    from hippocam.backends import spinnaker
    params = pynn_net.RunParams(steps=steps)
    graph, layout = pynn_net.to_graph(net, params, backend.graph_timing(params.timestep_ms))
    print(f"{net.name}: mapping {graph.n_neurons:,} neurons and {graph.n_synapses:,} synapses (T={steps}) on a "
          f"virtual SpiNNaker board ...", flush=True)
    report = spinnaker.map_graph(graph, mapping_inputs(net, graph, layout, steps),
                                 run_ms=layout.slot_steps * params.timestep_ms, neurons_per_core=per_core)
    report.update({"model": net.name, "timesteps": steps, "slot_steps": layout.slot_steps})
    print(spinnaker.format_graph_map(report, f"{net.name} (T={steps})"))
    if load_samples:
        report["realtime"] = _model_load(net, params, load_samples)
        print(_load_line(report["realtime"], load_samples, report.get("time_scale_factor")))
    if json_path is not None:
        output.write_json(json_path, report)
        print(f"mapping written to {json_path}")
    return 0


def register(subparsers) -> None:
    """Add ``event`` (train, evaluate, finetune, preview, map) to an argparse subparsers object."""
    ev = subparsers.add_parser("event", help="converted vision and point-cloud SNNs: train, evaluate, preview, map")
    sub = ev.add_subparsers(dest="event_command", required=True)

    def _model_argument(parser):
        parser.add_argument("model", help=f"a shipped model ({', '.join(shipped_models())}) or a .npz written by "
                                          "'event train'")

    t = sub.add_parser("train", help="train a model family (needs the 'train' extra: torch)")
    t.add_argument("family", help="cnn, gesture, voxel, or one model name")
    t.add_argument("--seed", default="0", help="seed of the data and the training (default: %(default)s)")
    t.add_argument("--out", default=None, help="output folder (default: results/event-FAMILY-TIMESTAMP)")
    t.add_argument("--data-dir", default=None, help="data cache folder (default: $HIPPOCAM_CACHE or ~/.cache)")
    t.add_argument("--threads", default="1", help="torch and BLAS threads (default: %(default)s)")
    t.add_argument("--optimizer", default="adam", help="adam or spam (default: %(default)s)")
    t.add_argument("--epochs", default=None, help="override the recipe's number of epochs")
    t.add_argument("--force", action="store_true", help="overwrite models already in --out")
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("evaluate", help="source-net and reference-SNN accuracy, spikes, SOPs, energy proxy")
    _model_argument(e)
    e.add_argument("--timesteps", default=None,
                   help="T, or a list like 1,2,4,8 (default: the card's list; with --backend one T, default the "
                        "card's stated T)")
    e.add_argument("--reset", default=None,
                   help="subtract or value (default: subtract; a fine-tuned net's own reset, to its v_reset)")
    e.add_argument("--input", default="spikes", help="spikes or current (analog first layer)")
    e.add_argument("--samples", default=None, help="evaluate on the first N test samples only")
    e.add_argument("--data-dir", default=None, help="data cache folder (default: $HIPPOCAM_CACHE or ~/.cache)")
    streaming = [n for n in backends.names() if n in backends.streaming_names() or n == "spinnaker"]  # + a board
    e.add_argument("--backend", default=None, choices=streaming,
                   help="run the network as a PyNN network on this backend (%(choices)s) instead of the "
                        "reference SNN alone, and compare the two (default samples: 200); spinnaker needs a "
                        "configured board (HIPPOCAM_SPINNAKER_MACHINE)")
    e.add_argument("--v-reset", default="auto",
                   help="with --backend: the reset value as a fraction of the threshold, or auto: the best of "
                        "0.5-0.8 on training inputs (default: %(default)s)")
    e.add_argument("--no-calibration", action="store_true",
                   help="with --backend: keep the shipped biases (calibrated for reset by subtraction) instead of "
                        "recalibrating them for PyNN's reset to a value")
    e.add_argument("--weights", default="auto", choices=WEIGHTS,
                   help="with --backend: auto (the weights fine-tuned for PyNN's reset to a value, where the model "
                        "ships them), shipped, or tuned (default: %(default)s)")
    e.add_argument("--json", default=None, help="also write the result as JSON here")
    e.add_argument("--force", action="store_true", help="overwrite the --json file")
    e.set_defaults(func=cmd_evaluate)

    f = sub.add_parser("finetune", help="fine-tune a model as its SNN for PyNN's reset to a value (needs torch)")
    _model_argument(f)
    f.add_argument("--out", required=True, help="output folder for NAME.npz and its card NAME.json")
    f.add_argument("--timesteps", default=None, help="T (default: the card's stated T)")
    f.add_argument("--v-reset", default="0.5",
                   help="the reset value, a fraction of the threshold (default: %(default)s)")
    f.add_argument("--epochs", default="6", help="epochs over the training split (default: %(default)s)")
    f.add_argument("--lr", default="3e-4", help="Adam's learning rate, cosine-decayed (default: %(default)s)")
    f.add_argument("--seed", default="0", help="seed of the batch order (default: %(default)s)")
    f.add_argument("--threads", default="1", help="torch and BLAS threads (default: %(default)s)")
    f.add_argument("--data-dir", default=None, help="data cache folder (default: $HIPPOCAM_CACHE or ~/.cache)")
    f.add_argument("--force", action="store_true", help="overwrite a model already in --out")
    f.set_defaults(func=cmd_finetune)

    p = sub.add_parser("preview", help="a figure of the data: saccade, gesture, eventcloud, pointcloud, voxels")
    p.add_argument("kind", help="saccade, gesture, eventcloud, pointcloud or voxels")
    p.add_argument("--out", default=None, help="figure file (default: KIND.png)")
    p.add_argument("--index", default="0", help="sample index in the split (default: %(default)s)")
    p.add_argument("--seed", default="0", help="data seed (default: %(default)s)")
    p.add_argument("--split", default="test", help="train or test (default: %(default)s)")
    p.add_argument("--file", default=None, help="preview your own data: events .npy/.npz, or .off/.ply")
    p.add_argument("--force", action="store_true", help="overwrite the --out file")
    p.set_defaults(func=cmd_preview)

    m = sub.add_parser("map", help="map a model onto SpiNNaker (a virtual board here): cores, chips, SDRAM")
    _model_argument(m)
    m.add_argument("--backend", default="spinnaker", choices=("spinnaker",),
                   help="only spinnaker maps (default: %(default)s)")
    m.add_argument("--timesteps", default=None, help="T, the input steps of a sample (default: 8)")
    m.add_argument("--neurons-per-core", default=None,
                   help="at most this many cells of a population on one core (default: sPyNNaker's 256)")
    m.add_argument("--load-samples", default="20",
                   help="test samples run on the spinnaker-model to count each core's synaptic events per step and "
                        "the time_scale_factor a board run needs (0: skip; default: %(default)s)")
    m.add_argument("--json", default=None, help="also write the mapping report here")
    m.add_argument("--force", action="store_true", help="overwrite the --json file")
    m.set_defaults(func=cmd_map)
