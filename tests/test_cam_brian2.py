"""The CAM on Brian2 (the default backend), checked operation by operation against the oracle."""
import dataclasses

import numpy as np
import pytest

from hippocam.errors import InputError
from hippocam.cam import Memory, learn, recall_content, recall_cue, workloads
from hippocam.errors import BackendError


@pytest.fixture(scope="module")
def functional_run():
    """The run's output spikes and results, read before the memory is closed: it would keep the simulator from
    the module's other memories (one open network per simulator)."""
    ops = [type(o)(o.op, o.cue, o.content, 1.0 + 10.0 * i) for i, o in enumerate(workloads.functional())]
    with Memory(5, 10) as mem:
        results = mem.run(ops)
        return mem.spikes("OUT"), results


def test_functional_experiment_agrees_on_all_nine(functional_run):
    _, results = functional_run
    assert [r.agrees for r in results] == [True] * 9
    # docs/cam_spec.md §9, read off the paper's recorded output
    assert results[5].answer.cues == {0, 3}
    assert results[8].answer.cues == {4}  # cue 3 forgot bit 6 when it was overwritten


def test_output_timeline_matches_spec_section_4(functional_run):
    out, results = functional_run
    c = 5

    def firing(t):
        return {i for i, train in enumerate(out) if np.any(np.isclose(train, t))}

    overwrite = results[6]  # learn(3, {1,3,4,8}) over {4,5,6}: old bits {5,6}
    T = overwrite.at_ms
    assert firing(T + 5) == firing(T + 7) == {3} | {c + b for b in (1, 3, 4, 8)}
    assert firing(T + 6) == {c + 5, c + 6}  # the old-bit echo, alone
    recall = results[3]  # recall_cue(0)
    assert firing(recall.at_ms + 5) == {0}
    assert firing(recall.at_ms + 6) == {c + b for b in (0, 1, 8, 9)}


@pytest.mark.parametrize("cue_size, content_size, seed", [(5, 10, 0), (5, 10, 1), (16, 6, 0), (32, 32, 0)])
def test_random_workload_agrees_on_every_operation(cue_size, content_size, seed):
    ops = workloads.random_workload(cue_size, content_size, 300, seed)
    kinds = {o.op for o in ops}
    assert kinds == {"learn", "recall_cue", "recall_content"}
    assert any(o.op == "learn" and not o.content for o in ops), "the workload must hold an empty learn"
    with Memory(cue_size, content_size, record="output") as mem:
        results = mem.run(ops)
    wrong = [(i, r.op.describe(), r.answer, r.expected) for i, r in enumerate(results) if not r.agrees]
    assert wrong == []
    # at the minimum spacing
    gaps = {(a.op.op, b.at_ms - a.at_ms) for a, b in zip(results, results[1:])}
    assert gaps == {("learn", mem.profile.spacing_after_learn_ms), ("recall_cue", mem.profile.spacing_after_recall_ms),
                    ("recall_content", mem.profile.spacing_after_recall_ms)}


@pytest.mark.slow
def test_incremental_operations_answer_one_at_a_time():
    with Memory(4, 6) as mem:
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
        assert all(r.agrees for r in mem.history)
        times = [r.at_ms for r in mem.history]
        assert times == sorted(times) and len(set(times)) == len(times)


def test_batch_after_incremental_continues_the_same_memory():
    with Memory(3, 4) as mem:
        mem.learn(0, {1, 2})
        results = mem.run([recall_cue(0), learn(1, {2}), recall_content({2})])
        assert [r.answer.cues for r in results] == [{0}, {1}, {0, 1}]
        assert all(r.agrees for r in mem.history)


def test_bad_operations_raise_input_error_naming_the_operation():
    with Memory(3, 4) as mem:
        with pytest.raises(InputError, match="operation 1: cue 3 is out of range"):
            mem.run([recall_cue(0), recall_cue(3)])
        with pytest.raises(InputError, match="the fragment is empty"):
            mem.recall_content(set())
        assert mem.history == []  # nothing ran


def test_a_second_open_memory_is_refused_and_the_first_keeps_working():
    first = Memory(2, 2)
    first.learn(0, {1})
    with pytest.raises(BackendError, match=r"another brian2 network is still open .* close it first"):
        Memory(2, 2)
    assert first.recall_cue(0).content == {1}
    first.close()
    with pytest.raises(BackendError, match="is closed; build the memory again"):
        first.recall_cue(0)
    with Memory(2, 2) as second:
        assert second.recall_cue(0).content == set()


def test_a_dropped_memory_does_not_block_the_next():
    dropped = Memory(2, 2)
    dropped.learn(1, {0})
    del dropped
    with Memory(2, 2) as mem:
        assert mem.recall_cue(1).content == set()   # a new network: nothing learned


def test_a_memory_that_failed_to_build_holds_no_simulator():
    from hippocam.cam.profile import load
    fine = load("brian2")
    with pytest.raises(BackendError, match="below this simulator's minimum") as failed:
        Memory(2, 2, profile=dataclasses.replace(fine, timestep_ms=4.0))
    # ``failed`` keeps the half-built memory referenced (its traceback's frames): only closing it frees the simulator
    with Memory(2, 2) as mem:
        assert mem.learn(0, {0}).content == {0}
    assert failed.traceback


def test_one_cue_memory_builds_without_lateral_inhibition():
    with Memory(1, 3) as mem:
        mem.learn(0, {1})
        assert mem.recall_content({1}).cues == {0}
