"""NIR graphs as other frameworks write them: imported, simulated by refsim as their equations say (checked
against loops written here from the frameworks' update rules), run on PyNN backends, and rejected clearly when
they hold what cannot be mapped."""
from pathlib import Path

import numpy as np
import pytest

from hippocam.backends.graph import Timing
from hippocam.errors import InputError
from hippocam.event_models.nir import reader
from hippocam.event_models import pynn as pynn_net
from hippocam.event_models.snn import refsim

nir = pytest.importorskip("nir")   # a default dependency: present wherever hippocam is installed

DT_S = 1e-3      # snnTorch and Norse write time constants in seconds


def snntorch_lif(beta, threshold=1.0, shape=(3,)):
    """snnTorch's Leaky as its NIR export writes it: tau = dt / (1 - beta), r = tau / dt, v_leak = 0."""
    tau = DT_S / (1 - beta)
    return nir.LIF(tau=np.full(shape, tau), r=np.full(shape, tau / DT_S), v_leak=np.zeros(shape),
                   v_threshold=np.full(shape, threshold), v_reset=np.zeros(shape))


def two_layer_lif_graph(w1, b1, w2, beta1=0.9, beta2=0.8):
    return nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([w1.shape[1]])}),
        "fc1": nir.Affine(weight=w1, bias=b1), "lif1": snntorch_lif(beta1, shape=(w1.shape[0],)),
        "fc2": nir.Linear(weight=w2), "lif2": snntorch_lif(beta2, shape=(w2.shape[0],)),
        "output": nir.Output(output_type={"output": np.array([w2.shape[0]])})},
        edges=[("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"), ("lif2", "output")])


def snntorch_loop(trains, w1, b1, w2, beta1=0.9, beta2=0.8):
    """snnTorch's discrete update, written out: mem = beta mem + W x (+ b); spike at mem > 1; reset to 0."""
    steps, batch = trains.shape[:2]
    m1, m2 = np.zeros((batch, len(w1))), np.zeros((batch, len(w2)))
    c1, c2 = np.zeros_like(m1), np.zeros_like(m2)
    for t in range(steps):
        m1 = beta1 * m1 + trains[t] @ w1.T + b1
        s1 = (m1 > 1.0).astype(float)
        m1 = np.where(s1 > 0, 0.0, m1)
        m2 = beta2 * m2 + s1 @ w2.T
        s2 = (m2 > 1.0).astype(float)
        m2 = np.where(s2 > 0, 0.0, m2)
        c1, c2 = c1 + s1, c2 + s2
    return c1, c2


@pytest.fixture
def lif_case():
    rng = np.random.default_rng(3)
    w1 = rng.normal(0.3, 0.4, (6, 5))
    b1 = rng.normal(0.05, 0.05, 6)
    w2 = rng.normal(0.4, 0.5, (3, 6))
    trains = (rng.random((20, 8, 5)) < 0.4).astype(np.uint8)
    return w1, b1, w2, trains


def test_an_snntorch_lif_graph_in_seconds_simulates_as_snntorch_does(lif_case):
    w1, b1, w2, trains = lif_case
    net = reader.read(two_layer_lif_graph(w1, b1, w2), dt_ms=1.0, time_unit="s")
    got = refsim.simulate(net, None, refsim.SimParams(steps=20), trains=trains)
    want1, want2 = snntorch_loop(trains, w1, b1, w2)
    np.testing.assert_array_equal(got.counts[0], want1)
    np.testing.assert_array_equal(got.counts[1], want2)
    assert want2.sum() > 0 and want1.sum() > 0
    # read with the wrong unit, the same graph leaks a thousand times too slowly: it must differ
    wrong = reader.read(two_layer_lif_graph(w1, b1, w2), dt_ms=1.0, time_unit="ms", integrator="exact")
    assert not np.array_equal(refsim.simulate(wrong, None, refsim.SimParams(steps=20), trains=trains).counts[0],
                              want1)


def test_a_cuba_lif_graph_of_snntorchs_synaptic_follows_its_two_equations():
    """snnTorch's Synaptic as its export writes it, from i = alpha i + W x; v = beta v + i (tau_syn = dt/(1-alpha),
    w_in = tau_syn/dt, tau_mem = dt/(1-beta), r = tau_mem/dt)."""
    rng = np.random.default_rng(5)
    alpha, beta = 0.7, 0.85
    w = rng.normal(0.3, 0.3, (4, 3))
    t_syn, t_mem = DT_S / (1 - alpha), DT_S / (1 - beta)
    graph = nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([3])}), "fc": nir.Linear(weight=w),
        "cuba": nir.CubaLIF(tau_syn=np.full(4, t_syn), tau_mem=np.full(4, t_mem), r=np.full(4, t_mem / DT_S),
                            v_leak=np.zeros(4), v_threshold=np.ones(4), v_reset=np.zeros(4),
                            w_in=np.full(4, t_syn / DT_S)),
        "output": nir.Output(output_type={"output": np.array([4])})},
        edges=[("input", "fc"), ("fc", "cuba"), ("cuba", "output")])
    net = reader.read(graph, dt_ms=1.0, time_unit="s")
    trains = (rng.random((25, 6, 3)) < 0.5).astype(np.uint8)
    i, v, count = np.zeros((6, 4)), np.zeros((6, 4)), np.zeros((6, 4))
    for t in range(25):
        i = alpha * i + trains[t] @ w.T
        v = beta * v + i
        s = v > 1.0
        v[s] = 0.0
        count += s
    got = refsim.simulate(net, None, refsim.SimParams(steps=25), trains=trains)
    np.testing.assert_allclose(got.counts[0], count)
    assert count.sum() > 0


def test_if_conv1d_and_a_delay_shift_the_spikes_by_the_delay():
    w = np.array([[[1.0, 0.0, 0.0]]])              # a 1-D conv that copies its input (no padding): 5 -> 3
    graph = nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([1, 5])}),
        "conv": nir.Conv1d(input_shape=5, weight=w, stride=1, padding=0, dilation=1, groups=1, bias=np.zeros(1)),
        "if1": nir.IF(r=np.full((1, 3), 1000.0), v_threshold=np.full((1, 3), 0.5), v_reset=np.zeros((1, 3))),
        "delay": nir.Delay(delay=np.full((1, 3), 0.003)), "flat": nir.Flatten(input_type={"input": np.array([1, 3])}, start_dim=0),
        "fc": nir.Linear(weight=np.eye(3)),
        "if2": nir.IF(r=np.full(3, 1000.0), v_threshold=np.full(3, 0.5), v_reset=np.zeros(3)),
        "output": nir.Output(output_type={"output": np.array([3])})},
        edges=[("input", "conv"), ("conv", "if1"), ("if1", "delay"), ("delay", "flat"), ("flat", "fc"),
               ("fc", "if2"), ("if2", "output")])
    net = reader.read(graph, dt_ms=1.0, time_unit="s")
    trains = np.zeros((10, 1, 1, 5), np.uint8)
    trains[2, 0, 0, 1] = 1                          # input 1 -> conv output 1 at step 2 -> if2 at step 5
    got = refsim.simulate(net, None, refsim.SimParams(steps=10), trains=trains, trace=1)
    if2_steps = np.flatnonzero(got.trace[1][:, 0].reshape(10, -1)[:, 1])
    assert list(if2_steps) == [5]
    short = refsim.simulate(net, None, refsim.SimParams(steps=5), trains=trains[:5])
    assert short.counts[1].sum() == 0                # the delayed spike has not arrived yet


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["brian2", "nest"])
def test_an_imported_lif_graph_on_a_backend_matches_refsim(lif_case, backend):
    w1, b1, w2, _ = lif_case
    net = reader.read(two_layer_lif_graph(w1, b1, w2), dt_ms=1.0, time_unit="s", levels=4)
    counts = np.random.default_rng(7).integers(0, 5, (5, 5))
    params = pynn_net.RunParams(steps=12)
    got = pynn_net.simulate(net, counts, backend, params)
    ref = refsim.simulate(net, counts, refsim.SimParams(steps=12))
    np.testing.assert_array_equal(got.counts[0], ref.counts[0])
    np.testing.assert_array_equal(got.counts[1], ref.counts[1])
    assert ref.counts[0].sum() > 0


def graph_with(node, kind="lif"):
    return nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([2])}), "fc": nir.Linear(
        weight=np.ones((2, 2))), kind: node, "output": nir.Output(output_type={"output": np.array([2])})},
        edges=[("input", "fc"), ("fc", kind), (kind, "output")])


@pytest.mark.parametrize("graph, message", [
    (lambda: graph_with(nir.Threshold(threshold=np.ones(2)), "thr"), "node thr: Threshold is not supported"),
    (lambda: graph_with(nir.LIF(tau=np.array([1e-3, 2e-3]), r=np.ones(2), v_leak=np.zeros(2),
                                v_threshold=np.ones(2), v_reset=np.zeros(2))), "node lif: tau differs"),
    (lambda: graph_with(nir.LIF(tau=np.full(2, 1e-4), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.ones(2),
                                v_reset=np.zeros(2))), "node lif: tau = 0.0001 is not longer than the step"),
    (lambda: nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([2])}),
                                 "a": nir.IF(r=np.ones(2), v_threshold=np.ones(2), v_reset=np.zeros(2)),
                                 "w1": nir.Linear(weight=np.eye(2)), "w2": nir.Linear(weight=np.eye(2)),
                                 "b": nir.IF(r=np.ones(2), v_threshold=np.ones(2), v_reset=np.zeros(2)),
                                 "output": nir.Output(output_type={"output": np.array([2])})},
                          edges=[("input", "a"), ("a", "w1"), ("w1", "w2"), ("w2", "w1"), ("w2", "b"),
                                 ("b", "output")], type_check=False),
     "a loop of weight nodes without a neuron in it (w1 -> w2)"),
])
def test_unsupported_graphs_are_rejected_naming_the_node(graph, message):
    with pytest.raises(InputError) as err:
        reader.read(graph(), dt_ms=1.0, time_unit="s")
    assert message in str(err.value)


def test_bad_arguments_and_files(tmp_path):
    g = graph_with(snntorch_lif(0.9, shape=(2,)))
    with pytest.raises(InputError, match="unknown time unit 'min'"):
        reader.read(g, time_unit="min")
    with pytest.raises(InputError, match="unknown integrator"):
        reader.read(g, integrator="rk4")
    with pytest.raises(InputError, match="no such NIR file"):
        reader.read(tmp_path / "missing.nir")
    bad = tmp_path / "bad.nir"
    bad.write_bytes(b"not hdf5")
    with pytest.raises(InputError, match="not a readable NIR file"):
        reader.read(bad)


@pytest.mark.parametrize("node_type, why", [(b"Bogus", "AssertionError"), (b"Affine", "TypeError")])
def test_an_hdf5_file_with_a_broken_graph_is_not_a_readable_nir_file(tmp_path, node_type, why):
    """An unknown node type, or a node without its weights, as a damaged or foreign file has them."""
    import h5py
    bad = tmp_path / "bad.nir"
    with h5py.File(bad, "w") as f:
        g = f.create_group("node")
        g.create_dataset("type", data=b"NIRGraph")
        g.create_group("nodes").create_group("a").create_dataset("type", data=node_type)
        g.create_group("edges")
    with pytest.raises(InputError, match=f"not a readable NIR file \\({why}"):
        reader.read(bad)


def cuba_graph(w1, b1, w2, alpha=0.7, beta=0.85, readout="CubaLI"):
    """snnTorch's Synaptic (as its export writes it) into a read-out that integrates: CubaLI or LI."""
    t_syn, t_mem = DT_S / (1 - alpha), DT_S / (1 - beta)
    n, k = len(w1), len(w2)
    cuba = dict(tau_syn=np.full(n, t_syn), tau_mem=np.full(n, t_mem), r=np.full(n, t_mem / DT_S),
                v_leak=np.zeros(n), w_in=np.full(n, t_syn / DT_S))
    if readout == "CubaLI":
        out = nir.CubaLI(tau_syn=np.full(k, 0.8 * t_syn), tau_mem=np.full(k, t_mem), r=np.full(k, t_mem / DT_S),
                         v_leak=np.zeros(k), w_in=np.full(k, 0.8 * t_syn / DT_S))
    else:
        out = nir.LI(tau=np.full(k, 0.5 * t_mem), r=np.full(k, 0.5 * t_mem / DT_S), v_leak=np.full(k, 0.2))
    return nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([w1.shape[1]])}), "fc1": nir.Affine(weight=w1, bias=b1),
        "cuba": nir.CubaLIF(v_threshold=np.ones(n), v_reset=np.zeros(n), **cuba), "fc2": nir.Linear(weight=w2),
        "out": out, "output": nir.Output(output_type={"output": np.array([k])})},
        edges=[("input", "fc1"), ("fc1", "cuba"), ("cuba", "fc2"), ("fc2", "out"), ("out", "output")])


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["brian2", "nest"])
@pytest.mark.parametrize("readout", ["CubaLI", "LI"])
def test_a_synaptic_current_and_a_leaky_readout_on_a_backend_match_refsim(lif_case, backend, readout):
    """CubaLIF layers as IF_curr_exp cells, integrated exactly: spike for spike, and the leaky read-out's
    membranes (the logits) read in the step refsim ends in."""
    w1, b1, w2, _ = lif_case
    net = reader.read(cuba_graph(w1, b1, w2, readout=readout), dt_ms=1.0, time_unit="s", levels=4)
    counts = np.random.default_rng(8).integers(0, 5, (6, 5))
    got = pynn_net.simulate(net, counts, backend, pynn_net.RunParams(steps=12))
    ref = refsim.simulate(net, counts, refsim.SimParams(steps=12))
    assert 0 < ref.counts[0].sum() < ref.counts[0].size * 12
    np.testing.assert_array_equal(got.counts[0], ref.counts[0])
    np.testing.assert_allclose(got.logits, ref.logits, rtol=1e-6, atol=1e-6)


def test_equal_current_and_membrane_time_constants_are_refused_on_pynn():
    g = graph_with(nir.CubaLIF(tau_syn=np.full(2, 5e-3), tau_mem=np.full(2, 5e-3), r=np.ones(2), v_leak=np.zeros(2),
                               v_threshold=np.ones(2), v_reset=np.zeros(2), w_in=np.ones(2)), "cuba")
    net = reader.read(g, dt_ms=1.0, time_unit="s")
    with pytest.raises(InputError, match="layer cuba: the current and the membrane decay alike"):
        pynn_net.to_graph(net, pynn_net.RunParams(steps=4), Timing(1.0))


def test_our_own_export_comes_back_through_the_importer(tmp_path):
    from hippocam.event_models.nir import export as nirio
    from hippocam.event_models import zoo
    net, _ = zoo.find_model("digits-cnn")
    path = nirio.write(net, tmp_path / "d.nir")
    back = reader.read(path)
    assert all(layer.neuron is None for layer in back.layers)
    x = np.random.default_rng(2).integers(0, net.levels + 1, (4,) + tuple(net.input_shape))
    params = refsim.SimParams(steps=8)
    np.testing.assert_allclose(refsim.simulate(back, x, params).logits, refsim.simulate(net, x, params).logits,
                               rtol=1e-5, atol=1e-4)


def test_a_norse_lif_box_graph_follows_norses_update():
    """Norse's LIFBox exports tau = 1/tau_mem_inv (s) and r = 1; its step is v += dt/tau (v_leak - v + W x)."""
    rng = np.random.default_rng(11)
    tau, v_leak, theta = 5e-3, 0.1, 0.3
    w = rng.normal(1.5, 1.0, (4, 3))
    graph = nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([3])}), "fc": nir.Linear(weight=w),
        "lif": nir.LIF(tau=np.full(4, tau), r=np.ones(4), v_leak=np.full(4, v_leak), v_threshold=np.full(4, theta),
                       v_reset=np.zeros(4)),
        "output": nir.Output(output_type={"output": np.array([4])})},
        edges=[("input", "fc"), ("fc", "lif"), ("lif", "output")])
    net = reader.read(graph, dt_ms=1.0, time_unit="s")
    trains = (rng.random((30, 5, 3)) < 0.5).astype(np.uint8)
    v, count = np.full((5, 4), v_leak), np.zeros((5, 4))
    for t in range(30):
        v = v + DT_S / tau * (v_leak - v + trains[t] @ w.T)
        s = v > theta
        v[s] = 0.0
        count += s
    got = refsim.simulate(net, None, refsim.SimParams(steps=30), trains=trains)
    np.testing.assert_allclose(got.counts[0], count)
    assert 0 < count.sum() < count.size * 30


def test_a_membrane_exactly_at_threshold_does_not_fire_as_in_snntorch():
    g = graph_with(nir.IF(r=np.full(2, 1000.0), v_threshold=np.ones(2), v_reset=np.zeros(2)), "if")
    net = reader.read(g, dt_ms=1.0, time_unit="s")     # each input spike moves both cells by 1 (= threshold)
    trains = np.zeros((2, 2, 2), np.uint8)
    trains[0, 0, 0] = 1                                     # sample 0: one spike: v = 1, not above the threshold
    trains[0, 1, :] = 1                                     # sample 1: two spikes: v = 2 > 1
    got = refsim.simulate(net, None, refsim.SimParams(steps=2), trains=trains)
    assert got.counts[0].tolist() == [[0.0, 0.0], [1.0, 1.0]]


def delayed_graph(w1, b1, w2, into_readout: bool):
    """input -> Delay 2 ms -> Affine -> LIF -> (Delay 3 ms) -> Linear -> LIF or LI: delays before a spiking layer
    and, with ``into_readout``, before the read-out."""
    n, k = len(w1), len(w2)
    nodes = {"input": nir.Input(input_type={"input": np.array([w1.shape[1]])}),
             "d1": nir.Delay(delay=np.full(w1.shape[1], 2 * DT_S)), "fc1": nir.Affine(weight=w1, bias=b1),
             "lif1": snntorch_lif(0.9, shape=(n,)), "d2": nir.Delay(delay=np.full(n, 3 * DT_S)),
             "fc2": nir.Linear(weight=w2),
             "out": nir.LI(tau=np.full(k, 5 * DT_S), r=np.full(k, 5.0), v_leak=np.zeros(k)) if into_readout
             else snntorch_lif(0.8, shape=(k,)),
             "output": nir.Output(output_type={"output": np.array([k])})}
    return nir.NIRGraph(nodes=nodes, edges=[("input", "d1"), ("d1", "fc1"), ("fc1", "lif1"), ("lif1", "d2"),
                                            ("d2", "fc2"), ("fc2", "out"), ("out", "output")])


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["brian2", "nest"])
@pytest.mark.parametrize("into_readout", [False, True])
def test_delays_on_a_backend_match_refsim(lif_case, backend, into_readout):
    """refsim drops a delayed spike that would arrive after T steps; on a backend it arrives, after the layer's
    window has been closed (or after the read-out was read)."""
    w1, b1, w2, _ = lif_case
    net = reader.read(delayed_graph(w1, b1, w2, into_readout), dt_ms=1.0, time_unit="s", levels=4)
    counts = np.random.default_rng(9).integers(0, 5, (5, 5))
    got = pynn_net.simulate(net, counts, backend, pynn_net.RunParams(steps=10))
    ref = refsim.simulate(net, counts, refsim.SimParams(steps=10))
    short = refsim.simulate(net, counts, refsim.SimParams(steps=13))
    assert not np.array_equal(short.logits, ref.logits)       # the late spikes matter: dropping them is checked
    for mine, theirs in zip(got.counts, ref.counts):
        if theirs is not None:
            assert theirs.sum() > 0
            np.testing.assert_array_equal(mine, theirs)
    np.testing.assert_allclose(got.logits, ref.logits, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("graph, message", [
    (lambda: nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([2])}),
                                 "fc": nir.Linear(weight=np.eye(2)),
                                 "if": nir.IF(r=np.ones(2), v_threshold=np.ones(2), v_reset=np.zeros(2)),
                                 "post": nir.Linear(weight=np.eye(2)),
                                 "output": nir.Output(output_type={"output": np.array([2])})},
                          edges=[("input", "fc"), ("fc", "if"), ("if", "post"), ("post", "output")]),
     "node post feeds the Output directly"),
    (lambda: nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([2])}),
                                 "fc": nir.Linear(weight=np.eye(2)),
                                 "li": nir.LI(tau=np.full(2, 5e-3), r=np.ones(2), v_leak=np.zeros(2)),
                                 "fc2": nir.Linear(weight=np.eye(2)),
                                 "if": nir.IF(r=np.ones(2), v_threshold=np.ones(2), v_reset=np.zeros(2)),
                                 "output": nir.Output(output_type={"output": np.array([2])})},
                          edges=[("input", "fc"), ("fc", "li"), ("li", "fc2"), ("fc2", "if"), ("if", "output")]),
     "node li: a non-spiking layer (LI) feeds if"),
    (lambda: nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([3])}),
                                 "fc": nir.Linear(weight=np.ones((3, 3))),
                                 "if": nir.IF(r=np.ones(2), v_threshold=np.ones(2), v_reset=np.zeros(2)),
                                 "output": nir.Output(output_type={"output": np.array([2])})},
                          edges=[("input", "fc"), ("fc", "if"), ("if", "output")], type_check=False),
     "the weights into if give 3 values for its 2 neurons"),
])
def test_graphs_that_would_compute_nonsense_are_rejected(graph, message):
    with pytest.raises(InputError) as err:
        reader.read(graph(), dt_ms=1.0, time_unit="s")
    assert message in str(err.value)


# -- a file snnTorch itself wrote (its own spikes: tests/test_nir_frameworks.py) ------------------------------------
SNNTORCH_NIR = Path(__file__).parent / "data" / "snntorch_lif_zero.nir"


def test_the_wrong_step_for_an_snntorch_file_is_refused_or_changes_the_answer():
    """snnTorch's exporter writes tau = 1e-4 s / (1 - beta): one of its steps is 0.1 ms. At 1 ms the Euler step is
    longer than tau and refused; at 0.05 ms it is another network."""
    f = np.load(SNNTORCH_NIR.with_suffix(".npz"))
    with pytest.raises(InputError, match="not longer than the step"):
        reader.read(SNNTORCH_NIR, dt_ms=1.0, time_unit="s")
    for dt_ms, same in ((0.1, True), (0.05, False)):
        net = reader.read(SNNTORCH_NIR, dt_ms=dt_ms, time_unit="s")
        got = refsim.simulate(net, None, refsim.SimParams(steps=f["input"].shape[0]), trace=f["input"].shape[1],
                              trains=f["input"].astype(float))
        assert np.array_equal(got.trace[0], f["spikes/1"]) == same


def _biased_then_linear_graph():
    """input -> Affine (with a bias) -> Linear -> IF: the bias is not on the last node before the neuron."""
    import nir
    w = np.eye(2, dtype=np.float32)
    nodes = {"input": nir.Input(input_type=np.array([2])),
             "aff": nir.Affine(weight=w, bias=np.ones(2, np.float32)),
             "lin": nir.Linear(weight=w),
             "if": nir.IF(r=np.ones(2), v_threshold=np.ones(2)),
             "output": nir.Output(output_type=np.array([2]))}
    edges = [("input", "aff"), ("aff", "lin"), ("lin", "if"), ("if", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges)


def test_a_bias_before_another_weight_node_is_refused_naming_it():
    with pytest.raises(InputError, match="node aff: a bias must sit on the last weight node before if"):
        reader.read(_biased_then_linear_graph(), dt_ms=1.0, time_unit="ms")
    from hippocam.event_models.nir import load
    with pytest.raises(InputError, match="node aff: a bias is supported only on the last node before a neuron"):
        load.from_nir(_biased_then_linear_graph())
