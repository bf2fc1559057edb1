"""Graphs that snnTorch, Norse, Sinabs and Rockpool exported themselves, against those frameworks' own spikes:
refsim, Brian2 and NEST must reproduce every layer's spikes in every step. The fixtures (tests/data/make_*_fixtures.py,
layout in tests/data/framework_fixture.py) are files the frameworks wrote, so CI checks them without installing them;
where snnTorch or Norse is importable, a live export is checked too."""
import sys
from pathlib import Path

import numpy as np
import pytest

from hippocam.errors import InputError
from hippocam.experiments import nir_cli

nir = pytest.importorskip("nir")

DATA = Path(__file__).parent / "data"
FIXTURES = sorted(p.stem for p in DATA.glob("*.npz") if p.with_suffix(".nir").exists()
                  and "framework" in np.load(p).files)
SUBTRACT = [n for n in FIXTURES if str(np.load(DATA / f"{n}.npz")["reset"]) == "subtract"]


def fixture(name):
    f = np.load(DATA / f"{name}.npz")
    want = {k: f[k] for k in f.files if k.startswith("spikes/")}
    return f, want


def read(name, reset=None, as_written=False, leave_out=()):
    """The fixture's net, read as its npz says, with the fields its exporter left out set first (unless
    ``as_written``; ``leave_out`` names patches to skip, e.g. ``("w_rec",)``): a scalar ``w_in`` (Norse's CubaLIF)
    on every CubaLIF node, a ``w_in/NODE`` on that node, and a ``w_rec/NODE`` as a ``nir.Linear`` from the node's
    spikes back to itself. A patched graph is read without NIR's type check, which Rockpool's graphs fail."""
    f, _ = fixture(name)
    reset = str(f["reset"]) if reset is None else reset
    graph = str(DATA / f"{name}.nir")
    patches = [k for k in f.files if k == "w_in" or k.startswith(("w_in/", "w_rec/"))]
    patches = [] if as_written else [k for k in patches if k.split("/")[0] not in leave_out]
    if patches:
        graph = nir.read(graph, type_check=False)
        for key in patches:
            kind, _, node = key.partition("/")
            if kind == "w_in":
                cubas = [graph.nodes[node]] if node else [n for n in graph.nodes.values()
                                                          if type(n).__name__ == "CubaLIF"]
                for cuba in cubas:
                    assert type(cuba).__name__ == "CubaLIF", key
                    cuba.w_in = np.broadcast_to(np.asarray(f[key], np.float64), np.shape(cuba.tau_syn)).copy()
            else:
                assert node in graph.nodes and f"{node}_w_rec" not in graph.nodes, key
                graph.nodes[f"{node}_w_rec"] = nir.Linear(weight=np.asarray(f[key]))
                graph.edges += [(node, f"{node}_w_rec"), (f"{node}_w_rec", node)]
    return nir_cli.read_net(graph, float(f["dt_ms"]), str(f["time_unit"]), str(f["integrator"]),
                            None if reset == "value" else reset)


def assert_same_spikes(got: dict, want: dict):
    assert sorted(k for k in got if k.startswith("spikes/")) == sorted(want)
    for key, w in want.items():
        mismatch = np.argwhere(got[key] != w)
        assert len(mismatch) == 0, f"{key}: {len(mismatch)} of {w.size} step-neuron cells differ (first " \
                                   f"step, sample, neuron: {mismatch[0].tolist()}); framework {int(w.sum())} spikes," \
                                   f" here {int(got[key].sum())}"


def test_every_framework_and_both_reset_rules_have_fixtures():
    frameworks = {str(np.load(DATA / f"{n}.npz")["framework"]) for n in FIXTURES}
    assert frameworks == {"snntorch", "norse", "sinabs", "rockpool"}
    assert SUBTRACT and len(SUBTRACT) < len(FIXTURES)


@pytest.mark.parametrize("name", FIXTURES)
def test_the_fixture_is_active_in_every_layer_and_follows_the_density(name):
    """Quiet or saturated layers would let a wrong import pass: each layer fires, never in every cell, and the
    densest inputs make some layer fire more than the sparsest (a recurrent layer may fire less)."""
    f, want = fixture(name)
    density = f["density"]
    more = []
    for key, w in want.items():
        per_sample = w.reshape(w.shape[0], w.shape[1], -1).sum(axis=(0, 2))
        assert 0 < w.sum() < w.size, key
        more.append(per_sample[density == density.max()].sum() > per_sample[density == density.min()].sum())
    assert any(more)


@pytest.mark.parametrize("name", FIXTURES)
def test_refsim_reproduces_the_frameworks_spikes_step_for_step(name):
    f, want = fixture(name)
    got = nir_cli.run_refsim(read(name), f["input"])
    assert_same_spikes(got, want)


@pytest.mark.parametrize("name", SUBTRACT)
def test_reading_a_subtracting_net_with_the_reset_to_a_value_changes_its_spikes(name):
    """The reset rule is not in the graph (snnTorch writes v_reset = 0 for both): the option is what makes the
    fixtures above agree."""
    f, want = fixture(name)
    got = nir_cli.run_refsim(read(name, reset="value"), f["input"])
    assert any(not np.array_equal(got[k], w) for k, w in want.items())


def test_norses_cubalif_as_written_is_not_norses_network():
    """Norse 1.1 leaves w_in at 1 (docs/nir.md): read as written, its currents are dt / tau_syn = 1/5 of Norse's
    and the layers nearly fall silent; the w_in the fixture records is what makes the test above exact."""
    f, want = fixture("norse_cubalif")
    got = nir_cli.run_refsim(read("norse_cubalif", as_written=True), f["input"])
    assert got["spikes/1"].sum() < want["spikes/1"].sum() / 2


def test_rockpools_recurrent_cubalif_as_written_is_not_rockpools_network():
    """Rockpool 3.1 writes no recurrent weights (docs/nir.md): read with w_in set but without the w_rec the fixture
    records, the recurrent layer's spikes are not Rockpool's; the recorded w_rec is what makes the tests above
    exact."""
    f, want = fixture("rockpool_cubalif_rec")
    assert [k for k in f.files if k.startswith("w_rec/")] == ["w_rec/1_LIFTorch"]
    got = nir_cli.run_refsim(read("rockpool_cubalif_rec", leave_out=("w_rec",)), f["input"])
    assert np.sum(got["spikes/1_LIFTorch"] != want["spikes/1_LIFTorch"]) > 0.05 * want["spikes/1_LIFTorch"].size


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["brian2", "nest"])
@pytest.mark.parametrize("name", FIXTURES)
def test_a_backend_reproduces_the_frameworks_spikes_step_for_step(name, backend):
    """Both reset rules: Brian2's cells subtract (``DeltaCells.reset``), NEST's subtracting layers are hippocam's
    own NEST cell model (``backends/nest/extension.py``)."""
    f, want = fixture(name)
    got = nir_cli.run_backend(read(name), f["input"], backend, float(f["dt_ms"]))
    assert_same_spikes(got, want)


# -- live exports, where the frameworks are installed --------------------------------------------------------------
def _script(name):
    sys.path.insert(0, str(DATA))
    return __import__(name)


@pytest.mark.torch
@pytest.mark.parametrize("build, reset, rule", [("lif_net", "zero", "value"), ("lif_net", "subtract", "subtract"),
                                               ("cuba_rec_net", "zero", "value")])
def test_a_live_snntorch_export_reproduces_snntorch(tmp_path, build, reset, rule):
    pytest.importorskip("snntorch", reason="snnTorch is not a dependency; the fixtures above are files it wrote")
    make = _script("make_snntorch_fixtures")
    ff = _script("framework_fixture")
    net, shape = getattr(make, build)(reset)
    graph, write = make.export(net, shape)
    write(str(tmp_path / "live.nir"))
    x, _ = ff.inputs(25, 3, shape, seed=99)
    spikes, kept = make.run(net, x)
    if reset == "subtract":      # where snnTorch's subtraction is NIR's (tests/data/make_snntorch_fixtures.py)
        assert kept <= 1.0
    want = {f"spikes/{k}": v for k, v in ff.node_names(spikes, graph.nodes).items()}
    got = nir_cli.run_refsim(nir_cli.read_net(str(tmp_path / "live.nir"), 0.1, "s", "euler",
                                              None if rule == "value" else rule), x)
    assert_same_spikes(got, want)


@pytest.mark.torch
@pytest.mark.parametrize("build", ["lif_net", "if_cnn"])
def test_a_live_norse_export_reproduces_norse(tmp_path, build):
    pytest.importorskip("norse", reason="Norse is not a dependency; the fixtures above are files it wrote")
    make = _script("make_norse_fixtures")
    ff = _script("framework_fixture")
    net, shape, how = getattr(make, build)("value")
    graph, write = make.export(net, shape)
    write(str(tmp_path / "live.nir"))
    x, _ = ff.inputs(25, 3, shape, seed=98)
    want = {f"spikes/{k}": v for k, v in make.own_spikes(net, x).items()}
    got = nir_cli.run_refsim(nir_cli.read_net(str(tmp_path / "live.nir"), how["dt_ms"], how["time_unit"], "euler",
                                              None), x)
    assert_same_spikes(got, want)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["norse_if_cnn", "sinabs_if_cnn_value"])
def test_the_spinnaker_model_runs_an_if_cnn_within_its_16_bit_weights(name):
    """A core's 16-bit weights move a few membranes near threshold across it: measured 133 of 127,800 (Norse) and
    328 of 286,920 (Sinabs) step-neuron cells; more than 0.2 % would mean the chip's arithmetic or the layout
    broke, not the weights' rounding (every weight there is within half a weight step)."""
    f, want = fixture(name)
    got = nir_cli.run_backend(read(name), f["input"], "spinnaker-model", float(f["dt_ms"]))
    cells = sum(w.size for w in want.values())
    differ = sum(int(np.sum(got[k] != w)) for k, w in want.items())
    assert differ < 0.002 * cells


def test_the_spinnaker_model_refuses_a_graph_off_1_ms_steps_in_one_line():
    f, _ = fixture("snntorch_lif_zero")            # exported at 0.1 ms steps
    with pytest.raises(InputError, match=r"^spinnaker: the chip plan is worked out for 1 ms steps") as err:
        nir_cli.run_backend(read("snntorch_lif_zero"), f["input"], "spinnaker-model", float(f["dt_ms"]))
    assert "\n" not in str(err.value)
