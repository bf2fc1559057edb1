"""The dictionary oracle against a brute-force reading of docs/cam_spec.md §1."""
from hypothesis import given, settings
from hypothesis import strategies as st

from hippocam.cam import Oracle, learn, recall_content, recall_cue

C, K = 6, 8
bits = st.frozensets(st.integers(0, K - 1), max_size=K)
ops = st.lists(st.one_of(
    st.builds(learn, st.integers(0, C - 1), bits),
    st.builds(recall_cue, st.integers(0, C - 1)),
    st.builds(recall_content, bits.filter(bool))), max_size=40)


@given(ops)
@settings(max_examples=200)
def test_oracle_matches_a_replay_of_the_learn_history(seq):
    oracle = Oracle()
    for i, op in enumerate(seq):
        answer = oracle.apply(op)
        # the last learn of each cue before (and including) this operation decides its content
        last = {}
        for prior in seq[: i + 1]:
            if prior.op == "learn":
                last[prior.cue] = prior.content
        if op.op == "learn":
            assert answer.cues == {op.cue} and answer.content == op.content
        elif op.op == "recall_cue":
            assert answer.cues == {op.cue}
            assert answer.content == last.get(op.cue, frozenset())
        else:
            assert answer.content == op.content
            assert answer.cues == {q for q, s in last.items() if any(b in s for b in op.content)}


def test_overwrite_forgets_old_bits_and_empty_learn_forgets_all():
    o = Oracle()
    o.apply(learn(1, {0, 1, 2}))
    o.apply(learn(1, {2, 3}))
    assert o.apply(recall_cue(1)).content == {2, 3}
    assert o.apply(recall_content({0})).cues == set()
    o.apply(learn(1, set()))
    assert o.apply(recall_cue(1)).content == set()
    assert o.apply(recall_content({2, 3})).cues == set()


def test_recall_of_never_learned_cue_is_empty():
    assert Oracle().apply(recall_cue(3)).content == set()
