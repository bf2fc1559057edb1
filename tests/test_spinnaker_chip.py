"""SpiNNaker's arithmetic (backends/spinnaker/fixed.py, chip.py), each fact pinned by a case worked by hand from the
rules in docs/spinnaker_arithmetic.md: one cell, one weight, one shift."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from hippocam.backends.graph import CubaCells, DeltaCells, Graph, Sources, Synapses
from hippocam.backends.spinnaker import chip, fixed
from hippocam.errors import InputError


def _cells(shifts=(0, 0), v_rest=0.0, thresh=1000.0, reset=0.0, refrac=0.0):
    """A perfect-integrator population as plan builds it: tau_m 32768 ms, c_m 2 nF."""
    return chip.ChipCells("c", 1, 1.0, 32768.0, 2.0, v_rest, thresh, reset, 0.0, (1.0, 1.0), shifts,
                          tau_refrac_ms=refrac)


def test_host_rounds_parameters_to_nearest_and_refuses_out_of_range():
    # 0.1 * 32768 = 3276.8 -> 3277 (nearest, not 3276 as a C literal would truncate); -65536 is the smallest
    assert int(fixed.to_bits(0.1)) == 3277
    assert int(fixed.to_bits(-65536.0)) == -(1 << 31)
    with pytest.raises(ValueError):
        fixed.to_bits(65536.0)


def test_a_product_keeps_its_floor_and_a_sum_wraps():
    # 3 bits * 0.5 (16384 bits) = 1.5 bits -> 1 (floor); -3 bits * 0.5 = -1.5 bits -> -2 (floor, not -1)
    assert int(fixed.mul(3, 16384)) == 1
    assert int(fixed.mul(-3, 16384)) == -2
    # (2**31 - 1) + 1 wraps to -2**31
    assert int(fixed.add(fixed.MAX_BITS, 1)) == fixed.MIN_BITS


def test_kdivk_truncates_dt_over_tau_at_20000_ms():
    # (32768 << 15) // (20000 * 32768) = 32768 // 20000 = 1 bit (exact: 1.6384 bits)
    assert int(fixed.kdivk(fixed.to_bits(1.0), fixed.to_bits(20000.0))) == 1
    # tau_m = 65535 ms gives 0: exp_TC would be expk(0) = 1.0 and the cell would never move
    assert int(fixed.kdivk(fixed.to_bits(1.0), fixed.to_bits(65535.0))) == 0


def test_expk_of_one_bit_below_zero_is_one_minus_two_bits():
    # x = -1 bit: z = -1, f = 32767 -> z = 0, f = 1; table exp(0) = 2**32; 1/16 steps: index 0 (nothing);
    # series at y = 1 << 17: c2*y >> 32 = 2081624032 >> 15 = 63526; t = 4293434720 - 63526 = 4293371194;
    # t*y >> 32 = 131023; + 5294 = 136317; mantissa 2**32 - 136317 = 4294830979; >> 17 = 32766
    assert int(fixed.expk(-1)) == 32766


def test_expk_at_minus_two_to_the_minus_12():
    # x = -8 bits: f = 8; y = 8 << 17 = 2**20: c2*y >> 32 = 2081624032 >> 12 = 508208; t = 4292926512;
    # t >> 12 = 1048077; + 5294 = 1053371; (2**32 - 1053371) >> 17 = 32759 (truncating exp would give 32760)
    assert int(fixed.expk(-8)) == 32759


def test_expk_of_whole_numbers_is_the_table_truncated():
    # exp(1) * 2**32 rounded = 11674931555; >> 17 = 89072; exp(-1) * 2**32 = 1580030169 >> 17 = 12054
    assert int(fixed.expk(32768)) == 89072
    assert int(fixed.expk(-32768)) == 12054
    assert int(fixed.expk(0)) == 32768


def test_a_weight_of_075_at_shift_1_moves_v_by_exactly_075():
    # stored: rint(0.75 * 2**14) = 12288; ring 12288 << 1 = 24576 bits = 0.75 nA; R = 16384, so
    # alpha = 24576 * 16384 = 402653184 bits; exp_TC = 32766: floor(32766 * 402653184 / 32768) = 402628608;
    # V = 402653184 - 402628608 = 24576 bits = 0.75 mV
    k = chip.constants(_cells(shifts=(1, 1)), 1.0)
    v, _, fired = chip.lif_step(np.int64(0), np.int64(0), 12288, 0, k)
    assert int(v) == 24576 and not bool(fired)


def test_leak_is_zero_only_in_the_band_above_v_rest():
    # V' = V + ceil((v_rest - V) / 2**14) bits with no input: 16383 stays, 16384 -> 16383, -32768 -> -32766
    k = chip.constants(_cells(), 1.0)
    v, _, _ = chip.lif_step(np.array([16383, 16384, -32768]), np.zeros(3, np.int64), 0, 0, k)
    assert v.tolist() == [16383, 16383, -32766]


def test_a_ring_buffer_saturates_at_65535():
    # 70000 units arriving in one step hold 65535 (0xFFFF), so V moves by 65535 bits at shift 0
    k = chip.constants(_cells(), 1.0)
    v, _, _ = chip.lif_step(np.int64(0), np.int64(0), 70000, 0, k)
    assert int(v) == 65535


def test_alpha_minus_v_beyond_s1615_wraps_the_membrane():
    # shift 1: 65535 << 1 = 131070 bits; alpha = 131070 * 16384 = 2147450880; V = -32768 bits:
    # alpha - V = 2147483648 wraps to -2**31; floor(32766 * -2**31 / 32768) = -2147352576;
    # alpha - that = 4294803456 wraps to -163840 (a cell 1 mV below rest given 4 nA ends 5 mV below it)
    k = chip.constants(_cells(shifts=(1, 1)), 1.0)
    v, _, _ = chip.lif_step(np.int64(-32768), np.int64(0), 65535, 0, k)
    assert int(v) == -163840


def test_threshold_is_greater_or_equal_and_resets_to_a_value_with_refractory_steps():
    # threshold 1 mV, reset 0.25 mV, tau_refrac 1.5 ms -> ceil(1.5) = 2 steps; v_rest 0.5 puts V = 0.5 in the band
    # (no leak), so V = 0.5 + 0.5 reaches 1.0 exactly and fires (with v_rest 0 the leak would take a bit: 32767)
    k = chip.constants(_cells(v_rest=0.5, thresh=1.0, reset=0.25, refrac=1.5), 1.0)
    assert int(k.refrac_steps) == 2
    v, refrac, fired = chip.lif_step(np.int64(16384), np.int64(0), 16384, 0, k)
    assert bool(fired) and int(v) == 8192 and int(refrac) == 2
    v, refrac, fired = chip.lif_step(v, refrac, 65535, 0, k)    # refractory: input lost, counter 2 -> 1
    assert int(v) == 8192 and int(refrac) == 1 and not bool(fired)


def _one_cell_graph(weights, thresh=1.0, reset=0.5, init=0.5, cells=None):
    n = len(weights)
    cells = cells or DeltaCells("cell", 1, v_thresh_mV=thresh, v_reset_mV=reset, v_init_mV=init)
    return Graph(1.0, (Sources("src", n), cells),
                 (Synapses("in", "src", "cell", np.arange(n), np.zeros(n, int), np.asarray(weights, float), 1.0),))


def test_one_cell_integrates_a_sequence_of_weights_exactly_like_refsim():
    # weights +0.25, -0.125, +0.375, +0.5 mV; threshold 1, reset and start 0.5 (refsim, reset to a value):
    # step 1: +0.25 -> 0.75; 2: -0.125 -> 0.625; 3: +0.375 -> 1.0 fires -> 0.5; 4: +0.25 +0.5 -> 1.25 fires -> 0.5;
    # 5: -0.125 -> 0.375; 6: -0.125 -> 0.25; 7: nothing -> 0.25 (no leak); 8: +0.375 +0.5 -> 1.25 fires -> 0.5
    g = _one_cell_graph([0.25, -0.125, 0.375, 0.5])
    plan = chip.plan(g)
    c = plan.cell("cell")
    k = chip.constants(c, 1.0)
    ints = {(s.receptor, int(p)): int(w) for s in plan.synapses for p, w in zip(s.pre, s.weight_int)}
    steps = [[0], [1], [2], [0, 3], [1], [1], [], [2, 3]]
    v, refrac = fixed.to_bits(c.v_init_mV), np.int64(0)
    got, spikes = [], []
    for srcs in steps:
        exc = sum(ints.get(("excitatory", s), 0) for s in srcs)
        inh = sum(ints.get(("inhibitory", s), 0) for s in srcs)
        v, refrac, fired = chip.lif_step(v, refrac, exc, inh, k)
        got.append(float(v) / fixed.ONE / c.scale)
        spikes.append(bool(fired))
    assert got == [0.75, 0.625, 0.5, 0.5, 0.375, 0.25, 0.25, 0.5]
    assert spikes == [False, False, True, True, False, False, False, True]


def test_plan_of_one_cell_chooses_scale_band_and_the_shift_spynnaker_will_pick():
    # summed input 1.125 mV (exc), width 1.0 mV (0 .. threshold): scale = min(2**floor(log2(1.99997 / 1.125)),
    # 2**floor(log2(0.5 / 1.0))) = 0.5; threshold 0.5 chip mV, v_rest 0.0, weight 0.25 mV -> 0.125 nA -> 4096
    c = chip.plan(_one_cell_graph([0.25, -0.125, 0.375, 0.5]))
    cell = c.cell("cell")
    assert (cell.scale, cell.v_thresh_mV, cell.v_rest_mV, cell.shifts) == (0.5, 0.5, 0.0, (0, 0))
    assert (cell.tau_m_ms, cell.cm_nF) == (32768.0, 2.0)
    assert all(chip.ring_buffer_shift(m) == s for m, s in zip(cell.max_summed_nA, cell.shifts))
    exc = next(s for s in c.synapses if s.receptor == "excitatory")
    assert exc.weight_int.tolist() == [4096, 6144, 8192]
    assert chip.out_of_range(c) == []


def test_a_closing_pulse_is_refused_naming_its_projection():
    g = _one_cell_graph([0.5, 0.25])
    close = Synapses("cell.close", "src", "cell", np.array([0]), np.array([0]), np.array([-1e6]), 1.0)
    g = Graph(1.0, g.populations, g.projections + (close,))
    with pytest.raises(InputError, match="cell.close"):
        chip.plan(g)


def test_a_weight_70000_times_the_others_into_a_spiking_cell_is_refused():
    with pytest.raises(InputError, match="threshold"):
        chip.plan(_one_cell_graph([0.01, 0.01, 700.0]))


def test_a_read_out_whose_weights_vanish_beside_a_huge_one_is_reported():
    readout = DeltaCells("cell", 1, v_thresh_mV=1e9, record_spikes=False)
    g = _one_cell_graph([1e-3] * 4, cells=readout)
    big = Synapses("huge", "src", "cell", np.array([0]), np.array([0]), np.array([1e4]), 1.0)
    problems = chip.out_of_range(chip.plan(Graph(1.0, g.populations, g.projections + (big,))))
    assert any(p.startswith("in (excitatory): 4 of 4 weights round to 0") for p in problems)


def test_cells_the_chip_plan_does_not_model_are_refused_by_name():
    cuba = CubaCells("cuba", 1, v_thresh_mV=1.0, tau_syn_ms=5.0)
    with pytest.raises(InputError, match="cuba"):
        chip.plan(Graph(1.0, (Sources("s", 1), cuba), ()))

    @dataclasses.dataclass(frozen=True)
    class Subtracting(DeltaCells):
        reset: str = "subtract"

    with pytest.raises(InputError, match="sub.*resets by 'subtract'"):
        chip.plan(Graph(1.0, (Sources("s", 1), Subtracting("sub", 1, v_thresh_mV=1.0)), ()))
    with pytest.raises(InputError, match="1 ms"):
        chip.plan(Graph(0.1, (Sources("s", 1), DeltaCells("d", 1, v_thresh_mV=1.0)), ()))


def test_a_leaky_cell_gets_the_decay_and_jump_closest_to_the_graph():
    # tau_m = 20 ms: the chip's exp_TC within one s16.15 step (3.05e-5) of exp(-1/20), and R (1 - exp_TC) within
    # 1e-4 of 1 (a delta weight w moves V by w)
    cells = DeltaCells("cell", 1, v_thresh_mV=1.0, tau_m_ms=20.0)
    c = chip.plan(_one_cell_graph([0.5], cells=cells)).cell("cell")
    err = chip.leak_error(c, 1.0, 20.0)
    assert c.leaky and abs(err["decay_error"]) <= 2 ** -15 and abs(err["jump_error"]) < 1e-4
    assert math.isclose(c.tau_m_ms * fixed.ONE, round(c.tau_m_ms * fixed.ONE))   # exact in s16.15


@pytest.mark.slow
def test_every_shipped_model_plans_inside_s1615():
    from hippocam.backends.graph import Timing
    from hippocam.event_models import zoo
    from hippocam.event_models.pynn import convert

    for name in zoo.shipped():
        net, card = zoo.find_model(name)
        tuned = zoo.value_reset_weights(name)
        if tuned is not None and not net.snn:
            net = tuned[0]
        params = convert.tuned_params(net, convert.RunParams(steps=int(card.get("stated_steps") or 8)))
        graph, _ = convert.to_graph(net, params, Timing(hop_ms=1.0))
        plan = chip.plan(graph)
        assert chip.out_of_range(plan) == [], name
        for c in plan.cells:
            assert all(chip.ring_buffer_shift(m) == s for m, s in zip(c.max_summed_nA, c.shifts)), (name, c.name)
            assert chip.safe_steps(c) > 4096 + 64, (name, c.name)


@pytest.mark.slow
def test_digits_cnn_under_the_chips_arithmetic_predicts_like_refsim():
    """Every layer of digits-cnn through lif_step with the plan's 16-bit weights, in refsim's time (each hop of
    the graph's latencies aligned, as convert lays them out), against refsim on 50 test samples."""
    import scipy.sparse as sparse

    from hippocam.backends.graph import Timing
    from hippocam.event_models import zoo
    from hippocam.event_models.data import datasets, encodings
    from hippocam.event_models.pynn import convert
    from hippocam.event_models.snn import refsim

    net = zoo.value_reset_weights("digits-cnn")[0]
    params = convert.tuned_params(net, convert.RunParams(steps=8))
    graph, _ = convert.to_graph(net, params, Timing(hop_ms=1.0))
    plan = chip.plan(graph)
    x, _ = datasets.load_split(net.dataset, "test", limit=50)
    ref = refsim.simulate(net, x, refsim.SimParams(steps=8, reset="value", v_init=params.v_init,
                                                   v_reset=params.v_reset)).predictions
    inputs = encodings.spread(x, 8, net.levels).reshape(8, len(x), -1).astype(float)
    layers = [c.name for c in plan.cells]
    v = [np.broadcast_to(fixed.to_bits(c.v_init_mV), (len(x), c.size)).copy() for c in plan.cells]
    refrac = [np.zeros_like(m) for m in v]
    spikes: dict[str, list] = {name: [] for name in layers}
    for t in range(8):
        for i, name in enumerate(layers):
            rings = {"excitatory": 0, "inhibitory": 0}
            for s in (s for s in plan.synapses if s.post_pop == name):
                lag = int(s.name.split(".delay")[1]) if ".delay" in s.name else 0
                if t < lag:
                    continue
                pre = {"input": lambda: inputs[t - lag], "bias": lambda: np.ones((len(x), 1))}.get(
                    s.pre_pop, lambda: spikes[s.pre_pop][t - lag])()
                rows = np.zeros(len(s.pre), int) if s.pre_pop == "bias" else s.pre
                w = sparse.csr_matrix((s.weight_int.astype(float), (rows, s.post)), shape=(pre.shape[1], v[i].shape[1]))
                rings[s.receptor] = rings[s.receptor] + np.rint(np.asarray(pre @ w)).astype(np.int64)
            v[i], refrac[i], fired = chip.lif_step(v[i], refrac[i], rings["excitatory"], rings["inhibitory"],
                                                   chip.constants(plan.cell(name), 1.0))
            spikes[name].append(fired.astype(float))
    assert np.mean(np.argmax(v[-1], axis=1) == ref) >= 0.98


def test_threshold_rounds_up_to_the_cores_grid_and_subtraction_is_refused():
    from hippocam.backends.graph import DeltaCells, Graph, Sources, Synapses
    from hippocam.backends.spinnaker import chip as chip_plan
    from hippocam.errors import InputError

    # threshold 1 + 2**-17 mV, in chip mV scale + scale * 2**-17 (scale a power of two <= 1): the core compares
    # s16.15 bits, so V >= t holds from the grid's next point above it, scale + 2**-15; rounding t to nearest
    # would give the threshold scale and fire at exactly 1 mV, which refsim does not
    t = 1.0 + 2.0 ** -17
    g = Graph(1.0, (Sources("src", 1), DeltaCells("c", 1, v_thresh_mV=t, v_reset_mV=0.0)),
              (Synapses("s", "src", "c", np.array([0]), np.array([0]), np.array([0.5]), 1.0),))
    cell = chip_plan.plan(g).cell("c")
    assert cell.scale <= 1 and cell.v_thresh_mV == cell.scale + 2.0 ** -15
    sub = Graph(1.0, (Sources("src", 1), DeltaCells("c", 1, v_thresh_mV=1.0, reset="subtract")),
                (Synapses("s", "src", "c", np.array([0]), np.array([0]), np.array([0.5]), 1.0),))
    with pytest.raises(InputError, match="population c resets by 'subtract'"):
        chip_plan.plan(sub)


@pytest.mark.parametrize("tau_ms, tau_chip", [(0.5, 0.5), (0.25, 0.25), (1 / 64, 1 / 64)])
def test_fast_leaks_get_a_tau_m_the_core_gives_back(tau_ms, tau_chip):
    # dt / tau_m = 2, 4, 64: whole multiples of 2**-15, so kdivk(1 ms, tau) returns them exactly and tau itself
    # is the chip's tau_m (several q near them share one expk value: the one the host can send must be taken)
    tau, cm = chip.leaky_constants(tau_ms, 1.0)
    assert tau == tau_chip
    q = int(fixed.kdivk(fixed.to_bits(1.0), fixed.to_bits(tau)))
    assert q == round(fixed.ONE / tau_ms)
    e = int(fixed.expk(-q)) / fixed.ONE
    assert abs(e - math.exp(-1.0 / tau_ms)) < 2.0 ** -14       # expk's truncation: within two bits
    r = int(fixed.kdivk(fixed.to_bits(tau), fixed.to_bits(cm))) / fixed.ONE
    assert abs(r * (1 - e) - 1.0) < 1e-4                       # a weight of w nA still jumps by w mV
