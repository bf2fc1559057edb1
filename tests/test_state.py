"""Saving a memory's learned state and loading it into a new memory."""
import json

import pytest

from hippocam.errors import InputError
from hippocam.cam import Memory, learn, recall_content, recall_cue
from hippocam.cam.state import load, read, save


@pytest.fixture
def taught(tmp_path):
    with Memory(4, 6) as mem:
        mem.run([learn(0, {1, 2}), learn(3, {2, 5}), learn(0, {4}), learn(1, set())])
        path = tmp_path / "mem.json"
        data = save(mem, path)
    return path, data


def test_saved_file_holds_what_the_network_learned(taught):
    path, data = taught
    assert data["associations"] == {"0": [4], "3": [2, 5]}
    assert data["provenance"]["agrees_with_oracle"] is True
    assert data["provenance"]["backend"] == "brian2" and data["provenance"]["operations"] == 4


@pytest.mark.slow
def test_loaded_memory_recalls_learns_and_forgets(taught):
    path, _ = taught
    with load(path, backend="brian2") as mem:
        results = mem.run([recall_cue(0), recall_cue(3), recall_content({2}), recall_content({1})])
        assert [r.answer.content for r in results[:2]] == [{4}, {2, 5}]
        assert results[2].answer.cues == {3} and results[3].answer.cues == set()
        assert mem.learn(3, {0}).content == {0}  # overwrite a loaded memory
        assert mem.recall_content({2, 5}).cues == set()
        assert mem.recall_cue(3).content == {0}
        assert all(r.agrees for r in mem.history)


def test_saving_never_overwrites(taught):
    path, _ = taught
    before = path.read_text()
    with Memory(4, 6) as mem:
        with pytest.raises(InputError, match="exists"):
            save(mem, path)
    assert path.read_text() == before


@pytest.mark.parametrize("content, message", [
    ("{", "not a saved memory"),
    ("[]", "not a saved hippocam memory"),
    (json.dumps({"format": "hippocam-memory", "version": 99}), "format version 99"),
    (json.dumps({"format": "hippocam-memory", "version": 1, "cue_size": 2, "content_size": 3,
                 "associations": {"5": [1]}}), "does not fit a 2 x 3 memory"),
    (json.dumps({"format": "hippocam-memory", "version": 1, "cue_size": 2}), "corrupt"),
])
def test_bad_files_are_refused_clearly(tmp_path, content, message):
    p = tmp_path / "bad.json"
    p.write_text(content)
    with pytest.raises(InputError, match=message):
        read(p)


def test_missing_file_and_wrong_sizes(taught, tmp_path):
    path, _ = taught
    with pytest.raises(InputError, match="cannot read saved memory"):
        read(tmp_path / "none.json")
    with pytest.raises(InputError, match="holds a 4 x 6 memory, not 5 x 10"):
        load(path, cue_size=5, content_size=10)


@pytest.mark.slow
@pytest.mark.parametrize("target", ["nest", "spinnaker-model", "brian2"])
def test_learned_on_brian2_recalled_and_relearned_elsewhere(taught, target):
    path, _ = taught
    with load(path, backend=target) as mem:
        assert mem.recall_cue(3).content == {2, 5}
        assert mem.recall_content({4}).cues == {0}
        assert mem.learn(0, set()).content == set()  # forget a loaded association
        assert mem.recall_content({4}).cues == set()
        assert mem.learn(2, {1, 4}).content == {1, 4}  # learn a new one
        assert mem.recall_content({1, 5}).cues == {2, 3}
        assert all(r.agrees for r in mem.history)


@pytest.mark.nest
@pytest.mark.slow
def test_learned_on_nest_loads_on_brian2(tmp_path):
    with Memory(3, 5, backend="nest") as mem:
        mem.run([learn(1, {0, 4}), learn(2, {4})])
        save(mem, tmp_path / "n.json")
    with load(tmp_path / "n.json", backend="brian2") as mem:
        assert mem.recall_content({4}).cues == {1, 2}
        assert mem.recall_cue(1).content == {0, 4}
