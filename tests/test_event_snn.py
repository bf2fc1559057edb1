"""The reference SNN against closed forms and the integer-activation network, the shipped models against the
issue's targets, metrics by hand, and the NIR export round trip."""
import json

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from hippocam.errors import InputError
from hippocam.event_models.data import datasets
from hippocam.event_models.snn import connectivity, metrics, refsim
from hippocam.event_models.nir import export as nirio, load as nirload
from hippocam.event_models.nir.nodes import text as nir_text
from hippocam.event_models import zoo
from hippocam.event_models.snn.net import Layer, Net, forward, load, save
from hippocam.event_models.snn.ops import (WEIGHTED, AvgPool, Conv, Delay, Dense, Flatten, Scale, SumPool, apply_chain,
                                           apply_op, chain_delay, conv)


@pytest.fixture(autouse=True)
def cache_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("HIPPOCAM_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def nir():
    return pytest.importorskip("nir")


def dense_net(w, b, theta, levels, readout=None):
    """input (n,) -> IF layer (dense w, bias b, threshold theta) [-> read-out]."""
    w = np.asarray(w, float)
    layers = [Layer("h", ((-1, (Dense(w),)),), np.asarray(b, float), theta, (w.shape[0],))]
    if readout is not None:
        layers.append(Layer("out", ((0, (Dense(np.asarray(readout, float)),)),), np.zeros(len(readout)),
                            1.0, (len(readout),), spiking=False))
    return Net("hand", (w.shape[1],), levels, tuple(layers))


# ------------------------------------------------------------------------------------- exact where it must be
@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10**6), levels=st.sampled_from([2, 4, 8]), theta=st.floats(0.3, 3.0))
def test_binary_if_with_constant_current_over_d_steps_is_the_integer_activation(seed, levels, theta):
    rng = np.random.default_rng(seed)
    w, b = rng.normal(0, 1, (6, 5)), rng.normal(0, 0.3, 6)
    k = rng.integers(0, levels + 1, (20, 5))
    net = dense_net(w, b, theta, levels)
    sim = refsim.simulate(net, k, refsim.SimParams(steps=levels, input="current"))
    z = (k / levels) @ w.T + b                                          # the value per step
    expected = np.clip(np.floor(levels * z / theta + 0.5), 0, levels)   # QCFS with D levels
    ties = np.abs(levels * z / theta + 0.5 - np.round(levels * z / theta + 0.5)) < 1e-9
    assert np.array_equal(sim.counts[0][~ties], expected[~ties])


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10**6), steps=st.integers(1, 24))
def test_reset_by_subtraction_counts_the_total_input_when_steps_stay_below_threshold(seed, steps):
    """v_T = v0 + sum(I) - theta*N, and 0 <= v_T < theta when 0 <= I[t] < theta, so N = floor((v0+sum I)/theta)."""
    rng = np.random.default_rng(seed)
    levels, theta = 4, 1.0
    w = rng.uniform(0, 0.3, (4, 3))                  # per-step input <= 3 * 0.3 < theta
    k = rng.integers(0, levels + 1, (10, 3))
    net = dense_net(w, np.zeros(4), theta, levels)
    sim = refsim.simulate(net, k, refsim.SimParams(steps=steps))
    total = enc_spread_total(k, steps, levels) @ w.T
    expected = np.floor((0.5 * theta + total) / theta)
    ties = np.abs((0.5 * theta + total) / theta - np.round((0.5 * theta + total) / theta)) < 1e-9
    assert np.array_equal(sim.counts[0][~ties], expected[~ties])


def enc_spread_total(k, steps, levels):
    return np.floor(steps * k / levels + 0.5)        # the number of input spikes (see encodings.spread)


def test_reset_to_value_loses_the_residue():
    # constant current 0.4 per step, threshold 1, v0 = 0.5. Subtraction keeps the residue: v = 0.5 + 0.4 t - n
    # crosses 1 at t = 2, 4, 7, 9; reset to 0 restarts from nothing: t = 2, then every 3 steps: 5, 8
    net = dense_net([[0.4]], [0.0], 1.0, 1)
    sub = refsim.simulate(net, np.array([[1]]), refsim.SimParams(steps=10, input="current"), trace=1)
    val = refsim.simulate(net, np.array([[1]]), refsim.SimParams(steps=10, input="current", reset="value"), trace=1)
    assert (np.flatnonzero(sub.trace[0][:, 0, 0]) + 1).tolist() == [2, 4, 7, 9]
    assert (np.flatnonzero(val.trace[0][:, 0, 0]) + 1).tolist() == [2, 5, 8]
    assert sub.counts[0][0, 0] == 4 and val.counts[0][0, 0] == 3


def test_multispike_neurons_at_one_step_reproduce_every_shipped_network_exactly():
    rng = np.random.default_rng(0)
    for name in zoo.shipped():
        net, _ = zoo.find_model(name)
        x = rng.integers(0, net.levels + 1, (16,) + net.input_shape)
        logits, acts = forward(net, x, batch=16)
        sim = refsim.simulate(net, x, refsim.SimParams(steps=1, mode="multispike"), batch=16)
        for layer, a, c in zip(net.layers, acts, sim.counts):
            if layer.spiking:
                assert np.array_equal(a, c), (name, layer.name)
        assert np.array_equal(sim.logits, logits), name


def test_simulation_rejects_bad_parameters_and_inputs():
    net = dense_net([[1.0]], [0.0], 1.0, 4)
    with pytest.raises(InputError, match="timesteps must be an integer"):
        refsim.SimParams(steps=0)
    with pytest.raises(InputError, match="unknown reset 'zero'"):
        refsim.SimParams(reset="zero")
    with pytest.raises(InputError, match=r"input counts must lie in 0..4"):
        refsim.simulate(net, np.array([[7]]))
    with pytest.raises(InputError, match=r"takes inputs of shape \(N, 1\)"):
        refsim.simulate(net, np.zeros((2, 3)))


# -------------------------------------------------------------------------------------------- metrics
def test_synaptic_operations_count_spikes_times_fan_out():
    # 2 inputs -> 3 hidden (one zero weight) -> 2 outputs
    w = np.array([[1.0, 0.0], [0.6, 0.6], [0.5, 0.4]])
    net = dense_net(w, np.zeros(3), 1.0, 2, readout=[[1, 0, 1], [0, 1, 1]])
    assert metrics.dense_macs(net) == [5, 4]
    x = np.array([[2, 0]])                         # input 0 fires every step, input 1 never
    sim = refsim.simulate(net, x, refsim.SimParams(steps=4))
    assert sim.input_spikes[0] == 4
    assert sim.sops[0][0] == 4 * 3                 # input 0 reaches 3 hidden neurons
    hidden = sim.counts[0][0]
    assert sim.sops[1][0] == hidden[0] * 1 + hidden[1] * 1 + hidden[2] * 2


def test_parameter_count_and_energy_proxy_constants():
    net = dense_net(np.ones((3, 2)), np.zeros(3), 1.0, 2, readout=np.ones((2, 3)))
    assert net.n_params == 6 + 3 + 6 + 2
    assert (metrics.PJ_MAC, metrics.PJ_AC) == (4.6, 0.9)


# ------------------------------------------------------------------------------------------ shipped models
def test_the_shipped_digits_model_meets_the_issue_target_on_the_whole_test_set():
    net, card = zoo.find_model("digits-cnn")
    x, y = datasets.load_split(net.dataset, "test")
    assert len(y) == 445
    src = np.mean(np.argmax(forward(net, x)[0], 1) == y)
    steps = card["stated_steps"]
    assert steps <= 8
    snn = np.mean(refsim.simulate(net, x, refsim.SimParams(steps=steps)).predictions == y)
    assert snn >= 0.97 and abs(snn - src) <= 0.01


def test_every_shipped_model_has_a_card_with_how_it_was_made():
    names = zoo.shipped()
    assert {"digits-cnn", "saccade-cnn", "gesture-frames", "gesture-points", "modelnet-voxel",
            "modelnet-pointmlp"} <= set(names)
    for name in names:
        card = json.loads((zoo.MODELS_DIR / f"{name}.json").read_text())
        assert card["command"].startswith("hippocam event train") and isinstance(card["seed"], int)
        assert card["results"]["source"]["accuracy"] > 0.5 and card["date"]
        assert card["calibration"]["steps"] == card["stated_steps"]
        assert (zoo.MODELS_DIR / f"{name}.nir").exists()


def test_four_bit_weights_take_at_most_sixteen_values_per_output_channel():
    net, card = zoo.find_model("digits-cnn-w4")
    assert card["w4"]
    for layer in net.layers:
        for _, chain in layer.inputs:
            for op in chain:
                if isinstance(op, WEIGHTED):
                    for row in op.weight.reshape(len(op.weight), -1):
                        assert len(np.unique(row)) <= 16


# ------------------------------------------------------------------------------------------------ NIR
def test_nir_export_of_a_shipped_model_round_trips(tmp_path, nir):
    net, _ = zoo.find_model("digits-cnn")
    path = nirio.write(net, tmp_path / "d.nir", steps=8)
    graph = nir.read(str(path))
    assert float(graph.metadata["dt"]) == 1.0 and nir_text(graph.metadata["time_unit"]) == "ms"
    assert nir_text(graph.metadata["reset"]) == "subtract"
    neurons = [k for k, n in graph.nodes.items() if isinstance(n, nir.IF)]
    assert len(neurons) == sum(layer.spiking for layer in net.layers)
    assert isinstance(graph.nodes[f"L{len(net.layers) - 1}"], nir.LI)
    assert np.allclose(graph.nodes["L0"].v_threshold, net.layers[0].threshold)
    back = nirload.from_nir(graph, levels=net.levels)
    x = np.random.default_rng(1).integers(0, net.levels + 1, (30,) + net.input_shape)
    a = refsim.simulate(net, x, refsim.SimParams(steps=8))
    b = refsim.simulate(back, x, refsim.SimParams(steps=8))
    assert np.array_equal(a.logits, b.logits)


def test_nir_weights_are_the_nets_weights(nir):
    w = np.array([[0.5, -1.0], [2.0, 0.25]])
    net = dense_net(w, [0.1, -0.2], 0.75, 4, readout=[[1.0, -1.0]])
    g = nirio.to_nir(net)
    assert isinstance(g.nodes["L0.in0.op0"], nir.Affine)
    assert np.array_equal(g.nodes["L0.in0.op0"].weight, w.astype(np.float32))
    assert np.allclose(g.nodes["L0.in0.op0"].bias, [0.1, -0.2])
    assert np.allclose(g.nodes["L0"].v_threshold, 0.75) and np.allclose(g.nodes["L0"].r, 1.0)
    assert ("input", "L0.in0.op0") in g.edges and ("L1", "output") in g.edges


def test_3d_and_grouped_convolutions_are_exported_exactly_by_folding(tmp_path, nir):
    rng = np.random.default_rng(0)
    w1 = rng.normal(0, 0.5, (3, 2, 3, 3, 3))
    layers = (
        Layer("c1", ((-1, (Conv(w1, 1, 1),)),), rng.normal(0, 0.1, 3), 0.8, (3, 6, 6, 6)),
        Layer("c2", ((0, (AvgPool((2, 2, 2)), Conv(rng.normal(0, .5, (4, 3, 3, 3, 3)), 1, 1))),
                     ), rng.normal(0, 0.1, 4), 0.9, (4, 3, 3, 3)),
        Layer("res", ((1, (Conv(rng.normal(0, .5, (4, 4, 3, 3, 3)), 1, 1),)), (1, (Scale(np.array(0.7)),))),
              np.zeros(4), 1.1, (4, 3, 3, 3)),
        Layer("out", ((2, (SumPool((3, 3, 3)), Flatten(), Dense(rng.normal(0, 1, (5, 4))))),),
              rng.normal(0, 0.1, 5), 1.0, (5,), spiking=False),
    )
    net = Net("vox", (2, 6, 6, 6), 4, layers)
    path = nirio.write(net, tmp_path / "v.nir")
    back = nirload.from_nir(path, levels=4)
    assert back.input_shape == (12, 6, 6)
    x = rng.integers(0, 5, (12, 2, 6, 6, 6))
    a = refsim.simulate(net, x, refsim.SimParams(steps=6))
    b = refsim.simulate(back, x.reshape(12, 12, 6, 6), refsim.SimParams(steps=6))
    assert np.allclose(a.logits, b.logits, atol=1e-9)
    for ca, cb, layer in zip(a.counts[:-1], b.counts[:-1], net.layers):
        assert np.array_equal(ca.reshape(len(ca), -1), cb.reshape(len(cb), -1))
    # grouped 2-D conv: written dense with zeros between groups
    wg = rng.normal(0, 1, (4, 1, 3, 3))
    net2 = Net("dw", (4, 5, 5), 4, (Layer("dw", ((-1, (Conv(wg, 1, 1, 4),)),), np.zeros(4), 1.0, (4, 5, 5)),
                                    Layer("o", ((0, (Flatten(), Dense(np.ones((2, 100))))),), np.zeros(2),
                                          1.0, (2,), spiking=False)))
    x2 = rng.integers(0, 5, (3, 4, 5, 5)).astype(float)
    full = nirload.from_nir(nirio.to_nir(net2)).layers[0].inputs[0][1][0].weight
    assert np.allclose(conv(x2, full, 1, 1, 1), conv(x2, wg, 1, 1, 4))


def test_a_model_file_that_is_not_one(tmp_path):
    (tmp_path / "x.npz").write_bytes(b"junk")
    with pytest.raises(InputError, match="not a hippocam event model"):
        load(tmp_path / "x.npz")
    np.savez(tmp_path / "y.npz", spec=np.array(json.dumps({"format": "other"})))
    with pytest.raises(InputError, match="not a hippocam event model"):
        load(tmp_path / "y.npz")
    with pytest.raises(InputError, match="no such model file"):
        load(tmp_path / "missing.npz")


def test_save_and_load_keep_the_network(tmp_path):
    net, _ = zoo.find_model("gesture-points")
    back = load(save(net, tmp_path / "g.npz"))
    x = np.random.default_rng(2).integers(0, net.levels + 1, (8,) + net.input_shape)
    assert np.array_equal(forward(net, x)[0], forward(back, x)[0])
    assert back.dataset == net.dataset and back.classes == net.classes


@pytest.mark.parametrize("build, message", [
    (lambda: Conv(np.ones((4, 3))), "conv weight"),
    (lambda: Conv(np.ones((3, 1, 3, 3)), groups=2), "multiple of 2"),
    (lambda: Conv(np.ones((2, 1, 3, 3)), stride=0), "stride"),
    (lambda: Conv(np.ones((2, 1, 3, 3)), padding=-1), "padding"),
    (lambda: Dense(np.ones(4)), "dense weight"),
    (lambda: SumPool(()), "kernel size per pooled axis"),
    (lambda: AvgPool((2, 0)), "kernel size"),
    (lambda: Scale("half"), "scale factor"),
    (lambda: Delay(-1), "delay"),
    (lambda: Delay(1.5), "delay"),
])
def test_an_op_with_a_bad_shape_or_setting_is_refused_when_built(build, message):
    with pytest.raises(InputError, match=message):
        build()


def test_a_chain_that_does_not_fit_its_input_is_an_input_error():
    with pytest.raises(InputError, match="cannot take an input of shape"):
        connectivity.op_matrix(Conv(np.ones((2, 3, 3, 3))), (2, 5, 5))
    with pytest.raises(InputError, match="does not divide"):
        connectivity.op_matrix(SumPool((2, 2)), (1, 5, 4))
    with pytest.raises(InputError, match="cannot take an input of 6 values"):
        connectivity.op_matrix(Dense(np.ones((2, 5))), (6,))
    with pytest.raises(InputError, match="cannot multiply"):
        connectivity.op_matrix(Scale(np.ones(3)), (2, 2))
    with pytest.raises(InputError, match="not an op"):
        apply_chain(("dense",), np.ones((1, 2)))
    with pytest.raises(InputError, match="not an op"):
        connectivity.op_matrix("dense", (2,))


def test_each_op_kind_computes_its_definition():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    assert np.array_equal(apply_op(SumPool((2, 2)), x)[0, 0], [[10, 18], [42, 50]])
    assert np.array_equal(apply_op(AvgPool((2, 2)), x)[0, 0], [[2.5, 4.5], [10.5, 12.5]])
    assert apply_op(Flatten(), x).shape == (1, 16)
    assert np.array_equal(apply_op(Dense(np.array([[1.0, 0, 2]])), np.array([[1.0, 5, 3]])), [[7.0]])
    assert np.array_equal(apply_op(Scale(0.5), x), x / 2)
    assert np.array_equal(apply_op(Delay(3), x), x)      # a delay moves spikes in time, not in value
    assert chain_delay((Delay(2), Dense(np.ones((1, 1))), Delay(3))) == 5
    # a 3x3 box filter of ones at stride 2 with padding 1: each output is the sum of its clipped window
    out = apply_op(Conv(np.ones((1, 1, 3, 3)), stride=2, padding=1), x)[0, 0]
    assert np.array_equal(out, [[0 + 1 + 4 + 5, 1 + 2 + 3 + 5 + 6 + 7], [4 + 5 + 8 + 9 + 12 + 13, sum(
        [5, 6, 7, 9, 10, 11, 13, 14, 15])]])


def test_every_op_kind_survives_save_and_load_and_a_delay_keeps_its_steps(tmp_path):
    rng = np.random.default_rng(4)
    chain = (Delay(2), AvgPool((2, 2)), Conv(rng.normal(0, 1, (2, 1, 1, 1)).astype(np.float32), 1, 0, 2),
             SumPool((1, 1)), Flatten(), Dense(rng.normal(0, 1, (3, 8)).astype(np.float32)))
    net = Net("kinds", (2, 4, 4), 4, (
        Layer("h", ((-1, chain), (-1, (Flatten(), Dense(np.ones((3, 32), np.float32)), Scale(np.float32(0.25))))),
              np.zeros(3), 1.0, (3,)),))
    back = load(save(net, tmp_path / "k.npz"))
    for (_, a), (_, b) in zip(net.layers[0].inputs, back.layers[0].inputs):
        assert [type(o) for o in a] == [type(o) for o in b]
    assert back.layers[0].inputs[0][1][0].steps == 2
    conv_back = back.layers[0].inputs[0][1][2]
    assert (conv_back.stride, conv_back.padding, conv_back.groups) == (1, 0, 2)
    x = rng.integers(0, 5, (5, 2, 4, 4))
    assert np.array_equal(forward(net, x)[0], forward(back, x)[0])
    with np.load(tmp_path / "k.npz") as z:              # format 1 on disk: a delay's steps under "stride"
        ops = json.loads(str(z["spec"]))["layers"][0]["inputs"][0]["ops"]
    assert ops[0] == {"kind": "delay", "stride": 2, "padding": 0, "groups": 1, "kernel": []}


def test_a_saved_op_of_an_unknown_kind_names_the_file(tmp_path):
    net = dense_net(np.ones((2, 3)), np.zeros(2), 1.0, 4)
    path = save(net, tmp_path / "n.npz")
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    spec = json.loads(str(arrays.pop("spec")))
    spec["layers"][0]["inputs"][0]["ops"][0]["kind"] = "convolution"
    np.savez(path, spec=np.array(json.dumps(spec)), **arrays)
    with pytest.raises(InputError, match="n.npz: a saved op of unknown kind 'convolution'"):
        load(path)


def test_the_shipped_models_load_their_saved_ops_as_typed_ops():
    paths = sorted(zoo.MODELS_DIR.glob("**/*.npz"))
    assert len(paths) >= 11                             # seven models and four tuned for the reset to a value
    for path in paths:
        with np.load(path) as z:
            saved = json.loads(str(z["spec"]))["layers"]
        net = load(path)
        for layer, spec in zip(net.layers, saved):
            for (_, chain), ins in zip(layer.inputs, spec["inputs"]):
                for op, rec in zip(chain, ins["ops"]):
                    assert type(op).__name__.lower() == rec["kind"]
                    if rec["kind"] == "conv":
                        assert (op.stride, op.padding, op.groups) == (rec["stride"], rec["padding"], rec["groups"])
                    if rec["kind"] in ("sumpool", "avgpool"):
                        assert op.kernel == tuple(rec["kernel"])


# ---------------------------------------------------------------------------------------------- calibration
def test_calibration_removes_the_unevenness_error_of_an_early_spike():
    # the +1 input spikes at steps 1, 3, 5, 7 (k=2 of D=4 over T=8), the -0.5 input every step (k=4): the value
    # per step sums to 0, so the integer activation is 0, but at step 1 v = 0.5 + 1 - 0.5 reaches the threshold
    from hippocam.event_models.snn.calibrate import calibrate
    net = dense_net([[1.0, -0.5]], [0.0], 1.0, 4, readout=[[1.0]])
    x = np.array([[2, 4]])
    assert forward(net, x)[1][0][0, 0] == 0
    before = refsim.simulate(net, x, refsim.SimParams(steps=8))
    assert before.counts[0][0, 0] == 1
    cal, shifts = calibrate(net, x, steps=8)
    assert shifts[0] == pytest.approx([-1.0 * (1 * 4 / 8) / 4])    # one level = theta/D per step
    after = refsim.simulate(cal, x, refsim.SimParams(steps=8))
    assert after.counts[0][0, 0] == 0
    assert np.array_equal(cal.layers[0].bias, net.layers[0].bias)  # the source network is untouched
    assert np.array_equal(forward(cal, x)[0], forward(net, x)[0])

    pytest.importorskip("nir")
    assert np.allclose(nirio.to_nir(cal).nodes["L0.in0.op0"].bias, cal.layers[0].snn_bias)   # NIR runs the SNN
