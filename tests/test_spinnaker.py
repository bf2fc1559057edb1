"""The SpiNNaker backend on sPyNNaker's virtual board: mapping, batch-only inputs, board errors, no writes to ~.

Nothing here needs a board or the network: unreachable boards are loopback addresses (127.0.0.2 has
nothing listening; a socket on 127.0.0.3 that never answers stands for a silent board).
"""
import json
import os
import socket
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

pytestmark = pytest.mark.spinnaker

pytest.importorskip("spynnaker")

from hippocam.errors import BackendError  # noqa: E402
from hippocam.backends import spinnaker as sp  # noqa: E402
from hippocam.cam import Memory, learn, network, recall_content, recall_cue  # noqa: E402
from hippocam.cam.mapping import format_map, map_memory  # noqa: E402
from hippocam.cam.profile import load  # noqa: E402


PROFILE = "reference"  # same structure as the "spinnaker" profile


@pytest.fixture(autouse=True)
def hermetic(tmp_path_factory, monkeypatch):
    """No board of the developer's own, reports into a temporary folder."""
    for var in (sp.ENV_CFG, sp.ENV_MACHINE, sp.ENV_VERSION, sp.ENV_TIMEOUT):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv(sp.ENV_REPORTS, str(tmp_path_factory.getbasetemp() / "spinnaker-reports"))


def spec(c=5, k=10):
    return network.build_spec(c, k, load(PROFILE))


# -- configuration ---------------------------------------------------------------------------
def test_board_config_layers(tmp_path, monkeypatch):
    board = sp.board_config()
    assert board.virtual and board.version == "5" and "virtualboard = True" in board.text
    assert "modeinfo" not in board.text and "mode = Info" in board.text

    user = tmp_path / "my.cfg"
    user.write_text("[Machine]\nmachine_name = spinn-5.example\nversion = 5\n"
                    "[Reports]\ndefault_report_file_path = /somewhere\n[Simulation]\nspikes_per_second = 100\n")
    monkeypatch.delenv(sp.ENV_REPORTS)
    board = sp.board_config(config=user)
    assert not board.virtual and board.machine_name == "spinn-5.example"
    assert "virtualboard" not in board.text  # the user's [Machine] replaced the virtual board
    assert "spikespersecond = 100" in board.text and "mode = Info" in board.text
    assert str(board.reports_dir) == "/somewhere"  # the user's report folder unless one is given
    assert str(sp.board_config(config=user, reports_dir=tmp_path).reports_dir) == str(tmp_path)
    assert sp.board_config(config=user, virtual=True).virtual

    monkeypatch.setenv(sp.ENV_MACHINE, "10.0.0.9")
    board = sp.board_config()
    assert (board.machine_name, board.version, board.virtual) == ("10.0.0.9", "5", False)
    assert sp.ENV_MACHINE in board.source
    monkeypatch.delenv(sp.ENV_MACHINE)

    with pytest.raises(BackendError, match="does not exist"):
        sp.board_config(config=tmp_path / "missing.cfg")
    (tmp_path / "none.cfg").write_text("[Machine]\nversion = 5\n")
    with pytest.raises(BackendError, match="names no board"):
        sp.board_config(config=tmp_path / "none.cfg")


# -- mapping on the virtual board ----------------------------------------------------------
@pytest.mark.parametrize("c,k", [(5, 10), (32, 32), (128, 128)])
def test_map_memory(c, k, tmp_path):
    t0 = time.perf_counter()
    report = map_memory(c, k, profile=PROFILE, reports_dir=tmp_path)
    assert time.perf_counter() - t0 < 60
    s = spec(c, k)
    assert (report["cue_size"], report["content_size"]) == (c, k)
    assert (report["neurons"], report["synapses"], report["plastic_synapses"]) == (
        s.n_neurons, s.n_synapses, s.n_plastic)
    assert report["plastic_synapses"] == 2 * c * k
    assert report["cores"] > 0 and report["chips"] > 0 and report["sdram_bytes"] > 0
    assert set(report["populations"]) == {p.name for p in s.populations}
    for p in s.populations:
        got = report["populations"][p.name]
        assert got["neurons"] == p.size and got["cores"] >= 1 and got["chips"] >= 1
        assert got["sdram_bytes"] > 0
    assert report["cores"] == sum(p["cores"] for p in report["populations"].values())
    assert report["report_dir"].startswith(str(tmp_path))
    assert os.path.exists(os.path.join(report["report_dir"], "placement_by_vertex_using_graph.rpt"))
    json.dumps(report)  # plain data, ready for result files
    text = format_map(report)
    assert all(p.name in text for p in s.populations) and f"CAM {c} x {k}" in text


def test_check_placed_names_the_population_placed_wrong():
    report = {"report_dir": "run-1", "populations": {"A": {"neurons": 5, "cores": 1}, "B": {"neurons": 3, "cores": 0}}}
    a5 = network.PopulationSpec("A", 5, None)
    sp.check_placed(report, [a5])
    for pop, name in [(network.PopulationSpec("B", 3, None), "B \\(3 neurons\\)"),
                      (network.PopulationSpec("C", 1, None), "C \\(1 neurons\\)"),
                      (network.PopulationSpec("A", 4, None), "A \\(4 neurons\\)")]:
        with pytest.raises(BackendError, match=f"population {name} is not placed as expected in run-1"):
            sp.check_placed(report, [a5, pop])


def test_map_splits_plastic_targets_above_254_neurons(tmp_path):
    """sPyNNaker holds at most 254 synapses in a plastic row: 256 post neurons need two cores."""
    report = map_memory(256, 256, profile=PROFILE, reports_dir=tmp_path)
    for name in ("ContCue", "CueCont"):  # the post sides of the two memory matrices
        assert report["populations"][name]["cores"] == 2
    assert report["populations"]["CueCue"]["cores"] == 1


def test_memory_without_a_board_refuses_to_run_before_mapping():
    """Nothing configured: a run would only map and decode nothing, so it is refused before sPyNNaker starts."""
    with Memory(5, 10, backend="spinnaker", profile=PROFILE) as mem:
        with pytest.raises(BackendError, match="no SpiNNaker board is configured.*HIPPOCAM_SPINNAKER_MACHINE"):
            mem.run([learn(0, {0, 1}), recall_cue(0)])
        assert mem.backend._materialized is False
        assert mem.backend.mapping()["cores"] >= 10  # mapping still works


def test_cam_run_without_a_board_exits_2_in_one_line(tmp_path, capsys):
    from hippocam.experiments import cli
    scenario = tmp_path / "s.json"
    scenario.write_text(json.dumps({"cue_size": 2, "content_size": 3, "operations": [
        {"op": "learn", "cue": 0, "content": [1]}, {"op": "recall_cue", "cue": 0}]}))
    assert cli.main(["cam", "run", str(scenario), "--backend", "spinnaker", "--check"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no SpiNNaker board is configured" in err[0], err


def test_memory_on_virtual_board_is_map_only():
    """Asked for explicitly (map_only_runs), the Memory API runs on a virtual board (mapping only); a second
    batch is refused; the weights are the loaded ones."""
    with Memory(5, 10, backend="spinnaker", profile=PROFILE) as mem:
        backend = mem.backend
        assert backend.can_simulate is False
        backend.map_only_runs = True
        assert np.nanmax(backend.weights("cue_veto")) == 6.0
        w = np.full((5, 10), 6.0)
        backend.set_weights("cue_to_content", w)
        assert np.array_equal(backend.weights("cue_to_content"), w)
        results = mem.run([learn(0, {0, 1}), recall_cue(0), recall_content({1})])
        assert len(results) == 3 and mem.now_ms > 0
        out = backend.spikes("OUT")
        assert len(out) == 15 and all(len(t) == 0 for t in out)  # nothing is executed
        # the board got the weights set before the run (to sPyNNaker's fixed-point precision)
        loaded = np.asarray(backend.projections["cue_to_content"].get("weight", format="array"))
        assert np.allclose(loaded, w, atol=0.01)

        same = [np.asarray(t) for t in backend._trains]
        backend.set_inputs(same)  # the inputs it already has: fine
        with pytest.raises(BackendError, match="every input before the first run"):
            mem.recall_cue(0)
        with pytest.raises(BackendError, match="before the first run"):
            backend.set_weights("cue_to_content", 0 * w)
        mapping = backend.mapping()  # what the conformance tool reports for a map-only backend
        assert mapping["cores"] >= 10 and mapping["chips"] >= 1


def test_off_grid_and_short_latency_are_refused():
    backend = sp.Backend(virtual=True)
    backend.build(spec())
    with pytest.raises(BackendError, match="off the 1.0 ms timestep grid"):
        backend.set_inputs([np.array([1.5])] + [np.zeros(0)] * 14)
    with pytest.raises(BackendError, match="shortest delay"):
        backend.delay(0.0)
    backend.close()


# -- failures inside sPyNNaker ---------------------------------------------------------------
@pytest.mark.parametrize("kind", ["spynnaker", "bug"])
def test_a_failed_build_ends_spynnaker_and_keeps_the_cause(kind, monkeypatch):
    """sPyNNaker's own errors become one BackendError naming the step and chaining the cause; anything else (a
    bug) comes through unchanged. Either way sPyNNaker is ended, so the next network can be built."""
    from spynnaker.pyNN.data import SpynnakerDataView
    from spynnaker.pyNN.exceptions import SynapseRowTooBigException

    error = SynapseRowTooBigException(300, "row of 300 synapses") if kind == "spynnaker" else TypeError("a bug")
    backend = sp.Backend(virtual=True)
    backend.build(spec())

    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(backend.sim, "Projection", fail)
    with pytest.raises(BackendError if kind == "spynnaker" else TypeError) as info:
        backend.run_until(1.0)
    if kind == "spynnaker":
        assert "building the network failed: SynapseRowTooBigException" in str(info.value)
        assert info.value.__cause__ is error
    else:
        assert info.value is error
    assert backend.closed and SpynnakerDataView.is_shutdown()
    with pytest.raises(BackendError, match="closed"):
        backend.spikes("OUT")
    monkeypatch.undo()
    assert map_memory(2, 3, profile=PROFILE)["cores"] >= 9  # sPyNNaker starts again


# -- real boards that cannot be reached ------------------------------------------------------
def test_unreachable_board_fails_fast():
    s = spec()
    t0 = time.perf_counter()
    backend = sp.Backend(machine="127.0.0.2", probe_timeout_s=5)  # nothing listens there
    assert backend.can_simulate
    with pytest.raises(BackendError, match="127.0.0.2 cannot be reached"):
        backend.build(s)
    assert time.perf_counter() - t0 < 10


def test_unreachable_spalloc_server_fails_fast(tmp_path):
    cfg = tmp_path / "spalloc.cfg"
    cfg.write_text("[Machine]\nspalloc_server = 127.0.0.2\n")  # classic spalloc: TCP 22244, closed here
    backend = sp.Backend(config=cfg, probe_timeout_s=5)
    t0 = time.perf_counter()
    with pytest.raises(BackendError, match="cannot reach the spalloc server 127.0.0.2:22244"):
        backend.build(spec())
    assert time.perf_counter() - t0 < 6


def test_silent_board_times_out(monkeypatch):
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        silent.bind(("127.0.0.3", sp.SCAMP_PORT))
    except OSError as err:
        silent.close()
        pytest.skip(f"cannot stand in for a silent board: {err}")
    try:
        monkeypatch.setenv(sp.ENV_MACHINE, "127.0.0.3")
        monkeypatch.setenv(sp.ENV_TIMEOUT, "1")
        backend = sp.Backend()
        t0 = time.perf_counter()
        with pytest.raises(BackendError, match=f"did not answer within 1 s.*{sp.ENV_TIMEOUT}=0"):
            backend.build(spec())
        assert time.perf_counter() - t0 < 3
    finally:
        silent.close()


def test_unreadable_user_config(tmp_path, monkeypatch):
    monkeypatch.setenv(sp.ENV_CFG, str(tmp_path / "nope.cfg"))
    with pytest.raises(BackendError, match=f"nope.cfg \\(from {sp.ENV_CFG}\\) does not exist"):
        sp.Backend()


# -- nothing written into the home directory -------------------------------------------------
@pytest.mark.slow
def test_home_directory_untouched(tmp_path):
    """With HOME empty sPyNNaker would write ~/.spynnaker.cfg; with one there it would refuse to start."""
    empty_home, busy_home = tmp_path / "home", tmp_path / "busy"
    empty_home.mkdir()
    busy_home.mkdir()
    decoy = "[Machine]\nmachine_name = 127.0.0.2\nversion = 5\n"
    (busy_home / ".spynnaker.cfg").write_text(decoy)
    script = textwrap.dedent(f"""
        import os
        from hippocam.cam.mapping import map_memory
        for home in ({str(empty_home)!r}, {str(busy_home)!r}):
            os.environ["HOME"] = home
            report = map_memory(3, 4, profile="reference", reports_dir={str(tmp_path / "reports")!r})
            assert report["board"].startswith("virtual"), report["board"]
        assert "XDG_CONFIG_HOME" not in os.environ
        print("ok")
        """)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HIPPOCAM_SPINNAKER", "XDG_"))}
    env["HOME"] = str(empty_home)
    env["MPLCONFIGDIR"] = str(tmp_path / "mpl")  # sPyNNaker imports matplotlib, which caches fonts in ~
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0 and "ok" in done.stdout, done.stderr[-3000:]
    assert list(empty_home.iterdir()) == []
    assert [p.name for p in busy_home.iterdir()] == [".spynnaker.cfg"]
    assert (busy_home / ".spynnaker.cfg").read_text() == decoy


def test_a_second_open_spinnaker_network_is_refused_and_the_first_keeps_working():
    first = sp.Backend(virtual=True)
    first.build(spec())
    second = sp.Backend(virtual=True)
    with pytest.raises(BackendError, match="another spinnaker network is still open"):
        second.build(spec())
    assert first.closed is False and first.mapping()["cores"] >= 10
    first.close()
    second.build(spec())  # the first was closed: the simulator is free
    second.close()
