"""The CAM on NEST (pyNN.nest, profile "nest", dt 0.5 ms), checked operation by operation against the oracle."""
from dataclasses import dataclass

import numpy as np
import pytest

pytestmark = pytest.mark.nest

pytest.importorskip("nest")
pytest.importorskip("pyNN.nest")

from hippocam.errors import BackendError  # noqa: E402
from hippocam.errors import InputError  # noqa: E402
from hippocam.cam import Memory, learn, recall_content, recall_cue, scheduler, workloads


def _on_whole_ms(mem, populations=("CueCue", "CueCont", "ContCue", "ContCont", "ContCond", "ContCondInt",
                                   "MergeCue", "MergeCont", "OUT")) -> bool:
    """Every spike of every cell population falls on a whole ms (the profile's timeline)."""
    times = np.concatenate([np.concatenate(mem.spikes(p) + [np.zeros(0)]) for p in populations])
    return bool(np.allclose(times, np.round(times)))


@dataclass(frozen=True)
class Finished:
    """What the tests read of a memory after its run, taken before it is closed: an open memory would keep NEST
    from the module's other memories (one open network per simulator)."""
    profile: object
    timestep_ms: float
    trains: dict
    cue_to_content: np.ndarray

    def spikes(self, population: str) -> list:
        return self.trains[population]


@pytest.fixture(scope="module")
def functional_run():
    # the paper's 10 ms spacing, from the earliest input time (pyNN.nest needs inputs > min_delay)
    ops = [type(o)(o.op, o.cue, o.content, 1.0 + 10.0 * i) for i, o in enumerate(workloads.functional())]
    with Memory(5, 10, backend="nest") as mem:
        results = mem.run(ops)
        trains = {p.name: mem.spikes(p.name) for p in mem.spec.populations}
        return Finished(mem.profile, mem.backend.timestep_ms, trains, mem.backend.weights("cue_to_content")), results


def test_profile_defaults_to_nest_at_half_ms(functional_run):
    mem, _ = functional_run
    assert mem.profile.name == "nest" and mem.timestep_ms == 0.5


def test_functional_experiment_agrees_on_all_nine(functional_run):
    _, results = functional_run
    assert [r.agrees for r in results] == [True] * 9
    assert results[5].answer.cues == {0, 3}
    assert results[8].answer.cues == {4}  # cue 3 forgot bit 6 when it was overwritten


def test_timeline_is_spinnakers_on_whole_ms(functional_run):
    mem, results = functional_run
    assert _on_whole_ms(mem)
    c = 5
    out = mem.spikes("OUT")

    def firing(pop_trains, t):
        return {i for i, train in enumerate(pop_trains) if np.any(np.isclose(train, t))}

    T = results[6].at_ms  # learn(3, {1,3,4,8}) over {4,5,6}: old bits {5,6}
    assert firing(out, T + 5) == firing(out, T + 7) == {3} | {c + b for b in (1, 3, 4, 8)}
    assert firing(out, T + 6) == {c + 5, c + 6}  # the old-bit echo, alone
    # the hold fires the cue at T+1, T+3, T+5 (half-ms inputs fall in refractory steps); the old bits
    # pass the gate only on their second pass (T+5), with the detector's push
    assert [t - T for t in mem.spikes("CueCue")[3] if T <= t < T + 7] == [1, 3, 5]
    assert [t - T for t in mem.spikes("ContCue")[5] if T <= t < T + 7] == [2, 4]
    assert [t - T for t in mem.spikes("ContCond")[5] if T <= t < T + 7] == [5]
    recall = results[3]  # recall_cue(0)
    assert firing(out, recall.at_ms + 5) == {0}
    assert firing(out, recall.at_ms + 6) == {c + b for b in (0, 1, 8, 9)}
    w = mem.cue_to_content
    assert w[3, [5, 6]].tolist() == [0, 0] and np.all(w[3, [1, 3, 4, 8]] > 11)


def test_functional_experiment_placed_by_the_scheduler():
    with Memory(5, 10, backend="nest", record="output") as mem:
        results = mem.run(workloads.functional())
    assert all(r.agrees for r in results)
    p = mem.profile
    assert [b.at_ms - a.at_ms for a, b in zip(results, results[1:])] == [
        p.spacing_after(a.op.op) for a in results[:-1]]


@pytest.mark.parametrize("cue_size, content_size, seed",
                         [(5, 10, 0), (5, 10, 1), (5, 10, 2), (16, 6, 0), (16, 6, 1), (32, 32, 0)])
def test_random_workload_agrees_on_every_operation_at_the_minimum_spacing(cue_size, content_size, seed):
    ops = workloads.random_workload(cue_size, content_size, 300, seed)
    assert any(o.op == "learn" and not o.content for o in ops), "the workload must hold an empty learn"
    with Memory(cue_size, content_size, backend="nest", record="output") as mem:
        results = mem.run(ops)
    wrong = [(i, r.op.describe(), r.answer, r.expected) for i, r in enumerate(results) if not r.agrees]
    assert wrong == []
    gaps = {(a.op.op, b.at_ms - a.at_ms) for a, b in zip(results, results[1:])}
    assert gaps == {("learn", 7.0), ("recall_cue", 4.0), ("recall_content", 4.0)}
    assert (mem.profile.spacing_after_learn_ms, mem.profile.spacing_after_recall_ms) == (7.0, 4.0)


def test_incremental_operations_answer_one_at_a_time():
    with Memory(4, 6, backend="nest") as mem:
        assert mem.learn(1, {0, 2}).content == {0, 2}
        assert mem.recall_cue(1).content == {0, 2}
        assert mem.recall_content({2}).cues == {1}
        assert mem.learn(1, {5}).content == {5}  # overwrite
        assert mem.recall_content({0, 2}).cues == set()
        assert mem.recall_cue(1).content == {5}
        mem.learn(2, {5, 3})
        assert mem.recall_content({5}).cues == {1, 2}
        assert mem.learn(2, set()).content == set()  # an empty learn forgets both directions
        assert mem.recall_cue(2).content == set()
        assert mem.recall_content({3, 5}).cues == {1}
        results = mem.run([recall_cue(1), learn(0, {3}), recall_content({3})])  # a batch continues
        assert [r.answer.cues for r in results] == [{1}, {0}, {0}]
        assert all(r.agrees for r in mem.history)
        assert _on_whole_ms(mem)


def test_inputs_are_never_placed_where_nest_drops_them():
    with Memory(3, 4, backend="nest") as mem:
        backend = mem.backend
        dt = backend.timestep_ms
        assert backend.next_input_ms() == 1.0 == mem.profile.earliest_op_ms  # > min_delay, on the op grid
        mem.learn(0, {1})
        now = backend.t_ms
        # NEST drops new input within 2 min_delay of now, and at exactly 2 min_delay
        assert backend.next_input_ms() >= now + 2 * dt + dt
        assert backend.next_input_ms() % 1.0 == 0  # whole ms: every operation on one 1 ms grid
        with pytest.raises(InputError, match="earliest input time"):
            mem.recall_cue(0, at_ms=backend.next_input_ms() - dt)
        # an operation exactly at the earliest time works, and so do ops placed after a run boundary
        assert mem.recall_cue(0, at_ms=backend.next_input_ms()).content == {1}
        rng = np.random.default_rng(0)
        for _ in range(12):
            op = [learn(int(rng.integers(3)), {int(rng.integers(4))}), recall_cue(int(rng.integers(3))),
                  recall_content({int(rng.integers(4))})][int(rng.integers(3))]
            mem.run([op])
        assert all(r.agrees for r in mem.history)
        # every scheduled input spike reached the network (NEST drops late ones silently)
        delivered = sorted(float(t) for train in mem.spikes("IN") for t in train)
        scheduled = [t for r in mem.history for _, t in scheduler.input_spikes(r.op, r.at_ms, 3, mem.profile)]
        assert delivered == sorted(scheduled)


def test_nest_drop_rule_the_backend_relies_on():
    """After a run to t, an input at t + 2 min_delay is lost and one a step later arrives."""
    with Memory(2, 2, backend="nest") as mem:
        backend = mem.backend
        dt = backend.timestep_ms
        backend.run_until(10.0)
        trains = [np.zeros(0)] * 4
        trains[0] = np.array([10.0 + 2 * dt])
        trains[1] = np.array([10.0 + 3 * dt])
        backend.set_inputs(trains)
        backend.run_until(20.0)
        got = backend.spikes("IN")
        assert len(got[0]) == 0 and got[1].tolist() == [10.0 + 3 * dt]


def test_a_profile_with_hops_nest_cannot_make_is_refused_and_holds_no_simulator():
    # the reference profile runs at dt 1 ms with 1 ms hops; NEST's shortest hop there is 2 ms
    with pytest.raises(BackendError, match="finer timestep") as failed:
        Memory(5, 10, backend="nest", profile="reference")
    # ``failed`` keeps the half-built memory referenced: only closing it on the failure frees NEST
    with Memory(2, 2, backend="nest") as mem:
        assert mem.learn(0, {1}).content == {1}
    assert failed.traceback


def test_a_second_open_nest_memory_is_refused_until_the_first_is_closed():
    first = Memory(2, 2, backend="nest")
    first.learn(1, {0})
    with pytest.raises(BackendError, match=r"another nest network is still open .* close it first"):
        Memory(2, 2, backend="nest")
    assert first.recall_cue(1).content == {0}
    first.close()
    with Memory(2, 2, backend="nest") as second:
        assert second.recall_cue(1).content == set()
