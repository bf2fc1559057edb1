"""hippocam's own NEST cell model (backends/nest/cells/hippocam_cells.cpp), worked by hand: the timing of its three
receptors, reset by subtraction, and the build's ABI choice. The graphs that use it are checked against refsim and
the frameworks in tests/test_nir_frameworks.py, test_nir_exact.py and test_nir_reset.py."""
import numpy as np
import pytest

from hippocam.backends.nest import extension

W = 1.0


def run_cells(params: dict, weight: float, steps: int = 6) -> tuple[dict, dict]:
    """One cell per receptor, each hit once by the same spike (weight ``weight``); V in each of ``steps`` steps
    from the one the spike arrives in, and the steps (counted from it, up to ``steps``) at which each fired."""
    import nest
    nest.ResetKernel()
    nest.resolution = 1.0
    extension.install(nest, "this test")
    cells = {r: nest.Create(extension.MODEL, 1, params) for r in extension.RECEPTORS}
    source = nest.Create("spike_generator", params={"spike_times": [2.0]})
    relay = nest.Create("parrot_neuron")
    nest.Connect(source, relay, syn_spec={"delay": 1.0})
    meter = nest.Create("multimeter", params={"record_from": ["V_m"], "interval": 1.0})
    recorder = nest.Create("spike_recorder")
    for receptor, cell in cells.items():
        nest.Connect(relay, cell, syn_spec={"weight": weight, "delay": 1.0,
                                            "receptor_type": extension.RECEPTORS.index(receptor)})
        nest.Connect(meter, cell)
        nest.Connect(cell, recorder)
    nest.Simulate(4.0 + steps)
    ev, sp = meter.events, recorder.events
    # the relay fires at 3 ms (its step ending at 3), its spike arrives one step later: the step stamped 4 ms
    arrive = 4.0
    trace, fired = {}, {}
    for receptor, cell in cells.items():
        gid = cell.global_id
        keep = (ev["senders"] == gid) & (ev["times"] >= arrive)
        trace[receptor] = ev["V_m"][keep][:steps]
        fired[receptor] = sorted(int(t - arrive) for s, t in zip(sp["senders"], sp["times"])
                                 if s == gid and t - arrive < steps)
    return trace, fired


@pytest.mark.nest
def test_each_receptor_acts_in_its_step_and_the_current_decays_as_refsim_steps_it():
    """decay_m 0.5, decay_syn 0.25, a spike of 1 mV. By hand, from the step it arrives in:
    delta: V = 1, 0.5, 0.25 (on V at once); recurrent: I = 1, 0.25, 0.0625 and V = 1, 0.5 + 0.25, 0.375 + 0.0625
    (joins the current at once); current: the same a step later (as IF_curr_exp's current)."""
    trace, fired = run_cells({"decay_m": 0.5, "decay_syn": 0.25, "V_th": 100.0}, W)
    np.testing.assert_array_equal(trace["delta"][:3], [1.0, 0.5, 0.25])
    np.testing.assert_array_equal(trace["recurrent"][:3], [1.0, 0.75, 0.4375])
    np.testing.assert_array_equal(trace["current"][:4], [0.0, 1.0, 0.75, 0.4375])
    assert fired == {r: [] for r in extension.RECEPTORS}


@pytest.mark.nest
def test_reset_by_subtraction_keeps_the_residue_and_fires_once_a_step():
    """No leak, threshold 1, a 2.5 mV spike on V: 2.5 fires and keeps 1.5, which fires in the next step and keeps
    0.5; a reset to a value (V_sub 0) fires once and holds V_reset."""
    trace, fired = run_cells({"decay_m": 1.0, "V_th": 1.0, "V_sub": 1.0, "subtract": 1.0}, 2.5)
    np.testing.assert_array_equal(trace["delta"][:3], [1.5, 0.5, 0.5])
    assert fired["delta"] == [0, 1]
    trace, fired = run_cells({"decay_m": 1.0, "V_th": 1.0, "V_sub": 1.0, "subtract": 0.0, "V_reset": -0.25}, 2.5)
    np.testing.assert_array_equal(trace["delta"][:2], [-0.25, -0.25])
    assert fired["delta"] == [0]


@pytest.mark.nest
def test_a_threshold_of_zero_subtracts_nothing_as_refsim_does():
    """refsim subtracts the threshold itself: at 0, a cell brought from -1 mV to 0.5 mV fires in every step from
    then on and keeps its 0.5 mV (what a spike subtracts is a number of its own, not the flag that says whether it
    subtracts)."""
    trace, fired = run_cells({"decay_m": 1.0, "V_th": 0.0, "V_sub": 0.0, "subtract": 1.0, "V_m": -1.0}, 1.5, steps=4)
    np.testing.assert_array_equal(trace["delta"], [0.5, 0.5, 0.5, 0.5])
    assert fired["delta"] == [0, 1, 2, 3]


@pytest.mark.nest
def test_a_decay_outside_0_1_is_refused_by_the_model():
    import nest
    nest.ResetKernel()
    extension.install(nest, "this test")
    with pytest.raises(Exception, match="per-step decays in \\[0, 1\\]"):
        nest.Create(extension.MODEL, 1, {"decay_m": 1.5})


@pytest.mark.parametrize("symbol, abi", [(b"_ZN4nest14install_moduleERKSs", 0),
                                         (b"_ZN4nest14install_moduleERKNSt7__cxx1112basic_stringIcSt11char_traits",
                                          1)])
def test_the_module_is_built_with_nests_string_abi(tmp_path, symbol, abi):
    """pip's manylinux NEST uses libstdc++'s old std::string, a plain build the C++11 one: told apart by how
    nest::install_module(std::string const&) is mangled (both builds hold other "__cxx11" names)."""
    kernel = tmp_path / "nestkernel_api.so"
    kernel.write_bytes(b"\0std::__cxx11::list\0" + symbol + b"\0")
    assert extension._cxx11_abi(kernel) == abi


@pytest.mark.nest
def test_a_cache_folder_that_cannot_be_written_is_refused_in_one_line(tmp_path, monkeypatch):
    import nest

    from hippocam.errors import BackendError
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("HIPPOCAM_NEST_CELLS_DIR", str(blocker / "cells"))
    nest.ResetKernel()
    with pytest.raises(BackendError, match=r"^nest: this test needs .* cannot be written .*set HIPPOCAM_NEST_CELLS_DIR"
                                           r" to a writable folder$"):
        extension.install(nest, "this test")
