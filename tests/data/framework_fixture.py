"""What the fixture scripts share (make_snntorch_fixtures.py, make_norse_fixtures.py, make_sinabs_fixtures.py): the
seeded inputs and the file layout. Needs numpy only, so that each framework's own venv can run it.

A fixture NAME is two files: NAME.nir, as the framework's exporter wrote it, and NAME.npz with

* ``input``: (steps, samples, *input shape) float32 spikes 0/1, ``density``: (samples,) the spike probability each
  sample was drawn with (several densities, so that quiet and busy layers are both checked);
* ``spikes/NODE``: (steps, samples, *shape) uint8, the framework's own spikes of every spiking layer, named as the
  layer's node in the graph;
* ``dt_ms``, ``time_unit``, ``reset``, ``integrator``: how to read the graph (``hippocam nir run`` options) so that
  it is the network the framework ran; ``framework``, ``version``: who wrote it;
* ``w_in`` (optional): the CubaLIF w_in the exporter should have written (Norse 1.1 leaves it at 1): set it on
  every CubaLIF node before reading; ``w_in/NODE`` (optional): the same for one node (Rockpool 3.1, whose layers
  need different values);
* ``w_rec/NODE`` (optional): the recurrent weights the exporter left out (Rockpool 3.1 writes none), as a NIR
  Linear's (out, in) weight: add a Linear from NODE to itself before reading.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
DENSITIES = (0.1, 0.3, 0.6)


def inputs(steps: int, per_density: int, shape: tuple, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded Bernoulli spike trains (steps, samples, *shape) at every density of ``DENSITIES``."""
    rng = np.random.default_rng(seed)
    density = np.repeat(DENSITIES, per_density)
    x = rng.random((steps, len(density)) + tuple(shape)) < density.reshape((1, -1) + (1,) * len(shape))
    return x.astype(np.float32), density


def node_names(spikes: dict, graph_nodes) -> dict:
    """``spikes`` keyed by the graph's node names: a module whose exporter made it a subgraph (snnTorch's RLeaky:
    "3" -> "3.lif", its neuron, beside "3.w_rec") takes the one neuron node under its name."""
    out = {}
    for name, s in spikes.items():
        if name in graph_nodes:
            out[name] = s
            continue
        inner = [k for k in graph_nodes if k.startswith(name + ".") and hasattr(graph_nodes[k], "v_threshold")]
        if len(inner) != 1:
            raise SystemExit(f"module {name}: no single neuron node for it in the graph ({inner})")
        out[inner[0]] = s
    return out


def save(name: str, graph_writer, x: np.ndarray, density: np.ndarray, spikes: dict, *, dt_ms: float,
         time_unit: str, reset: str, framework: str, version: str, integrator: str = "euler", **extra) -> None:
    """Write NAME.nir (``graph_writer(path)``: the framework's nir.write) and NAME.npz; print the spike totals."""
    graph_writer(str(HERE / f"{name}.nir"))
    arrays = {f"spikes/{node}": np.asarray(s).astype(np.uint8) for node, s in spikes.items()}
    np.savez_compressed(HERE / f"{name}.npz", input=x, density=density, dt_ms=dt_ms, time_unit=time_unit,
                        reset=reset, integrator=integrator, framework=framework, version=version, **extra, **arrays)
    totals = ", ".join(f"{node} {int(np.sum(s))}" for node, s in spikes.items())
    print(f"{name}: {framework} {version}, {x.shape[1]} samples x {x.shape[0]} steps; spikes {totals}")
