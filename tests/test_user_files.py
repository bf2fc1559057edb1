"""Files a user gives that cannot be read are one line and exit 2, never a traceback."""
import pytest

from hippocam.cam import profile, scenario, state
from hippocam.errors import InputError
from hippocam.experiments import cli

LATIN1 = '{"cue_size": 2, "content_size": 3, "description": "caf\xe9", "operations": []}'.encode("latin-1")


@pytest.mark.parametrize("reader, what", [(scenario.load, "scenario file"), (state.read, "saved memory"),
                                          (profile.load, "profile")])
def test_non_utf8_files_are_refused_naming_the_file_and_the_byte(tmp_path, reader, what):
    path = tmp_path / "bad.txt"
    path.write_bytes(LATIN1)
    with pytest.raises(InputError, match=rf"bad.txt is not a {what}: not UTF-8 text \(byte 54 is 0xe9\)"):
        reader(path)


def test_a_folder_given_as_a_scenario_is_refused(tmp_path):
    with pytest.raises(InputError, match="cannot read scenario file"):
        scenario.load(tmp_path)


def test_cam_run_of_a_non_utf8_scenario_exits_2_in_one_line(tmp_path, capsys):
    path = tmp_path / "s.json"
    path.write_bytes(LATIN1)
    assert cli.main(["cam", "run", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not UTF-8 text" in err[0], err
