"""The shipped event models on the PyNN backends, side by side with the reference SNN: accuracy, agreement and
samples per wall-second, measured in one run.

    python benchmarks/event_backends.py [--models all|digits-cnn,...] [--backends brian2,nest] [--samples 200]
                                        [--json FILE]

Each model runs at its stated T (the card's) with the weights it ships fine-tuned for PyNN's reset to a value
(``zoo.value_reset_weights``), or, where it has none, with its biases recalibrated for that reset
(``pynn_net.compare``); "reference" is ``refsim`` with the same semantics and weights (the oracle), "subtract" the
shipped SNN with reset by subtraction. Speeds are samples per wall-second of the simulation alone (the build is reported
apart); one run per model and backend, as the simulations are long.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--models", default="all")
    p.add_argument("--backends", default="brian2,nest")
    p.add_argument("--samples", type=int, default=200)
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    from hippocam.event_models.data import datasets
    from hippocam.event_models import pynn as pynn_net
    from hippocam.event_models import zoo
    models = zoo.shipped() if args.models == "all" else args.models.split(",")
    rows = []
    for name in models:
        net, card = zoo.find_model(name)
        steps = int(card.get("stated_steps") or card.get("stated") or 8)
        x, y = datasets.load_split(net.dataset, "test", limit=args.samples)
        tuned = zoo.value_reset_weights(name)
        built = tuned[0] if tuned else net
        weights = "fine-tuned  " if tuned else "recalibrated"
        for backend in args.backends.split(","):
            t0 = time.perf_counter()
            r = pynn_net.compare(built, x, y, backend, pynn_net.RunParams(steps=steps), shipped=net)
            r["wall_s"] = time.perf_counter() - t0
            rows.append(r)
            print(f"{name:18s} {backend:7s} T={steps:<3d} {weights} acc {100 * r['accuracy']:6.2f}%  reference "
                  f"{100 * r['reference_accuracy']:6.2f}%  agree {100 * r['agreement']:5.1f}%  subtract "
                  f"{100 * r['subtract_accuracy']:6.2f}%  spike diff {sum(r['spike_count_difference'])}  build {r['build_s']:6.1f} s  {r['samples_per_s']:7.2f} "
                  f"samples/s (reference {r['reference_samples_per_s']:7.1f}/s, "
                  f"{r['reference_samples_per_s'] / r['samples_per_s']:.0f}x)", flush=True)
            if args.json:
                Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
