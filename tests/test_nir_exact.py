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
