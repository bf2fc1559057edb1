"""Reset by subtraction on the backends (issue 13): ``backends.graph`` cells with ``reset="subtract"`` keep what lay
above threshold on Brian2, and on NEST through hippocam's own cell model (backends/nest/extension.py; refused in one
line without a compiler: tests/test_nir_cli.py). The fixtures' subtracting nets are in tests/test_nir_frameworks.py."""
import numpy as np
import pytest

from hippocam import backends
from hippocam.backends.graph import CubaCells, DeltaCells, Graph, Sources, Synapses
from hippocam.errors import InputError

BACKENDS = pytest.mark.parametrize("backend", ["brian2", "nest"])


def one_cell_graph(reset: str, v_reset_mV: float = 0.0) -> Graph:
    """One source spike of +0.5 theta (theta = 2 mV) into a cell resting at 0.9 theta, no leak."""
    return Graph(1.0, (Sources("src", 1), DeltaCells("cell", 1, v_thresh_mV=2.0, v_reset_mV=v_reset_mV,
                                                       v_init_mV=1.8, reset=reset)),
                 (Synapses("hop", "src", "cell", np.array([0]), np.array([0]), np.array([1.0]), 2.0),))


def run_one_cell(backend: str, graph: Graph) -> tuple[int, float]:
    with backends.get(backend) as sim:
        sim.build_graph(graph)
        sim.set_spike_times("src", [np.array([3.0])])
        sim.run_until(12.0)
        return len(sim.spikes("cell")[0]), float(sim.membrane("cell")[0])


def test_a_reset_rule_other_than_value_or_subtract_is_refused_naming_the_cells():
    with pytest.raises(InputError, match="cells: unknown reset 'zero'"):
        DeltaCells("cells", 1, v_thresh_mV=1.0, reset="zero")
    with pytest.raises(InputError, match="cuba: unknown reset"):
        CubaCells("cuba", 1, v_thresh_mV=1.0, tau_syn_ms=5.0, reset="")


@BACKENDS
@pytest.mark.parametrize("reset, want_mV", [("subtract", 0.8), ("value", 0.0)])
def test_a_cell_at_0_9_theta_given_0_5_theta_fires_and_keeps_0_4_theta_by_subtraction(reset, want_mV, backend):
    """By hand: 1.8 + 1.0 = 2.8 mV >= 2 mV fires; subtracting theta leaves 0.8 mV (0.4 theta), the reset to a
    value 0 mV. Brian2 holds volts, so 0.8 mV is met to its rounding."""
    spikes, v = run_one_cell(backend, one_cell_graph(reset))
    assert spikes == 1
    assert v == pytest.approx(want_mV, abs=1e-12)


@BACKENDS
def test_subtraction_lowers_v_by_v_thresh_minus_v_reset(backend):
    """The rule a strict (v > theta) layer relies on (convert.py): v_thresh 2, v_reset 0.5 subtracts 1.5 mV."""
    spikes, v = run_one_cell(backend, one_cell_graph("subtract", v_reset_mV=0.5))
    assert spikes == 1
    assert v == pytest.approx(2.8 - 1.5, abs=1e-12)


@pytest.mark.slow
@BACKENDS
def test_a_subtracting_cubalif_layer_matches_refsim_spike_for_spike(backend):
    """``CubaCells.reset``: the membrane subtracts while the current goes on, as in refsim."""
    from hippocam.event_models import pynn as pynn_net
    from hippocam.event_models.nir import reader
    from hippocam.event_models.snn import refsim
    from test_nir_import import cuba_graph
    rng = np.random.default_rng(3)
    w1, b1, w2 = rng.normal(0.6, 0.8, (6, 5)), rng.normal(0.05, 0.05, 6), rng.normal(0.4, 0.5, (3, 6))
    counts = np.random.default_rng(8).integers(0, 5, (6, 5))
    ref = {}
    for reset in ("value", "subtract"):
        net = reader.read(cuba_graph(w1, b1, w2), dt_ms=1.0, time_unit="s", levels=4, reset=reset)
        ref[reset] = refsim.simulate(net, counts, refsim.SimParams(steps=12))
    assert not np.array_equal(ref["value"].counts[0], ref["subtract"].counts[0])     # the rule matters here
    got = pynn_net.simulate(net, counts, backend, pynn_net.RunParams(steps=12))
    np.testing.assert_array_equal(got.counts[0], ref["subtract"].counts[0])
    np.testing.assert_allclose(got.logits, ref["subtract"].logits, rtol=1e-6, atol=1e-6)
