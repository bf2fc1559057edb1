"""Write tests/data/snntorch_leaky.nir and snntorch_leaky.npz with snnTorch itself (needs snntorch and torch).

    python tests/data/make_snntorch_fixture.py

A two-layer snnTorch net (Linear, Leaky, Linear, Leaky; reset to zero, no reset delay: the reset NIR's LIF
describes) exported by ``snntorch.export_nir.export_to_nir``, and the spike counts snnTorch's own forward pass
gives per layer on seeded random input spike trains. The test (tests/test_nir_import.py) imports the file and
checks the imported net against those counts, so CI checks a file snnTorch really wrote without installing it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
STEPS, BATCH, N_IN, N_HID, N_OUT = 24, 16, 6, 5, 3


def build():
    import snntorch as snn
    import torch
    torch.manual_seed(0)

    def leaky(n, beta, output=False):   # per-neuron parameters: the exporter needs shaped arrays
        return snn.Leaky(beta=torch.full((n,), beta), threshold=torch.ones(n), init_hidden=True,
                         reset_mechanism="zero", reset_delay=False, output=output)

    net = torch.nn.Sequential(torch.nn.Linear(N_IN, N_HID), leaky(N_HID, 0.9), torch.nn.Linear(N_HID, N_OUT),
                              leaky(N_OUT, 0.8, output=True))
    with torch.no_grad():
        net[0].weight.mul_(2.0)
        net[2].weight.mul_(2.0)
    return net


def snntorch_counts(net, trains: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spike counts per sample of the hidden and the output layer, from snnTorch's forward pass."""
    import snntorch.utils
    import torch
    hidden = []
    hook = net[1].register_forward_hook(lambda m, i, o: hidden.append(o.detach().numpy().copy()))
    snntorch.utils.reset(net)
    out = []
    with torch.no_grad():
        for t in range(trains.shape[0]):
            spk, _ = net(torch.tensor(trains[t], dtype=torch.float32))
            out.append(spk.numpy().copy())
    hook.remove()
    return np.sum(hidden, axis=0), np.sum(out, axis=0)


def main() -> None:
    import nir
    import snntorch
    import torch
    from snntorch.export_nir import export_to_nir
    net = build()
    graph = export_to_nir(net, torch.zeros(N_IN))
    nir.write(str(HERE / "snntorch_leaky.nir"), graph)
    trains = (np.random.default_rng(1).random((STEPS, BATCH, N_IN)) < 0.4).astype(np.float32)
    hidden, out = snntorch_counts(net, trains)
    np.savez_compressed(HERE / "snntorch_leaky.npz", trains=trains, hidden=hidden, out=out,
                        snntorch_version=snntorch.__version__, dt_s=1e-4)
    print(f"written with snnTorch {snntorch.__version__}: hidden spikes {hidden.sum():.0f}, output {out.sum():.0f}")


if __name__ == "__main__":
    main()
