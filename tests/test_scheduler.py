"""Scheduler: spacing, placement and the input protocol of docs/cam_spec.md §3."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hippocam.errors import InputError
from hippocam.cam import learn, recall_content, recall_cue
from hippocam.cam.profile import load
from hippocam.cam.scheduler import place, schedule

PROFILE = load("brian2")
C, K = 4, 6
op = st.one_of(st.builds(learn, st.integers(0, C - 1), st.frozensets(st.integers(0, K - 1), max_size=K)),
               st.builds(recall_cue, st.integers(0, C - 1)),
               st.builds(recall_content, st.frozensets(st.integers(0, K - 1), min_size=1, max_size=K)))


@given(st.lists(op, min_size=1, max_size=30))
@settings(max_examples=100)
def test_auto_placement_is_on_grid_and_at_the_minimum_spacing(ops):
    times = place(ops, PROFILE)
    assert times[0] == PROFILE.earliest_op_ms
    for prev, t0, t1 in zip(ops, times, times[1:]):
        assert t1 - t0 == PROFILE.spacing_after(prev.op)
        assert t1 / PROFILE.timestep_ms == int(t1 / PROFILE.timestep_ms)


@given(st.lists(op, min_size=1, max_size=20))
@settings(max_examples=100)
def test_input_spikes_follow_the_protocol(ops):
    s = schedule(ops, C, PROFILE)
    hold = PROFILE.learn_hold_steps
    expected = sum((1 + len(o.content)) * hold if o.op == "learn" else
                   (1 if o.op == "recall_cue" else len(o.content)) for o in ops)
    assert len(s.spikes) == expected
    trains = s.spike_trains(C + K)
    for o, t in zip(ops, s.times_ms):
        if o.op == "learn":
            for n in [o.cue] + [C + b for b in o.content]:
                assert all(t + i * PROFILE.timestep_ms in trains[n] for i in range(hold))
        elif o.op == "recall_cue":
            assert t in trains[o.cue]
        else:
            assert all(t in trains[C + b] for b in o.content)


def test_given_times_are_kept_and_auto_ops_follow_them():
    times = place([learn(0, {1}, at_ms=20.0), recall_cue(0), recall_cue(1, at_ms=50.0)], PROFILE)
    assert times == [20.0, 20.0 + PROFILE.spacing_after_learn_ms, 50.0]


@pytest.mark.parametrize("ops, message", [
    ([learn(0, {1}, at_ms=10.0), recall_cue(0, at_ms=12.0)], "needs at least"),
    ([recall_cue(0, at_ms=30.0), recall_cue(0, at_ms=10.0)], "out of order"),
    ([recall_cue(0, at_ms=2.5)], "not on the 1 ms timestep grid"),
    ([recall_cue(0, at_ms=0.0)], "before the earliest input time"),
])
def test_bad_times_are_refused_with_the_reason(ops, message):
    with pytest.raises(InputError, match=message):
        place(ops, PROFILE)


def test_a_live_memory_never_places_input_in_its_past():
    times = place([recall_cue(0)], PROFILE, after=recall_cue(1), after_ms=10.0, not_before_ms=18.0)
    assert times == [18.0]
    with pytest.raises(InputError, match="already simulated up to 18"):
        place([recall_cue(0, at_ms=17.0)], PROFILE, after=recall_cue(1), after_ms=10.0, not_before_ms=18.0)
