"""The hippocam command: bad input gives one line and exit 2; results are written and checked."""
import json

import pytest

from hippocam.experiments.cli import main

GOOD = {"cue_size": 5, "content_size": 10, "operations": [
    {"op": "learn", "cue": 0, "content": [0, 1, 8, 9]}, {"op": "recall_cue", "cue": 0},
    {"op": "recall_content", "content": [8]}]}


def write(tmp_path, data, name="s.json"):
    p = tmp_path / name
    p.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(p)


def with_ops(*ops, c=5, k=10):
    return {"cue_size": c, "content_size": k, "operations": list(ops)}


BAD = [
    (with_ops({"op": "learn", "cue": 5, "content": [1]}), "operation 0: cue 5 is out of range 0..4"),
    (with_ops({"op": "recall_cue", "cue": 0}, {"op": "learn", "cue": 0, "content": [10]}),
     "operation 1: content bit 10 is out of range 0..9"),
    (with_ops({"op": "learn", "cue": 0, "content": [1, 1]}), "operation 0: duplicate content bits [1]"),
    (with_ops({"op": "recall_content", "content": []}), "operation 0: the fragment is empty"),
    (with_ops({"op": "forget", "cue": 0}), "operation 0: unknown operation 'forget'"),
    (with_ops({"op": "learn", "cue": "a", "content": []}), "operation 0: cue must be an integer"),
    (with_ops({"op": "recall_cue", "cue": 0, "at_ms": -5}), "operation 0: at_ms must be a finite time >= 0"),
    (with_ops({"op": "recall_cue", "cue": 0, "at_ms": "soon"}), "operation 0: at_ms must be a number"),
    (with_ops({"op": "learn", "cue": 0, "content": [1], "at_ms": 10},
              {"op": "recall_cue", "cue": 0, "at_ms": 12}), "operation 1: at_ms 12 is 2 ms after the previous learn"),
    (with_ops({"op": "recall_cue", "cue": 0, "at_ms": 30}, {"op": "recall_cue", "cue": 0, "at_ms": 20}),
     "operation 1: out of order"),
    (with_ops(c=0), "cue_size must be between 1 and"),
    (with_ops(k=10**9), "content_size must be between 1 and"),
    (with_ops(c=2.5), "cue_size must be an integer"),
    ("[1, 2, 3]", "a scenario must be a JSON object"),
    ("{\"cue_size\": 5,", "is not valid JSON"),
    ({"cue_size": 5, "content_size": 10}, "lacks \"operations\""),
    ({**GOOD, "operations": {"op": "learn"}}, "\"operations\" must be a list"),
    (with_ops(7), "operation 0: expected an object"),
    (with_ops({"op": "recall_cue", "cue": 0, "content": [1]}), "operation 0: recall_cue does not take content"),
]


@pytest.mark.parametrize("data, message", BAD)
def test_bad_scenarios_give_one_line_and_exit_2(tmp_path, capsys, data, message):
    assert main(["cam", "run", write(tmp_path, data)]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_unknown_backend_and_missing_file(tmp_path, capsys):
    assert main(["cam", "run", write(tmp_path, GOOD), "--backend", "loihi"]) == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'loihi' (choose from 'brian2', 'nest', 'spinnaker', 'spinnaker-model')" in err
    assert err.count("\n") == 1 and err.startswith("hippocam: error: ")
    assert main(["cam", "run", str(tmp_path / "nope.json")]) == 2
    assert "cannot read scenario" in capsys.readouterr().err


def test_run_writes_the_result_and_never_overwrites(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["cam", "run", write(tmp_path, GOOD), "--out", str(out), "--check"]) == 0
    result = json.loads(out.read_text())
    assert (result["agreed"], result["total"], result["backend"]) == (3, 3, "brian2")
    third = result["operations"][2]
    assert third["op"] == "recall_content" and third["cues"] == [0] and third["content"] == [8]
    assert third["expected"] == {"cues": [0], "content": [8]} and third["agrees"] is True
    assert [o["at_ms"] for o in result["operations"]] == sorted(o["at_ms"] for o in result["operations"])
    assert "3/3 operations agree" in capsys.readouterr().out
    before = out.read_text()
    assert main(["cam", "run", write(tmp_path, GOOD), "--out", str(out)]) == 2
    assert "exists" in capsys.readouterr().err and out.read_text() == before


def test_check_exits_1_when_the_network_disagrees(tmp_path, capsys):
    # the reference (SpiNNaker) parameters do not work on Brian2 (docs/cam_spec.md §7): learning fails
    assert main(["cam", "run", write(tmp_path, GOOD), "--profile", "reference", "--check"]) == 1
    assert main(["cam", "run", write(tmp_path, GOOD), "--profile", "reference"]) == 0


def test_functional_experiment_writes_result_plot_summary(tmp_path, capsys):
    out = tmp_path / "f"
    assert main(["run", "functional", "--out", str(out), "--check"]) == 0
    result = json.loads((out / "result.json").read_text())
    assert result["agreed"] == result["total"] == 9
    assert (out / "raster.png").stat().st_size > 10_000
    assert "9/9 operations agree" in (out / "summary.md").read_text()
    assert main(["run", "functional", "--out", str(out)]) == 2  # never writes into a full folder
    assert "already holds files" in capsys.readouterr().err


def test_backends_lists_every_backend(capsys):
    assert main(["backends"]) == 0
    out = capsys.readouterr().out
    for name in ("brian2", "nest", "spinnaker", "spinnaker-model"):
        assert name in out


def test_save_then_load_through_the_command(tmp_path, capsys):
    saved = tmp_path / "m.json"
    assert main(["cam", "run", write(tmp_path, GOOD), "--save", str(saved), "--check"]) == 0
    recall = with_ops({"op": "recall_cue", "cue": 0}, {"op": "recall_content", "content": [9]})
    out = tmp_path / "r.json"
    assert main(["cam", "run", write(tmp_path, recall, "r.json.in"), "--load", str(saved), "--out", str(out),
                 "--check"]) == 0
    ops = json.loads(out.read_text())["operations"]
    assert ops[0]["content"] == [0, 1, 8, 9] and ops[1]["cues"] == [0]
    small = with_ops({"op": "recall_cue", "cue": 0}, c=3, k=4)
    assert main(["cam", "run", write(tmp_path, small, "s2.json"), "--load", str(saved)]) == 2
    assert "holds a 5 x 10 memory" in capsys.readouterr().err


@pytest.mark.spinnaker
def test_cam_map_reports_cores_and_chips(tmp_path, capsys):
    out = tmp_path / "map.json"
    assert main(["cam", "map", "--cue-size", "5", "--content-size", "10", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "CueCue" in text and "total" in text
    report = json.loads(out.read_text())
    assert report["cores"] >= 9 and report["chips"] >= 1
    assert report["populations"]["ContCondInt"]["neurons"] == 1
    assert main(["cam", "map", "--backend", "brian2", "--cue-size", "5", "--content-size", "10"]) == 2
    assert "invalid choice: 'brian2' (choose from 'spinnaker')" in capsys.readouterr().err
    assert main(["cam", "map", "--cue-size", "0", "--content-size", "10"]) == 2


def test_output_paths_are_refused_in_one_line_before_any_work(tmp_path, capsys):
    a_file = tmp_path / "taken"
    a_file.write_text("mine")
    cases = [
        (["run", "functional", "--out", str(a_file)], "is a file, not a folder"),
        (["run", "functional", "--out", str(a_file / "sub")], "cannot make the results folder"),
        (["cam", "run", write(tmp_path, GOOD), "--out", str(tmp_path)], "is a folder; name a file"),
        (["cam", "run", write(tmp_path, GOOD), "--save", str(tmp_path / "no" / "m.json")],
         "folder " + str(tmp_path / "no") + " does not exist"),
        (["conformance", "--out", str(a_file)], "is a file, not a folder"),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1 and err.startswith("hippocam: error: "), (argv, err)
    assert a_file.read_text() == "mine"
    # the report is written last: its path is checked before the page is built
    (tmp_path / "results" / "one").mkdir(parents=True)
    (tmp_path / "results" / "one" / "summary.md").write_text("# One\n")
    assert main(["report", str(tmp_path / "results"), "--out", str(tmp_path / "no" / "r.html")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_the_command_in_its_own_process_prints_one_line_not_a_traceback(tmp_path):
    import subprocess
    import sys
    taken = tmp_path / "taken"
    taken.write_text("mine")
    for argv, message in ((["run", "spacing", "--out", str(taken)], "is a file, not a folder"),
                          (["run", "capacity", "--backend", "loihi"], "invalid choice: 'loihi'")):
        done = subprocess.run([sys.executable, "-m", "hippocam.experiments.cli", *argv], cwd=tmp_path,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith("hippocam: error: ") and done.stderr.count("\n") == 1, done.stderr
        assert message in done.stderr
    assert not (tmp_path / "results").exists()  # nothing made for a run that was refused
