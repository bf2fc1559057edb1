"""Converted event networks on sPyNNaker's virtual board: graph builds, ``hippocam event map``, no writes to ~.

sPyNNaker is installed in CI: nothing here is skipped. The one model mapped (digits-cnn, 10 k neurons, 0.66 M
synapses) takes about 10 s, in a subprocess whose home directory is empty.
"""
import json
import math
import os
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest

from hippocam.errors import BackendError
from hippocam.backends import spinnaker as sp
from hippocam.backends.graph import Timing
from hippocam.backends.graph import DeltaCells, Graph, Sources, Synapses
from hippocam.event_models import pynn as pynn_net
from hippocam.event_models import zoo
from hippocam.experiments import cli



@pytest.fixture(autouse=True)
def hermetic(tmp_path_factory, monkeypatch):
    """No board of the developer's own, reports into a temporary folder."""
    for var in (sp.ENV_CFG, sp.ENV_MACHINE, sp.ENV_VERSION, sp.ENV_TIMEOUT):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv(sp.ENV_REPORTS, str(tmp_path_factory.getbasetemp() / "spinnaker-reports"))


# -- the command on a shipped model, in a fresh process with an empty home ----------------------
@pytest.fixture(scope="module")
def digits_map(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("event-map")
    home = tmp / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HIPPOCAM_SPINNAKER", "XDG_"))}
    # PYTHONPATH stays as it is: the checkout's root is the package hippocam, importable from its parent only
    env.update(HOME=str(home), MPLCONFIGDIR=str(tmp / "mpl"),
               HIPPOCAM_SPINNAKER_REPORTS=str(tmp / "reports"))
    out = tmp / "digits.json"
    done = subprocess.run([sys.executable, "-m", "hippocam.experiments.cli", "event", "map", "digits-cnn", "--timesteps", "4",
                           "--json", str(out)], env=env, cwd=tmp, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return {"report": json.loads(out.read_text()), "stdout": done.stdout, "home": home, "tmp": tmp}


@pytest.mark.spinnaker
@pytest.mark.slow
def test_digits_cnn_maps_with_cores_and_chips(digits_map):
    report = digits_map["report"]
    # the real-time check: 20 test samples on the spinnaker-model (a virtual board runs nothing); digits-cnn's
    # busiest cores get tens of thousands of events in a step, far beyond one core's 5,000 per ms
    load = report["realtime"]
    assert load["max_events_per_core_step"] > 5000 and load["steps"] == 20 * report["slot_steps"]
    assert load["time_scale_factor"] == math.ceil(load["max_events_per_core_step"] / 5000) > 1
    assert (f"a board run needs time_scale_factor {load['time_scale_factor']}; the configured 1 would lose spikes: "
            f"set HIPPOCAM_SPINNAKER_TIME_SCALE={load['time_scale_factor']}") in digits_map["stdout"]
    net, _ = zoo.find_model("digits-cnn")
    graph, layout = pynn_net.to_graph(net, pynn_net.RunParams(steps=4), Timing(1.0))
    assert (report["model"], report["timesteps"], report["slot_steps"]) == ("digits-cnn", 4, layout.slot_steps)
    assert (report["neurons"], report["synapses"]) == (graph.n_neurons, graph.n_synapses)
    assert report["board"].startswith("virtual")
    assert report["report_dir"].startswith(str(digits_map["tmp"] / "reports"))
    pops = report["populations"]
    assert set(pops) == {p.name for p in graph.populations}
    for p in graph.populations:
        got = pops[p.name]
        assert got["neurons"] == p.size
        assert got["cores"] == math.ceil(p.size / 256), p.name  # 256 cells (or sources) per core by default
        if isinstance(p, DeltaCells):
            shifts, steps = got["ring_buffer"]["shifts"], got["ring_buffer"]["weight_step_mV"]
            scale = got["ring_buffer"]["scale"]
            assert steps == [2.0 ** (s - 15) / scale for s in shifts]
            # the 16-bit ring buffers hold the largest input a cell can get in one step (no saturation): the
            # plan uses the factor 2 that sPyNNaker's own rule (2**shift > sum) leaves spare, not more
            bound = sp.summed_weight_bounds(graph)[p.name]
            assert all(b * scale * 2.0 ** (15 - s) < 65536 for s, b in zip(shifts, bound))
        assert 1 <= got["chips"] <= got["cores"] and got["sdram_bytes"] > 0
        assert len(got["placements"]) == got["cores"]
    assert report["cores"] == sum(p["cores"] for p in pops.values())
    assert report["chips"] == len({(x, y) for p in pops.values() for x, y, _ in p["placements"]})
    assert report["sdram_bytes"] == sum(p["sdram_bytes"] for p in pops.values())
    assert report["seconds"] < 60
    text = digits_map["stdout"]
    assert "digits-cnn (T=4) on SpiNNaker" in text and "L4" in text and f"{report['cores']}" in text


@pytest.mark.spinnaker
@pytest.mark.slow
def test_map_writes_nothing_into_home(digits_map):
    assert list(digits_map["home"].iterdir()) == []


# -- bad input: one-line errors before anything is built ---------------------------------------
@pytest.mark.parametrize("argv,message", [
    (["--backend", "brian2"], "invalid choice: 'brian2' (choose from 'spinnaker')"),
    (["--backend", "loihi"], "invalid choice: 'loihi' (choose from 'spinnaker')"),
    (["--timesteps", "0"], "--timesteps must be in 1..4096"),
    (["--timesteps", "many"], "--timesteps must be an integer"),
    (["--neurons-per-core", "300"], "--neurons-per-core must be in 1..256"),
    (["--json", "/nonexistent-folder/x.json"], "folder /nonexistent-folder does not exist"),
])
def test_map_bad_input(argv, message, capsys):
    assert cli.main(["event", "map", "digits-cnn"] + argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and err.startswith("hippocam: error:")


def test_map_unknown_model_and_existing_json(tmp_path, capsys):
    assert cli.main(["event", "map", "no-such-model"]) == 2
    assert "unknown model 'no-such-model'" in capsys.readouterr().err
    existing = tmp_path / "m.json"
    existing.write_text("{}")
    assert cli.main(["event", "map", "digits-cnn", "--json", str(existing)]) == 2
    assert "pass --force" in capsys.readouterr().err
    assert existing.read_text() == "{}"


def test_map_without_spynnaker(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "pyNN.spiNNaker", None)  # as if sPyNNaker were not installed
    assert cli.main(["event", "map", "digits-cnn"]) == 2
    err = capsys.readouterr().err
    assert "needs sPyNNaker" in err and "pip install '.[spinnaker]'" in err


# -- graph builds on a small network -------------------------------------------------------------
def small_graph(latency_ms=1.0):
    rng = np.random.default_rng(0)
    pre, post = np.meshgrid(np.arange(8), np.arange(25), indexing="ij")
    w = rng.normal(0, 1, pre.size)
    return Graph(1.0, (Sources("src", 8), DeltaCells("cells", 25, v_thresh_mV=1.0, v_init_mV=0.5),
                       DeltaCells("out", 3, v_thresh_mV=pynn_net.READOUT_THRESHOLD_MV, record_spikes=False)),
                 (Synapses("in", "src", "cells", pre.ravel(), post.ravel(), w, latency_ms),
                  Synapses("ro", "cells", "out", np.arange(25), np.arange(25) % 3, np.full(25, 0.5), 2.0)))


@pytest.mark.spinnaker
def test_graph_maps_with_neurons_per_core(tmp_path):
    g = small_graph()
    trains = {"src": [[2.0, 3.0]] * 4 + [[]] * 4}
    report = sp.map_graph(g, trains, run_ms=10.0, reports_dir=tmp_path, neurons_per_core=10)
    pops = report["populations"]
    assert (pops["cells"]["cores"], pops["out"]["cores"], pops["src"]["cores"]) == (3, 1, 1)
    assert (report["neurons"], report["sources"], report["synapses"]) == (28, 8, 225)
    exc, inh = sp.summed_weight_bounds(g)["cells"]
    w = g.projections[0].weight_mV.reshape(8, 25)
    assert np.isclose(exc, np.clip(w, 0, None).sum(axis=0).max())
    assert np.isclose(inh, np.clip(-w, 0, None).sum(axis=0).max())
    assert sp.summed_weight_bounds(g)["out"] == (pytest.approx(4.5), 0.0)  # 9 cells of 0.5 mV onto out[0]
    planned = sp.plan(g).cell("out")  # the ring buffers are sized by the plan (tests/test_spinnaker_board.py)
    assert pops["out"]["ring_buffer"]["shifts"] == list(planned.shifts)
    assert "cells" in sp.format_graph_map(report, "small")


@pytest.mark.spinnaker
def test_graph_rules():
    backend = sp.Backend(virtual=True)
    assert backend.min_latency_ms(1.0) == 1.0 and backend.min_latency_ms(0.5) == 0.5
    with pytest.raises(BackendError, match="shortest here is 1 ms"):
        backend.build_graph(small_graph(latency_ms=0.0))
    backend.build_graph(small_graph())
    with pytest.raises(BackendError, match="off the 1.0 ms timestep grid"):
        backend.set_spike_times("src", [[1.5]] + [[]] * 7)
    with pytest.raises(BackendError, match="8 sources, got 2"):
        backend.set_spike_times("src", [[], []])
    with pytest.raises(BackendError, match="not a spike source"):
        backend.set_spike_times("cells", [[]] * 25)
    backend.set_spike_times("src", [[2.0]] * 8)
    backend.run_until(5.0)
    assert backend.can_simulate is False and all(len(t) == 0 for t in backend.spikes("cells"))
    backend.set_spike_times("src", [[2.0]] * 8)  # the same times: fine
    with pytest.raises(BackendError, match="every spike time before the first run"):
        backend.set_spike_times("src", [[3.0]] * 8)
    with pytest.raises(BackendError, match="no SpiNNaker board is configured"):  # a virtual board ran nothing
        backend.membrane("out")
    mapping = backend.mapping()
    assert mapping["populations"]["cells"]["cores"] == 1
    backend.close()
    with pytest.raises(BackendError, match="neurons_per_core must be"):
        sp.Backend(virtual=True, neurons_per_core=0)


@pytest.fixture
def patches():
    pytest.importorskip("spynnaker")
    from hippocam.backends.spinnaker import patches
    return patches


def test_patched_row_builder_matches_spynnakers_original(patches):
    """The replacement of sPyNNaker's quadratic row builder gives the rows of the original it replaced."""
    sp.Backend(virtual=True)  # importing the simulator applies the patch
    cls = patches._row_builder_class()
    patched, original = getattr(cls, patches.ROW_BUILDER), patches.original_row_builder()
    assert patched is not original and original.__module__.startswith("spynnaker.")
    rng = np.random.default_rng(1)
    cases = [(0, 5, (), 3), (1, 1, (), 1), (700, 40, (), 2), (700, 40, (3,), 1000), (5000, 300, (2,), 7),
             (300, 0, (), 4), (300, 20, (), 0)]
    for n, n_rows, item_shape, limit in cases:
        idx = rng.integers(-2, n_rows + 6, n)  # out-of-range indices belong to no row
        for data in (rng.random((n, *item_shape)), rng.integers(0, 2**32, (n, *item_shape), dtype=np.uint32)):
            want = original(None, idx, n_rows, data, limit)
            got = patched(None, idx, n_rows, data, limit)
            assert len(got) == len(want) == n_rows
            assert all(a.dtype == b.dtype and np.array_equal(a, b) for a, b in zip(got, want)), (n, n_rows, limit)


def test_patches_are_not_applied_to_another_spynnaker_version(patches, monkeypatch):
    from spinn_utilities import config_holder

    cls = patches._row_builder_class()
    original = patches.original_row_builder()
    monkeypatch.setattr(cls, patches.ROW_BUILDER, original)  # as before any patch (restored after the test)
    monkeypatch.setattr(patches, "installed_version", lambda: "1!7.5.0")
    monkeypatch.setattr(patches, "_warned", False)
    with pytest.warns(RuntimeWarning, match=re.escape("sPyNNaker 1!7.5.0 is installed but hippocam's patches "
                                                      "of sPyNNaker were written for 1!7.4.1 and are not applied")):
        assert patches.apply() is False
    assert getattr(cls, patches.ROW_BUILDER) is original
    lookup = config_holder._user_cfg
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said once: no second warning
        assert patches.apply() is False
        with patches.pinned_user_config("/elsewhere/.spynnaker.cfg"):
            assert config_holder._user_cfg is lookup
    monkeypatch.setattr(patches, "installed_version", lambda: patches.SUPPORTED_VERSION)
    assert patches.apply() is True and getattr(cls, patches.ROW_BUILDER) is not original
    with patches.pinned_user_config("/elsewhere/.spynnaker.cfg"):
        assert config_holder._user_cfg() == "/elsewhere/.spynnaker.cfg"
    assert config_holder._user_cfg is lookup


@pytest.mark.spinnaker
def test_connection_lists_are_sorted_by_pre_then_post():
    """sPyNNaker 7.4.1 sizes rows from a list it assumes sorted: unsorted lists gave over-long or cut rows."""
    backend = sp.Backend(virtual=True)
    backend.build_graph(small_graph())
    pre, post, w = np.array([3, 0, 3, 1, 0]), np.array([2, 4, 0, 1, 1]), np.array([0.1, 0.2, 0.3, 0.4, 0.5])
    rows = np.asarray(backend.weighted_connector(pre, post, 2.0, w).conn_list)
    assert rows.tolist() == [[0, 1, 0.5, 2.0], [0, 4, 0.2, 2.0], [1, 1, 0.4, 2.0], [3, 0, 0.3, 2.0],
                             [3, 2, 0.1, 2.0]]
    backend.close()
