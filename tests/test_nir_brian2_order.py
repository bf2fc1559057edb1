"""Why Brian2 parts from refsim on an IF CNN whose weights are tenths (docs/event_pynn.md, "Summation order"): Brian2
holds volts (w mV becomes w * 1e-3 V) and adds each synapse's weight to v in turn, the inhibitory pathway first
(``np.add.at`` in the order of its spike queue); refsim adds a step's summed input in mV. Sums of tenths that are
exactly the threshold in decimal round to either side of it. Emulating Brian2's arithmetic in numpy gives
Brian2's spikes exactly, and every cell where the two first part holds exactly the threshold in decimal."""
import numpy as np
import pytest

from hippocam.backends.graph import split_by_sign
from hippocam.event_models.data import encodings
from hippocam.event_models.nir import reader
from hippocam.event_models.snn.connectivity import layer_matrices
from hippocam.experiments import nir_cli

from test_nir_exact import if_cnn_graph

T, SAMPLES = 40, 20


def tenths_cnn():
    g = if_cnn_graph()
    for node in g.nodes.values():
        if hasattr(node, "weight"):
            node.weight = np.round(node.weight, 1)
    return reader.read(g, dt_ms=1.0, time_unit="ms", levels=16)


def brian2_arithmetic(m, x, theta_mV):
    """The first layer (input-driven, no bias) as Brian2 computes it: per step, each pathway in the order Brian2
    runs them (by name: ``synapses_1_pre``, the inhibitory one made second, before ``synapses_pre``), each
    spiking source in index order, a source's synapses in the order they were made, v += w * 1e-3 in volts;
    then v >= theta fires and resets to 0."""
    coo = m.tocoo()
    pre, post, w = coo.col, coo.row, coo.data
    pathways = [idx for _, idx in split_by_sign(type("S", (), {"weight_mV": w})())][::-1]
    out = np.zeros(x.shape[:2] + (m.shape[0],), np.uint8)
    for s in range(x.shape[1]):
        v = np.zeros(m.shape[0])
        for t in range(x.shape[0]):
            for idx in pathways:
                sel = np.flatnonzero(x[t, s][pre[idx]] > 0)
                sel = sel[np.lexsort((sel, pre[idx][sel]))]
                np.add.at(v, post[idx][sel], w[idx][sel] * 1e-3)
            fired = v >= theta_mV * 1e-3
            out[t, s, fired] = 1
            v[fired] = 0.0
    return out


@pytest.mark.slow
def test_brian2s_own_arithmetic_gives_its_spikes_and_every_parting_is_an_exact_tie():
    net = tenths_cnn()
    trains = encodings.spread(np.random.default_rng(1).integers(6, 17, (SAMPLES, 1, 8, 8)), T, 16)
    ref = nir_cli.run_refsim(net, trains.astype(float))["spikes/if1"].reshape(T, SAMPLES, -1)
    b2 = nir_cli.run_backend(net, trains.astype(float), "brian2", 1.0)["spikes/if1"].reshape(T, SAMPLES, -1)
    (m,) = layer_matrices(net, 0).values()
    x = trains.reshape(T, SAMPLES, -1)
    np.testing.assert_array_equal(brian2_arithmetic(m, x, float(np.nextafter(1.0, 2.0))), b2)
    differ = ref != b2
    assert differ.sum() > 0
    tenths = np.rint(m.toarray() * 10).astype(np.int64)      # the weights in exact decimal
    for s in range(SAMPLES):          # on the history both still share, the membrane where they first part
        v, parted = np.zeros(m.shape[0], np.int64), np.zeros(m.shape[0], bool)
        for t in range(T):
            v += tenths @ x[t, s].astype(np.int64)
            first = differ[t, s] & ~parted
            assert np.all(v[first] == 10), (s, t)           # 1.0 mV: the threshold, exactly
            parted |= differ[t, s]
            v[ref[t, s] > 0] = 0
