"""``hippocam event train|evaluate|preview``: ``register(subparsers)`` adds the group to the hippocam parser.

Handlers return an exit code; bad input raises ``cam.operations.InputError`` (problem + fix), which the main
command prints as one line with exit status 2.
"""
from __future__ import annotations

import contextlib
import datetime
import json
import shlex
import sys
from pathlib import Path

from cam.operations import InputError


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
    from . import zoo
    names = zoo.resolve_family(args.family)
    seed = _int(args.seed, "--seed", 0, 2**31 - 1)
    threads = _int(args.threads, "--threads", 1, 64)
    epochs = _int(args.epochs, "--epochs", 1, 10000) if args.epochs is not None else None
    if args.optimizer not in ("adam", "spam"):
        raise InputError(f"unknown --optimizer {args.optimizer!r}; use adam or spam")
    from . import train
    train.require_torch()
    out = Path(args.out) if args.out else Path("results") / \
        f"event-{args.family}-{datetime.datetime.now():%Y%m%d-%H%M%S}"
    clash = [n for n in names if (out / f"{n}.npz").exists()]
    if clash and not args.force:
        raise InputError(f"{out} already holds {', '.join(n + '.npz' for n in clash)}; choose another --out or "
                         "pass --force to overwrite")
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
    from . import datasets, metrics, zoo
    net, card = zoo.find_model(args.model)
    steps = parse_steps(args.timesteps) if args.timesteps else tuple(card.get("eval_steps", (1, 2, 4, 8, 16)))
    if args.reset not in ("subtract", "value"):
        raise InputError(f"unknown --reset {args.reset!r}; use subtract or value")
    if args.input not in ("spikes", "current"):
        raise InputError(f"unknown --input {args.input!r}; use spikes or current")
    limit = _int(args.samples, "--samples") if args.samples is not None else None
    if not net.dataset:
        raise InputError(f"{args.model}: the model does not say which data it was trained on; "
                         "evaluate it from Python with metrics.evaluate")
    print(f"{net.name}: building the test set ({net.dataset['name']}, seed {net.dataset.get('seed', 0)}) ...",
          flush=True)
    if args.backend is not None:
        import backends
        if args.backend not in backends.names():
            raise InputError(f"unknown --backend {args.backend!r}; use one of {', '.join(backends.names())}")
        if len(steps) != 1:
            raise InputError("--backend runs one T: give --timesteps with a single value, e.g. 8")
        if limit is None:
            limit = 200
    x, y = datasets.load_split(net.dataset, "test", limit=limit, folder=args.data_dir)
    if args.backend is not None:
        return _evaluate_on_backend(net, x, y, args, steps[0])
    with _blas_threads(1):
        result = metrics.evaluate(net, x, y, steps, reset=args.reset, input_mode=args.input)
    print(metrics.table(result))
    if card:
        print(f"card: trained by '{card.get('command')}' on {card.get('date')}, seed {card.get('seed')}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
        print(f"result written to {args.json}")
    return 0


def _evaluate_on_backend(net, x, y, args, steps: int) -> int:
    from experiments.common import progress
    from . import pynn_net
    print(f"{net.name}: building the network on {args.backend} and streaming {len(x)} samples (T={steps}) ...",
          flush=True)
    result = pynn_net.compare(net, x, y, args.backend, pynn_net.RunParams(steps=steps),
                              progress=progress(lambda line: print(line, flush=True),
                                                f"{net.name} on {args.backend}", "samples"),
                              calibrate=not args.no_calibration, folder=args.data_dir)
    print(pynn_net.table(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
        print(f"result written to {args.json}")
    return 0


def cmd_preview(args) -> int:
    from . import preview
    out = args.out or f"{args.kind}.png"
    path = preview.make(args.kind, out, index=_int(args.index, "--index", 0), seed=_int(args.seed, "--seed", 0),
                        split=args.split, file=args.file)
    print(f"preview written to {path}")
    return 0


def register(subparsers) -> None:
    """Add ``event`` (train, evaluate, preview) to an argparse subparsers object."""
    ev = subparsers.add_parser("event", help="converted vision and point-cloud SNNs: train, evaluate, preview")
    sub = ev.add_subparsers(dest="event_command", required=True)

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
    e.add_argument("model", help="a shipped model name or a .npz written by 'event train'")
    e.add_argument("--timesteps", default=None, help="T, or a list like 1,2,4,8 (default: the card's)")
    e.add_argument("--reset", default="subtract", help="subtract or value (default: %(default)s)")
    e.add_argument("--input", default="spikes", help="spikes or current (analog first layer)")
    e.add_argument("--samples", default=None, help="evaluate on the first N test samples only")
    e.add_argument("--data-dir", default=None, help="data cache folder (default: $HIPPOCAM_CACHE or ~/.cache)")
    e.add_argument("--backend", default=None,
                   help="run the network as a PyNN network on this backend (brian2, nest) instead of the "
                        "reference SNN alone, and compare the two (default samples: 200)")
    e.add_argument("--no-calibration", action="store_true",
                   help="with --backend: keep the shipped biases (calibrated for reset by subtraction) instead of "
                        "recalibrating them for PyNN's reset to a value")
    e.add_argument("--json", default=None, help="also write the result as JSON here")
    e.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("preview", help="a figure of the data: saccade, gesture, eventcloud, pointcloud, voxels")
    p.add_argument("kind", help="saccade, gesture, eventcloud, pointcloud or voxels")
    p.add_argument("--out", default=None, help="figure file (default: KIND.png)")
    p.add_argument("--index", default="0", help="sample index in the split (default: %(default)s)")
    p.add_argument("--seed", default="0", help="data seed (default: %(default)s)")
    p.add_argument("--split", default="test", help="train or test (default: %(default)s)")
    p.add_argument("--file", default=None, help="preview your own data: events .npy/.npz, or .off/.ply")
    p.set_defaults(func=cmd_preview)
