"""Fine-tuning for PyNN's reset to a value (``finetune``, ``hippocam event finetune``) and the weights the shipped
models carry from it (``event_models/models/value-reset``), checked against the reference SNN (``refsim``)."""
import dataclasses
import json

import numpy as np
import pytest

from hippocam import backends
from hippocam.errors import InputError
from hippocam.experiments import event_cli as cli
from hippocam.event_models.data import datasets
from hippocam.event_models.snn import net as netmod, refsim
from hippocam.event_models import pynn as pynn_net
from hippocam.event_models import zoo
from hippocam.event_models.snn.net import Layer, Net, Neuron
from hippocam.event_models.snn.ops import AvgPool, Conv, Delay, Dense, Flatten, Scale

from test_event_cli import run


@pytest.fixture(autouse=True, scope="module")
def cache_in_tmp(tmp_path_factory):
    """One data cache for the module's tests, in tmp (the shipped models' test sets are built once)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HIPPOCAM_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield

TUNED = sorted(p.stem for p in zoo.VALUE_RESET_DIR.glob("*.npz"))


def small_net(seed=0):
    """input (2, 6, 6) -> conv 3x3 pad 1 (4 ch) -> avgpool 2 + conv 1x1 (4 ch) with an identity shortcut ->
    read-out dense over the flattened 4x3x3."""
    rng = np.random.default_rng(seed)
    c1 = Layer("c1", ((-1, (Conv(rng.normal(0, 0.6, (4, 2, 3, 3)).astype(np.float32), 1, 1),)),),
               rng.normal(0, 0.05, 4), 1.0, (4, 6, 6))
    c2 = Layer("c2", ((0, (AvgPool((2, 2)), Conv(rng.normal(0, 0.8, (4, 4, 1, 1))
                                                              .astype(np.float32)))),),
               rng.normal(0, 0.05, 4), 0.8, (4, 3, 3))
    res = Layer("res", ((1, (Conv(rng.normal(0, 0.5, (4, 4, 3, 3)).astype(np.float32), 1, 1),)),
                        (1, (Scale(np.asarray(0.8, np.float32)),))), rng.normal(0, 0.05, 4), 0.9, (4, 3, 3))
    out = Layer("out", ((2, (Flatten(), Dense(rng.normal(0, 0.3, (3, 36)).astype(np.float32)))),),
                np.zeros(3), 1.0, (3,), spiking=False)
    return Net("small", (2, 6, 6), 4, (c1, c2, res, out))


# ------------------------------------------------------------------------------------------- needs torch
@pytest.mark.torch
def test_the_unrolled_snn_is_the_reference_snn_with_reset_to_a_value():
    pytest.importorskip("torch", reason="torch is the optional 'train' extra; fine-tuning needs it, CI has not")
    import torch
    from hippocam.event_models.training.finetune import TuneParams, Unrolled, _trains
    net = small_net()
    counts = np.random.default_rng(1).integers(0, 5, (16, 2, 6, 6))
    for v_reset in (0.0, 0.5):
        params = TuneParams(steps=6, v_reset=v_reset)
        with torch.no_grad():
            got = Unrolled(net, params)(_trains(counts, 6, net.levels)).double().numpy()
        want = refsim.simulate(net, counts, refsim.SimParams(steps=6, reset="value", v_reset=v_reset)).logits
        assert np.abs(want).max() > 1 and np.allclose(got, want, atol=1e-4)
    assert Unrolled(net, params).export().snn["v_reset"] == 0.5


@pytest.mark.torch
def test_fine_tuning_teaches_a_snn_with_reset_to_a_value_a_task_it_could_not_do():
    pytest.importorskip("torch", reason="torch is the optional 'train' extra; fine-tuning needs it, CI has not")
    from hippocam.event_models.training.finetune import TuneParams, fine_tune
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 256)
    x = np.where(y[:, None] == 1, rng.integers(0, 3, (256, 8)), rng.integers(0, 3, (256, 8)))
    x[:, :4] += 5 * y[:, None]                 # class 1 lights the first four inputs
    x[:, 4:] += 5 * (1 - y)[:, None]
    hidden = Layer("h", ((-1, (Dense(rng.normal(0, 0.1, (6, 8)).astype(np.float32)),)),), np.zeros(6), 1.0,
                   (6,))
    out = Layer("out", ((0, (Dense(rng.normal(0, 0.1, (2, 6)).astype(np.float32)),)),), np.zeros(2), 1.0,
                (2,), spiking=False)
    net = Net("toy", (8,), 8, (hidden, out))
    value = refsim.SimParams(steps=8, reset="value", v_reset=0.5)
    before = np.mean(refsim.simulate(net, x, value).predictions == y)
    tuned = fine_tune(net, x, y, TuneParams(steps=8, epochs=20, lr=3e-2, batch=32), log=lambda _: None)
    after = np.mean(refsim.simulate(tuned, x, value).predictions == y)
    assert before < 0.8 and after > 0.95
    assert tuned.snn == {"reset": "value", "v_reset": 0.5, "v_init": 0.5, "steps": 8, "tuned_from": "toy"}


# ------------------------------------------------------------------------------------------ without torch
def test_nets_with_dynamics_or_delays_are_not_unrolled():
    from hippocam.event_models.training.finetune import check_tunable
    net = small_net()
    leaky = dataclasses.replace(net, layers=(dataclasses.replace(net.layers[0], neuron=Neuron(v_decay=0.9)),)
                                + net.layers[1:])
    with pytest.raises(InputError, match="imported neuron dynamics"):
        check_tunable(leaky)
    delayed = dataclasses.replace(net, layers=(dataclasses.replace(
        net.layers[0], inputs=((-1, (Delay(2),) + net.layers[0].inputs[0][1]),)),) + net.layers[1:])
    with pytest.raises(InputError, match="delayed input"):
        check_tunable(delayed)


def test_a_fine_tuned_net_keeps_its_semantics_through_save_and_load_and_the_pynn_build(tmp_path):
    net = dataclasses.replace(small_net(), snn={"reset": "value", "v_reset": 0.3, "v_init": 0.5, "steps": 6})
    back = netmod.load(netmod.save(net, tmp_path / "t.npz"))
    assert back.snn == net.snn and netmod.load(netmod.save(small_net(), tmp_path / "s.npz")).snn == {}
    params = pynn_net.tuned_params(back, pynn_net.RunParams(steps=6))
    assert (params.v_reset, params.v_init, params.steps) == (0.3, 0.5, 6)
    timing = backends.get("brian2").graph_timing(1.0)
    with pytest.raises(InputError, match="fine-tuned for a reset to 0.3 theta"):
        pynn_net.to_graph(back, pynn_net.RunParams(steps=6, v_reset=0.5), timing)
    graph, _ = pynn_net.to_graph(back, params, timing)
    c1 = next(p for p in graph.populations if p.name == "L0")
    assert c1.v_reset_mV == pytest.approx(0.3 * net.layers[0].threshold)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["brian2", "nest"])
def test_a_fine_tuned_net_runs_on_a_backend_as_its_reference_snn_with_its_own_reset(backend):
    net = dataclasses.replace(small_net(), snn={"reset": "value", "v_reset": 0.25, "v_init": 0.5, "steps": 6})
    counts = np.random.default_rng(2).integers(0, 5, (4, 2, 6, 6))
    labels = np.zeros(4, int)
    r = pynn_net.compare(net, counts, labels, backend, pynn_net.RunParams(steps=6), shipped=small_net(1))
    assert r["fine_tuned_for_reset_to_value"] and not r["calibrated_for_reset_to_value"]
    assert r["v_reset"] == 0.25 and r["agreement"] == 1.0 and all(r["layers_spike_exact"])
    want = refsim.simulate(net, counts, refsim.SimParams(steps=6, reset="value", v_reset=0.25)).counts
    assert r["spike_count_difference"] == [0] * len(r["layers_spike_exact"])
    assert r["reference_spikes_per_sample"] == pytest.approx(sum(c.sum() for c in want[:3]) / 4)
    shipped = refsim.simulate(small_net(1), counts, refsim.SimParams(steps=6)).predictions
    assert r["subtract_accuracy"] == np.mean(shipped == labels)


def test_weights_are_chosen_for_the_backend_as_asked():
    name = TUNED[0]
    net, _ = zoo.find_model(name)
    chosen, card = cli._pynn_weights(name, net, "auto")
    assert chosen.snn["reset"] == "value" and card["tuned_from"].startswith("hippocam event train")
    assert cli._pynn_weights(name, net, "shipped")[0] is net
    plain = next(n for n in zoo.shipped() if n not in TUNED)
    pnet, _ = zoo.find_model(plain)
    assert cli._pynn_weights(plain, pnet, "auto")[0] is pnet
    with pytest.raises(InputError, match="ships no weights fine-tuned"):
        cli._pynn_weights(plain, pnet, "tuned")
    with pytest.raises(InputError, match="unknown --weights 'best'"):
        cli._pynn_weights(name, net, "best")


def test_an_explicit_reset_value_other_than_the_tuned_one_is_refused():
    net, _ = zoo.value_reset_weights("modelnet-pointmlp")
    other = 0.8 if net.snn["v_reset"] != 0.8 else 0.6
    with pytest.raises(InputError, match=f"fine-tuned for a reset to {net.snn['v_reset']:g} theta; drop --v-reset"):
        run("evaluate", "modelnet-pointmlp", "--backend", "brian2", "--timesteps", "8", "--samples", "2",
            "--v-reset", str(other))


# --------------------------------------------------------------------------------- the shipped tuned weights
def test_four_models_ship_weights_fine_tuned_with_a_card():
    assert {"digits-cnn", "modelnet-pointmlp", "gesture-points", "modelnet-voxel"} <= set(TUNED)
    for name in TUNED:
        net, card = zoo.value_reset_weights(name)
        shipped, shipped_card = zoo.find_model(name)
        assert card["command"].startswith(f"hippocam event finetune {name}") and card["tuned_from"] == \
            shipped_card["command"]
        assert net.snn == card["snn"] and net.snn["steps"] == shipped_card["stated_steps"]
        assert [layer.shape for layer in net.layers] == [layer.shape for layer in shipped.layers]


#: points the tuned SNN may stay below the shipped one: gesture-points is 2.5 below (90.0 % vs 92.5 %), the one
#: model fine-tuning did not bring within 2 (docs/event_pynn.md)
BELOW = {"gesture-points": 0.03}


@pytest.mark.slow
@pytest.mark.parametrize("name", TUNED)
def test_shipped_fine_tuned_weights_keep_the_shipped_snns_accuracy_with_reset_to_a_value(name):
    """The weights PyNN runs, as the reference SNN with PyNN's reset, on the first 200 test samples (what
    ``benchmarks/event_backends.py`` streams): within 2 points of the shipped SNN with reset by subtraction (see
    ``BELOW``); the backends reproduce that reference (tests/test_pynn_net.py, the benchmark)."""
    net, _ = zoo.value_reset_weights(name)
    shipped, card = zoo.find_model(name)
    steps = card["stated_steps"]
    x, y = datasets.load_split(net.dataset, "test", limit=200)
    value = refsim.simulate(net, x, refsim.SimParams(steps=steps, reset="value", v_reset=net.snn["v_reset"],
                                                     v_init=net.snn["v_init"])).predictions
    subtract = refsim.simulate(shipped, x, refsim.SimParams(steps=steps)).predictions
    assert np.mean(value == y) >= np.mean(subtract == y) - BELOW.get(name, 0.02)
    assert np.mean(value == subtract) >= 0.85


def test_the_tuned_cards_figures_are_what_the_weights_give():
    net, card = zoo.value_reset_weights("digits-cnn")
    x, y = datasets.load_split(net.dataset, "test")
    pred = refsim.simulate(net, x, refsim.SimParams(steps=card["stated_steps"], reset="value",
                                                    v_reset=net.snn["v_reset"])).predictions
    assert np.mean(pred == y) == pytest.approx(card["test_accuracy"]["fine_tuned_reset_to_value"])


def test_evaluating_a_tuned_file_runs_the_reference_snn_with_its_own_reset(tmp_path):
    path = zoo.VALUE_RESET_DIR / "modelnet-pointmlp.npz"
    net = netmod.load(path)
    out = tmp_path / "r.json"
    assert run("evaluate", str(path), "--timesteps", "8", "--samples", "50", "--json", str(out)) == 0
    result = json.loads(out.read_text())
    assert result["reset"] == "value" and result["v_reset"] == net.snn["v_reset"]
    x, y = datasets.load_split(net.dataset, "test", limit=50)
    want = refsim.simulate(net, x, refsim.SimParams(steps=8, reset="value", v_reset=net.snn["v_reset"]))
    assert result["snn"][0]["accuracy"] == np.mean(want.predictions == y)


def _settings(op):
    """An op's settings without its arrays, and its arrays' shapes."""
    return {f.name: (np.shape(getattr(op, f.name)) if f.name in ("weight", "factor") else getattr(op, f.name))
            for f in dataclasses.fields(op)}


@pytest.mark.parametrize("name", sorted(zoo.recipes()))
def test_each_recipe_builds_a_net_of_its_shipped_models_structure(name):
    """The recipe's torch model, exported untrained, has the shipped model's layers, chains, op kinds, settings
    and weight shapes: the recipe is the shipped model's architecture."""
    torch = pytest.importorskip("torch", reason="torch is the optional 'train' extra; the recipes build torch models")
    from hippocam.event_models.training import train
    recipe = zoo.recipes()[name]
    torch.manual_seed(0)
    made = train.export(train.Model(recipe, recipe.dataset["levels"]), recipe)
    shipped, _ = zoo.find_model(name)
    assert (made.input_shape, made.levels) == (shipped.input_shape, shipped.levels)
    for a, b in zip(made.layers, shipped.layers, strict=True):
        assert (a.name, a.shape, a.spiking) == (b.name, b.shape, b.spiking)
        for (src_a, chain_a), (src_b, chain_b) in zip(a.inputs, b.inputs, strict=True):
            assert src_a == src_b
            assert [(type(o), _settings(o)) for o in chain_a] == [(type(o), _settings(o)) for o in chain_b]
