"""``hippocam event``: bad arguments raise InputError (one line, exit 2 in the main command); evaluate and preview
work on the shipped models without torch."""
import argparse
import json

import numpy as np
import pytest

from hippocam.errors import InputError
from hippocam.experiments import event_cli as cli


@pytest.fixture(autouse=True)
def cache_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("HIPPOCAM_CACHE", str(tmp_path / "cache"))


def run(*argv):
    parser = argparse.ArgumentParser(prog="hippocam")
    sub = parser.add_subparsers(dest="command", required=True)
    assert cli.register(sub) is None
    args = parser.parse_args(["event", *argv])
    return args.func(args)


@pytest.mark.parametrize("argv, message", [
    (["train", "resnet"], "unknown family or model 'resnet'"),
    (["evaluate", "nonsense"], "unknown model 'nonsense'"),
    (["evaluate", "digits-cnn", "--timesteps", "0"], "--timesteps must be in 1..4096"),
    (["evaluate", "digits-cnn", "--timesteps", "eight"], "--timesteps must be an integer"),
    (["evaluate", "digits-cnn", "--reset", "zero"], "unknown --reset 'zero'"),
    (["evaluate", "digits-cnn", "--input", "poisson"], "unknown --input 'poisson'"),
    (["evaluate", "digits-cnn", "--samples", "-3"], "--samples must be in"),
    (["evaluate", "digits-cnn", "--backend", "brian2", "--timesteps", "8", "--v-reset", "1.5"],
     "--v-reset must be in [0, 1)"),
    (["evaluate", "digits-cnn", "--backend", "brian2", "--timesteps", "4,8"], "--backend runs one T"),
    (["preview", "hologram"], "unknown preview 'hologram'"),
    (["preview", "pointcloud", "--out", "x.txt"], "give a .png, .pdf or .svg"),
    (["preview", "gesture", "--index", "100000"], "--index 100000 is out of range"),
    (["preview", "gesture", "--split", "val"], "unknown split 'val'"),
])
def test_bad_arguments_raise_input_errors_naming_problem_and_fix(argv, message):
    with pytest.raises(InputError) as err:
        run(*argv)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_evaluate_a_shipped_model_meets_its_targets_without_torch(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert run("evaluate", "digits-cnn", "--timesteps", "4,8", "--json", str(out)) == 0
    text = capsys.readouterr().out
    assert "SOPs" in text and "proxy" in text
    result = json.loads(out.read_text())
    assert [r["steps"] for r in result["snn"]] == [4, 8]
    at8 = result["snn"][1]
    assert at8["accuracy"] >= 0.97 and abs(at8["accuracy"] - result["source"]["accuracy"]) <= 0.01
    assert at8["sops"] == pytest.approx(sum(at8["sops_per_layer"]), rel=1e-6)
    assert at8["energy_uj"] == pytest.approx(at8["sops"] * 0.9e-6)
    assert result["source"]["energy_uj"] == pytest.approx(result["source"]["macs"] * 4.6e-6)


def test_evaluate_on_a_few_samples_reports_what_refsim_gives_on_them(tmp_path):
    out = tmp_path / "g.json"
    assert run("evaluate", "gesture-frames", "--timesteps", "8", "--samples", "20", "--json", str(out)) == 0
    result = json.loads(out.read_text())
    # the same 20 test samples, run here through the reference simulator and the source network directly
    from hippocam.event_models import zoo
    from hippocam.event_models.data import datasets
    from hippocam.event_models.snn import net as snn_net, refsim
    net, _ = zoo.find_model("gesture-frames")
    assert net.snn == {}  # shipped source weights: the command runs them with refsim's defaults (subtract, v 0.5)
    x, y = datasets.load_split(net.dataset, "test", limit=20)
    sim = refsim.simulate(net, x, refsim.SimParams(steps=8))
    snn, source = sim.predictions, snn_net.predict(net, x)
    right, same = int(np.sum(snn == y)), int(np.sum(snn == source))
    (at8,) = result["snn"]
    assert (result["samples"], at8["steps"]) == (20, 8)
    assert at8["accuracy"] * 20 == pytest.approx(right) and at8["agreement"] * 20 == pytest.approx(same)
    # spikes per sample, all layers: a fingerprint of the samples, the reset and the initial membrane used
    assert at8["spikes"] == pytest.approx(sum(float(c.sum()) for c in sim.counts if c is not None) / 20)
    assert result["source"]["accuracy"] * 20 == pytest.approx(int(np.sum(source == y)))


def test_evaluate_refuses_an_existing_json_before_any_work(tmp_path):
    out = tmp_path / "g.json"
    out.write_text("{}")
    with pytest.raises(InputError, match="exists; choose another name or pass --force"):
        run("evaluate", "gesture-frames", "--timesteps", "8", "--samples", "20", "--json", str(out))
    assert out.read_text() == "{}" and not (tmp_path / "cache").exists()  # no test set was built


def test_train_and_finetune_refuse_a_file_as_their_folder_before_any_work(tmp_path):
    pytest.importorskip("torch")  # without it, both stop earlier: the 'train' extra is missing
    taken = tmp_path / "taken"
    taken.write_text("mine")
    for argv in (["train", "cnn", "--out", str(taken)], ["finetune", "digits-cnn", "--out", str(taken)]):
        with pytest.raises(InputError, match="is a file, not a folder"):
            run(*argv)
    assert taken.read_text() == "mine" and not (tmp_path / "cache").exists()


def test_preview_writes_a_figure_of_each_kind(tmp_path):
    from matplotlib.image import imread
    for kind in ("saccade", "pointcloud", "voxels"):
        path = tmp_path / f"{kind}.png"
        assert run("preview", kind, "--out", str(path), "--index", "1") == 0
        img = imread(path)
        assert img.ndim == 3 and img.shape[0] > 100 and img[..., :3].std() > 0.01   # not a blank image


def test_preview_of_a_users_event_file(tmp_path):
    ev = np.zeros(50, dtype=[("x", int), ("y", int), ("t", int), ("p", int)])
    ev["x"], ev["y"], ev["t"], ev["p"] = np.arange(50) % 10, 3, np.arange(50) * 100, np.arange(50) % 2
    np.save(tmp_path / "mine.npy", ev)
    assert run("preview", "gesture", "--file", str(tmp_path / "mine.npy"), "--out", str(tmp_path / "m.png")) == 0
    assert (tmp_path / "m.png").stat().st_size > 1000


def test_the_installed_package_carries_the_shipped_models(tmp_path):
    """Run from outside the checkout, so the installed package answers (the tests themselves import the checkout):
    a missing package_data line would leave users with no models."""
    import subprocess
    import sys
    code = ("import pathlib; from hippocam.event_models import zoo; "
            "names = zoo.shipped(); print(pathlib.Path(zoo.__file__).parent, len(names))")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    where, count = done.stdout.split()
    assert int(count) == 7, done.stdout
