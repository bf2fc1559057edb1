"""numpy files users give that are empty, truncated or not numpy: one line naming the file, never a traceback."""
import numpy as np
import pytest

from hippocam.errors import InputError
from hippocam.event_models.data import cache, events
from hippocam.event_models.snn import net as netmod
from hippocam.event_models import zoo
from hippocam.experiments import cli


def truncated_model(tmp_path):
    good = zoo.MODELS_DIR / "digits-cnn.npz"
    bad = tmp_path / "t.npz"
    bad.write_bytes(good.read_bytes()[:3000])
    return bad


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 not really a zip", None])
def test_a_broken_model_file_is_an_input_error(tmp_path, content):
    path = truncated_model(tmp_path) if content is None else tmp_path / "m.npz"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match="not a hippocam event model"):
        netmod.load(path)


def test_evaluating_a_truncated_model_exits_2_in_one_line(tmp_path, capsys):
    assert cli.main(["event", "evaluate", str(truncated_model(tmp_path))]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a hippocam event model" in err[0], err


def test_a_truncated_event_file_is_an_input_error(tmp_path):
    path = tmp_path / "e.npz"
    path.write_bytes(b"PK\x03\x04truncated")
    with pytest.raises(InputError, match="not a readable numpy file"):
        events.read_events(path)


def test_an_empty_nir_input_exits_2_in_one_line(tmp_path, capsys):
    empty = tmp_path / "x.npy"
    empty.write_bytes(b"")
    graph = zoo.MODELS_DIR / "digits-cnn.nir"
    assert cli.main(["nir", "run", str(graph), "--input", str(empty), "--dt-ms", "1", "--time-unit", "ms",
                     "--out", str(tmp_path / "o.npz")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "x.npy" in err[0], err


def test_a_truncated_cache_file_is_rebuilt(tmp_path):
    calls = []

    def build():
        calls.append(1)
        return {"a": np.arange(3)}

    first = cache.cached("t", {"k": 1}, build, folder=tmp_path)
    path = cache.cache_dir(tmp_path) / cache.key("t", {"k": 1})
    assert path.exists()
    path.write_bytes(path.read_bytes()[:20])          # an interrupted run left half a file
    again = cache.cached("t", {"k": 1}, build, folder=tmp_path)
    assert len(calls) == 2 and np.array_equal(again["a"], first["a"])
