"""``hippocam nir run|info``: a graph a framework exported, run from the command line, gives that framework's spikes;
read-outs give their membrane per step; bad input is one line and exit 2, before any simulation."""
from pathlib import Path

import numpy as np
import pytest

from hippocam.experiments.cli import main

nir = pytest.importorskip("nir")

DATA = Path(__file__).parent / "data"
LIF = DATA / "snntorch_lif_zero.nir"          # snnTorch 1.0.0 wrote it (tests/data/make_snntorch_fixtures.py)


@pytest.fixture
def lif_input(tmp_path):
    f = np.load(LIF.with_suffix(".npz"))
    path = tmp_path / "x.npy"
    np.save(path, f["input"])
    return path, {k: f[k] for k in f.files if k.startswith("spikes/")}


def run(*args):
    return main(["nir", "run", *map(str, args)])


def test_run_gives_snntorchs_own_spikes_per_layer_and_step(tmp_path, lif_input, capsys):
    x, want = lif_input
    out = tmp_path / "out.npz"
    assert run(LIF, "--input", x, "--dt-ms", 0.1, "--time-unit", "s", "--out", out) == 0
    got = np.load(out)
    assert sorted(k for k in got.files if k.startswith("spikes/")) == sorted(want) == ["spikes/1", "spikes/3"]
    for key, w in want.items():
        assert w.sum() > 0
        np.testing.assert_array_equal(got[key], w)
    assert list(got["layers"]) == ["1", "3"] and float(got["dt_ms"]) == 0.1
    assert f"{int(want['spikes/3'].sum())} spikes" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["brian2", "nest"])
def test_run_on_a_backend_gives_snntorchs_own_spikes(tmp_path, lif_input, backend):
    x, want = lif_input
    out = tmp_path / "out.npz"
    assert run(LIF, "--input", x, "--dt-ms", 0.1, "--time-unit", "s", "--backend", backend, "--out", out) == 0
    got = np.load(out)
    for key, w in want.items():
        np.testing.assert_array_equal(got[key], w)


def li_graph():
    """One input, weight 1, into an LI read-out with tau 10 ms: a spike lifts v by dt/tau = 0.1, which then decays
    by 1 - dt/tau = 0.9 per step (Euler at 1 ms)."""
    return nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([1])}), "fc": nir.Linear(weight=np.ones((1, 1))),
        "li": nir.LI(tau=np.full(1, 10.0), r=np.ones(1), v_leak=np.zeros(1)),
        "output": nir.Output(output_type={"output": np.array([1])})},
        edges=[("input", "fc"), ("fc", "li"), ("li", "output")])


def test_the_reset_option_gives_snntorchs_subtraction(tmp_path):
    graph = DATA / "snntorch_lif_subtract.nir"     # snnTorch's reset_mechanism="subtract"; the graph says v_reset 0
    f = np.load(graph.with_suffix(".npz"))
    np.save(tmp_path / "x.npy", f["input"])
    common = (graph, "--input", tmp_path / "x.npy", "--dt-ms", 0.1, "--time-unit", "s")
    assert run(*common, "--reset", "subtract", "--out", tmp_path / "sub.npz") == 0
    assert run(*common, "--out", tmp_path / "value.npz") == 0
    sub, value = np.load(tmp_path / "sub.npz"), np.load(tmp_path / "value.npz")
    for key in ("spikes/1", "spikes/3"):
        np.testing.assert_array_equal(sub[key], f[key])
    assert not np.array_equal(value["spikes/1"], f["spikes/1"])
    assert str(sub["reset"]) == "subtract" and str(value["reset"]) == "value"


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["brian2", "nest"])
def test_the_reset_option_gives_snntorchs_subtraction_on_a_backend(tmp_path, backend):
    """Brian2's cells subtract; NEST's subtracting layers are hippocam's own cell model."""
    graph = DATA / "snntorch_lif_subtract.nir"
    f = np.load(graph.with_suffix(".npz"))
    np.save(tmp_path / "x.npy", f["input"])
    assert run(graph, "--input", tmp_path / "x.npy", "--dt-ms", 0.1, "--time-unit", "s", "--reset", "subtract",
               "--backend", backend, "--out", tmp_path / "b.npz") == 0
    for key in ("spikes/1", "spikes/3"):
        np.testing.assert_array_equal(np.load(tmp_path / "b.npz")[key], f[key])


@pytest.mark.nest
def test_nest_without_a_compiler_refuses_a_subtracting_graph_in_one_line_before_writing(tmp_path, capsys,
                                                                                        monkeypatch):
    """hippocam's NEST cell model (reset by subtraction) is compiled on first use: with no compiler and nothing
    compiled yet, exit 2 and one line naming the population, the compiler and what to do; nothing written."""
    monkeypatch.setenv("HIPPOCAM_NEST_CELLS_DIR", str(tmp_path / "cells"))
    monkeypatch.setenv("CXX", "no-such-compiler")
    graph = DATA / "snntorch_lif_subtract.nir"
    np.save(tmp_path / "x.npy", np.load(graph.with_suffix(".npz"))["input"])
    assert run(graph, "--input", tmp_path / "x.npy", "--dt-ms", 0.1, "--time-unit", "s", "--reset", "subtract",
               "--backend", "nest", "--out", tmp_path / "n.npz") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "population L0, which resets by subtraction" in err and "'no-such-compiler' was not found" in err
    assert err.endswith("or run on brian2")
    assert not (tmp_path / "n.npz").exists() and not (tmp_path / "cells").exists()


def test_a_silent_network_gets_a_note_on_the_units(tmp_path, capsys):
    """Sinabs' IF CNN read with seconds: every jump is r * dt = 0.001 of a threshold, and nothing fires."""
    graph = DATA / "sinabs_if_cnn_value.nir"
    np.save(tmp_path / "x.npy", np.load(graph.with_suffix(".npz"))["input"])
    for unit, note in (("s", True), ("ms", False)):
        assert run(graph, "--input", tmp_path / "x.npy", "--dt-ms", 1, "--time-unit", unit, "--out",
                   tmp_path / f"{unit}.npz") == 0
        assert ("note: no spikes in 1, 4, 8: check --dt-ms and --time-unit" in capsys.readouterr().out) == note


def test_a_readout_gives_its_membrane_at_every_step(tmp_path):
    graph = tmp_path / "li.nir"
    nir.write(str(graph), li_graph())
    x = np.zeros((6, 2, 1))
    x[2, 0, 0] = 1                     # sample 0: one spike in step 2; sample 1: none
    np.save(tmp_path / "x.npy", x)
    assert run(graph, "--input", tmp_path / "x.npy", "--dt-ms", 1, "--time-unit", "ms", "--out",
               tmp_path / "o.npz") == 0
    got = np.load(tmp_path / "o.npz")
    np.testing.assert_allclose(got["v/li"][:, 0, 0], [0, 0, 0.1, 0.09, 0.081, 0.0729], atol=1e-12)
    np.testing.assert_array_equal(got["v/li"][:, 1, 0], 0)
    np.testing.assert_allclose(got["v_final/li"][:, 0], [0.0729, 0.0], atol=1e-12)   # 0.1 * 0.9 ** 3, by hand
    assert not any(k.startswith("spikes/") for k in got.files)


def test_values_on_refsim_scale_the_jump(tmp_path):
    """A value other than 0/1 (an analog first layer) drives refsim in proportion; a backend refuses it."""
    graph = tmp_path / "li.nir"
    nir.write(str(graph), li_graph())
    x = np.zeros((3, 1, 1))
    x[0] = 0.5
    np.save(tmp_path / "x.npy", x)
    assert run(graph, "--input", tmp_path / "x.npy", "--dt-ms", 1, "--time-unit", "ms", "--out",
               tmp_path / "o.npz") == 0
    np.testing.assert_allclose(np.load(tmp_path / "o.npz")["v/li"][:, 0, 0], [0.05, 0.045, 0.0405], atol=1e-12)
    assert run(graph, "--input", tmp_path / "x.npy", "--dt-ms", 1, "--time-unit", "ms", "--backend", "brian2",
               "--out", tmp_path / "b.npz") == 2


def test_info_lists_nodes_and_what_they_become(capsys):
    assert main(["nir", "info", str(LIF), "--dt-ms", "0.1", "--time-unit", "s"]) == 0
    out = capsys.readouterr().out
    assert "1: LIF, in 6 out 6; tau=0.001 (x6)" in out
    assert "0: Affine" in out and "fused into the projection" in out
    assert "membrane decay 0.9/step" in out       # tau = 1e-4 s / (1 - 0.9) at a 0.1 ms step


def test_info_names_recurrent_weights_and_what_nest_needs_for_a_layer(capsys):
    assert main(["nir", "info", str(DATA / "snntorch_cuba_rec_zero.nir"), "--dt-ms", "0.1", "--time-unit", "s"]) == 0
    out = capsys.readouterr().out
    assert "3.lif: membrane decay 0.9/step" in out
    assert "recurrent weights from 3.lif: its spikes of 1 step before" in out
    # the CubaLIF layer (a current in nA through exact integration is refsim's only to rounding), not the LIF one:
    # its own weights and a decay of 0.9 per step are NEST's to the bit
    assert out.count("on nest: hippocam's own cell model") == 1
    assert out.index("on nest") < out.index("3.lif: membrane")
    assert main(["nir", "info", str(DATA / "snntorch_lif_subtract.nir"), "--dt-ms", "0.1", "--time-unit", "s",
                 "--reset", "subtract"]) == 0
    out = capsys.readouterr().out
    assert out.count("reset subtract to 0") == 2 and out.count("on nest: hippocam's own cell model") == 2


def test_info_reads_a_graph_failing_nirs_type_check_as_run_does_and_warns_in_one_line(tmp_path, capsys):
    """Rockpool's exports fail NIR's own type check (an Output of [1, 1, 1] after a layer of [1]); ``run`` reads
    them without it, and so must ``info``. The warning is one line, as an error is."""
    graph = tmp_path / "rockpool.nir"
    nir.write(str(graph), nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([1])}), "fc": nir.Linear(weight=np.array([[2.0]])),
        "lif": nir.LIF(tau=np.full(1, 2e-2), r=np.full(1, 20.0), v_leak=np.zeros(1), v_threshold=np.ones(1),
                       v_reset=np.zeros(1)),
        "output": nir.Output(output_type={"output": np.array([1, 1, 1])})},
        edges=[("input", "fc"), ("fc", "lif"), ("lif", "output")], type_check=False))
    with pytest.raises(ValueError, match="type mismatch"):
        nir.read(str(graph))                                   # the file really fails NIR's check
    assert main(["nir", "info", str(graph), "--time-unit", "s"]) == 0
    out, err = capsys.readouterr()
    assert "lif: LIF, in 1 out 1" in out
    warning = [line for line in err.splitlines() if "type check" in line]
    assert len(warning) == 1 and warning[0].startswith("hippocam: warning: ") and "type_check=False" in warning[0]
    assert "UserWarning" not in err and "read_file(" not in err          # no Python warning with its source line


def test_info_says_why_a_graph_is_refused(tmp_path, capsys):
    graph = tmp_path / "thr.nir"
    nir.write(str(graph), nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([2])}), "fc": nir.Linear(weight=np.eye(2)),
        "thr": nir.Threshold(threshold=np.ones(2)), "output": nir.Output(output_type={"output": np.array([2])})},
        edges=[("input", "fc"), ("fc", "thr"), ("thr", "output")]))
    assert main(["nir", "info", str(graph)]) == 2
    out, err = capsys.readouterr()
    assert "thr: Threshold" in out and "REFUSED: Threshold is not supported" in out
    assert "node thr: Threshold is not supported" in err and "Traceback" not in err


@pytest.mark.parametrize("change, message", [
    (lambda a: a.update(graph="missing.nir"), "no such NIR file"),
    (lambda a: a.update(input="missing.npy"), "no such input file"),
    (lambda a: a.update(input="bad_shape.npy"), "the graph's Input takes (8,)"),
    (lambda a: a.update(input="two_axes.npy"), "want a numeric array shaped (steps, samples, *input shape)"),
    (lambda a: a.update(out="o.txt"), "name a .npz file"),
    (lambda a: a.update(out="exists.npz"), "exists; choose another name or pass --force"),
    (lambda a: a.update(out="nofolder/o.npz"), "does not exist"),
    (lambda a: a.update(dt="-1"), "--dt-ms must be a positive number"),
    (lambda a: a.update(dt="1"), "is not longer than the step"),
    (lambda a: a.update(backend="loihi"), "invalid choice: 'loihi'"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, change, message):
    np.save(tmp_path / "x.npy", np.zeros((4, 2, 8)))
    np.save(tmp_path / "bad_shape.npy", np.zeros((4, 2, 5)))
    np.save(tmp_path / "two_axes.npy", np.zeros((4, 8)))
    (tmp_path / "exists.npz").write_bytes(b"")
    a = dict(graph=str(LIF), input="x.npy", out="o.npz", dt="0.1", backend="refsim")
    change(a)
    p = (lambda name: name if name == str(LIF) else str(tmp_path / name))
    code = run(p(a["graph"]), "--input", p(a["input"]), "--dt-ms", a["dt"], "--time-unit", "s", "--backend",
               a["backend"], "--out", p(a["out"]))
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o.npz").exists()
