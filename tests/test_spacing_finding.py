"""``spacing`` and ``stress`` report the same quantity, the minimum safe spacing, under the same name: the sweep
finds it on the 1 ms grid whatever spacings it was given, and the text says how it relates to the profile's."""
from types import SimpleNamespace

import pytest

from hippocam.experiments import spacing

FAILS_BELOW_MS = {"learn": 7.0, "recall": 4.0}   # a made-up memory: wrong below these spacings, right from them on


@pytest.fixture
def fake_memory(monkeypatch):
    """``errors_at`` of a memory that is wrong on one operation of three below ``FAILS_BELOW_MS``; records runs."""
    runs = []

    def errors_at(backend, prof, c, k, n_ops, seed):
        learn, recall = prof.spacing_after_learn_ms, prof.spacing_after_recall_ms
        runs.append((learn, recall))
        bad = learn < FAILS_BELOW_MS["learn"] or recall < FAILS_BELOW_MS["recall"]
        wrong = SimpleNamespace(agrees=False, op=SimpleNamespace(op="recall_content"),
                                answer=SimpleNamespace(cues=set(), content=set()),
                                expected=SimpleNamespace(cues={1}, content=set()))
        right = SimpleNamespace(agrees=True)
        return [wrong if bad and i % 3 == 0 else right for i in range(n_ops)]
    monkeypatch.setattr(spacing, "errors_at", errors_at)
    return runs


@pytest.mark.parametrize("which, grid", [
    ("learn", (6, 8)),            # --quick's grid: 7 was never tried, and 8 used to be reported
    ("learn", (5, 6, 7, 8, 9, 10)),
    ("learn", (9, 10)),           # the whole grid is safe: the sweep goes down to the first failure
    ("recall", (4, 5)),           # 3 not tried: 4 is not known to be the minimum until 3 fails
    ("recall", (3, 4, 5, 6, 7)),
])
def test_the_minimum_does_not_depend_on_the_grid(fake_memory, which, grid):
    rows = spacing.sweep_to_minimum("brian2", which, grid, sizes=((5, 10),), seeds=(0,), n_ops=30, log=lambda _: 0)
    assert spacing.minimum_safe(rows) == FAILS_BELOW_MS[which]
    tried = [r["spacing_ms"] for r in rows]
    assert tried == sorted(tried) and FAILS_BELOW_MS[which] - 1 in tried     # the failure below was seen
    assert all(r["wrong"] == (10 if r["spacing_ms"] < FAILS_BELOW_MS[which] else 0) for r in rows)


def test_the_sweep_stops_at_1_ms(fake_memory, monkeypatch):
    monkeypatch.setitem(FAILS_BELOW_MS, "recall", 0.0)         # never wrong: the 1 ms grid ends the search
    rows = spacing.sweep_to_minimum("brian2", "recall", (3, 4), sizes=((5, 10),), seeds=(0,), n_ops=3,
                                    log=lambda _: 0)
    assert [r["spacing_ms"] for r in rows] == [1, 2, 3, 4] and spacing.minimum_safe(rows) == 1


def test_nothing_is_added_when_every_spacing_fails(fake_memory):
    rows = spacing.sweep_to_minimum("brian2", "learn", (4, 5), sizes=((5, 10),), seeds=(0,), n_ops=3,
                                    log=lambda _: 0)
    assert [r["spacing_ms"] for r in rows] == [4, 5] and spacing.minimum_safe(rows) is None


def profile(name="brian2", learn=8.0, recall=5.0):
    return SimpleNamespace(name=name, spacing_after_learn_ms=learn, spacing_after_recall_ms=recall)


def test_the_finding_names_the_quantity_the_workloads_and_why_the_profile_keeps_more():
    text = spacing.finding(7.0, 4.0, profile(), ((5, 10),), (0,), 100)
    assert text.startswith("**Minimum safe spacing** measured here: 7 ms after a learn, 4 ms after a recall")
    assert "1 seed (0) x 100 random operations at 5x10" in text
    assert "profile uses 8 / 5 ms" in text and "64x64 and 128x128" in text     # the brian2 profile's reason
    wide = spacing.finding(8.0, 4.0, profile(), ((5, 10), (16, 6)), (0, 1), 300)
    assert "2 seeds (0, 1) x 300 random operations at each of 5x10, 16x6" in wide


def test_the_finding_confirms_equal_values_and_flags_larger_ones():
    assert "confirms both values" in spacing.finding(7.0, 4.0, profile("nest", 7.0, 4.0), ((5, 10),), (0,), 10)
    for learn, recall in ((9.0, 4.0), (7.0, None)):
        text = spacing.finding(learn, recall, profile(), ((5, 10),), (0,), 10)
        assert "needs more than the profile's spacing" in text and "keeps more" not in text
    assert "none of the spacings tried after a recall" in spacing.finding(7.0, None, profile(), ((5, 10),), (0,), 1)


def test_readme_states_each_backends_spacing_as_its_profile_does():
    import re
    from pathlib import Path

    from hippocam import backends
    from hippocam.cam import profile as profiles
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()  # the checkout's, not the installed package
    table = text[text.index("| backend | profile | after a learn | after a recall |"):].split("\n\n")[0]
    rows = {}
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        for name in re.findall(r"`([\w-]+)`", cells[0]):
            rows[name] = (cells[1], cells[2], cells[3])
    assert set(rows) == set(backends.REGISTRY)                  # every backend has its row
    for name, (prof_name, learn, recall) in rows.items():
        prof = profiles.load(backends.info(name).default_profile)
        assert prof_name == prof.name
        assert (learn, recall) == (f"{prof.spacing_after_learn_ms:g} ms", f"{prof.spacing_after_recall_ms:g} ms")
