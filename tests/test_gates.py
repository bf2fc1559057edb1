"""``--check`` can fail: each experiment exits 1 when an operation it promises is wrong or a size crashes, and 0
when the real run is right. Failures are forced in real runs, by a decoder that answers wrong or a size whose
measuring process dies."""
import json
import types

import pytest

from hippocam.cam import decoder, profile
from hippocam.cam.oracle import Answer
from hippocam.errors import HippocamError
from hippocam.experiments import capacity, cli
from hippocam.experiments.cli import main


def check(tmp_path, name, *extra):
    out = tmp_path / name
    code = main(["run", name, "--quick", "--check", "--out", str(out), *extra])
    return code, json.loads((out / "result.json").read_text())


@pytest.fixture
def wrong_decoder(monkeypatch):
    """Every decoded answer gains content bit 0 or loses it: no operation can agree with the oracle."""
    real = decoder.decode

    def decode(*args, **kwargs):
        return [Answer(a.cues, a.content ^ {0}) for a in real(*args, **kwargs)]
    monkeypatch.setattr(decoder, "decode", decode)


@pytest.mark.slow
def test_spacing_check_passes_although_shorter_spacings_fail(tmp_path):
    code, r = check(tmp_path, "spacing")
    prof = profile.load("brian2")
    # the quick sweep goes below the profile's learn spacing, where the memory is known to fail (README)
    below = [x for x in r["rows"] if x["after"] == "learn" and x["spacing_ms"] < prof.spacing_after_learn_ms]
    assert below and any(x["wrong"] for x in below)
    # gated: the runs at the profile's 8 ms after a learn and 5 ms after a recall, 100 operations each
    assert (prof.spacing_after_learn_ms, prof.spacing_after_recall_ms) == (8, 5)
    assert r["agreed"] == r["total"] == 200 and code == 0


@pytest.mark.slow
def test_spacing_check_fails_when_operations_at_the_profiles_spacing_are_wrong(tmp_path, wrong_decoder, capsys):
    code, r = check(tmp_path, "spacing")
    assert code == 1 and r["agreed"] == 0 < r["total"]
    assert "check failed: 0/" in capsys.readouterr().err


@pytest.mark.slow
def test_robustness_check_passes_although_faults_hurt(tmp_path):
    code, r = check(tmp_path, "robustness")
    # 20% faults do hurt, and that is the measurement, not a failure of the check
    assert min(p["accuracy"] for pts in r["curves"].values() for p in pts) < 0.99
    # gated: 4 faults x 1 seed at level 0, each 5 learns + 5 recalls by cue + 5 by content
    assert r["agreed"] == r["total"] == 4 * 15 and code == 0


@pytest.mark.slow
def test_robustness_check_fails_when_fault_free_operations_are_wrong(tmp_path, wrong_decoder, capsys):
    code, r = check(tmp_path, "robustness")
    assert code == 1 and r["agreed"] == 0 and r["total"] == 60
    assert "check failed: 0/60" in capsys.readouterr().err


@pytest.mark.slow
def test_capacity_check_fails_when_a_size_crashes(tmp_path, monkeypatch, capsys):
    # a size the memory refuses: its measuring process exits with an error, like any crash
    monkeypatch.setattr(capacity, "QUICK", ((5, 10), (0, 10)))
    code, r = check(tmp_path, "capacity")
    assert code == 1
    good, crashed = r["rows"]
    assert good["agreed"] == good["operations"] == 60 + capacity.WARM_UP   # --quick: 60 operations
    assert "cue_size must be between 1 and" in crashed["failed"] and crashed["agreed"] == 0
    assert r["crashed"] == ["0x10"] and r["total"] == 2 * (60 + capacity.WARM_UP)
    assert "crashed: 0x10" in capsys.readouterr().err


def fake_experiment(result):
    return types.SimpleNamespace(run=lambda out, **kw: result)


@pytest.mark.parametrize("result, message", [
    ({"experiment": "x"}, "carries no agreed/total"),
    ({"experiment": "x", "agreed": 0, "total": 0}, "no operation was checked"),
    ({"experiment": "x", "agreed": 9, "total": 10}, "9/10 checked operations"),
])
def test_a_result_that_checks_nothing_or_misses_fails_the_check(tmp_path, monkeypatch, capsys, result, message):
    monkeypatch.setattr(cli, "_experiment", lambda name: fake_experiment(result))
    assert main(["run", "functional", "--out", str(tmp_path / "a"), "--check"]) == 1
    assert message in capsys.readouterr().err
    assert main(["run", "functional", "--out", str(tmp_path / "b")]) == 0  # without --check: a measurement


def test_any_hippocam_error_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    def fail(out, **kw):
        raise HippocamError("the thing is broken; do the other thing")
    monkeypatch.setattr(cli, "_experiment", lambda name: types.SimpleNamespace(run=fail))
    assert main(["run", "functional", "--out", str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err
    assert err.endswith("hippocam: error: the thing is broken; do the other thing\n") and "Traceback" not in err
