"""The newcomer's path (issue 12): the light install, SpiNNaker without a board, where commands write, and --help.

"As if not installed" is ``sys.modules[name] = None`` (Python's own way to block an import, restored after each
test) in this process, and the conftest's ``HIPPOCAM_TEST_WITHOUT`` in a process of its own for the command as a
user starts it, where an uncaught error would end under Brian2's "report this issue" banner.
"""
import importlib
import inspect
import json
import shlex
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from hippocam import backends
from hippocam.errors import BackendError, InputError
from hippocam.experiments import cli, event_cli, output
from hippocam.experiments.cli import main

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
SCENARIO = {"cue_size": 2, "content_size": 3, "operations": [
    {"op": "learn", "cue": 0, "content": [1]}, {"op": "recall_cue", "cue": 0}]}
NEST_FIX = "install it with: pip install '.[nest]'"
NO_BOARD_WORDS = ("no SpiNNaker board is configured", "HIPPOCAM_SPINNAKER_MACHINE", "hippocam cam map",
                  "hippocam event map")


@pytest.fixture
def scenario(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps(SCENARIO))
    return str(path)


@pytest.fixture
def without_nest(monkeypatch):
    for name in ("nest", "pyNN.nest"):
        monkeypatch.setitem(sys.modules, name, None)


@pytest.fixture
def without_spynnaker(monkeypatch):
    for name in ("spynnaker", "pyNN.spiNNaker"):
        monkeypatch.setitem(sys.modules, name, None)


@pytest.fixture
def no_board(monkeypatch):
    for var in ("HIPPOCAM_SPINNAKER_MACHINE", "HIPPOCAM_SPINNAKER_CFG"):
        monkeypatch.delenv(var, raising=False)


def one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("hippocam: error: ") and "Traceback" not in err, err
    return err


def must_not_run(*_, **__):
    raise AssertionError("the work started although its input or output was wrong")


# ------------------------------------------------------------------------------------------ the light install
def test_backends_lists_what_is_not_installed_with_its_install_command(without_nest, without_spynnaker, capsys):
    assert main(["backends"]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:]}
    assert set(rows) == {"brian2", "nest", "spinnaker", "spinnaker-model"}
    assert "not installed" in rows["nest"] and "pip install '.[nest]'" in rows["nest"]
    assert "not installed" in rows["spinnaker"] and "pip install '.[spinnaker]'" in rows["spinnaker"]
    assert "installed" in rows["brian2"] and "not installed" not in rows["brian2"]


def test_every_nest_path_is_one_line_and_exit_2_without_nest(without_nest, scenario, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(backends, "get", must_not_run)  # what every Memory calls first
    monkeypatch.setattr(cli, "_experiment", must_not_run)
    for argv in (["cam", "run", scenario, "--backend", "nest"],
                 ["run", "functional", "--backend", "nest", "--out", str(tmp_path / "f")],
                 ["conformance", "--backends", "nest", "--out", str(tmp_path / "c")],
                 ["event", "evaluate", "digits-cnn", "--backend", "nest"]):
        assert main(argv) == 2, argv
        assert NEST_FIX in one_line(capsys), argv
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json"]  # no results folder was made


def test_memory_and_the_nest_backend_raise_backend_errors_without_nest(without_nest):
    from hippocam import Memory
    with pytest.raises(BackendError, match=r"needs nest-simulator, which is not installed .*pip install '\.\[nest\]'"):
        Memory(5, 10, backend="nest")
    from hippocam.backends.nest import Backend  # past the registry: the import of the simulator itself
    with pytest.raises(BackendError, match=r"needs NEST .*pip install '\.\[nest\]'"):
        Backend()


def light_command(argv, tmp_path):
    """``hippocam ARGV`` in its own process with nest, spinnaker and torch hidden by the conftest's finder."""
    code = (f"import sys; sys.path.insert(0, {str(TESTS)!r}); import conftest; "
            "from hippocam.experiments.cli import main; sys.exit(main(sys.argv[1:]))")
    env = {**__import__("os").environ, "HIPPOCAM_TEST_WITHOUT": "nest,spinnaker,torch"}
    return subprocess.run([sys.executable, "-c", code, *argv], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.slow
def test_light_install_in_its_own_process_lists_backends_and_refuses_nest_without_a_banner(tmp_path, scenario):
    done = light_command(["backends"], tmp_path)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert "pip install '.[nest]'" in done.stdout and "pip install '.[spinnaker]'" in done.stdout
    done = light_command(["cam", "run", scenario, "--backend", "nest"], tmp_path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and NEST_FIX in done.stderr, done.stderr
    assert "Brian 2 encountered" not in done.stderr + done.stdout


# ------------------------------------------------------------------------------------ SpiNNaker without a board
@pytest.mark.spinnaker
def test_conformance_on_spinnaker_alone_without_a_board_is_refused(no_board, tmp_path, capsys, monkeypatch):
    from hippocam.experiments import conformance
    monkeypatch.setattr(conformance, "run", must_not_run)
    out = tmp_path / "c"
    assert main(["conformance", "--backends", "spinnaker", "--check", "--out", str(out)]) == 2
    err = one_line(capsys)
    assert all(word in err for word in NO_BOARD_WORDS), err
    assert not out.exists()


@pytest.mark.spinnaker
def test_an_experiment_on_spinnaker_without_a_board_is_refused_before_its_folder(no_board, tmp_path, capsys,
                                                                                  monkeypatch):
    monkeypatch.setattr(cli, "_experiment", must_not_run)
    assert main(["run", "functional", "--backend", "spinnaker", "--out", str(tmp_path / "f")]) == 2
    err = one_line(capsys)
    assert all(word in err for word in NO_BOARD_WORDS), err
    assert not (tmp_path / "f").exists()


@pytest.mark.spinnaker
def test_a_configured_board_is_what_makes_spinnaker_run(no_board, monkeypatch, capsys):
    assert main(["backends"]) == 0
    assert "maps only (no board configured)" in capsys.readouterr().out
    assert cli.conformance_backends("spinnaker,brian2") == ["spinnaker", "brian2"]  # map only beside a runner
    monkeypatch.setenv("HIPPOCAM_SPINNAKER_MACHINE", "spinn-4.example")  # only configured: nothing is contacted
    assert backends.no_board("spinnaker") is None
    assert cli.conformance_backends("spinnaker") == ["spinnaker"]
    assert main(["backends"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("spinnaker "))
    assert "simulates" in row


@pytest.mark.spinnaker
@pytest.mark.slow
def test_conformance_beside_another_backend_keeps_spinnaker_as_map_only(no_board, tmp_path, capsys):
    out = tmp_path / "c"
    assert main(["conformance", "--backends", "spinnaker,spinnaker-model", "--quick", "--check", "--out",
                 str(out)]) == 0
    matrix = json.loads((out / "result.json").read_text())["matrix"]
    assert {cell["mode"] for cell in matrix["spinnaker"].values()} == {"map only"}
    assert {cell["mode"] for cell in matrix["spinnaker-model"].values()} == {"simulated"}


def test_conformance_names_are_checked_before_any_folder(tmp_path, capsys):
    for text, message in (("loihi", "unknown backend 'loihi'"), (",", "names no backend")):
        assert main(["conformance", "--backends", text, "--out", str(tmp_path / "c")]) == 2
        assert message in one_line(capsys)
    assert not (tmp_path / "c").exists()


# ----------------------------------------------------------------------------------- where commands write
def unwritable(tmp_path):
    """Paths no file can be written to: under a file, and (where there is one) in /proc."""
    a_file = tmp_path / "a-file"
    a_file.write_text("mine")
    paths = [a_file / "x.json"]
    if Path("/proc/self").is_dir():
        paths.append(Path("/proc/hippocam-test.json"))
    return paths


def test_unwritable_output_files_are_refused_before_anything_runs(tmp_path, scenario, capsys, monkeypatch):
    from hippocam.event_models.data import datasets, preview
    monkeypatch.setattr(backends, "get", must_not_run)  # what every Memory calls first
    monkeypatch.setattr(datasets, "load_split", must_not_run)
    monkeypatch.setattr(preview, "make", must_not_run)
    for path in unwritable(tmp_path):
        for argv in (["cam", "run", scenario, "--out", str(path)], ["cam", "run", scenario, "--save", str(path)],
                     ["event", "evaluate", "digits-cnn", "--json", str(path)],
                     ["event", "preview", "saccade", "--out", str(path.with_suffix(".png"))]):
            assert main(argv) == 2, argv
            err = one_line(capsys)
            assert str(path.parent) in err, (argv, err)
    assert (tmp_path / "a-file").read_text() == "mine"


def test_unwritable_results_folders_are_refused_before_anything_runs(tmp_path, capsys, monkeypatch):
    from hippocam.experiments import conformance
    monkeypatch.setattr(cli, "_experiment", must_not_run)
    monkeypatch.setattr(conformance, "run", must_not_run)
    for path in unwritable(tmp_path):
        folder = path.with_suffix("")
        for argv in (["run", "functional", "--out", str(folder)], ["conformance", "--out", str(folder)]):
            assert main(argv) == 2, argv
            assert f"cannot make the results folder {folder}" in one_line(capsys)


def test_preview_follows_the_rule_of_every_written_file(tmp_path, capsys, monkeypatch):
    from hippocam.event_models.data import preview
    made = []
    monkeypatch.setattr(preview, "make", lambda kind, out, **_: made.append(Path(out)) or Path(out))
    taken = tmp_path / "taken.png"
    taken.write_bytes(b"mine")
    assert main(["event", "preview", "saccade", "--out", str(taken)]) == 2
    assert "exists; choose another name or pass --force" in one_line(capsys) and made == []
    assert main(["event", "preview", "saccade", "--out", str(tmp_path / "new" / "p.png")]) == 2
    assert "does not exist" in one_line(capsys) and not (tmp_path / "new").exists()  # no folder made for it
    assert main(["event", "preview", "saccade", "--out", str(taken), "--force"]) == 0
    assert made == [taken] and taken.read_bytes() == b"mine"  # the check itself changes nothing


def test_the_file_check_leaves_no_trace(tmp_path):
    assert output.check_writable_file(tmp_path / "new.json", force=False) == tmp_path / "new.json"
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "old.json").write_text("kept")
    output.check_writable_file(tmp_path / "old.json", force=True)
    assert (tmp_path / "old.json").read_text() == "kept"


def test_a_write_that_fails_after_the_run_is_one_input_error(tmp_path):
    with pytest.raises(InputError, match="cannot write .*x.json"):
        output.write_json(tmp_path / "gone" / "x.json", {"a": 1})


# ------------------------------------------------------------------------------------------- help and hints
def parsers(parser=None, path=("hippocam",)):
    """(path, parser) of the command and every subcommand."""
    parser = parser or cli.parser()
    yield path, parser
    for action in parser._actions:
        if action.choices and isinstance(action.choices, dict):  # a subparsers action
            for name, sub in action.choices.items():
                yield from parsers(sub, path + (name,))


def test_every_backend_option_lists_registered_choices_and_every_option_is_described():
    with_backend = []
    for path, parser in parsers():
        for action in parser._actions:
            if action.option_strings and action.dest != "help":
                assert action.help, f"{' '.join(path)} {action.option_strings[0]} has no description"
            if action.dest == "backend":
                with_backend.append(path)
                # refsim, the reference simulator, is a choice where a graph can run without a backend (nir run)
                assert action.choices and set(action.choices) <= set(backends.REGISTRY) | {"refsim"}, path
                assert action.default in action.choices or action.default is None, path
    assert {p[1:] for p in with_backend} == {("cam", "run"), ("cam", "map"), ("run",), ("event", "evaluate"),
                                             ("event", "map"), ("nir", "run")}


def test_run_help_says_which_experiments_take_size_quick_and_samples(capsys):
    assert main(["run", "--help"]) == 0
    text = capsys.readouterr().out
    rows = {line.split()[0]: line for line in text.split("options per experiment:")[1].splitlines()[2:] if line}
    assert list(rows)[:len(cli.EXPERIMENTS)] == list(cli.EXPERIMENTS)
    for name in cli.EXPERIMENTS:
        params = inspect.signature(importlib.import_module(
            f"hippocam.experiments.{name.replace('-', '_')}").run).parameters
        if "size" in params:  # the default the experiment itself has
            assert "CxK ({}x{})".format(*params["size"].default) in rows[name], name
        else:
            assert " - " in rows[name], name
        quick = cli.QUICK.get(name, {})  # what --quick really passes must be what the help says
        if "size" in quick:
            assert "{}x{}".format(*quick["size"]) in rows[name].split("  ")[-1], name
        if not quick:
            assert "no change" in rows[name], name
    assert "--samples and --cues apply to event-memory only" in text


def test_evaluate_help_lists_the_shipped_models_and_backends_that_stream(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "1000")  # argparse would wrap "gesture-frames" at its hyphen
    assert main(["event", "evaluate", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    shipped = [p.stem for p in (REPO / "event_models" / "models").glob("*.npz")]
    assert all(name in text for name in shipped) and len(shipped) >= 7
    assert "--backend {brian2,nest,spinnaker,spinnaker-model}" in text  # spinnaker: with a board configured
    for name, info in backends.REGISTRY.items():  # the registry says what each Backend class says
        cls = importlib.import_module(info.module).Backend
        assert getattr(cls, "reads_membrane", False) is info.reads_membrane, name


def test_evaluate_on_a_backend_takes_the_cards_t(monkeypatch, capsys):
    from hippocam.event_models.data import datasets
    card = json.loads((REPO / "event_models" / "models" / "gesture-points.json").read_text())
    ran = []
    monkeypatch.setattr(datasets, "load_split", lambda *a, **k: ([], []))
    monkeypatch.setattr(event_cli, "_evaluate_on_backend", lambda net, x, y, args, steps: ran.append(steps) or 0)
    assert main(["event", "evaluate", "gesture-points", "--backend", "brian2"]) == 0
    assert ran == [32] == [card["stated_steps"]]
    assert main(["event", "evaluate", "gesture-points", "--backend", "brian2", "--timesteps", "4,8"]) == 2
    assert "--backend runs one T" in one_line(capsys)
    with pytest.raises(InputError, match="give --timesteps"):
        event_cli._backend_steps(None, {}, "mine.npz")


def test_hints_name_what_can_be_installed(monkeypatch, capsys):
    from hippocam.event_models.training import train
    monkeypatch.setattr(train, "torch", None)
    with pytest.raises(InputError) as err:
        train.require_torch()
    assert "pip install '.[train]'" in str(err.value) and "hippocam[" not in str(err.value)
    assert main(["backends"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("spinnaker-model"))
    try:
        expected = metadata.version("hippocam")  # the model is part of hippocam
    except metadata.PackageNotFoundError:
        expected = "-"
    assert row.split()[2] == expected


def test_model_cards_carry_no_local_paths():
    cards = sorted((REPO / "event_models" / "models").glob("*.json"))
    cards += sorted((REPO / "event_models" / "models" / "value-reset").glob("*.json"))
    assert len(cards) == 11
    for path in cards:
        card = json.loads(path.read_text())
        for field in ("command", "tuned_from"):
            if field not in card:
                continue
            words = shlex.split(card[field])
            assert words[:3] in (["hippocam", "event", "train"], ["hippocam", "event", "finetune"]), path
            assert words[words.index("--out") + 1] == "DIR" and "--data-dir" not in words, (path, field)
            assert not any("/" in w for w in words), (path, field)


def test_a_results_folder_on_a_read_only_disk_is_refused(tmp_path, monkeypatch, capsys):
    import errno

    def read_only(*_, **__):
        raise OSError(errno.EROFS, "Read-only file system")
    monkeypatch.setattr(output.tempfile, "TemporaryFile", read_only)  # root may write anywhere else here
    monkeypatch.setattr(cli, "_experiment", must_not_run)
    assert main(["run", "functional", "--out", str(tmp_path / "f")]) == 2
    assert "cannot write into the results folder" in one_line(capsys)
