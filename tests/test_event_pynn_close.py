"""Closing pulses and held membranes (``event_models/pynn/close.py``): the smallest inhibition that keeps a layer
below threshold outside its window, worked by hand, and never beyond what a SpiNNaker core holds (s16.15:
+-65536 mV) in any graph the tests build. That the backends stay spike for spike with refsim under these pulses is
checked by the backend tests of tests/test_nir_import.py, test_nir_exact.py and test_nir_frameworks.py."""
from pathlib import Path

import numpy as np
import pytest

from hippocam.backends.graph import Timing
from hippocam.errors import InputError
from hippocam.event_models import pynn as pynn_net
from hippocam.event_models.nir import reader
from hippocam.event_models.pynn import close

nir = pytest.importorskip("nir")

DATA = Path(__file__).parent / "data"


def if_cells(**kw):
    """IF cells of threshold 1 mV, reset to 0, start at 0, no leak."""
    return close.Dynamics(**{"name": "L", "theta_cell": 1.0, "theta": 1.0, "reset": "value", "v_reset": 0.0,
                             "v_init": 0.0, **kw})


def test_nothing_can_fire_after_the_window_so_no_pulse():
    """Inputs only inside the window, no leak to a rest above threshold: v <= theta after the window stays."""
    assert close.closing_mV(if_cells(), close.Drive(np.array([0.6])), 5, 10) == 0.0


def test_delayed_spikes_after_the_window_need_their_sum_above_theta():
    """By hand: after its window an IF cell holds at most theta (1 mV: it fired, or stayed below); a projection of
    delay 2 of weight 0.6 still brings two spikes: 1 + 0.6 + 0.6 = 2.2 mV, so the pulse must take 1.2 mV."""
    pulse = close.closing_mV(if_cells(), close.Drive(np.array([0.6]), (np.array([0.6]),) * 2), 5, 6)
    assert -1.2 * (1 + 1e-5) - 1e-5 < pulse < -1.2


def test_a_decaying_current_needs_its_own_remainder_cancelled():
    """By hand: a current decaying by 0.5 per step and fed by at most 1 per step reaches at most 1.875 after four
    window steps (1, 1.5, 1.75, 1.875); the membrane (no leak, theta 3) holds at most 3. After the window the
    current adds 0.9375 (1 + 0.5 + ...) k steps on, and a pulse C on the current adds C (1 + 0.5 + ...): the
    pulse must cancel 0.9375."""
    cells = if_cells(theta_cell=3.0, theta=3.0, i_decay=0.5)
    pulse = close.closing_mV(cells, close.Drive(np.array([1.0])), 4, 30)
    assert -0.9375 * (1 + 1e-5) - 3e-5 < pulse < -0.9375


def test_a_subtracting_layer_can_leave_its_membrane_above_threshold():
    """By hand: 1.5 per step, reset by subtracting theta = 1: just below 1 after step 1, then 2.5 -> 1.5, then
    3.0 -> 2.0. The pulse must take 1 mV; the same cells resetting to 0 need none."""
    pulse = close.closing_mV(if_cells(reset="subtract"), close.Drive(np.array([1.5])), 3, 4)
    assert -1.0 * (1 + 1e-5) - 1e-5 < pulse < -1.0
    assert close.closing_mV(if_cells(), close.Drive(np.array([1.5])), 3, 4) == 0.0


def test_a_layer_resting_above_threshold_is_held_just_low_enough():
    """By hand: v leaks towards 1.5 (threshold 1) by 0.75 per step: held at H it must stay below 1 for 4 steps,
    1.5 + 0.75^4 (H - 1.5) < 1, H < 1.5 - 0.5 / 0.31640625 = -0.0802469..."""
    hold = close.holding_mV(if_cells(v_leak=1.5, v_decay=0.75), 4)
    want = 1.5 - 0.5 / 0.75 ** 4
    assert want - 1e-5 < hold < want


def test_what_no_core_can_hold_is_refused_naming_the_layer():
    with pytest.raises(InputError, match="layer L: .*more than a SpiNNaker core holds"):
        close.closing_mV(if_cells(), close.Drive(np.array([1.0]), (np.array([40000.0]),) * 2), 3, 5)
    with pytest.raises(InputError, match="layer L: its membrane rests above threshold.*65535"):
        close.holding_mV(if_cells(v_leak=1.5, v_decay=0.5), 40)


def test_a_delayed_if_layer_read_from_nir_gets_the_bound_worked_by_hand():
    """input -> Delay 2 -> Linear 0.6 -> IF (theta 1) -> Linear -> LI: the IF layer's pulse is the 1.2 mV above."""
    g = nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([1])}), "d": nir.Delay(delay=np.full(1, 2.0)),
        "fc": nir.Linear(weight=np.array([[0.6]])),
        "if": nir.IF(r=np.ones(1), v_threshold=np.ones(1), v_reset=np.zeros(1)),
        "fc2": nir.Linear(weight=np.array([[1.0]])), "li": nir.LI(tau=np.full(1, 5.0), r=np.full(1, 5.0),
                                                                  v_leak=np.zeros(1)),
        "output": nir.Output(output_type={"output": np.array([1])})},
        edges=[("input", "d"), ("d", "fc"), ("fc", "if"), ("if", "fc2"), ("fc2", "li"), ("li", "output")])
    net = reader.read(g, dt_ms=1.0, time_unit="ms")
    graph, layout = pynn_net.to_graph(net, pynn_net.RunParams(steps=6), Timing(1.0))
    assert len(layout.close_mV) == 1 and -1.2 * (1 + 1e-5) - 1e-5 < layout.close_mV[0] < -1.2
    (proj,) = [p for p in graph.projections if p.name == "L0.close"]
    np.testing.assert_array_equal(proj.weight_mV, layout.close_mV[0])


def _test_graphs():
    """Every NIR graph the tests run on a backend: the framework fixtures and the hand-made graphs."""
    import test_nir_exact as exact
    import test_nir_frameworks as frameworks
    import test_nir_import as imported
    rng = np.random.default_rng(3)
    w1, b1, w2 = rng.normal(0.3, 0.4, (6, 5)), rng.normal(0.05, 0.05, 6), rng.normal(0.4, 0.5, (3, 6))
    out = [(n, frameworks.read(n), 30, float(np.load(DATA / f"{n}.npz")["dt_ms"])) for n in frameworks.FIXTURES]
    out += [("self-driven", reader.read(exact.self_driven_graph(), dt_ms=1.0, time_unit="ms", levels=8), 12, 1.0)]
    for readout in ("CubaLI", "LI"):
        out.append((f"cuba-{readout}", reader.read(imported.cuba_graph(w1, b1, w2, readout=readout), dt_ms=1.0,
                                                   time_unit="s", levels=4), 12, 1.0))
    for into in (False, True):
        out.append((f"delayed-{into}", reader.read(imported.delayed_graph(w1, b1, w2, into), dt_ms=1.0,
                                                   time_unit="s", levels=4), 10, 1.0))
    return out


def test_no_closing_or_holding_value_of_any_test_graph_exceeds_what_a_core_holds():
    """On either kind of backend timing (Brian2's: currents reset; NEST's: they die away, the pulse taken back)."""
    seen = 0
    for name, net, steps, dt in _test_graphs():
        # both deliver a layer's own spikes to its current in time (``same_step_current_hop``)
        for timing in (Timing(dt, same_step_current_hop=True),
                       Timing(dt, resets_currents=False, same_step_current_hop=True)):
            graph, layout = pynn_net.to_graph(net, pynn_net.RunParams(steps=steps, timestep_ms=dt), timing)
            values = [np.abs(p.weight_mV).max() for p in graph.projections if p.pre_pop == "close"]
            values += [abs(v) for v in layout.hold_mV]
            assert all(v <= close.MAX_CLOSE_MV for v in values), (name, max(values))
            seen += len(values)
    assert seen > 20


def test_the_event_memory_blocks_are_what_can_still_reach_the_cells_worked_by_hand():
    """The race: a loser holds less than its threshold when blocked and the ramp adds at most 20 x 0.5 mV more, so
    the block must take 10 mV; the latch (threshold 1): its own re-excitations of 2 mV still in flight, one per
    step of a hop (3 steps): 6 mV. A leak towards 0 below threshold asks no more."""
    from hippocam.backends.graph import DeltaCells
    from hippocam.experiments.event_memory_net import Ramp, blocks_mV
    readout = DeltaCells("L3", 4, v_thresh_mV=10.0)
    race, latch = blocks_mV(readout, DeltaCells("decision", 4, v_thresh_mV=1.0), Ramp(10.0, 0.5, 20), 3, 200, 1.0)
    assert -10 * (1 + 1e-5) - 1e-4 < race < -10.0
    assert -6 * (1 + 1e-5) - 1e-5 < latch < -6.0
    leaky, _ = blocks_mV(DeltaCells("L3", 4, v_thresh_mV=10.0, tau_m_ms=20.0), DeltaCells("decision", 4, 1.0),
                         Ramp(10.0, 0.5, 20), 3, 200, 1.0)
    assert race <= leaky < 0
