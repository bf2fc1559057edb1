"""A trained network as plain numpy layers, and its integer-activation ("source") forward pass.

Units: every spiking layer's output is an integer spike count k in 0..D (D = ``Net.levels``) per sample, standing
for the rate k/D spikes per time step. A layer's input in count space is ``I = sum_chains chain(k_src) + D * bias``
and its output ``k = clip(floor((I + theta/2) / theta), 0, D)`` -- the quantised clip-floor-shift activation
(QCFS) with D levels, which an integrate-and-fire neuron with threshold theta, initial membrane theta/2 and reset by
subtraction reproduces (``refsim``). The last layer is a non-spiking read-out: its count-space input ``I`` is the
logits (times D). Weights are plain numpy arrays so other tools (NIR, PyNN builders) can use them directly.

A layer's inputs are chains: sequences of linear ops (``ops``: ``Conv``, ``Dense``, ``SumPool``, ``AvgPool``,
``Flatten``, ``Scale``, ``Delay``) from a source layer or the input (index -1).
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hippocam import files
from hippocam.errors import InputError

# chain_delay is re-exported: the PyNN conversion imports it from here
from .ops import WEIGHTED, Op, apply_chain, apply_chain_to, chain_delay, from_record, op_array, to_record  # noqa: F401

FORMAT = "hippocam-event-net"
VERSION = 1


@dataclass(frozen=True)
class Neuron:
    """Discrete-time dynamics of an imported layer (``nir.reader``), per step of the simulation:

        i[t] = i_decay * i[t-1] + input[t]                      (only with a synaptic current, ``i_decay`` set)
        v[t] = v_leak + v_decay * (v[t-1] - v_leak) + drive[t]  (drive = i[t], or input[t] without a current)

    where input[t] = the chains on the spikes of step t (weights already scaled to per-step jumps) + the bias.
    A spiking layer fires when v >= threshold (``strict``: v > threshold, NIR's rule as snnTorch and Norse apply
    it) and resets to ``v_reset`` (reset="value") or subtracts the threshold (reset="subtract"); v (and i) start
    at ``v_init`` (and 0). Layers without one (the trained nets) are IF neurons whose reset and start the
    simulation parameters choose."""
    v_decay: float = 1.0
    v_leak: float = 0.0
    v_reset: float = 0.0
    v_init: float = 0.0
    reset: str = "value"
    i_decay: float | None = None
    strict: bool = False

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Layer:
    """A population: its input chains, per-channel bias (count space / D), threshold and output shape.
    ``snn_bias``: the bias the binary SNN uses instead, when calibrated (``calibrate.py``); None = ``bias``.
    ``neuron``: the dynamics of an imported layer (leak, synaptic current, reset); None = the IF neuron."""
    name: str
    inputs: tuple[tuple[int, tuple[Op, ...]], ...]
    bias: np.ndarray
    threshold: float
    shape: tuple[int, ...]
    spiking: bool = True
    snn_bias: np.ndarray | None = None
    neuron: Neuron | None = None


@dataclass(frozen=True)
class Net:
    """A trained integer-spike network. ``dataset``: how its inputs are made (see ``datasets.load_split``);
    ``snn``: the SNN semantics its weights were fine-tuned for (``finetune``: reset, v_reset, v_init, steps), empty
    for a net trained in count space (its SNN resets by subtraction)."""
    name: str
    input_shape: tuple[int, ...]
    levels: int
    layers: tuple[Layer, ...]
    dataset: dict = field(default_factory=dict)
    classes: tuple[str, ...] = ()
    snn: dict = field(default_factory=dict)

    @property
    def n_params(self) -> int:
        """Weights and biases (pooling, flatten and shortcut scales are not parameters)."""
        n = 0
        for layer in self.layers:
            n += layer.bias.size
            n += sum(op.weight.size for _, chain in layer.inputs for op in chain if isinstance(op, WEIGHTED))
        return n


def bias_term(layer: Layer, snn: bool = False) -> np.ndarray:
    """The layer's bias (the SNN's calibrated one if ``snn`` and there is one) broadcast to (1, *shape)."""
    b = np.asarray(layer.snn_bias if snn and layer.snn_bias is not None else layer.bias, float)
    return b.reshape((1, -1) + (1,) * (len(layer.shape) - 1)) if b.ndim == 1 else b[None]


def layer_input(layer: Layer, acts: list, x) -> np.ndarray:
    """Sum of the layer's chains applied to their sources (index -1 = the net's input ``x``)."""
    total = 0.0
    for src, chain in layer.inputs:
        total = total + apply_chain_to(chain, x if src < 0 else acts[src], layer.shape)
    return total


def quantise(current: np.ndarray, threshold: float, levels: int) -> np.ndarray:
    """Integer activation: clip(floor((I + theta/2) / theta), 0, D). (The same arithmetic as ``refsim``.)"""
    v = threshold / 2 + current
    return np.clip(np.floor(v / threshold), 0, levels)


def default_batch(net: Net) -> int:
    """Samples per chunk: bounded so that the im2col copies of big inputs (3-D voxels) stay small in memory."""
    return int(np.clip(500_000 // max(1, int(np.prod(net.input_shape))), 1, 128))


def forward(net: Net, counts: np.ndarray, batch: int | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
    """The source network on input counts (B, *input_shape): (logits in count space (B, classes), per-layer
    output counts (spiking layers) or read-out inputs)."""
    counts = np.asarray(counts, float)
    check_input(net, counts)
    batch = batch or default_batch(net)
    outs = [[] for _ in net.layers]
    for s in range(0, len(counts), batch):
        x = counts[s:s + batch]
        acts = []
        for layer in net.layers:
            cur = layer_input(layer, acts, x) + net.levels * bias_term(layer)
            acts.append(quantise(cur, layer.threshold, net.levels) if layer.spiking else cur)
        for o, a in zip(outs, acts):
            o.append(a)
    outs = [np.concatenate(o) for o in outs]
    return outs[-1], outs


def predict(net: Net, counts: np.ndarray) -> np.ndarray:
    return np.argmax(forward(net, counts)[0], axis=1)


def check_input(net: Net, counts: np.ndarray) -> None:
    if counts.ndim != len(net.input_shape) + 1 or tuple(counts.shape[1:]) != tuple(net.input_shape):
        raise InputError(f"{net.name} takes inputs of shape (N, {', '.join(map(str, net.input_shape))}), got "
                         f"{counts.shape}")


# ------------------------------------------------------------------------------------------ save / load
def _op_spec(op: Op, key: str, arrays: dict) -> dict:
    array = op_array(op)
    if array is not None:
        arrays[key] = np.asarray(array, np.float32)
    return to_record(op)


def save(net: Net, path) -> Path:
    """Write ``net`` to one ``.npz`` (float32 weights, a JSON description under ``spec``)."""
    arrays: dict = {}
    layers = []
    for i, layer in enumerate(net.layers):
        arrays[f"L{i}.bias"] = np.asarray(layer.bias, np.float32)
        if layer.snn_bias is not None:
            arrays[f"L{i}.snn_bias"] = np.asarray(layer.snn_bias, np.float32)
        layers.append({"name": layer.name, "threshold": float(layer.threshold), "shape": list(layer.shape),
                       "spiking": layer.spiking, "neuron": layer.neuron.as_dict() if layer.neuron else None,
                       "inputs": [{"source": src, "ops": [_op_spec(op, f"L{i}.in{j}.op{k}", arrays)
                                                           for k, op in enumerate(chain)]}
                                  for j, (src, chain) in enumerate(layer.inputs)]})
    spec = {"format": FORMAT, "version": VERSION, "name": net.name, "input_shape": list(net.input_shape),
            "levels": net.levels, "layers": layers, "dataset": net.dataset, "classes": list(net.classes)}
    if net.snn:
        spec["snn"] = dict(net.snn)
    path = Path(path)
    np.savez_compressed(path, spec=np.array(json.dumps(spec)), **arrays)
    return path


def load(path) -> Net:
    """Read a net written by ``save``; a file that is not one gives an InputError."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such model file")
    try:
        with np.load(path, allow_pickle=False) as z:
            spec = json.loads(str(z["spec"]))
            arrays = {k: z[k] for k in z.files if k != "spec"}
    except (KeyError, json.JSONDecodeError, *files.NUMPY_ERRORS) as err:
        raise InputError(f"{path}: not a hippocam event model ({err.__class__.__name__}); "
                         "give a .npz written by 'hippocam event train'") from None
    if spec.get("format") != FORMAT:
        raise InputError(f"{path}: not a hippocam event model (format {spec.get('format')!r})")
    if spec.get("version") != VERSION:
        raise InputError(f"{path}: model format version {spec.get('version')}; this hippocam reads {VERSION}")
    try:
        return _from_spec(spec, arrays)
    except InputError as err:
        raise InputError(f"{path}: {err}") from None
    except (KeyError, TypeError) as err:
        raise InputError(f"{path}: a damaged hippocam event model ({err.__class__.__name__} {err}); "
                         "write it again with 'hippocam event train'") from None


def _from_spec(spec: dict, arrays: dict) -> Net:
    layers = []
    for i, ls in enumerate(spec["layers"]):
        inputs = []
        for j, ins in enumerate(ls["inputs"]):
            chain = tuple(from_record(o, arrays.get(f"L{i}.in{j}.op{k}")) for k, o in enumerate(ins["ops"]))
            inputs.append((ins["source"], chain))
        snn_bias = arrays[f"L{i}.snn_bias"].astype(float) if f"L{i}.snn_bias" in arrays else None
        neuron = Neuron(**ls["neuron"]) if ls.get("neuron") else None
        layers.append(Layer(ls["name"], tuple(inputs), arrays[f"L{i}.bias"].astype(float), ls["threshold"],
                            tuple(ls["shape"]), ls["spiking"], snn_bias, neuron))
    return Net(spec["name"], tuple(spec["input_shape"]), spec["levels"], tuple(layers), spec.get("dataset", {}),
               tuple(spec.get("classes", ())), dict(spec.get("snn", {})))
