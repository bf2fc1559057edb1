"""Issue 13, the simulation side: imported NIR graphs run exactly (no hidden leak, the exact integrator's jump, the
unit trap, self-driven layers, the type check, the reset rule, recurrent graphs) in refsim and on Brian2 and NEST."""
import numpy as np
import pytest

from hippocam.errors import InputError
from hippocam.event_models import pynn as pynn_net
from hippocam.event_models.nir import reader
from hippocam.event_models.snn import refsim

nir = pytest.importorskip("nir")

BACKENDS = pytest.mark.parametrize("backend", ["brian2", "nest"])


def if_graph(weight, threshold=1.0, n_in=1):
    """input (n_in) -> Linear -> IF (1 neuron), r = 1 (time unit ms, dt 1 ms: a spike moves v by its weight)."""
    return nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([n_in])}), "fc": nir.Linear(weight=np.atleast_2d(weight)),
        "if": nir.IF(r=np.ones(1), v_threshold=np.full(1, threshold), v_reset=np.zeros(1)),
        "output": nir.Output(output_type={"output": np.array([1])})},
        edges=[("input", "fc"), ("fc", "if"), ("if", "output")])


@pytest.mark.slow
@BACKENDS
def test_a_membrane_a_hair_above_threshold_after_a_wait_fires_on_a_backend(backend):
    """Two input spikes eight steps apart (count 2 of 16 levels over 16 steps), each moving v by 0.5 + 1e-7: v ends
    2e-7 above the threshold of 1. Any leak of 1e-7 per step or more (tau_m = 1e7 ms) would keep it below."""
    net = reader.read(if_graph(0.5 + 1e-7), dt_ms=1.0, time_unit="ms", levels=16)
    counts = np.array([[2], [1], [0]])
    ref = refsim.simulate(net, counts, refsim.SimParams(steps=16))
    assert ref.counts[0].ravel().tolist() == [1, 0, 0]
    got = pynn_net.simulate(net, counts, backend, pynn_net.RunParams(steps=16))
    np.testing.assert_array_equal(got.counts[0], ref.counts[0])


def li_graph(tau, r, v_leak, w, b):
    """input (1) -> Affine -> LI (1 neuron): the read-out's membrane is refsim's logits."""
    return nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([1])}),
        "fc": nir.Affine(weight=np.array([[w]]), bias=np.array([b])),
        "li": nir.LI(tau=np.full(1, tau), r=np.full(1, r), v_leak=np.full(1, v_leak)),
        "output": nir.Output(output_type={"output": np.array([1])})},
        edges=[("input", "fc"), ("fc", "li"), ("li", "output")])


@pytest.mark.nest
def test_a_leak_nests_own_cells_give_only_to_rounding_runs_on_hippocams_cell_model_to_the_bit():
    """A LIF decay of 0.36509945982531444 per step: tau_m = -dt / ln(decay) and back, exp(-dt / tau_m), is one ulp
    below it, which iaf_psc_delta would use. With the threshold set to the membrane of refsim's sixth step (v >
    threshold fires: the float just below it), refsim fires there and a decay one ulp lower fires a step later.
    NEST's population is hippocam's cell model, given the decay itself, and fires with refsim."""
    import dataclasses
    import math

    from hippocam.backends.nest import extension
    from hippocam.experiments import nir_cli
    decay, dt = 0.36509945982531444, 1.0
    assert math.exp(-dt / (-dt / math.log(decay))) != decay                  # the round trip loses it
    graph = nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([1])}), "fc": nir.Linear(weight=np.ones((1, 1))),
        "lif": nir.LIF(tau=np.full(1, 2.0), r=np.ones(1), v_leak=np.zeros(1), v_threshold=np.full(1, 1e9),
                       v_reset=np.zeros(1)),
        "output": nir.Output(output_type={"output": np.array([1])})},
        edges=[("input", "fc"), ("fc", "lif"), ("lif", "output")])
    net = reader.read(graph, dt_ms=dt, time_unit="ms")
    jump = float(np.ravel(net.layers[0].inputs[0][1][-1].factor)[0])           # r dt / tau, per input spike
    v = 0.0
    for _ in range(6):
        v = decay * v + jump
    threshold = float(np.nextafter(v, -np.inf))
    layer = dataclasses.replace(net.layers[0], threshold=threshold,
                                neuron=dataclasses.replace(net.layers[0].neuron, v_decay=decay))
    net = dataclasses.replace(net, layers=(layer,))
    x = np.ones((8, 1, 1), np.float32)
    want = nir_cli.run_refsim(net, x)["spikes/lif"].ravel()
    assert want.tolist() == [0, 0, 0, 0, 0, 1, 0, 0]
    graph, _ = pynn_net.to_graph(net, pynn_net.RunParams(steps=8), pynn_net.convert.Timing(1.0))
    assert "leak" in extension.needs(graph)["L0"]
    np.testing.assert_array_equal(nir_cli.run_backend(net, x, "nest", dt)["spikes/lif"].ravel(), want)


def test_the_exact_integrator_reproduces_the_closed_form_leaky_trace():
    """tau dv/dt = (v_leak - v) + r I with I = b + w (1 during each input step), solved in closed form: from
    v_leak, the bias gives r b (1 - exp(-t/tau)); an input in step s adds r w (exp(-(t - s - 1)/tau) -
    exp(-(t - s)/tau)) at the end of step t - 1 (t in steps of dt = 1 ms)."""
    tau, r, v_leak, w, b = 5.0, 2.0, 0.1, 0.7, 0.3
    net = reader.read(li_graph(tau, r, v_leak, w, b), dt_ms=1.0, time_unit="ms", integrator="exact")
    spikes_at = (2, 5)
    got, want = [], []
    for steps in range(1, 13):
        trains = np.zeros((steps, 1, 1), np.uint8)
        for s in spikes_at:
            if s < steps:
                trains[s] = 1
        got.append(refsim.simulate(net, None, refsim.SimParams(steps=steps), trains=trains).logits[0, 0])
        v = v_leak + r * b * (1 - np.exp(-steps / tau))
        v += sum(r * w * (np.exp(-(steps - s - 1) / tau) - np.exp(-(steps - s) / tau)) for s in spikes_at if s < steps)
        want.append(v)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_an_if_graph_read_in_a_unit_that_makes_its_jump_absurd_is_warned_about():
    """Sinabs writes IF with r = 1 (one step is one time unit): read in seconds at dt 1 ms, a unit weight would
    move v by 0.001 and the layer would hardly ever fire."""
    with pytest.warns(reader.UnitWarning, match=r"r dt = 0.001 .*read it with time_unit='ms'"):
        reader.read(if_graph(1.0), dt_ms=1.0, time_unit="s")
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reader.read(if_graph(1.0), dt_ms=1.0, time_unit="ms")


def rockpool_like(tmp_path):
    """A LIF whose Output node says [1, 1, 1] after a layer of [1], as a graph Rockpool exported does."""
    g = nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([1])}), "fc": nir.Linear(weight=np.array([[2.0]])),
        "lif": nir.LIF(tau=np.full(1, 2e-2), r=np.full(1, 20.0), v_leak=np.zeros(1), v_threshold=np.ones(1),
                       v_reset=np.zeros(1)),
        "output": nir.Output(output_type={"output": np.array([1, 1, 1])})},
        edges=[("input", "fc"), ("fc", "lif"), ("lif", "output")], type_check=False)
    path = tmp_path / "rockpool.nir"
    nir.write(str(path), g)
    return g, path


def test_a_graph_failing_nirs_type_check_is_read_without_it(tmp_path):
    graph, path = rockpool_like(tmp_path)
    with pytest.raises(ValueError, match="type mismatch"):
        nir.read(str(path))                                   # the file really fails NIR's check
    with pytest.warns(UserWarning, match="type check fails .*type_check=False"):
        net = reader.read(path, dt_ms=1.0, time_unit="s")
    trains = (np.random.default_rng(0).random((30, 4, 1)) < 0.5).astype(np.uint8)
    got = refsim.simulate(net, None, refsim.SimParams(steps=30), trains=trains).counts[0]
    # by hand: v = 0.95 v + 2 x (Euler, tau 20 steps, jump r dt / tau = 1), fired when v > 1, reset to 0
    v, count = np.zeros((4, 1)), np.zeros((4, 1))
    for t in range(30):
        v = 0.95 * v + 2.0 * trains[t]
        count += v > 1
        v[v > 1] = 0.0
    np.testing.assert_array_equal(got, count)
    assert count.sum() > 0


def test_an_input_written_with_a_batch_axis_of_one_runs_as_the_input_it_holds():
    """Rockpool's default export writes Input (1, n) before an Affine that takes n: the chain's values come out
    (1, m) for m neurons. Read as written, refsim gives the spikes of the same graph with Input (n,)."""
    rng = np.random.default_rng(12)
    w, b = rng.normal(0.5, 0.6, (4, 3)), rng.normal(0.1, 0.1, 4)

    def graph(input_shape):
        return nir.NIRGraph(nodes={
            "input": nir.Input(input_type={"input": np.array(input_shape)}), "fc": nir.Affine(weight=w, bias=b),
            "lif": nir.LIF(tau=np.full(4, 4.0), r=np.full(4, 4.0), v_leak=np.zeros(4), v_threshold=np.ones(4),
                           v_reset=np.zeros(4)),
            "output": nir.Output(output_type={"output": np.array([4])})},
            edges=[("input", "fc"), ("fc", "lif"), ("lif", "output")], type_check=False)
    trains = (rng.random((20, 5, 3)) < 0.5).astype(np.uint8)
    plain = refsim.simulate(reader.read(graph([3]), dt_ms=1.0, time_unit="ms"), None, refsim.SimParams(steps=20),
                            trains=trains)
    batched = reader.read(graph([1, 3]), dt_ms=1.0, time_unit="ms")
    assert batched.input_shape == (1, 3)
    got = refsim.simulate(batched, None, refsim.SimParams(steps=20), trains=trains.reshape(20, 5, 1, 3))
    assert plain.counts[0].sum() > 0
    np.testing.assert_array_equal(got.counts[0], plain.counts[0])


def lif_loop(trains, w, decay, jump, threshold, reset):
    v = np.zeros((trains.shape[1], w.shape[0]))
    count = np.zeros_like(v)
    for t in range(trains.shape[0]):
        v = decay * v + jump * (trains[t] @ w.T)
        s = v > threshold
        count += s
        v = v - threshold * s if reset == "subtract" else np.where(s, 0.0, v)
    return count


@pytest.mark.parametrize("kind", ["IF", "LIF"])
def test_reset_by_subtraction_is_exact_in_refsim(kind):
    rng = np.random.default_rng(4)
    w = rng.normal(0.6, 0.5, (5, 3))
    theta = 0.7
    if kind == "IF":
        node, decay, jump = nir.IF(r=np.ones(5), v_threshold=np.full(5, theta), v_reset=np.zeros(5)), 1.0, 1.0
    else:
        node = nir.LIF(tau=np.full(5, 4.0), r=np.full(5, 4.0), v_leak=np.zeros(5), v_threshold=np.full(5, theta),
                       v_reset=np.zeros(5))
        decay, jump = 0.75, 1.0
    graph = nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([3])}), "fc": nir.Linear(weight=w),
                                "n": node, "output": nir.Output(output_type={"output": np.array([5])})},
                         edges=[("input", "fc"), ("fc", "n"), ("n", "output")])
    trains = (rng.random((40, 6, 3)) < 0.6).astype(np.uint8)
    counts = {}
    for reset in ("value", "subtract"):
        net = reader.read(graph, dt_ms=1.0, time_unit="ms", reset=reset)
        counts[reset] = refsim.simulate(net, None, refsim.SimParams(steps=40), trains=trains).counts[0]
        np.testing.assert_array_equal(counts[reset], lif_loop(trains, w, decay, jump, theta, reset))
    assert counts["subtract"].sum() > counts["value"].sum()       # the rules differ on this input
    # on a backend the cells subtract what refsim subtracts: v_thresh - v_reset is theta exactly, also where the
    # cells' threshold is the float after theta (NIR's strict v > theta)
    built, _ = pynn_net.to_graph(reader.read(graph, dt_ms=1.0, time_unit="ms", reset="subtract"),
                                 pynn_net.RunParams(steps=4), pynn_net.convert.Timing(1.0))
    (cells,) = [p for p in built.populations if p.name == "L0"]
    assert cells.reset == "subtract" and cells.v_thresh_mV > theta and cells.v_thresh_mV - cells.v_reset_mV == theta


def recurrent_graph(w, v_rec, kind, theta=1.0):
    """input -> fc -> neurons, and neurons -> rec -> neurons: a recurrent layer as snnTorch's RLeaky / RSynaptic
    and Norse's recurrent cells export it (time unit ms, dt 1 ms: LIF v = 0.75 v + input; CubaLIF i = 0.5 i +
    input, v = 0.75 v + i)."""
    n = len(w)
    if kind == "LIF":
        node = nir.LIF(tau=np.full(n, 4.0), r=np.full(n, 4.0), v_leak=np.zeros(n), v_threshold=np.full(n, theta),
                       v_reset=np.zeros(n))
    else:
        node = nir.CubaLIF(tau_syn=np.full(n, 2.0), tau_mem=np.full(n, 4.0), r=np.full(n, 4.0), w_in=np.full(n, 2.0),
                           v_leak=np.zeros(n), v_threshold=np.full(n, theta), v_reset=np.zeros(n))
    return nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([w.shape[1]])}), "fc": nir.Linear(weight=w),
        "cell": node, "rec": nir.Linear(weight=v_rec), "output": nir.Output(output_type={"output": np.array([n])})},
        edges=[("input", "fc"), ("fc", "cell"), ("cell", "rec"), ("rec", "cell"), ("cell", "output")],
        type_check=False)


def recurrent_loop(trains, w, v_rec, kind, theta=1.0):
    """The NIR equations, Euler at dt 1 ms, the recurrent input being the spikes of the step before."""
    b, n = trains.shape[1], len(w)
    v, i, s, count = np.zeros((b, n)), np.zeros((b, n)), np.zeros((b, n)), np.zeros((b, n))
    for t in range(trains.shape[0]):
        drive = trains[t] @ w.T + s @ v_rec.T
        if kind == "CubaLIF":
            i = 0.5 * i + drive
            drive = i
        v = 0.75 * v + drive
        s = (v > theta).astype(float)
        v = np.where(s > 0, 0.0, v)
        count += s
    return count


def recurrent_case(seed=6):
    rng = np.random.default_rng(seed)
    w = rng.normal(0.5, 0.4, (4, 3))
    v_rec = rng.normal(0.0, 0.6, (4, 4))
    return w, v_rec, rng


@pytest.mark.parametrize("kind", ["LIF", "CubaLIF"])
def test_a_recurrent_layer_in_refsim_follows_the_nir_equations(kind):
    w, v_rec, rng = recurrent_case()
    trains = (rng.random((30, 6, 3)) < 0.5).astype(np.uint8)
    net = reader.read(recurrent_graph(w, v_rec, kind), dt_ms=1.0, time_unit="ms")
    got = refsim.simulate(net, None, refsim.SimParams(steps=30), trains=trains).counts[0]
    want = recurrent_loop(trains, w, v_rec, kind)
    np.testing.assert_array_equal(got, want)
    without = recurrent_loop(trains, w, np.zeros_like(v_rec), kind)
    assert want.sum() > 0 and not np.array_equal(want, without)      # the recurrent weights matter here


def test_a_loop_through_two_layers_waits_one_step_at_the_edge_that_closes_it():
    """input -> a -> b -> a: b comes after a, so b -> a is the recurrent edge (the spikes of b's step before)."""
    rng = np.random.default_rng(12)
    w_in, w_ab, w_ba = rng.normal(0.6, 0.4, (3, 2)), rng.normal(0.5, 0.5, (3, 3)), rng.normal(0.2, 0.6, (3, 3))

    def lif(n):
        return nir.LIF(tau=np.full(n, 4.0), r=np.full(n, 4.0), v_leak=np.zeros(n), v_threshold=np.ones(n),
                       v_reset=np.zeros(n))
    graph = nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([2])}), "fa": nir.Linear(weight=w_in), "a": lif(3),
        "ab": nir.Linear(weight=w_ab), "b": lif(3), "ba": nir.Linear(weight=w_ba),
        "output": nir.Output(output_type={"output": np.array([3])})},
        edges=[("input", "fa"), ("fa", "a"), ("a", "ab"), ("ab", "b"), ("b", "ba"), ("ba", "a"), ("b", "output")],
        type_check=False)
    net = reader.read(graph, dt_ms=1.0, time_unit="ms")
    assert [layer.name for layer in net.layers] == ["a", "b"]
    trains = (rng.random((25, 5, 2)) < 0.5).astype(np.uint8)
    got = refsim.simulate(net, None, refsim.SimParams(steps=25), trains=trains).counts
    va, vb, sb = np.zeros((5, 3)), np.zeros((5, 3)), np.zeros((5, 3))
    ca, cb = np.zeros((5, 3)), np.zeros((5, 3))
    for t in range(25):
        va = 0.75 * va + trains[t] @ w_in.T + sb @ w_ba.T
        sa = (va > 1).astype(float)
        va[sa > 0] = 0
        vb = 0.75 * vb + sa @ w_ab.T
        sb = (vb > 1).astype(float)
        vb[sb > 0] = 0
        ca, cb = ca + sa, cb + sb
    np.testing.assert_array_equal(got[0], ca)
    np.testing.assert_array_equal(got[1], cb)
    assert cb.sum() > 0


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["brian2", "nest", "spinnaker-model"])
def test_a_recurrent_lif_layer_on_a_backend_matches_refsim_spike_for_spike(backend):
    w, v_rec, _ = recurrent_case()
    net = reader.read(recurrent_graph(w, v_rec, "LIF"), dt_ms=1.0, time_unit="ms", levels=8)
    counts = np.random.default_rng(2).integers(0, 9, (6, 3))
    ref = refsim.simulate(net, counts, refsim.SimParams(steps=16))
    without = reader.read(recurrent_graph(w, np.zeros_like(v_rec), "LIF"), dt_ms=1.0, time_unit="ms", levels=8)
    assert not np.array_equal(refsim.simulate(without, counts, refsim.SimParams(steps=16)).counts[0], ref.counts[0])
    got = pynn_net.simulate(net, counts, backend, pynn_net.RunParams(steps=16))
    np.testing.assert_array_equal(got.counts[0], ref.counts[0])


def recurrent_loop_late(trains, w, v_rec):
    """CubaLIF as ``recurrent_loop``, but a layer's own spikes reach its current a step later than NIR says: what
    a recurrent hop of one step would give on a backend."""
    b, n = trains.shape[1], len(w)
    v, i, s1, s2 = np.zeros((b, n)), np.zeros((b, n)), np.zeros((b, n)), np.zeros((b, n))
    out = []
    for t in range(trains.shape[0]):
        i = 0.5 * i + trains[t] @ w.T + s2 @ v_rec.T
        v = 0.75 * v + i
        s = (v > 1.0).astype(float)
        v = np.where(s > 0, 0.0, v)
        s1, s2 = s, s1
        out.append(s)
    return np.array(out)


@pytest.mark.slow
@BACKENDS
@pytest.mark.parametrize("seed", [6, 7])
def test_a_recurrent_cubalif_layer_on_a_backend_follows_the_nir_equations_step_for_step(seed, backend):
    """A layer's own spikes reach its currents in time for the membrane to feel them in the next step, as NIR's
    equations say (``same_step_current_hop``): Brian2 jumps the currents in the step they fire; NEST sends them
    with its shortest delay, a step, to hippocam's cell model, whose "recurrent" receptor joins the current in the
    step of arrival (``backends/nest/extension.py``)."""
    from hippocam.experiments import nir_cli
    w, v_rec, rng = recurrent_case(seed)
    trains = (rng.random((30, 6, 3)) < 0.5).astype(np.float32)
    net = reader.read(recurrent_graph(w, v_rec, "CubaLIF"), dt_ms=1.0, time_unit="ms")
    got = nir_cli.run_backend(net, trains, backend, 1.0)["spikes/cell"]
    np.testing.assert_array_equal(got.sum(axis=0), recurrent_loop(trains, w, v_rec, "CubaLIF"))
    np.testing.assert_array_equal(got, nir_cli.run_refsim(net, trains)["spikes/cell"])
    assert not np.array_equal(got, recurrent_loop_late(trains, w, v_rec))     # a step late would show


def test_what_a_backend_cannot_time_or_reset_is_refused_naming_the_layers():
    w, v_rec, _ = recurrent_case()
    cuba = reader.read(recurrent_graph(w, v_rec, "CubaLIF"), dt_ms=1.0, time_unit="ms")
    with pytest.raises(InputError, match="layer cell: recurrent weights onto a layer with a synaptic current.*"
                                         "run this graph on brian2, nest or in refsim"):
        pynn_net.to_graph(cuba, pynn_net.RunParams(steps=4), pynn_net.convert.Timing(1.0))
    subtracting = reader.read(recurrent_graph(w, v_rec, "LIF"), dt_ms=1.0, time_unit="ms", reset="subtract")
    with pytest.raises(InputError, match=r"^layer cell: it resets by subtraction, which this backend's cells cannot"
                                         r".*run the graph on brian2, nest or in refsim$"):
        pynn_net.to_graph(subtracting, pynn_net.RunParams(steps=4),
                          pynn_net.convert.Timing(1.0, resets=("value",)))
    lif = nir.LIF(tau=np.full(2, 4.0), r=np.full(2, 4.0), v_leak=np.zeros(2), v_threshold=np.ones(2),
                  v_reset=np.zeros(2))
    loop = nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([2])}), "f0": nir.Linear(weight=np.eye(2)), "a": lif,
        "f1": nir.Linear(weight=np.eye(2)), "b": lif, "f2": nir.Linear(weight=np.eye(2)),
        "output": nir.Output(output_type={"output": np.array([2])})},
        edges=[("input", "f0"), ("f0", "a"), ("a", "f1"), ("f1", "b"), ("b", "f2"), ("f2", "a"), ("b", "output")],
        type_check=False)
    with pytest.raises(InputError, match="layers a and b form a loop"):
        pynn_net.to_graph(reader.read(loop, dt_ms=1.0, time_unit="ms"), pynn_net.RunParams(steps=4),
                          pynn_net.convert.Timing(1.0))


def self_driven_graph():
    """input -> fc -> a (LIF whose v_leak 1.5 lies above its threshold 1: it fires on its own) -> fc2 -> b (LIF)."""
    rng = np.random.default_rng(21)
    w1, w2 = rng.normal(0.2, 0.3, (3, 2)), rng.normal(0.6, 0.3, (2, 3))
    return nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([2])}), "fc": nir.Linear(weight=w1),
        "a": nir.LIF(tau=np.full(3, 4.0), r=np.full(3, 4.0), v_leak=np.full(3, 1.5), v_threshold=np.ones(3),
                     v_reset=np.zeros(3)),
        "fc2": nir.Linear(weight=w2),
        "b": nir.LIF(tau=np.full(2, 4.0), r=np.full(2, 4.0), v_leak=np.zeros(2), v_threshold=np.ones(2),
                     v_reset=np.zeros(2)),
        "output": nir.Output(output_type={"output": np.array([2])})},
        edges=[("input", "fc"), ("fc", "a"), ("a", "fc2"), ("fc2", "b"), ("b", "output")])


@pytest.mark.slow
@BACKENDS
def test_a_self_driven_layer_on_a_backend_fires_only_in_its_window_as_in_refsim(backend):
    net = reader.read(self_driven_graph(), dt_ms=1.0, time_unit="ms", levels=8)
    counts = np.random.default_rng(3).integers(0, 9, (5, 2))
    ref = refsim.simulate(net, counts, refsim.SimParams(steps=12))
    assert ref.counts[0].min() > 0 and ref.counts[1].sum() > 0
    got = pynn_net.simulate(net, counts, backend, pynn_net.RunParams(steps=12))
    np.testing.assert_array_equal(got.counts[0], ref.counts[0])
    np.testing.assert_array_equal(got.counts[1], ref.counts[1])


@pytest.mark.nest
def test_nest_delta_weights_arrive_as_given_in_mv():
    """pyNN.nest scales a delta weight to pA and back (w * 1000 * 1e-3), which moves one weight in seven by an
    ulp; the membrane after one spike must be the weight itself."""
    from hippocam import backends
    from hippocam.backends.graph import DeltaCells, Graph, Sources, Synapses
    rng = np.random.default_rng(0)
    w = rng.normal(0, 1, 200)
    w = w[w * 1000.0 * 1e-3 != w][:20]
    assert len(w) == 20
    graph = Graph(1.0, (Sources("src", 1), DeltaCells("cells", len(w), v_thresh_mV=1e9)),
                  (Synapses("hop", "src", "cells", np.zeros(len(w), int), np.arange(len(w)), w, 1.0),))
    with backends.get("nest") as sim:
        sim.build_graph(graph)
        sim.set_spike_times("src", [np.array([3.0])])
        sim.run_until(10.0)
        np.testing.assert_array_equal(sim.membrane("cells"), w)


def if_cnn_graph(seed=0):
    """A Sinabs-style IF CNN (r = 1, one step per time unit, v_threshold 1, reset to 0): conv 3x3 -> IF -> sum pool
    2 -> flatten -> linear -> IF -> linear -> IF, random weights scaled so that every layer fires."""
    rng = np.random.default_rng(seed)
    c1 = rng.normal(0.25, 0.3, (4, 1, 3, 3))
    l1 = rng.normal(0.15, 0.3, (10, 4 * 3 * 3))
    l2 = rng.normal(0.3, 0.4, (3, 10))

    def neuron(*shape):
        return nir.IF(r=np.ones(shape), v_threshold=np.ones(shape), v_reset=np.zeros(shape))
    nodes = {"input": nir.Input(input_type={"input": np.array([1, 8, 8])}),
             "conv": nir.Conv2d(input_shape=(8, 8), weight=c1, stride=1, padding=0, dilation=1, groups=1,
                                bias=np.zeros(4)),
             "if1": neuron(4, 6, 6), "pool": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]),
                                                          padding=np.array([0, 0])),
             "flat": nir.Flatten(input_type={"input": np.array([4, 3, 3])}, start_dim=0),
             "fc1": nir.Linear(weight=l1), "if2": neuron(10), "fc2": nir.Linear(weight=l2), "if3": neuron(3),
             "output": nir.Output(output_type={"output": np.array([3])})}
    edges = [("input", "conv"), ("conv", "if1"), ("if1", "pool"), ("pool", "flat"), ("flat", "fc1"), ("fc1", "if2"),
             ("if2", "fc2"), ("fc2", "if3"), ("if3", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


@pytest.mark.slow
@BACKENDS
def test_an_if_cnn_with_dense_input_on_a_backend_matches_refsim_spike_for_spike(backend):
    net = reader.read(if_cnn_graph(), dt_ms=1.0, time_unit="ms", levels=16)
    counts = np.random.default_rng(1).integers(6, 17, (20, 1, 8, 8))
    ref = refsim.simulate(net, counts, refsim.SimParams(steps=40))
    assert all(c.sum() > 0 for c in ref.counts)
    got = pynn_net.simulate(net, counts, backend, pynn_net.RunParams(steps=40))
    for mine, theirs in zip(got.counts, ref.counts):
        np.testing.assert_array_equal(mine, theirs)
