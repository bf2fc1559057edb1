"""Decoder against output timelines written from docs/cam_spec.md §4 (not produced by the code)."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from hippocam.cam import Answer, learn, recall_content, recall_cue
from hippocam.cam.decoder import decode
from hippocam.cam.profile import load

W = load("brian2").windows
C, K = 5, 10


def out_trains(events):
    """events: (time ms, OUT neuron) -> per-neuron spike trains."""
    trains = [[] for _ in range(C + K)]
    for t, n in events:
        trains[n].append(t)
    return [np.sort(np.array(t, dtype=float)) for t in trains]


def spec_timeline(op, T, mem):
    """OUT spikes docs/cam_spec.md §4 prescribes for ``op`` at ``T`` given the state ``mem`` before it."""
    ev = []
    if op.op == "learn":
        old = mem.get(op.cue, frozenset()) - op.content
        for dt in (5, 7):
            ev += [(T + dt, op.cue)] + [(T + dt, C + b) for b in op.content]
        ev += [(T + 6, C + b) for b in old]  # the old-bit echo
    elif op.op == "recall_cue":
        ev += [(T + 5, op.cue)] + [(T + 6, C + b) for b in mem.get(op.cue, ())]
    else:
        ev += [(T + 5, C + b) for b in op.content]
        ev += [(T + 6, q) for q, s in mem.items() if s & op.content]
    return ev


bits = st.frozensets(st.integers(0, K - 1), max_size=K)
ops = st.lists(st.one_of(st.builds(learn, st.integers(0, C - 1), bits),
                         st.builds(recall_cue, st.integers(0, C - 1)),
                         st.builds(recall_content, bits.filter(bool))), min_size=1, max_size=25)


@given(ops)
@settings(max_examples=150)
def test_decoder_reads_the_spec_timeline_back(seq):
    mem, events, times, expected = {}, [], [], []
    for i, op in enumerate(seq):
        T = 1.0 + 9.0 * i
        events += spec_timeline(op, T, mem)
        if op.op == "learn":
            mem[op.cue] = op.content
            expected.append(Answer(frozenset({op.cue}), op.content))
        elif op.op == "recall_cue":
            expected.append(Answer(frozenset({op.cue}), mem.get(op.cue, frozenset())))
        else:
            expected.append(Answer(frozenset(q for q, s in mem.items() if s & op.content), op.content))
        times.append(T)
    assert decode(seq, times, out_trains(events), C, W) == expected


def test_old_bit_echo_is_not_reported_as_content():
    op = learn(2, {1})
    events = spec_timeline(op, 10.0, {2: frozenset({1, 4, 7})})
    (answer,) = decode([op], [10.0], out_trains(events), C, W)
    assert answer == Answer(frozenset({2}), frozenset({1}))


def test_spikes_slightly_off_the_grid_still_decode():
    op = recall_cue(3)
    events = [(15.0 + 0.2, 3), (16.0 - 0.3, C + 4)]
    assert decode([op], [10.0], out_trains(events), C, W) == [Answer(frozenset({3}), frozenset({4}))]
