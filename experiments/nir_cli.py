"""``hippocam nir run|info``: any NIR graph (snnTorch, Norse, Sinabs, ...) on refsim, Brian2 or NEST, step by step.

``run`` writes, per neuron node (named as in the graph), its spikes of every step (``spikes/NAME``: steps x samples x
shape, 0/1) and, for a read-out that does not spike, its membrane (``v/NAME`` at every step on refsim;
``v_final/NAME``, after the last step, on every backend). ``info`` lists the nodes and what each becomes, and says
why a graph is refused. ``register(subparsers)`` adds the group to the hippocam command (``cli.py``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from hippocam.errors import BackendError, InputError

from hippocam import backends, files

from . import output
from .common import runnable

#: refsim, then the PyNN backends that stream samples and read membranes (from the registry)
BACKENDS = ("refsim", *backends.streaming_names())
RESETS = ("value", "subtract")


# ------------------------------------------------------------------------------------------------------ run
def load_input(path: str) -> np.ndarray:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{path}: no such input file; give a .npy array shaped (steps, samples, *input shape)")
    try:
        x = np.load(p, allow_pickle=False)
    except files.NUMPY_ERRORS as err:
        raise InputError(f"{path}: not a .npy array ({err}); save it with numpy.save") from None
    if not isinstance(x, np.ndarray) or x.ndim < 3 or x.dtype.kind not in "biuf":
        raise InputError(f"{path}: want a numeric array shaped (steps, samples, *input shape), got "
                         f"{getattr(x, 'shape', '?')} of {getattr(x, 'dtype', '?')}")
    if x.shape[0] < 1 or x.shape[1] < 1:
        raise InputError(f"{path}: no steps or no samples (shape {x.shape})")
    if not np.all(np.isfinite(x)):
        raise InputError(f"{path}: holds NaN or infinite values")
    return x


def read_net(graph, dt_ms: float, time_unit: str, integrator: str, reset: str | None):
    from hippocam.event_models.nir import reader
    check_options(dt_ms, reset)
    return reader.read(graph, dt_ms=dt_ms, time_unit=time_unit, integrator=integrator, reset=reset or "value")


def check_options(dt_ms: float, reset: str | None) -> None:
    """The options every subcommand takes, refused before anything is read or printed."""
    if not dt_ms > 0:
        raise InputError(f"--dt-ms must be a positive number of ms, got {dt_ms:g}")
    if reset is not None and reset not in RESETS:
        raise InputError(f"unknown reset {reset!r}; use value or subtract")


def fit_input(net, x: np.ndarray, path: str) -> np.ndarray:
    """``x`` shaped (steps, samples, *net.input_shape): a flat last axis of the right size is reshaped."""
    want = tuple(net.input_shape)
    if tuple(x.shape[2:]) == want:
        return x
    if int(np.prod(x.shape[2:])) == int(np.prod(want)):
        return x.reshape(x.shape[:2] + want)
    raise InputError(f"{path}: input shape {tuple(x.shape[2:])} per step and sample; the graph's Input takes "
                     f"{want}")


def run_refsim(net, x: np.ndarray) -> dict:
    """Spikes per step of every spiking layer and the membrane per step of every read-out, from refsim."""
    from hippocam.event_models.snn import refsim
    steps, n = x.shape[:2]
    res = refsim.simulate(net, None, refsim.SimParams(steps=steps), batch=n, trace=n, trains=x.astype(float))
    out = {}
    for i, layer in enumerate(net.layers):
        if layer.spiking:
            out[f"spikes/{layer.name}"] = res.trace[i].astype(np.uint8)
        else:
            out[f"v/{layer.name}"] = res.trace[i]
            out[f"v_final/{layer.name}"] = res.trace[i][-1]
    return out


def run_backend(net, x: np.ndarray, backend: str, dt_ms: float) -> dict:
    """Spikes per step of every spiking layer and the read-out's membrane after the last step, on a PyNN backend:
    one sample per slot (``event_models.pynn``), every layer's spikes moved back by its latency."""
    from hippocam.event_models import pynn as pynn_net
    steps, n = x.shape[:2]
    params = pynn_net.RunParams(steps=steps, timestep_ms=dt_ms)
    with pynn_net.streaming_backend(backend) as sim:
        graph, layout = pynn_net.to_graph(net, params, sim.graph_timing(dt_ms))
        sim.build_graph(graph)
        # the bias and window sources as for any stream; the input then replaced by the given trains
        pynn_net.stream_samples(sim, net, np.zeros((n,) + tuple(net.input_shape), np.int64), params, graph, layout)
        flat = x.reshape(steps, n, -1)
        sim.set_spike_times("input", [_times(flat[:, :, k], layout, dt_ms) for k in range(flat.shape[2])])
        final = pynn_net.run_stream(sim, net, params, layout, n)
        out = {}
        for i, layer in enumerate(net.layers):
            if layer.spiking:
                out[f"spikes/{layer.name}"] = _per_step(sim.spikes(f"L{i}"), layer, layout, i, steps, n, dt_ms)
        last = net.layers[-1]
        if not last.spiking:
            out[f"v_final/{last.name}"] = np.asarray(final, float).reshape((n,) + tuple(last.shape))
    return out


def _times(train: np.ndarray, layout, dt_ms: float) -> np.ndarray:
    """Spike times (ms) of one input: ``train`` is (steps, samples) in 0/1; sample j plays in slot j."""
    step, sample = np.nonzero(train)
    times = (sample * layout.slot_steps + layout.lead_steps + step) * dt_ms
    return np.sort(times)


def _per_step(trains: list, layer, layout, i: int, steps: int, n: int, dt_ms: float) -> np.ndarray:
    """(steps, samples, *shape) 0/1 from spike times: a spike in slot j at ``lead + offset[i] + t`` steps is
    refsim's step t of sample j. A spike outside the window is a disagreement with refsim, reported."""
    out = np.zeros((steps, n, len(trains)), np.uint8)
    first = layout.lead_steps + layout.offset[i]
    for k, st in enumerate(trains):
        g = np.rint(np.asarray(st, float) / dt_ms).astype(np.int64)
        sample, within = np.divmod(g, layout.slot_steps)
        t = within - first
        inside = (t >= 0) & (t < steps) & (sample < n)
        if not np.all(inside):
            raise BackendError(f"layer {layer.name}: {int(np.sum(~inside))} spikes fell outside its window on the "
                               "backend, so its steps cannot be lined up with refsim's; run it with --backend refsim "
                               "and report the graph")
        out[t, sample, k] = 1
    return out.reshape((steps, n) + tuple(layer.shape))


def cmd_run(args) -> int:
    if args.backend not in BACKENDS:
        raise InputError(f"unknown backend {args.backend!r} for NIR graphs; use one of {', '.join(BACKENDS)}")
    check_options(args.dt_ms, args.reset)
    out_path = output.check_writable_file(args.out, args.force)
    if out_path.suffix != ".npz":
        raise InputError(f"--out {args.out}: name a .npz file (numpy.savez adds .npz to any other name)")
    x = load_input(args.input)
    net = read_net(args.graph, args.dt_ms, args.time_unit, args.integrator, args.reset)
    x = fit_input(net, x, args.input)
    if args.backend != "refsim":
        if not np.all((x == 0) | (x == 1)):
            raise InputError(f"{args.input}: holds values other than 0 and 1; a PyNN backend takes spikes only: "
                             "run values (an analog first layer) with --backend refsim")
        runnable(args.backend)      # a missing simulator is named before the build
        result = run_backend(net, x, args.backend, args.dt_ms)
    else:
        result = run_refsim(net, x)
    meta = {"layers": np.array([layer.name for layer in net.layers]), "dt_ms": np.float64(args.dt_ms),
            "time_unit": np.array(args.time_unit), "backend": np.array(args.backend),
            "reset": np.array(args.reset or "value"), "integrator": np.array(args.integrator)}
    try:
        np.savez_compressed(out_path, **result, **meta)
    except OSError as err:  # checked before the run; a disk that filled up since still gets one line
        raise InputError(f"cannot write {out_path}: {err.strerror}") from None
    for layer in net.layers:
        spikes = result.get(f"spikes/{layer.name}")
        what = f"{int(spikes.sum())} spikes" if spikes is not None else "read-out (membrane)"
        print(f"  {layer.name}: {'x'.join(map(str, layer.shape))} neurons, {what}")
    print(f"{x.shape[1]} samples x {x.shape[0]} steps of {args.dt_ms:g} ms on {args.backend}: written to {out_path}")
    silent = [layer.name for layer in net.layers if layer.spiking and not result[f"spikes/{layer.name}"].any()]
    if silent:
        # the usual cause is a unit: an IF layer's jump is r * dt in the graph's time unit, so a graph written per
        # step (Norse's and Sinabs' IF) read with --time-unit s jumps a thousandth of what it should
        print(f"note: no spikes in {', '.join(silent)}: check --dt-ms and --time-unit against the exporter's "
              "conventions (docs/nir.md)")
    return 0


# ----------------------------------------------------------------------------------------------------- info
def _shape(types: dict) -> str:
    return ", ".join("x".join(str(int(s)) for s in np.asarray(v).ravel()) for v in (types or {}).values()) or "-"


def _value(v) -> str:
    a = np.asarray(v)
    if a.dtype.kind not in "biuf" or a.size == 0:
        return str(v)
    if a.size == 1 or np.all(a == a.flat[0]):
        return f"{float(a.flat[0]):g}" + (f" (x{a.size})" if a.size > 1 else "")
    return f"array {'x'.join(map(str, a.shape))} in {float(a.min()):g}..{float(a.max()):g}"


NEURON_FIELDS = ("tau", "tau_mem", "tau_syn", "r", "v_leak", "v_threshold", "v_reset", "w_in")
BECOMES = {"IF": "a spiking layer without leak (IF_curr_delta on PyNN)",
           "LIF": "a spiking layer with leak (IF_curr_delta with tau_m on PyNN)",
           "CubaLIF": "a spiking layer with a synaptic current (IF_curr_exp on PyNN)",
           "LI": "a read-out: leaky membrane, never fires", "CubaLI": "a read-out with a synaptic current",
           "Input": "the input trains", "Output": "nothing (marks the outputs)"}


def describe(graph) -> list[str]:
    """One line per node: name, kind, shapes, parameters, and what it becomes (or why it is refused)."""
    from hippocam.event_models.nir.reader import NEURON_NODES, WEIGHT_NODES
    lines = []
    for name, node in graph.nodes.items():
        kind = type(node).__name__
        params = [f"{f}={_value(getattr(node, f))}" for f in NEURON_FIELDS if getattr(node, f, None) is not None]
        for f in ("weight", "bias", "kernel_size", "stride", "padding", "delay", "scale"):
            if getattr(node, f, None) is not None:
                a = np.asarray(getattr(node, f))
                params.append(f"{f} {'x'.join(map(str, a.shape))}" if a.size > 4 else f"{f}={_value(a)}")
        if kind in BECOMES:
            becomes = BECOMES[kind]
        elif kind in WEIGHT_NODES:
            becomes = "weights, fused into the projection to the next neuron node"
        else:
            becomes = (f"REFUSED: {kind} is not supported (weights: {', '.join(WEIGHT_NODES)}; neurons: "
                       f"{', '.join(NEURON_NODES)})")
        shapes = f"in {_shape(getattr(node, 'input_type', None))} out {_shape(getattr(node, 'output_type', None))}"
        lines.append(f"  {name}: {kind}, {shapes}; {'; '.join(params) or 'no parameters'}\n      -> {becomes}")
    return lines


def cmd_info(args) -> int:
    from hippocam.event_models.nir.nodes import text
    from hippocam.event_models.nir.reader import read_file
    check_options(args.dt_ms, args.reset)
    if not Path(args.graph).is_file():
        raise InputError(f"{args.graph}: no such NIR file")
    graph = read_file(args.graph)    # as ``run`` reads it: without NIR's type check where only that fails
    meta = {k: text(v) for k, v in (graph.metadata or {}).items()}
    print(f"{args.graph}: {len(graph.nodes)} nodes, {len(graph.edges)} edges" +
          (f"; metadata {meta}" if meta else ""))
    print("\n".join(describe(graph)))
    print("  edges: " + ", ".join(f"{text(a)} -> {text(b)}" for a, b in graph.edges))
    net = read_net(graph, args.dt_ms, args.time_unit, args.integrator, args.reset)   # refusal: exit 2
    print(f"imports at dt {args.dt_ms:g} ms, time constants in {args.time_unit}: {len(net.layers)} layers "
          f"({', '.join(layer.name for layer in net.layers)}), input {'x'.join(map(str, net.input_shape))}")
    for i, layer in enumerate(net.layers):
        nrn = layer.neuron
        if nrn is not None:
            extra = f", current decay {nrn.i_decay:.6g}/step" if nrn.i_decay is not None else ""
            thr = f"threshold {layer.threshold:.9g}, reset {nrn.reset} to {nrn.v_reset:g}" if layer.spiking else \
                "never fires"
            print(f"  {layer.name}: membrane decay {nrn.v_decay:.6g}/step to {nrn.v_leak:g}{extra}; {thr}")
        for line in _layer_notes(net, i, args.dt_ms):
            print(f"      {line}")
    return 0


def _layer_notes(net, i: int, dt_ms: float) -> list[str]:
    """What ``info`` adds under a layer: the layers whose earlier spikes reach it, and how NEST builds it."""
    from hippocam.backends.nest.extension import cells_need
    from hippocam.event_models import pynn as pynn_net
    from hippocam.event_models.snn.ops import chain_delay
    layer, notes = net.layers[i], []
    for src, chain in layer.inputs:
        if src >= i:
            steps = chain_delay(chain)
            notes.append(f"recurrent weights from {net.layers[src].name}: its spikes of {steps} step"
                         f"{'s' if steps > 1 else ''} before")
    try:
        cells = pynn_net.layer_cells(layer, f"L{i}", int(np.prod(layer.shape)), pynn_net.RunParams(timestep_ms=dt_ms))
    except InputError as err:
        return notes + [f"on the PyNN backends: refused ({err})"]
    if cells_need(cells, dt_ms):
        notes.append("on nest: hippocam's own cell model (NEST's cells give it only to rounding, or cannot), "
                     "compiled on first use")
    return notes


# ------------------------------------------------------------------------------------------------- parser
def _graph_options(p, dt_required: bool) -> None:
    p.add_argument("graph", help="a .nir file (HDF5, as nir.write saves it)")
    p.add_argument("--dt-ms", type=float, required=dt_required, default=None if dt_required else 1.0,
                   help="the simulation step in ms (snnTorch: the step its betas were made for, e.g. 0.1 ms for "
                        "tau = 1e-4 s / (1 - beta); Norse: its dt, 1 ms by default)")
    p.add_argument("--time-unit", choices=("s", "ms", "us"), required=dt_required, default=None if dt_required
                   else "ms", help="the unit of the graph's time constants (snnTorch, Norse, Sinabs write seconds)")
    p.add_argument("--reset", choices=RESETS, default=None,
                   help="value (NIR's reset, the default) or subtract (snnTorch's 'subtract', Sinabs' default)")
    p.add_argument("--integrator", choices=("euler", "exact"), default="euler",
                   help="euler (what snnTorch and Norse compute; the default) or exact decays")


def register(subparsers) -> None:
    group = subparsers.add_parser("nir", help="run or inspect a NIR graph another framework exported").add_subparsers(
        dest="nir_command", required=True)
    r = group.add_parser("run", help="run a NIR graph on input trains; write every layer's spikes per step")
    _graph_options(r, dt_required=True)
    r.add_argument("--input", required=True, help=".npy shaped (steps, samples, *input shape): spikes 0/1 "
                   "(values other than 0/1 on refsim only)")
    r.add_argument("--backend", default="refsim", choices=BACKENDS,
                   help="refsim (the reference simulator) or a PyNN backend that streams samples: %(choices)s "
                        "(default: %(default)s)")
    r.add_argument("--out", required=True, help="the .npz to write: spikes/NAME, v/NAME, v_final/NAME per node")
    r.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    r.set_defaults(func=cmd_run)
    i = group.add_parser("info", help="the graph's nodes, shapes, parameters, what each becomes, why refused")
    _graph_options(i, dt_required=False)
    i.set_defaults(func=cmd_info)
